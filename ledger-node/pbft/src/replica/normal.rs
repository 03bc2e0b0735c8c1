//! The normal case (§4.2): pre-prepare, prepare, commit, execution and the committed block.

use super::*;

impl Replica {
    /// Proposes what waits in the mempool and is not in flight, batch by batch, while the
    /// window allows. Each batch scans the mempool from its front (in-flight transactions sit
    /// there) and clones only the transactions it takes: cost O(in flight + proposed), not
    /// O(mempool) clones per call (under load the mempool holds thousands).
    pub(super) fn propose(&mut self, out: &mut Vec<Effect>) {
        let mut in_flight = self.in_flight();
        while self.in_window(self.next_seq) && !self.beyond_boundary(self.next_seq) {
            let mut txs = Vec::new();
            let mut bytes = 0;
            for (d, tx, size) in &self.mempool {
                if in_flight.contains(d) {
                    continue;
                }
                if txs.len() >= MAX_BATCH_TXS || (bytes + size > MAX_BATCH_BYTES && !txs.is_empty()) {
                    break;
                }
                bytes += size;
                txs.push(tx.clone());
            }
            if txs.is_empty() {
                break;
            }
            in_flight.extend(txs.iter().map(SignedTransaction::id));
            self.propose_batch(txs, out);
        }
    }

    /// Proposes `txs` (possibly none) as the batch at the next sequence number.
    fn propose_batch(&mut self, txs: Vec<SignedTransaction>, out: &mut Vec<Effect>) {
        debug_assert!(self.is_primary() && self.in_window(self.next_seq));
        let seq = self.next_seq;
        self.next_seq = SeqNo(seq.0 + 1);
        // Never below the parent's time: a previous primary's clock may run ahead of ours
        // (within the drift bound backups allow).
        let batch = Batch {
            view: self.view,
            timestamp_ms: self.now_ms.max(self.last_header.timestamp_ms),
            txs,
        };
        let m = self.vote(
            Message::PrePrepare {
                view: self.view,
                seq,
                batch: batch.clone(),
            },
            out,
        );
        self.accept_pre_prepare(self.view, seq, batch, m, out);
    }

    /// Whether the chain is idle past the heartbeat: nothing proposed above what executed,
    /// nothing waiting to be proposed, and the last block older than [`Config::heartbeat`].
    ///
    /// Only slots holding a batch count as proposed: a vote alone (which any member can send
    /// for any sequence number in the window) must not keep the primary from its heartbeat.
    /// Times are this replica's clock (when it executed the last block), not the proposer's
    /// header time, so clock differences between members neither delay nor hasten a heartbeat.
    pub(super) fn idle(&self) -> bool {
        let heartbeat_ms = u64::try_from(self.config.heartbeat.as_millis()).unwrap_or(u64::MAX);
        self.mempool.is_empty()
            && !self.batch_in_flight()
            && self.now_ms.saturating_sub(self.last_executed_ms) >= heartbeat_ms
    }

    /// Whether the primary let the chain go stale: nothing executed for two heartbeats and a
    /// view-change timeout since this replica last executed a block or entered this view,
    /// whichever is later (its own clock: a lagging replica catching up executes as blocks
    /// arrive). A correct primary makes a block at most a heartbeat and a quarter after the last.
    pub(super) fn primary_silent(&self) -> bool {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let patience = ms(self.config.heartbeat)
            .saturating_mul(2)
            .saturating_add(ms(self.config.view_change_timeout));
        let since = self.last_executed_ms.max(self.view_entered_ms);
        self.now_ms.saturating_sub(since) > patience
    }

    /// The heartbeat: an empty block, so an idle chain still certifies fresh headers.
    pub(super) fn propose_empty(&mut self, out: &mut Vec<Effect>) {
        if self.in_window(self.next_seq) && !self.beyond_boundary(self.next_seq) {
            self.stats.heartbeats += 1;
            self.propose_batch(Vec::new(), out);
        }
    }

    /// A backup's check of a primary's batch: bounds, the admission rule, no duplicate or
    /// committed transaction, signatures, and the time rule.
    pub(super) fn check_batch(&self, seq: SeqNo, batch: &Batch) -> Result<(), DropReason> {
        if batch.txs.len() > MAX_BATCH_TXS {
            return Err(DropReason::BadBatch);
        }
        // The time rule: not below the last executed block's time (the header of `seq` takes
        // the larger of its batch's and its parent's time, so the chain's time never goes
        // back), and not beyond this replica's clock plus the drift bound. A Byzantine primary
        // cannot certify a block dated in the future, which offline freshness checks rely on.
        if batch.timestamp_ms < self.last_header.timestamp_ms
            || batch.timestamp_ms > self.now_ms.saturating_add(MAX_CLOCK_DRIFT_MS)
        {
            return Err(DropReason::BadTime);
        }
        let others: HashSet<Hash> = self
            .slots
            .iter()
            .filter(|(s, _)| **s > self.executed && **s != seq)
            .flat_map(|(_, slot)| slot.tx_digests.iter().copied())
            .collect();
        let mut seen = HashSet::new();
        let mut bytes = 0;
        for tx in &batch.txs {
            let d = tx.id();
            bytes += schemas::limits::check_transaction(tx, &self.config.chain_id)
                .map_err(|_| DropReason::OverLimit)?;
            if !seen.insert(d) || self.committed_txs.contains(&d) || others.contains(&d) {
                return Err(DropReason::BadBatch);
            }
            if !self.known_txs.contains(&d) && !self.tx_signatures_ok(tx) {
                return Err(DropReason::BadTransaction);
            }
        }
        // `propose` never exceeds this: every transaction is at most MAX_TX_BYTES.
        if bytes > MAX_BATCH_BYTES {
            return Err(DropReason::OverLimit);
        }
        Ok(())
    }

    pub(super) fn on_pre_prepare(
        &mut self,
        m: SignedMessage,
        view: View,
        seq: SeqNo,
        batch: Batch,
        out: &mut Vec<Effect>,
    ) {
        if m.from != self.primary(view) {
            return self.drop(DropReason::NotPrimary);
        }
        if view != self.view || self.in_view_change {
            return self.drop(DropReason::WrongView);
        }
        if !self.in_window(seq) {
            return self.drop(DropReason::OutsideWindow);
        }
        if self.beyond_boundary(seq) {
            // The primary is ahead of this replica by a checkpoint: keep it until then.
            if self.early.len() >= MAX_EARLY_MESSAGES {
                self.early.pop_front();
                self.drop(DropReason::Stale);
            }
            self.early.push_back(m);
            return;
        }
        if batch.view != view {
            return self.drop(DropReason::BadBatch);
        }
        let digest = batch.digest(seq);
        if let Some(slot) = self.slots.get(&seq)
            && slot.view == Some(view)
            && slot.digest.is_some()
        {
            return self.drop(if slot.digest == Some(digest) {
                DropReason::Stale
            } else {
                DropReason::ConflictingPrePrepare
            });
        }
        if let Err(reason) = self.check_batch(seq, &batch) {
            return self.drop(reason);
        }
        self.accept_pre_prepare(view, seq, batch, m, out);
    }

    /// Records a pre-prepare and, as a backup, sends the prepare.
    pub(super) fn accept_pre_prepare(
        &mut self,
        view: View,
        seq: SeqNo,
        batch: Batch,
        m: SignedMessage,
        out: &mut Vec<Effect>,
    ) {
        let digest = batch.digest(seq);
        let tx_digests: Vec<Hash> = batch.txs.iter().map(SignedTransaction::id).collect();
        for (d, tx) in tx_digests.iter().zip(&batch.txs) {
            if !self.known_txs.contains(d) && !self.committed_txs.contains(d) {
                self.known_txs.insert(*d);
                let size = tx.to_canonical().len();
                self.push_mempool(*d, tx.clone(), size);
            }
        }
        let slot = self.slots.entry(seq).or_default();
        if slot.view != Some(view) {
            *slot = Slot {
                prepares: std::mem::take(&mut slot.prepares),
                commits: std::mem::take(&mut slot.commits),
                ..Slot::default()
            };
            slot.view = Some(view);
        }
        slot.batch = Some(batch);
        slot.tx_digests = tx_digests;
        slot.digest = Some(digest);
        slot.pre_prepare = Some(m);
        if seq <= self.executed {
            slot.header = self.headers.get(&seq).cloned();
        }
        let primary = self.primary(view);
        if primary != self.id && !self.would_equivocate(view, seq, VOTE_PREPARE, &digest) {
            let p = self.vote(Message::Prepare { view, seq, digest }, out);
            let slot = self.slots.entry(seq).or_default();
            slot.prepares.insert(self.id, p);
            slot.sent_prepare = true;
        }
        if !self.mempool.is_empty() && !self.view_change_timer_set {
            self.arm_view_change_timer(out);
        }
        self.check_prepared(seq, out);
    }

    pub(super) fn on_prepare(&mut self, m: SignedMessage, view: View, seq: SeqNo, out: &mut Vec<Effect>) {
        if view != self.view || self.in_view_change {
            return self.drop(DropReason::WrongView);
        }
        if !self.in_window(seq) {
            return self.drop(DropReason::OutsideWindow);
        }
        if m.from == self.primary(view) {
            return self.drop(DropReason::NotPrimary);
        }
        let slot = self.slots.entry(seq).or_default();
        if slot.view.is_some_and(|v| v != view) {
            *slot = Slot::default();
        }
        slot.view = Some(view);
        slot.prepares.insert(m.from, m);
        self.check_prepared(seq, out);
    }

    pub(super) fn check_prepared(&mut self, seq: SeqNo, out: &mut Vec<Effect>) {
        let needed = self.quorum() - 1;
        let Some(slot) = self.slots.get(&seq) else { return };
        if slot.prepared || slot.pre_prepare.is_none() {
            return;
        }
        let prepares = self.matching_prepares(seq);
        if prepares.len() < needed {
            return;
        }
        let Some(slot) = self.slots.get_mut(&seq) else {
            return;
        };
        slot.prepared = true;
        let cert = PreparedCert {
            pre_prepare: slot.pre_prepare.clone().expect("checked above"),
            prepares: prepares.into_iter().take(needed).collect(),
        };
        out.push(Effect::Persist(LogEntry::Prepared(cert.clone())));
        self.prepared_certs.insert(seq, cert);
        if seq <= self.executed {
            // Re-proposed in a new view after this replica executed it: its header is known, so
            // commit at once and help the others reach a certificate.
            self.send_commit(seq, out);
        }
        self.advance(out);
    }

    /// Sends the commit for `seq` once it is prepared and its header is known.
    pub(super) fn send_commit(&mut self, seq: SeqNo, out: &mut Vec<Effect>) {
        let Some(slot) = self.slots.get(&seq) else { return };
        if slot.sent_commit || !slot.prepared {
            return;
        }
        let (Some(view), Some(digest), Some(header)) = (slot.view, slot.digest, slot.header.clone()) else {
            return;
        };
        if self.would_equivocate(view, seq, VOTE_COMMIT, &digest) {
            return;
        }
        let block_hash = header.digest();
        let vote = CommitVote::for_header(&header).sign(&self.key).signature;
        self.vote(
            Message::Commit {
                view,
                seq,
                digest,
                block_hash,
                vote,
            },
            out,
        );
        let id = self.id;
        if let Some(slot) = self.slots.get_mut(&seq) {
            slot.sent_commit = true;
            slot.commits.insert(id, (view, digest, block_hash, vote));
        }
    }

    pub(super) fn on_commit(&mut self, m: &SignedMessage, out: &mut Vec<Effect>) {
        let Message::Commit {
            view,
            seq,
            digest,
            block_hash,
            vote,
        } = m.message
        else {
            return;
        };
        let from = m.from;
        if view != self.view || self.in_view_change {
            return self.drop(DropReason::WrongView);
        }
        if !self.in_window(seq) {
            return self.drop(DropReason::OutsideWindow);
        }
        let cv = CommitVote {
            chain_id: self.config.chain_id.clone(),
            height: Height(seq.0),
            block_hash,
        };
        if !self.check.verify(
            &self.keys[from.0 as usize],
            domains::COMMIT_VOTE,
            &cv.digest().0,
            &vote,
        ) {
            return self.drop(DropReason::BadSignature);
        }
        let f = self.f();
        let slot = self.slots.entry(seq).or_default();
        slot.commits.insert(from, (view, digest, block_hash, vote));
        // Commits for a batch this replica never saw mean it fell behind: fetch the blocks.
        let missing_batch = slot.batch.is_none() && seq > self.executed;
        let evidence = slot.commits.len();
        if missing_batch && evidence > f {
            let m = self.sign(Message::FetchBlocks {
                from: SeqNo(self.executed.0 + 1),
            });
            out.push(Effect::Send(from, m));
        }
        self.advance(out);
    }

    /// Executes and commits in order: for the next height, ask for its state root once it is
    /// prepared; commit it once 2f+1 matching commits are in.
    pub(super) fn advance(&mut self, out: &mut Vec<Effect>) {
        loop {
            let next = SeqNo(self.executed.0 + 1);
            let Some(slot) = self.slots.get(&next) else { return };
            if let Some(header) = slot.header.clone() {
                self.send_commit(next, out);
                if !self.try_commit(next, header, out) {
                    return;
                }
                continue;
            }
            if !slot.prepared || self.awaiting_execution == Some(next) {
                return;
            }
            let batch = slot.batch.clone().expect("a prepared slot has its batch");
            self.awaiting_execution = Some(next);
            out.push(Effect::Execute {
                seq: next,
                parent_state_root: self.last_header.state_root,
                batch,
            });
            return;
        }
    }

    pub(super) fn on_executed(&mut self, seq: SeqNo, state_root: Hash, out: &mut Vec<Effect>) {
        if self.awaiting_execution != Some(seq) || seq.0 != self.executed.0 + 1 {
            return self.drop(DropReason::Stale);
        }
        self.awaiting_execution = None;
        let Some(slot) = self.slots.get_mut(&seq) else {
            return;
        };
        let Some(batch) = slot.batch.as_ref() else { return };
        let body = BlockBody {
            transactions: batch.txs.clone(),
        };
        slot.header = Some(BlockHeader {
            chain_id: self.config.chain_id.clone(),
            height: Height(seq.0),
            prev_hash: self.last_header.digest(),
            tx_root: body.tx_root(),
            state_root,
            validator_set_hash: self.validators.digest(),
            // A null batch (time 0) takes its parent's time; no block goes back in time.
            timestamp_ms: batch.timestamp_ms.max(self.last_header.timestamp_ms),
            view: batch.view.0,
        });
        self.advance(out);
    }

    /// Commits `seq` if 2f+1 commits match its header (§4.2 committed-local).
    pub(super) fn try_commit(&mut self, seq: SeqNo, header: BlockHeader, out: &mut Vec<Effect>) -> bool {
        let Some(slot) = self.slots.get(&seq) else {
            return false;
        };
        let (Some(view), Some(digest)) = (slot.view, slot.digest) else {
            return false;
        };
        let block_hash = header.digest();
        if !slot.prepared {
            return false;
        }
        let Some(signatures) = self.commit_quorum(slot, view, digest, block_hash) else {
            return false;
        };
        let batch = slot.batch.clone().expect("a prepared slot has its batch");
        let cert = CommitCertificate {
            height: header.height,
            block_hash,
            signatures,
        };
        let block = Block {
            header: header.clone(),
            body: BlockBody {
                transactions: batch.txs,
            },
        };
        self.apply_committed(block, cert, out);
        true
    }
}

//! Transitions that cross phases, in one place: a committed block (normal case → mempool,
//! checkpoint, validator-set switch, view-change timer, next proposal), a stable checkpoint
//! (checkpoint → log truncation → next proposal), entering a view (view change → normal
//! case), and a validator-set switch (everything keyed to the old set is void). Each states
//! the invariants the phases rely on as debug assertions paired with the rule that keeps them.

use super::*;

impl Replica {
    pub(super) fn apply_committed(&mut self, block: Block, cert: CommitCertificate, out: &mut Vec<Effect>) {
        let seq = SeqNo(block.header.height.0);
        // Relied on: blocks apply in order, each on its parent (both callers check it: the
        // normal case commits `executed + 1` only, state transfer checks height and parent).
        debug_assert_eq!(seq.0, self.executed.0 + 1, "a block applied out of order");
        debug_assert_eq!(
            block.header.prev_hash,
            self.last_header.digest(),
            "a block applied off its parent"
        );
        for tx in &block.body.transactions {
            let d = tx.id();
            self.note_committed(d);
            self.known_txs.remove(&d);
        }
        let committed = &self.committed_txs;
        let mut freed = 0;
        self.mempool.retain(|(d, _, size)| {
            let keep = !committed.contains(d);
            if !keep {
                freed += size;
            }
            keep
        });
        self.mempool_bytes = self.mempool_bytes.saturating_sub(freed);
        self.executed = seq;
        self.last_executed_ms = self.now_ms;
        self.last_header = block.header.clone();
        self.headers.insert(seq, block.header.clone());
        self.stats.blocks_committed += 1;
        let switched = self.note_validator_changes(&block);
        out.push(Effect::Commit(block, cert));
        if let Some(proof) = switched {
            out.push(Effect::Persist(LogEntry::Stable(proof)));
        }
        // §4.4: once the request the timer waits for executes, restart the timer if requests
        // remain and stop it otherwise; while it is still pending, let the timer run.
        let waited_done = self.timer_for.is_none_or(|d| self.committed_txs.contains(&d));
        if self.mempool.is_empty() {
            if self.view_change_timer_set {
                self.view_change_timer_set = false;
                self.timer_for = None;
                out.push(Effect::CancelTimer(TimerKind::ViewChange));
            }
        } else if waited_done || !self.view_change_timer_set {
            self.arm_view_change_timer(out);
        }
        if seq.0.is_multiple_of(CHECKPOINT_INTERVAL) {
            let m = self.sign(Message::Checkpoint {
                seq,
                block_hash: self.last_header.digest(),
            });
            out.push(Effect::Broadcast(m.clone()));
            self.on_checkpoint(m, out);
        }
        if seq.0.is_multiple_of(CHECKPOINT_INTERVAL) {
            self.replay_early(out);
        }
        if self.is_primary() && !self.in_view_change && self.proposable(1) > 0 {
            self.propose(out);
        }
    }

    pub(super) fn make_stable(&mut self, proof: CheckpointProof, out: &mut Vec<Effect>) {
        let seq = proof.seq;
        if seq <= self.stable.seq {
            return;
        }
        // Relied on by state transfer and view changes, which prove from `stable`: it is a
        // checkpoint this replica executed, of a quorum's votes (`on_checkpoint` collects them).
        debug_assert!(seq <= self.executed, "a checkpoint not executed here made stable");
        debug_assert!(
            proof.votes.len() >= self.quorum(),
            "a stable checkpoint without a quorum"
        );
        debug_assert_eq!(proof.header.height.0, seq.0);
        out.push(Effect::Persist(LogEntry::Stable(proof.clone())));
        self.stable = proof;
        self.slots = self.slots.split_off(&SeqNo(seq.0 + 1));
        self.checkpoints = self.checkpoints.split_off(&SeqNo(seq.0 + 1));
        self.prepared_certs = self.prepared_certs.split_off(&SeqNo(seq.0 + 1));
        self.headers = self.headers.split_off(&seq);
        self.votes.retain(|(_, s, _), _| *s > seq);
        if self.next_seq <= seq {
            self.next_seq = SeqNo(seq.0 + 1);
        }
        if self.is_primary() && !self.in_view_change && self.proposable(1) > 0 {
            self.propose(out);
        }
    }

    pub(super) fn enter_view(
        &mut self,
        view: View,
        min_s: SeqNo,
        pre_prepares: Vec<SignedMessage>,
        out: &mut Vec<Effect>,
    ) {
        // Relied on: views only go up (a vote at a lower view would contradict one sent).
        debug_assert!(view >= self.view, "entering view {view:?} from {:?}", self.view);
        self.view = view;
        self.in_view_change = false;
        self.view_change_attempts = 0;
        // Votes of earlier views can never be contradicted (nothing is voted below the current
        // view), so only this view's are kept: `votes` stays within 3 × LOG_WINDOW entries
        // however many view changes pass between two checkpoints.
        self.votes.retain(|(v, _, _), _| *v >= view);
        self.view_entered_ms = self.now_ms;
        self.view_changes = self.view_changes.split_off(&View(view.0 + 1));
        self.view_change_timer_set = false;
        out.push(Effect::CancelTimer(TimerKind::ViewChange));
        self.awaiting_execution = None;
        // Slots of earlier views are void; their commits and headers are recomputed.
        let low = self.stable.seq;
        self.slots.retain(|s, _| *s <= low);
        if min_s > self.executed {
            let m = self.sign(Message::FetchBlocks {
                from: SeqNo(self.executed.0 + 1),
            });
            out.push(Effect::Broadcast(m));
        }
        let mut max_seq = min_s.max(self.executed);
        for pp in pre_prepares {
            if let Some((v, seq, batch)) = pre_prepare_parts(&pp) {
                max_seq = max_seq.max(seq);
                if self.in_window(seq) {
                    let batch = batch.clone();
                    self.accept_pre_prepare(v, seq, batch, pp.clone(), out);
                }
            }
        }
        self.next_seq = SeqNo(max_seq.0 + 1);
        // Paired with `propose`: the primary never reuses a sequence number already ordered.
        debug_assert!(self.next_seq > self.executed && self.next_seq > self.stable.seq);
        // Replay what arrived for this view before the new-view message; keep later views'.
        self.replay_early(out);
        if !self.mempool.is_empty() {
            self.arm_view_change_timer(out);
        }
        if self.is_primary() && self.proposable(1) > 0 {
            self.propose(out);
        }
        for seq in self.slots.keys().copied().collect::<Vec<_>>() {
            if seq <= self.executed {
                self.send_commit(seq, out);
            }
        }
        self.advance(out);
    }

    /// The validator set becomes `set` at checkpoint `height`, just executed: the block there
    /// is the new epoch's base checkpoint (held by every member without votes), and every slot,
    /// checkpoint vote, prepared certificate and view change of the old set is void.
    pub(super) fn switch_set(&mut self, set: ValidatorSet, height: SeqNo) -> CheckpointProof {
        // Paired with `note_validator_changes`, which schedules a switch at a checkpoint
        // boundary and calls this once that block is executed.
        debug_assert!(
            height.0.is_multiple_of(CHECKPOINT_INTERVAL),
            "a set switch off a checkpoint"
        );
        debug_assert_eq!(height, self.executed, "a set switch at a block not just executed");
        self.keys = set.validators.iter().map(|v| v.public_key.clone()).collect();
        self.active =
            set.validators.get(self.id.0 as usize).map(|v| &v.public_key) == Some(self.key.public_key());
        self.validators = set;
        let base = CheckpointProof {
            seq: height,
            header: self.last_header.clone(),
            votes: vec![],
        };
        self.stable = base.clone();
        self.epoch_base = base.clone();
        self.slots.clear();
        self.checkpoints.clear();
        self.prepared_certs.clear();
        self.view_changes.clear();
        self.votes.retain(|(_, s, _), _| *s > height);
        self.next_seq = SeqNo(height.0 + 1);
        self.awaiting_execution = None;
        base
    }
}

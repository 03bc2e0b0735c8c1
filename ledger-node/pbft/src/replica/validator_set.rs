//! Validator-set changes: a committed change takes effect at the next checkpoint boundary; observers follow.

use super::*;

impl Replica {
    /// Whether `seq` lies beyond the next checkpoint above the executed height. Nothing is
    /// ordered there yet: a validator-set change committed in the blocks up to that checkpoint
    /// takes effect right after it, and blocks beyond it must be ordered by the new set. (This
    /// bounds the pipeline to at most K blocks in flight; the window L stays the bound on
    /// accepted sequence numbers.)
    pub(super) fn beyond_boundary(&self, seq: SeqNo) -> bool {
        seq.0 > (self.executed.0 / CHECKPOINT_INTERVAL + 1) * CHECKPOINT_INTERVAL
    }

    /// Replays kept messages that the current view and executed height now admit.
    pub(super) fn replay_early(&mut self, out: &mut Vec<Effect>) {
        let early = std::mem::take(&mut self.early);
        for m in early {
            let v = match m.message {
                Message::PrePrepare { view, .. }
                | Message::Prepare { view, .. }
                | Message::Commit { view, .. } => view,
                _ => continue,
            };
            if v == self.view && !self.in_view_change {
                self.on_message(m, out);
            } else if v > self.view || (v == self.view && self.in_view_change) {
                self.early.push_back(m);
            }
        }
    }

    /// Looks for a validator-set change in a committed block and, at the checkpoint where a
    /// pending one takes effect, switches sets. Returns the new epoch's base checkpoint.
    ///
    /// Rule: a `ChangeValidatorSet` transaction is valid when it names the next epoch, keeps
    /// every remaining validator at its index (it appends or removes at the end), every entry's
    /// peer binding verifies, and it is signed by a quorum of the current validators. Committed
    /// at height h, it takes effect after the next checkpoint c = (⌊h/K⌋ + 1)·K: blocks up to c
    /// are certified by the old set, blocks after c by the new one.
    pub(super) fn note_validator_changes(&mut self, block: &Block) -> Option<CheckpointProof> {
        let height = SeqNo(block.header.height.0);
        if self.pending_set.is_none() {
            for tx in &block.body.transactions {
                if let TxPayload::ChangeValidatorSet { set } = &tx.tx.payload
                    && self.valid_set_change(tx, set)
                {
                    let at = SeqNo((height.0 / CHECKPOINT_INTERVAL + 1) * CHECKPOINT_INTERVAL);
                    self.pending_set = Some((at, set.clone()));
                    break;
                }
            }
        }
        let (at, _) = self.pending_set.as_ref()?;
        if *at != height {
            return None;
        }
        let (_, set) = self.pending_set.take()?;
        Some(self.switch_set(set, height))
    }

    pub(super) fn valid_set_change(&self, tx: &SignedTransaction, set: &ValidatorSet) -> bool {
        let old = &self.validators;
        // The ledger applies the same two rules (admission, `check_successor`), so the state's
        // validator set is the one that certifies.
        if schemas::limits::check_transaction(tx, &self.config.chain_id).is_err()
            || old.check_successor(set).is_err()
        {
            return false;
        }
        let digest = tx.tx.digest();
        let signers: BTreeSet<usize> = tx
            .signatures
            .iter()
            .filter(|s| {
                self.check
                    .verify(&s.public_key, domains::TRANSACTION, &digest.0, &s.signature)
            })
            .filter_map(|s| old.index_of(&s.public_key))
            .collect();
        signers.len() >= old.quorum()
    }

    /// An observer only follows: it applies certified blocks, gossips its height and asks for
    /// what it misses.
    pub(super) fn step_observer(&mut self, input: Input, out: &mut Vec<Effect>) {
        match input {
            Input::Blocks(blocks) => self.on_blocks(blocks, out),
            Input::Timeout(TimerKind::Sync) => self.on_timeout(TimerKind::Sync, out),
            // Kept running (it does nothing while this replica only follows) so that it is
            // armed the moment a validator-set change makes this replica a member.
            Input::Timeout(TimerKind::Heartbeat) => {
                out.push(Effect::SetTimer(TimerKind::Heartbeat, self.heartbeat_check()));
            }
            Input::Message(m) => {
                if let Message::Status { executed } = m.message
                    && executed > self.executed
                    && self.verify_message(&m).is_ok()
                {
                    let fetch = self.sign(Message::FetchBlocks {
                        from: SeqNo(self.executed.0 + 1),
                    });
                    out.push(Effect::Send(m.from, fetch));
                }
            }
            _ => {}
        }
    }

    /// Whether this replica is a voting member of the current validator set.
    pub fn is_validator(&self) -> bool {
        self.active
    }

    /// The current validator set.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }
}

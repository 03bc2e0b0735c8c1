//! The mempool: admission of transactions (signatures checked once), what may be proposed, what is in flight.

use super::*;

impl Replica {
    /// Adds a transaction to the mempool after checking the admission rule and its signatures
    /// once. What fails here would fail every correct backup's `check_batch`, so it never
    /// enters a batch, and the view-change timer never waits on it.
    pub(super) fn add_tx(&mut self, tx: SignedTransaction) -> bool {
        let d = tx.id();
        if self.known_txs.contains(&d) || self.committed_txs.contains(&d) {
            return false;
        }
        let size = match schemas::limits::check_transaction(&tx, &self.config.chain_id) {
            Ok(size) => size,
            Err(_) => {
                self.drop(DropReason::OverLimit);
                return false;
            }
        };
        if self.mempool.len() >= MAX_MEMPOOL_TXS || self.mempool_bytes + size > MAX_MEMPOOL_BYTES {
            self.drop(DropReason::MempoolFull);
            return false;
        }
        if !self.tx_signatures_ok(&tx) {
            self.drop(DropReason::BadTransaction);
            return false;
        }
        self.known_txs.insert(d);
        self.push_mempool(d, tx, size);
        true
    }

    pub(super) fn push_mempool(&mut self, d: Hash, tx: SignedTransaction, size: usize) {
        self.mempool_bytes += size;
        self.mempool.push_back((d, tx, size));
    }

    /// Remembers a committed transaction id, forgetting the oldest beyond [`MAX_COMMITTED_TXS`].
    pub(super) fn note_committed(&mut self, d: Hash) {
        if self.committed_txs.insert(d) {
            self.committed_order.push_back(d);
            if self.committed_order.len() > MAX_COMMITTED_TXS
                && let Some(old) = self.committed_order.pop_front()
            {
                self.committed_txs.remove(&old);
            }
        }
    }

    /// Checks a transaction's signatures (over the unsigned transaction's digest). Who may sign
    /// what is the ledger's rule, not consensus's.
    pub(super) fn tx_signatures_ok(&self, tx: &SignedTransaction) -> bool {
        let digest = tx.tx.digest();
        !tx.signatures.is_empty()
            && tx.signatures.iter().all(|s| {
                self.check
                    .verify(&s.public_key, domains::TRANSACTION, &digest.0, &s.signature)
            })
    }

    pub(super) fn after_new_txs(&mut self, out: &mut Vec<Effect>) {
        if self.is_primary() && !self.in_view_change {
            // A full batch goes at once; so does anything when no batch is in flight (nothing
            // to wait for: at low load a transaction does not sit out the batch timer). While
            // batches are in flight, what arrives waits for the timer or for the next execution
            // (`apply_block` proposes what is waiting), so batches grow with the load.
            let proposable = self.proposable(MAX_BATCH_TXS);
            if proposable >= MAX_BATCH_TXS || (proposable > 0 && !self.batch_in_flight()) {
                self.propose(out);
            } else if !self.batch_timer_set && proposable > 0 {
                self.batch_timer_set = true;
                out.push(Effect::SetTimer(TimerKind::Batch, self.config.batch_timeout));
            }
        }
        if !self.mempool.is_empty() && !self.view_change_timer_set {
            self.arm_view_change_timer(out);
        }
    }

    pub(super) fn in_flight(&self) -> HashSet<Hash> {
        self.slots
            .iter()
            .filter(|(s, _)| **s > self.executed)
            .flat_map(|(_, slot)| slot.tx_digests.iter().copied())
            .collect()
    }

    /// Whether a batch this replica knows of is proposed above the executed height.
    pub(super) fn batch_in_flight(&self) -> bool {
        self.awaiting_execution.is_some()
            || self
                .slots
                .range(SeqNo(self.executed.0 + 1)..)
                .any(|(_, slot)| slot.batch.is_some())
    }

    /// How many mempool transactions are not in flight, counting up to `enough`.
    pub(super) fn proposable(&self, enough: usize) -> usize {
        let in_flight = self.in_flight();
        self.mempool
            .iter()
            .filter(|(d, ..)| !in_flight.contains(d))
            .take(enough)
            .count()
    }
}

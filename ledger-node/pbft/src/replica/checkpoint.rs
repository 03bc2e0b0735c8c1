//! Checkpoints (§4.3): signed state digests, the stable checkpoint, and garbage collection of the log.

use super::*;

impl Replica {
    pub(super) fn on_checkpoint(&mut self, m: SignedMessage, out: &mut Vec<Effect>) {
        let Message::Checkpoint { seq, block_hash } = m.message else {
            return;
        };
        if seq <= self.stable.seq
            || !seq.0.is_multiple_of(CHECKPOINT_INTERVAL)
            || seq.0 > self.stable.seq.0 + MAX_CHECKPOINT_AHEAD
        {
            return self.drop(DropReason::Stale);
        }
        self.checkpoints.entry(seq).or_default().insert(m.from, m);
        let Some(votes) = self.checkpoint_quorum(seq, block_hash) else {
            return;
        };
        match self.headers.get(&seq) {
            Some(h) if h.digest() == block_hash => {
                let proof = CheckpointProof {
                    seq,
                    header: h.clone(),
                    votes,
                };
                self.make_stable(proof, out);
            }
            Some(_) => self.drop(DropReason::BadProof),
            None => {
                let m = self.sign(Message::FetchBlocks {
                    from: SeqNo(self.executed.0 + 1),
                });
                if let Some(to) = votes.first().map(|v| v.from) {
                    out.push(Effect::Send(to, m));
                }
            }
        }
    }

    pub(super) fn valid_checkpoint_proof(&self, proof: &CheckpointProof) -> bool {
        if proof.votes.is_empty() {
            // Only the base of this epoch (genesis, or the checkpoint where the set changed)
            // stands without votes.
            return *proof == self.epoch_base;
        }
        let block_hash = proof.header.digest();
        if proof.header.height.0 != proof.seq.0 {
            return false;
        }
        let mut signers = BTreeSet::new();
        for v in &proof.votes {
            let ok = matches!(v.message, Message::Checkpoint { seq, block_hash: b } if seq == proof.seq && b == block_hash);
            if !ok || !signers.insert(v.from) || self.verify_message(v).is_err() {
                return false;
            }
        }
        signers.len() >= self.quorum()
    }
}

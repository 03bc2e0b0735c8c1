//! Vote counting: the size of a quorum, and which received votes agree with each other and
//! reach it. Each phase asks here instead of counting on its own.

use super::*;

impl Replica {
    pub(super) fn n(&self) -> usize {
        self.validators.len()
    }

    pub(super) fn f(&self) -> usize {
        self.validators.max_faulty()
    }

    /// n − f, which is 2f + 1 when n = 3f + 1 (under the simulator's broken rule, 2f).
    pub(super) fn quorum(&self) -> usize {
        if self.config.broken.small_quorum {
            2 * self.f()
        } else {
            self.validators.quorum()
        }
    }

    pub(super) fn matching_prepares(&self, seq: SeqNo) -> Vec<SignedMessage> {
        let Some(slot) = self.slots.get(&seq) else {
            return vec![];
        };
        let (Some(view), Some(digest)) = (slot.view, slot.digest) else {
            return vec![];
        };
        slot.prepares
            .values()
            .filter(|p| matches!(&p.message, Message::Prepare { view: v, seq: s, digest: d } if *v == view && *s == seq && *d == digest))
            .cloned()
            .collect()
    }

    /// The commit signatures of a quorum for `block_hash` in the slot's view and digest, or
    /// `None` while fewer agree (§4.2 committed-local). Exactly a quorum is kept.
    pub(super) fn commit_quorum(
        &self,
        slot: &Slot,
        view: View,
        digest: Hash,
        block_hash: Hash,
    ) -> Option<Vec<SignerSignature>> {
        let signatures: Vec<SignerSignature> = slot
            .commits
            .iter()
            .filter(|(_, (v, d, b, _))| *v == view && *d == digest && *b == block_hash)
            .map(|(id, (_, _, _, vote))| SignerSignature {
                public_key: self.keys[id.0 as usize].clone(),
                signature: *vote,
            })
            .take(self.quorum())
            .collect();
        (signatures.len() >= self.quorum()).then_some(signatures)
    }

    /// A quorum of checkpoint votes at `seq` for `block_hash`, or `None` while fewer agree.
    /// Exactly a quorum is kept (the stable checkpoint's proof).
    pub(super) fn checkpoint_quorum(&self, seq: SeqNo, block_hash: Hash) -> Option<Vec<SignedMessage>> {
        let votes: Vec<SignedMessage> = self
            .checkpoints
            .get(&seq)?
            .values()
            .filter(|v| matches!(v.message, Message::Checkpoint { block_hash: b, .. } if b == block_hash))
            .take(self.quorum())
            .cloned()
            .collect();
        (votes.len() >= self.quorum()).then_some(votes)
    }
}

//! State transfer: certified blocks for a replica that fell behind the log window.

use super::*;

impl Replica {
    pub(super) fn on_blocks(&mut self, blocks: BlockTransfer, out: &mut Vec<Effect>) {
        let full = blocks.len() >= MAX_TRANSFER_BLOCKS;
        let mut applied = false;
        for (block, cert) in blocks.into_iter().take(MAX_TRANSFER_BLOCKS) {
            let h = &block.header;
            if h.height.0 != self.executed.0 + 1 {
                continue;
            }
            let valid = h.prev_hash == self.last_header.digest()
                && h.chain_id == self.config.chain_id
                && h.tx_root == block.body.tx_root()
                && cert.height == h.height
                && self.certificate_ok(h, &cert);
            if !valid {
                self.drop(DropReason::BadBlock);
                break;
            }
            self.awaiting_execution = None;
            if let Some(slot) = self.slots.get_mut(&SeqNo(h.height.0)) {
                slot.header = Some(h.clone());
            }
            self.apply_committed(block, cert, out);
            applied = true;
        }
        if applied {
            if full {
                let m = self.sign(Message::FetchBlocks {
                    from: SeqNo(self.executed.0 + 1),
                });
                out.push(Effect::Broadcast(m));
            }
            self.advance(out);
        }
    }

    pub(super) fn certificate_ok(&self, header: &BlockHeader, cert: &CommitCertificate) -> bool {
        if header.validator_set_hash != self.validators.digest() || cert.block_hash != header.digest() {
            return false;
        }
        let vote = CommitVote::for_header(header).digest();
        let mut signers = BTreeSet::new();
        for s in &cert.signatures {
            let Some(i) = self.validators.index_of(&s.public_key) else {
                return false;
            };
            if !signers.insert(i)
                || !self
                    .check
                    .verify(&s.public_key, domains::COMMIT_VOTE, &vote.0, &s.signature)
            {
                return false;
            }
        }
        signers.len() >= self.validators.quorum()
    }
}

//! Consensus messages. Every message travels signed by its sender ([`SignedMessage`]), because
//! pre-prepares, prepares, checkpoints and view changes are relayed inside proofs (prepared
//! certificates, checkpoint proofs, new-view messages) where the relayer is not the author.

use crate::{ReplicaId, SeqNo, View};
use schemas::codec::encode;
use schemas::hash::{Domain, Hash, hash_domain};
use schemas::ledger::{Block, BlockHeader, CommitCertificate, SignedTransaction};
use schemas::sm2::{SecretKey, Signature};
use serde::{Deserialize, Serialize};

/// Domain of a consensus message signature.
pub(crate) const MESSAGE_DOMAIN: Domain = Domain::new("credence/pbft-message/v1");
/// Domain of a batch digest.
const BATCH_DOMAIN: Domain = Domain::new("credence/pbft-batch/v1");

/// What the primary orders at one sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The view in which the batch was first proposed (kept when re-proposed after a view
    /// change, so the block built from it is the same in every view).
    pub view: View,
    /// The proposer's clock, ms since the Unix epoch (0 for the null batches of a new view).
    pub timestamp_ms: u64,
    /// The transactions.
    pub txs: Vec<SignedTransaction>,
}

impl Batch {
    /// The batch's digest at `seq` (binding the sequence number).
    pub fn digest(&self, seq: SeqNo) -> Hash {
        hash_domain(BATCH_DOMAIN, &encode(&(seq, self)))
    }

    /// A null batch (fills a gap in a new view).
    pub fn null(view: View) -> Self {
        Batch {
            view,
            timestamp_ms: 0,
            txs: Vec::new(),
        }
    }
}

/// 2f+1 signed checkpoint messages for one (sequence, block hash), or genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointProof {
    /// The checkpoint's sequence number (0: genesis, which needs no votes).
    pub seq: SeqNo,
    /// The header of the block at `seq`.
    pub header: BlockHeader,
    /// Signed `Checkpoint` messages.
    pub votes: Vec<SignedMessage>,
}

/// A pre-prepare and 2f matching prepares from distinct backups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedCert {
    /// The signed pre-prepare.
    pub pre_prepare: SignedMessage,
    /// The signed prepares.
    pub prepares: Vec<SignedMessage>,
}

/// A consensus message (§4.2–4.5 of Castro & Liskov 2002, plus state transfer and gossip).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// ⟨PRE-PREPARE, v, n, d⟩ with the batch (§4.2).
    PrePrepare {
        /// View.
        view: View,
        /// Sequence number.
        seq: SeqNo,
        /// The batch.
        batch: Batch,
    },
    /// ⟨PREPARE, v, n, d, i⟩ (§4.2).
    Prepare {
        /// View.
        view: View,
        /// Sequence number.
        seq: SeqNo,
        /// Batch digest.
        digest: Hash,
    },
    /// ⟨COMMIT, v, n, d, i⟩ (§4.2), carrying the SM2 commit vote over the block header built from
    /// the batch, so that 2f+1 commits are the block's commit certificate.
    Commit {
        /// View.
        view: View,
        /// Sequence number.
        seq: SeqNo,
        /// Batch digest.
        digest: Hash,
        /// Hash of the header built from the batch.
        block_hash: Hash,
        /// Signature over the `CommitVote` of that header.
        vote: Signature,
    },
    /// ⟨CHECKPOINT, n, d, i⟩ (§4.3): the hash of the block at `seq` (which holds the state root).
    Checkpoint {
        /// Sequence number.
        seq: SeqNo,
        /// Block hash.
        block_hash: Hash,
    },
    /// ⟨VIEW-CHANGE, v+1, n, C, P, i⟩ (§4.4).
    ViewChange {
        /// The view asked for.
        new_view: View,
        /// The sender's stable checkpoint.
        checkpoint: CheckpointProof,
        /// Prepared certificates above it.
        prepared: Vec<PreparedCert>,
    },
    /// ⟨NEW-VIEW, v+1, V, O⟩ (§4.4).
    NewView {
        /// The new view.
        view: View,
        /// 2f+1 view-change messages.
        view_changes: Vec<SignedMessage>,
        /// The new primary's pre-prepares for (min-s, max-s].
        pre_prepares: Vec<SignedMessage>,
    },
    /// State transfer: ask for committed blocks from `from` on.
    FetchBlocks {
        /// First height wanted.
        from: SeqNo,
    },
    /// Gossip of how far the sender has executed (lets a lagging replica notice).
    Status {
        /// Last executed height.
        executed: SeqNo,
    },
    /// Client transactions forwarded to every validator.
    Forward {
        /// The transactions.
        txs: Vec<SignedTransaction>,
    },
}

/// A one-line description (kind, view, sequence) for traces and logs; never the contents.
impl core::fmt::Display for Message {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Message::PrePrepare { view, seq, .. } => write!(f, "PrePrepare v{} n{}", view.0, seq.0),
            Message::Prepare { view, seq, .. } => write!(f, "Prepare v{} n{}", view.0, seq.0),
            Message::Commit { view, seq, .. } => write!(f, "Commit v{} n{}", view.0, seq.0),
            Message::Checkpoint { seq, .. } => write!(f, "Checkpoint n{}", seq.0),
            Message::ViewChange { new_view, .. } => write!(f, "ViewChange v{}", new_view.0),
            Message::NewView { view, .. } => write!(f, "NewView v{}", view.0),
            Message::FetchBlocks { from } => write!(f, "FetchBlocks {}", from.0),
            Message::Status { executed } => write!(f, "Status {}", executed.0),
            Message::Forward { txs } => write!(f, "Forward {}", txs.len()),
        }
    }
}

/// A message with its author and the author's SM2 signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedMessage {
    /// The author.
    pub from: ReplicaId,
    /// The message.
    pub message: Message,
    /// Signature over `SM3(tag || BCS(from, message))`.
    pub signature: Signature,
}

impl SignedMessage {
    pub(crate) fn signed_bytes(from: ReplicaId, message: &Message) -> Vec<u8> {
        encode(&(from, message))
    }

    /// Signs `message` as `from`.
    pub fn sign(from: ReplicaId, message: Message, key: &SecretKey) -> Self {
        let signature = key.sign(MESSAGE_DOMAIN, &Self::signed_bytes(from, &message));
        SignedMessage {
            from,
            message,
            signature,
        }
    }
}

/// Committed blocks sent in answer to [`Message::FetchBlocks`]; self-authenticating through
/// their commit certificates, so they travel unsigned.
pub type BlockTransfer = Vec<(Block, CommitCertificate)>;

/// What travels between nodes: one frame on the consortium network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wire {
    /// A consensus message.
    Message(Box<SignedMessage>),
    /// Committed blocks (state transfer).
    Blocks(BlockTransfer),
}

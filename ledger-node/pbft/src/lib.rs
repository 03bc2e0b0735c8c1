//! PBFT (Castro & Liskov, OSDI '99; TOCS 2002) as a deterministic, sans-IO state machine.
//!
//! [`Replica::step`] takes one [`Input`] (a message, a timer firing, a client transaction, the
//! result of executing a batch) and appends [`Effect`]s (persist, send, set a timer, execute,
//! commit a block). It never reads a clock, spawns, draws randomness or touches a socket or a
//! disk: the node and the simulator are adapters around it.
//!
//! Invariants:
//! - effects are carried out in order, and a `Persist` completes before any later `Send` of the
//!   same step: what a replica voted survives a crash before anyone sees the vote;
//! - a correct replica never sends two different prepares or commits for one (view, sequence);
//! - every network input is validated (sender in the set, signature, view, watermarks, sizes)
//!   and dropped with a counted reason when invalid — never a panic;
//! - every loop and queue is bounded by a named constant below.

mod message;
mod replica;

pub use message::{Batch, CheckpointProof, Message, PreparedCert, SignedMessage};
pub use message::{BlockTransfer, Wire};
pub use replica::{
    BrokenRules, Config, DEFAULT_HEARTBEAT, DropReason, Effect, Input, LogEntry, Replica, SignatureCheck,
    Sm2Check, Stats, TimerKind,
};

use serde::{Deserialize, Serialize};

/// Index of a validator in the validator set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReplicaId(pub u32);

/// A PBFT view; the primary of view `v` is replica `v mod n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct View(pub u64);

/// A sequence number: the height of the block it orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeqNo(pub u64);

/// Blocks between checkpoints (K).
pub const CHECKPOINT_INTERVAL: u64 = 8;
/// Sequence numbers accepted above the low watermark (L): `h < n <= h + L`.
pub const LOG_WINDOW: u64 = 4 * CHECKPOINT_INTERVAL;
/// Most transactions in one batch.
pub const MAX_BATCH_TXS: usize = 256;
/// Most bytes of transactions in one batch.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// Most transactions waiting in the mempool; more are refused.
pub const MAX_MEMPOOL_TXS: usize = 16_384;
/// Most bytes of transactions waiting in the mempool.
pub const MAX_MEMPOOL_BYTES: usize = 64 << 20;
/// Most committed transaction ids remembered to refuse them again (about a minute of blocks
/// at full load; older repeats execute as no-ops).
pub const MAX_COMMITTED_TXS: usize = 1 << 17;
/// How far ahead of a backup's own clock a block's time may be (ms): the time rule.
pub const MAX_CLOCK_DRIFT_MS: u64 = 10_000;
/// Most blocks sent in one state-transfer reply.
pub const MAX_TRANSFER_BLOCKS: usize = 64;
/// Most prepared certificates in one view-change message.
pub const MAX_PREPARED_CERTS: usize = LOG_WINDOW as usize;

const _: () = assert!(
    CHECKPOINT_INTERVAL < LOG_WINDOW,
    "a checkpoint must fit inside the window"
);
const _: () = assert!(LOG_WINDOW.is_multiple_of(CHECKPOINT_INTERVAL));
const _: () = assert!(MAX_BATCH_TXS <= MAX_MEMPOOL_TXS);
const _: () = assert!(
    schemas::limits::MAX_TX_BYTES <= MAX_BATCH_BYTES,
    "every admitted transaction fits a batch alone"
);
const _: () = assert!(MAX_BATCH_BYTES <= MAX_MEMPOOL_BYTES);
const _: () = assert!(MAX_MEMPOOL_TXS <= MAX_COMMITTED_TXS);

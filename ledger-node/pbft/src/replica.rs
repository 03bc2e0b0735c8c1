//! The replica state machine: its inputs and effects, its state, and `step`, which dispatches
//! each input. The protocol's phases live in child modules, one file each: `mempool`
//! (admission), `normal` (§4.2), `checkpoint` (§4.3), `view_change` (§4.4), `validator_set` and
//! `state_transfer`. They share the replica's state; what they call across phases is marked
//! `pub(super)`.

use crate::message::{BlockTransfer, MESSAGE_DOMAIN};
use crate::{
    Batch, CHECKPOINT_INTERVAL, CheckpointProof, LOG_WINDOW, MAX_BATCH_BYTES, MAX_BATCH_TXS,
    MAX_CLOCK_DRIFT_MS, MAX_COMMITTED_TXS, MAX_MEMPOOL_BYTES, MAX_MEMPOOL_TXS, MAX_PREPARED_CERTS,
    MAX_TRANSFER_BLOCKS, Message, PreparedCert, ReplicaId, SeqNo, SignedMessage, View,
};
use schemas::codec::Canonical;
use schemas::hash::{Domain, Hash, domains};
use schemas::ledger::{
    Block, BlockBody, BlockHeader, CommitCertificate, CommitVote, Height, SignedTransaction, SignerSignature,
    TxPayload, ValidatorSet,
};
use schemas::sm2::{PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

mod checkpoint;
mod mempool;
mod normal;
mod quorum;
mod state_transfer;
mod transitions;
mod validator_set;
mod view_change;

/// Checks signatures. The node uses [`Sm2Check`]; the simulator shares one caching checker
/// between its replicas so each distinct signature is verified (really, with SM2) once.
pub trait SignatureCheck: Send + Sync {
    /// Whether `sig` is `key`'s signature over `msg` under `domain`.
    fn verify(&self, key: &PublicKey, domain: Domain, msg: &[u8], sig: &Signature) -> bool;
}

/// Plain SM2 verification.
pub struct Sm2Check;

impl SignatureCheck for Sm2Check {
    fn verify(&self, key: &PublicKey, domain: Domain, msg: &[u8], sig: &Signature) -> bool {
        key.verify(domain, msg, sig).is_ok()
    }
}

/// Timers a replica sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimerKind {
    /// The primary proposes what it has when this fires.
    Batch,
    /// A pending request did not commit in time: change view (§4.4).
    ViewChange,
    /// Periodic status gossip and state-transfer retry.
    Sync,
    /// The primary of an idle chain checks whether its last block is older than
    /// [`Config::heartbeat`] and, if so, proposes an empty one.
    Heartbeat,
}

/// Test-only switches that break one rule each, to show the simulator catches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BrokenRules {
    /// Count 2f signatures as a quorum instead of n − f.
    pub small_quorum: bool,
    /// The new primary ignores prepared certificates and proposes null batches.
    pub drop_prepared_in_new_view: bool,
    /// Emit every vote's `Send` before its `Persist`.
    pub send_before_persist: bool,
    /// No heartbeat: an idle chain's primary proposes nothing, and backups never replace a
    /// primary that lets the chain go stale.
    pub no_heartbeat: bool,
}

/// Replica settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The chain id every header carries.
    pub chain_id: String,
    /// How long the primary waits to fill a batch.
    pub batch_timeout: Duration,
    /// Base view-change timeout (doubled on each failed view change).
    pub view_change_timeout: Duration,
    /// Status gossip period.
    pub sync_interval: Duration,
    /// The longest a chain goes without a block: once the last block is this old and nothing
    /// waits, the primary proposes an empty one. Readers refuse certified answers older than
    /// they accept (the wallet's `DEFAULT_MAX_READ_AGE_SECS`, 600 s), so a chain with no
    /// traffic must still certify fresh headers.
    pub heartbeat: Duration,
    /// Rules to break (tests of the simulator only).
    pub broken: BrokenRules,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            chain_id: "credence-devnet".into(),
            batch_timeout: Duration::from_millis(50),
            view_change_timeout: Duration::from_millis(1_000),
            sync_interval: Duration::from_millis(500),
            heartbeat: DEFAULT_HEARTBEAT,
            broken: BrokenRules::default(),
        }
    }
}

/// The default [`Config::heartbeat`]: a tenth of the longest read age wallets accept by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);

/// How often the primary checks for an idle chain, as a fraction of the heartbeat: the longest
/// gap between blocks is then the heartbeat and a quarter.
const HEARTBEAT_CHECKS: u32 = 4;

/// What the replica asks its environment to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write durably before carrying out any later effect.
    Persist(LogEntry),
    /// Send to one replica.
    Send(ReplicaId, SignedMessage),
    /// Send to every other replica.
    Broadcast(SignedMessage),
    /// Send committed blocks from `from` on to a replica (read from storage).
    ServeBlocks {
        /// Who asked.
        to: ReplicaId,
        /// First height.
        from: SeqNo,
    },
    /// Fire `Input::Timeout(kind)` after the delay (replacing any earlier setting).
    SetTimer(TimerKind, Duration),
    /// Forget a timer.
    CancelTimer(TimerKind),
    /// Compute the state root of applying `batch` on top of the committed state (whose root is
    /// `parent_state_root`) without committing it; answer with `Input::Executed`.
    Execute {
        /// Sequence number.
        seq: SeqNo,
        /// Root of the committed state it applies to.
        parent_state_root: Hash,
        /// The batch.
        batch: Batch,
    },
    /// Persist and apply a committed block.
    Commit(Block, CommitCertificate),
}

/// What happens to a replica.
// Messages are the common input and are moved once into `step`: boxing them would add an
// allocation per message to spare the rarer inputs a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Input {
    /// A message from the network (authenticated by its signature).
    Message(SignedMessage),
    /// Committed blocks from a state-transfer answer.
    Blocks(BlockTransfer),
    /// A timer fired.
    Timeout(TimerKind),
    /// Clients submitted transactions here; they are forwarded to the other replicas together
    /// (one signed message for many transactions).
    Submit(Vec<SignedTransaction>),
    /// The answer to `Effect::Execute`.
    Executed {
        /// Sequence number.
        seq: SeqNo,
        /// The state root after applying the batch.
        state_root: Hash,
    },
}

/// What a replica persists: enough to restart without equivocating or losing a commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogEntry {
    /// A message this replica sent (pre-prepare, prepare, commit, view change, new view).
    Sent(SignedMessage),
    /// A prepared certificate this replica holds.
    Prepared(PreparedCert),
    /// A stable checkpoint.
    Stable(CheckpointProof),
    /// A committed block (written by the environment when carrying out `Effect::Commit`).
    Committed(Block, CommitCertificate),
}

/// Why an input was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Sender not in the validator set.
    UnknownSender,
    /// Signature does not verify.
    BadSignature,
    /// For another view.
    WrongView,
    /// Outside the watermarks.
    OutsideWindow,
    /// From a replica that is not the primary of that view.
    NotPrimary,
    /// A second, different pre-prepare for one (view, sequence).
    ConflictingPrePrepare,
    /// A batch over the limits, with a duplicate, committed or invalid transaction.
    BadBatch,
    /// A transaction with a bad signature.
    BadTransaction,
    /// A transaction or batch over the admission limits (`schemas::limits`, `MAX_BATCH_BYTES`).
    OverLimit,
    /// A pre-prepare whose time breaks the time rule (below the parent's, or beyond this
    /// replica's clock plus `MAX_CLOCK_DRIFT_MS`).
    BadTime,
    /// Mempool full.
    MempoolFull,
    /// A malformed view-change, new-view or checkpoint proof.
    BadProof,
    /// A block from state transfer that does not extend the chain or is not certified.
    BadBlock,
    /// Nothing to do with it (stale, duplicate).
    Stale,
}

/// Counters.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Dropped inputs by reason.
    pub dropped: BTreeMap<DropReason, u64>,
    /// View changes started.
    pub view_changes: u64,
    /// Blocks committed (including by state transfer).
    pub blocks_committed: u64,
    /// Empty blocks this replica proposed as primary of an idle chain.
    pub heartbeats: u64,
}

#[derive(Default)]
struct Slot {
    view: Option<View>,
    batch: Option<Batch>,
    /// Digests of the batch's transactions, computed once when the batch is accepted.
    tx_digests: Vec<Hash>,
    digest: Option<Hash>,
    pre_prepare: Option<SignedMessage>,
    prepares: BTreeMap<ReplicaId, SignedMessage>,
    commits: BTreeMap<ReplicaId, (View, Hash, Hash, Signature)>,
    header: Option<BlockHeader>,
    prepared: bool,
    sent_prepare: bool,
    sent_commit: bool,
}

/// A PBFT replica.
pub struct Replica {
    id: ReplicaId,
    key: SecretKey,
    /// Whether this replica is validator `id` of the current set (else it only follows).
    active: bool,
    /// A committed validator-set change and the checkpoint after which it takes effect.
    pending_set: Option<(SeqNo, ValidatorSet)>,
    validators: ValidatorSet,
    keys: Vec<PublicKey>,
    check: Arc<dyn SignatureCheck>,
    config: Config,
    now_ms: u64,

    view: View,
    /// When this replica entered its current view (or started), ms: a new primary is given a
    /// heartbeat's patience from then, not from the last block.
    view_entered_ms: u64,
    /// When this replica last executed a block, by its own clock (ms; 0 before the first since
    /// start): what the heartbeat and the silent-primary rule measure from.
    last_executed_ms: u64,
    in_view_change: bool,
    view_change_attempts: u32,
    view_changes: BTreeMap<View, BTreeMap<ReplicaId, SignedMessage>>,
    new_view_sent: BTreeSet<View>,
    /// The new-view message of the latest view this replica entered (sent or accepted; restored
    /// from the log): proof of that view for a replica still trying to reach it.
    last_new_view: Option<SignedMessage>,
    /// When this replica last helped each lagging replica catch up (virtual ms), to answer each
    /// at most once per sync interval.
    catch_up_sent: BTreeMap<ReplicaId, u64>,

    stable: CheckpointProof,
    /// Where the current validator set's epoch starts (genesis, or the checkpoint at which the
    /// set changed): a checkpoint every member holds without votes.
    epoch_base: CheckpointProof,
    /// Checkpoint votes above the stable checkpoint (bounded by [`MAX_CHECKPOINT_AHEAD`]).
    checkpoints: BTreeMap<SeqNo, BTreeMap<ReplicaId, SignedMessage>>,
    /// Normal-case state per sequence number inside the window (at most [`LOG_WINDOW`]).
    slots: BTreeMap<SeqNo, Slot>,
    /// Prepared certificates inside the window (at most [`MAX_PREPARED_CERTS`]).
    prepared_certs: BTreeMap<SeqNo, PreparedCert>,
    /// What this replica voted: (view, seq) → digest, for pre-prepares, prepares and commits;
    /// its own votes only, in the current view and above the stable checkpoint (at most
    /// 3 × [`LOG_WINDOW`]).
    votes: BTreeMap<(View, SeqNo, u8), Hash>,
    next_seq: SeqNo,

    executed: SeqNo,
    last_header: BlockHeader,
    headers: BTreeMap<SeqNo, BlockHeader>,
    awaiting_execution: Option<SeqNo>,

    /// Normal-case messages for a view this replica has not entered yet (the network reorders
    /// them ahead of the new-view message); replayed on entering that view.
    early: VecDeque<SignedMessage>,

    /// Pending transactions with their ids ([`SignedTransaction::id`], the unsigned body's
    /// digest) and canonical sizes, both computed once on entry.
    mempool: VecDeque<(Hash, SignedTransaction, usize)>,
    /// Canonical bytes of the transactions in `mempool` (bounded by [`MAX_MEMPOOL_BYTES`]).
    mempool_bytes: usize,
    known_txs: HashSet<Hash>,
    /// Ids of recently committed transactions, oldest first in `committed_order`; at most
    /// [`MAX_COMMITTED_TXS`] (an older one offered again executes as a no-op: the ledger keys
    /// receipts on the same id).
    committed_txs: HashSet<Hash>,
    committed_order: VecDeque<Hash>,
    batch_timer_set: bool,
    view_change_timer_set: bool,
    /// The request the view-change timer waits for (§4.4: the timer is stopped or restarted
    /// only when *that* request executes, so a primary that commits others while censoring one
    /// is still replaced).
    timer_for: Option<Hash>,

    stats: Stats,
}

/// Most messages kept for views not entered yet.
const MAX_EARLY_MESSAGES: usize = 4 * LOG_WINDOW as usize * 16;

/// How far above the stable checkpoint checkpoint votes are kept: with one vote per member
/// per checkpoint sequence, `checkpoints` holds at most `MAX_CHECKPOINT_AHEAD / K × n` votes.
const MAX_CHECKPOINT_AHEAD: u64 = 4 * LOG_WINDOW;

/// Most views above the current one for which view-change messages are kept.
const MAX_VIEW_CHANGE_VIEWS: usize = 64;

/// A checked view change: its view, its checkpoint's sequence, and its prepared batches as
/// (sequence, view prepared in, batch).
type ValidViewChange = (View, SeqNo, Vec<(SeqNo, View, Batch)>);

const VOTE_PRE_PREPARE: u8 = 0;
const VOTE_PREPARE: u8 = 1;
const VOTE_COMMIT: u8 = 2;

impl Replica {
    /// A replica starting from genesis, or restarting from its persisted `log`.
    ///
    /// `genesis` is the header at height 0 (its state root is the genesis state).
    pub fn new(
        id: ReplicaId,
        key: SecretKey,
        validators: ValidatorSet,
        genesis: BlockHeader,
        check: Arc<dyn SignatureCheck>,
        config: Config,
        log: &[LogEntry],
    ) -> Self {
        assert!(!validators.is_empty() && validators.len() <= schemas::ledger::MAX_VALIDATORS);
        // A replica whose key is not validator `id` of the set follows as an observer until a
        // validator-set change makes it one.
        let active =
            validators.validators.get(id.0 as usize).map(|v| &v.public_key) == Some(key.public_key());
        let keys = validators
            .validators
            .iter()
            .map(|v| v.public_key.clone())
            .collect();
        let mut r = Replica {
            id,
            key,
            active,
            pending_set: None,
            validators,
            keys,
            check,
            config,
            now_ms: 0,
            view: View(0),
            view_entered_ms: 0,
            last_executed_ms: 0,
            in_view_change: false,
            view_change_attempts: 0,
            view_changes: BTreeMap::new(),
            new_view_sent: BTreeSet::new(),
            last_new_view: None,
            catch_up_sent: BTreeMap::new(),
            stable: CheckpointProof {
                seq: SeqNo(0),
                header: genesis.clone(),
                votes: vec![],
            },
            epoch_base: CheckpointProof {
                seq: SeqNo(0),
                header: genesis.clone(),
                votes: vec![],
            },
            checkpoints: BTreeMap::new(),
            slots: BTreeMap::new(),
            prepared_certs: BTreeMap::new(),
            votes: BTreeMap::new(),
            next_seq: SeqNo(1),
            executed: SeqNo(0),
            last_header: genesis.clone(),
            headers: BTreeMap::from([(SeqNo(0), genesis)]),
            awaiting_execution: None,
            early: VecDeque::new(),
            mempool: VecDeque::new(),
            mempool_bytes: 0,
            known_txs: HashSet::new(),
            committed_txs: HashSet::new(),
            committed_order: VecDeque::new(),
            batch_timer_set: false,
            view_change_timer_set: false,
            timer_for: None,
            stats: Stats::default(),
        };
        r.restore(log);
        r
    }

    fn restore(&mut self, log: &[LogEntry]) {
        for entry in log {
            match entry {
                LogEntry::Committed(block, _) => {
                    let h = &block.header;
                    if h.height.0 == self.executed.0 + 1 {
                        self.executed = SeqNo(h.height.0);
                        self.last_header = h.clone();
                        self.headers.insert(self.executed, h.clone());
                        for tx in &block.body.transactions {
                            self.note_committed(tx.id());
                        }
                        self.note_validator_changes(block);
                    }
                }
                LogEntry::Stable(proof) => {
                    if proof.seq > self.stable.seq {
                        self.stable = proof.clone();
                    }
                }
                LogEntry::Prepared(cert) => {
                    if let Some((_, seq, _)) = pre_prepare_parts(&cert.pre_prepare) {
                        self.prepared_certs.insert(seq, cert.clone());
                    }
                }
                LogEntry::Sent(m) => self.record_sent(m),
            }
        }
        let low = self.stable.seq;
        self.prepared_certs.retain(|s, _| *s > low);
        self.next_seq = SeqNo(self.executed.0.max(low.0) + 1);
        if let Some(((_, seq, _), _)) = self
            .votes
            .iter()
            .rev()
            .find(|((v, _, k), _)| *v == self.view && *k == VOTE_PRE_PREPARE)
        {
            self.next_seq = SeqNo(self.next_seq.0.max(seq.0 + 1));
        }
    }

    fn record_sent(&mut self, m: &SignedMessage) {
        match &m.message {
            Message::PrePrepare { view, seq, batch } => {
                self.votes
                    .insert((*view, *seq, VOTE_PRE_PREPARE), batch.digest(*seq));
                self.view = self.view.max(*view);
            }
            Message::Prepare { view, seq, digest } => {
                self.votes.insert((*view, *seq, VOTE_PREPARE), *digest);
                self.view = self.view.max(*view);
            }
            Message::Commit {
                view, seq, digest, ..
            } => {
                self.votes.insert((*view, *seq, VOTE_COMMIT), *digest);
                self.view = self.view.max(*view);
            }
            Message::ViewChange { new_view, .. } => {
                // Keep this replica's own view changes (also across a restart): a replica still
                // in that view may have lost them and needs them for its 2f+1 (`help_lagging`).
                if m.from == self.id {
                    self.view_changes
                        .entry(*new_view)
                        .or_default()
                        .insert(self.id, m.clone());
                    self.bound_view_changes();
                }
                if *new_view > self.view {
                    self.view = *new_view;
                    self.in_view_change = true;
                }
            }
            Message::NewView { view, .. } if *view >= self.view => {
                self.view = *view;
                self.in_view_change = false;
                self.last_new_view = Some(m.clone());
                self.view_changes = self.view_changes.split_off(&View(view.0 + 1));
            }
            _ => {}
        }
    }

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The current view.
    pub fn view(&self) -> View {
        self.view
    }

    /// The last executed (committed) height.
    pub fn executed(&self) -> SeqNo {
        self.executed
    }

    /// The low watermark (last stable checkpoint).
    pub fn low_watermark(&self) -> SeqNo {
        self.stable.seq
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether a transaction is in the mempool, in flight or committed here.
    pub fn knows(&self, digest: &Hash) -> bool {
        self.known_txs.contains(digest) || self.committed_txs.contains(digest)
    }

    /// Transactions waiting to commit.
    pub fn pending(&self) -> usize {
        self.mempool.len()
    }

    fn primary(&self, view: View) -> ReplicaId {
        ReplicaId((view.0 % self.n() as u64) as u32)
    }

    fn is_primary(&self) -> bool {
        self.primary(self.view) == self.id
    }

    fn in_window(&self, seq: SeqNo) -> bool {
        seq > self.stable.seq && seq.0 <= self.stable.seq.0 + LOG_WINDOW
    }

    fn drop(&mut self, reason: DropReason) {
        *self.stats.dropped.entry(reason).or_default() += 1;
    }

    fn sign(&self, message: Message) -> SignedMessage {
        SignedMessage::sign(self.id, message, &self.key)
    }

    fn verify_message(&self, m: &SignedMessage) -> Result<(), DropReason> {
        let key = self
            .keys
            .get(m.from.0 as usize)
            .ok_or(DropReason::UnknownSender)?;
        let bytes = SignedMessage::signed_bytes(m.from, &m.message);
        if self.check.verify(key, MESSAGE_DOMAIN, &bytes, &m.signature) {
            Ok(())
        } else {
            Err(DropReason::BadSignature)
        }
    }

    /// Persist, then send (or, with the broken rule, the other way round).
    fn vote(&mut self, message: Message, out: &mut Vec<Effect>) -> SignedMessage {
        let signed = self.sign(message);
        self.record_sent(&signed);
        if self.config.broken.send_before_persist {
            out.push(Effect::Broadcast(signed.clone()));
            out.push(Effect::Persist(LogEntry::Sent(signed.clone())));
        } else {
            out.push(Effect::Persist(LogEntry::Sent(signed.clone())));
            out.push(Effect::Broadcast(signed.clone()));
        }
        signed
    }

    /// Whether voting `digest` at (view, seq, kind) would contradict an earlier vote.
    fn would_equivocate(&self, view: View, seq: SeqNo, kind: u8, digest: &Hash) -> bool {
        self.votes.get(&(view, seq, kind)).is_some_and(|d| d != digest)
    }

    /// How often the idle check runs (never more often than once a millisecond).
    fn heartbeat_check(&self) -> Duration {
        (self.config.heartbeat / HEARTBEAT_CHECKS).max(Duration::from_millis(1))
    }

    /// Called once after construction (and after a restart): start timers, ask peers for what
    /// was missed.
    pub fn start(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        self.now_ms = now_ms;
        self.view_entered_ms = now_ms;
        out.push(Effect::SetTimer(TimerKind::Sync, self.config.sync_interval));
        out.push(Effect::SetTimer(TimerKind::Heartbeat, self.heartbeat_check()));
        if self.executed > SeqNo(0) || self.in_view_change || self.view > View(0) {
            let m = self.sign(Message::FetchBlocks {
                from: SeqNo(self.executed.0 + 1),
            });
            out.push(Effect::Broadcast(m));
        }
        if self.in_view_change {
            // Repeat this replica's view change at once (the crash may have come between
            // persisting and sending it). The timer starts as before a crash: once 2f+1 replicas
            // want this view (§4.5.2) — the view changes received before the crash are gone, so
            // arming it here unconditionally let a restarted replica leave for the next view
            // alone and strand the others one vote short of 2f+1.
            self.repeat_view_change(out);
            self.arm_on_view_change_quorum(out);
        }
    }

    /// Processes one input.
    pub fn step(&mut self, now_ms: u64, input: Input, out: &mut Vec<Effect>) {
        self.now_ms = now_ms;
        if !self.active {
            return self.step_observer(input, out);
        }
        match input {
            Input::Message(m) => self.on_message(m, out),
            Input::Blocks(blocks) => self.on_blocks(blocks, out),
            Input::Timeout(kind) => self.on_timeout(kind, out),
            Input::Submit(txs) => {
                let fresh: Vec<SignedTransaction> =
                    txs.into_iter().filter(|tx| self.add_tx(tx.clone())).collect();
                for chunk in fresh.chunks(MAX_BATCH_TXS) {
                    let m = self.sign(Message::Forward { txs: chunk.to_vec() });
                    out.push(Effect::Broadcast(m));
                }
                if !fresh.is_empty() {
                    self.after_new_txs(out);
                }
            }
            Input::Executed { seq, state_root } => self.on_executed(seq, state_root, out),
        }
    }

    // ---- dispatch -----------------------------------------------------------------------

    fn on_message(&mut self, m: SignedMessage, out: &mut Vec<Effect>) {
        if m.from == self.id {
            return self.drop(DropReason::Stale);
        }
        if let Message::FetchBlocks { from } = m.message {
            // Committed blocks are public and carry their certificates: serve anyone (a
            // joining validator or an observer); the network layer bounds the rate.
            if from <= self.executed && from > SeqNo(0) {
                out.push(Effect::ServeBlocks { to: m.from, from });
            }
            return;
        }
        if let Err(reason) = self.verify_message(&m) {
            return self.drop(reason);
        }
        if let Message::PrePrepare { view, .. } | Message::Prepare { view, .. } | Message::Commit { view, .. } =
            m.message
            && (view > self.view || (view == self.view && self.in_view_change))
        {
            // For a view not entered yet: keep it (bounded) until the new-view message arrives.
            if self.early.len() >= MAX_EARLY_MESSAGES {
                self.early.pop_front();
                self.drop(DropReason::Stale);
            }
            self.early.push_back(m);
            return;
        }
        match m.message.clone() {
            Message::PrePrepare { view, seq, batch } => self.on_pre_prepare(m, view, seq, batch, out),
            Message::Prepare { view, seq, .. } => self.on_prepare(m, view, seq, out),
            Message::Commit { .. } => self.on_commit(&m, out),
            Message::Checkpoint { .. } => self.on_checkpoint(m, out),
            Message::ViewChange { .. } => self.on_view_change(m, out),
            Message::NewView { .. } => self.on_new_view(m, out),
            // Served before the sender check, above.
            Message::FetchBlocks { .. } => {}
            Message::Status { executed } => {
                if executed > self.executed {
                    let m2 = self.sign(Message::FetchBlocks {
                        from: SeqNo(self.executed.0 + 1),
                    });
                    out.push(Effect::Send(m.from, m2));
                }
            }
            Message::Forward { txs } => {
                let mut any = false;
                for tx in txs.into_iter().take(MAX_BATCH_TXS) {
                    any |= self.add_tx(tx);
                }
                if any {
                    self.after_new_txs(out);
                }
            }
        }
    }
}

fn pre_prepare_parts(m: &SignedMessage) -> Option<(View, SeqNo, &Batch)> {
    match &m.message {
        Message::PrePrepare { view, seq, batch } => Some((*view, *seq, batch)),
        _ => None,
    }
}

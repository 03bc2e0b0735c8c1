//! The replica state machine.

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
            broken: BrokenRules::default(),
        }
    }
}

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
    checkpoints: BTreeMap<SeqNo, BTreeMap<ReplicaId, SignedMessage>>,
    slots: BTreeMap<SeqNo, Slot>,
    prepared_certs: BTreeMap<SeqNo, PreparedCert>,
    /// What this replica voted: (view, seq) → digest, for pre-prepares, prepares and commits.
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

    fn n(&self) -> usize {
        self.validators.len()
    }

    fn f(&self) -> usize {
        self.validators.max_faulty()
    }

    fn quorum(&self) -> usize {
        if self.config.broken.small_quorum {
            2 * self.f()
        } else {
            self.validators.quorum()
        }
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

    /// Called once after construction (and after a restart): start timers, ask peers for what
    /// was missed.
    pub fn start(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        self.now_ms = now_ms;
        out.push(Effect::SetTimer(TimerKind::Sync, self.config.sync_interval));
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

    // ---- transactions -------------------------------------------------------------------

    /// Adds a transaction to the mempool after checking the admission rule and its signatures
    /// once. What fails here would fail every correct backup's `check_batch`, so it never
    /// enters a batch, and the view-change timer never waits on it.
    fn add_tx(&mut self, tx: SignedTransaction) -> bool {
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

    fn push_mempool(&mut self, d: Hash, tx: SignedTransaction, size: usize) {
        self.mempool_bytes += size;
        self.mempool.push_back((d, tx, size));
    }

    /// Remembers a committed transaction id, forgetting the oldest beyond [`MAX_COMMITTED_TXS`].
    fn note_committed(&mut self, d: Hash) {
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
    fn tx_signatures_ok(&self, tx: &SignedTransaction) -> bool {
        let digest = tx.tx.digest();
        !tx.signatures.is_empty()
            && tx.signatures.iter().all(|s| {
                self.check
                    .verify(&s.public_key, domains::TRANSACTION, &digest.0, &s.signature)
            })
    }

    fn after_new_txs(&mut self, out: &mut Vec<Effect>) {
        if self.is_primary() && !self.in_view_change {
            if self.proposable() >= MAX_BATCH_TXS {
                self.propose(out);
            } else if !self.batch_timer_set && self.proposable() > 0 {
                self.batch_timer_set = true;
                out.push(Effect::SetTimer(TimerKind::Batch, self.config.batch_timeout));
            }
        }
        if !self.mempool.is_empty() && !self.view_change_timer_set {
            self.arm_view_change_timer(out);
        }
    }

    fn in_flight(&self) -> HashSet<Hash> {
        self.slots
            .iter()
            .filter(|(s, _)| **s > self.executed)
            .flat_map(|(_, slot)| slot.tx_digests.iter().copied())
            .collect()
    }

    fn proposable(&self) -> usize {
        let in_flight = self.in_flight();
        self.mempool
            .iter()
            .filter(|(d, ..)| !in_flight.contains(d))
            .count()
    }

    // ---- normal case (§4.2) -------------------------------------------------------------

    fn propose(&mut self, out: &mut Vec<Effect>) {
        let in_flight = self.in_flight();
        let mut candidates: Vec<(SignedTransaction, usize)> = self
            .mempool
            .iter()
            .filter(|(d, ..)| !in_flight.contains(d))
            .map(|(_, t, size)| (t.clone(), *size))
            .collect();
        while !candidates.is_empty() && self.in_window(self.next_seq) && !self.beyond_boundary(self.next_seq)
        {
            let mut txs = Vec::new();
            let mut bytes = 0;
            while let Some((_, size)) = candidates.first() {
                let size = *size;
                if txs.len() >= MAX_BATCH_TXS || (bytes + size > MAX_BATCH_BYTES && !txs.is_empty()) {
                    break;
                }
                bytes += size;
                txs.push(candidates.remove(0).0);
            }
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
    }

    /// A backup's check of a primary's batch: bounds, the admission rule, no duplicate or
    /// committed transaction, signatures, and the time rule.
    fn check_batch(&self, seq: SeqNo, batch: &Batch) -> Result<(), DropReason> {
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

    fn on_pre_prepare(
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
    fn accept_pre_prepare(
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

    fn on_prepare(&mut self, m: SignedMessage, view: View, seq: SeqNo, out: &mut Vec<Effect>) {
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

    fn matching_prepares(&self, seq: SeqNo) -> Vec<SignedMessage> {
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

    fn check_prepared(&mut self, seq: SeqNo, out: &mut Vec<Effect>) {
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
    fn send_commit(&mut self, seq: SeqNo, out: &mut Vec<Effect>) {
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

    fn on_commit(&mut self, m: &SignedMessage, out: &mut Vec<Effect>) {
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
    fn advance(&mut self, out: &mut Vec<Effect>) {
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

    fn on_executed(&mut self, seq: SeqNo, state_root: Hash, out: &mut Vec<Effect>) {
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
    fn try_commit(&mut self, seq: SeqNo, header: BlockHeader, out: &mut Vec<Effect>) -> bool {
        let Some(slot) = self.slots.get(&seq) else {
            return false;
        };
        let (Some(view), Some(digest)) = (slot.view, slot.digest) else {
            return false;
        };
        let block_hash = header.digest();
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
        if signatures.len() < self.quorum() || !slot.prepared {
            return false;
        }
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

    fn apply_committed(&mut self, block: Block, cert: CommitCertificate, out: &mut Vec<Effect>) {
        let seq = SeqNo(block.header.height.0);
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
        if self.is_primary() && !self.in_view_change && self.proposable() > 0 {
            self.propose(out);
        }
    }

    // ---- validator-set change ----------------------------------------------------------

    /// Whether `seq` lies beyond the next checkpoint above the executed height. Nothing is
    /// ordered there yet: a validator-set change committed in the blocks up to that checkpoint
    /// takes effect right after it, and blocks beyond it must be ordered by the new set. (This
    /// bounds the pipeline to at most K blocks in flight; the window L stays the bound on
    /// accepted sequence numbers.)
    fn beyond_boundary(&self, seq: SeqNo) -> bool {
        seq.0 > (self.executed.0 / CHECKPOINT_INTERVAL + 1) * CHECKPOINT_INTERVAL
    }

    /// Replays kept messages that the current view and executed height now admit.
    fn replay_early(&mut self, out: &mut Vec<Effect>) {
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
    fn note_validator_changes(&mut self, block: &Block) -> Option<CheckpointProof> {
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
        Some(base)
    }

    fn valid_set_change(&self, tx: &SignedTransaction, set: &ValidatorSet) -> bool {
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
    fn step_observer(&mut self, input: Input, out: &mut Vec<Effect>) {
        match input {
            Input::Blocks(blocks) => self.on_blocks(blocks, out),
            Input::Timeout(TimerKind::Sync) => self.on_timeout(TimerKind::Sync, out),
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

    // ---- checkpoints (§4.3) -------------------------------------------------------------

    fn on_checkpoint(&mut self, m: SignedMessage, out: &mut Vec<Effect>) {
        let Message::Checkpoint { seq, block_hash } = m.message else {
            return;
        };
        if seq <= self.stable.seq
            || !seq.0.is_multiple_of(CHECKPOINT_INTERVAL)
            || seq.0 > self.stable.seq.0 + 4 * LOG_WINDOW
        {
            return self.drop(DropReason::Stale);
        }
        self.checkpoints.entry(seq).or_default().insert(m.from, m);
        let votes: Vec<SignedMessage> = self.checkpoints[&seq]
            .values()
            .filter(|v| matches!(v.message, Message::Checkpoint { block_hash: b, .. } if b == block_hash))
            .cloned()
            .collect();
        if votes.len() < self.quorum() {
            return;
        }
        match self.headers.get(&seq) {
            Some(h) if h.digest() == block_hash => {
                let proof = CheckpointProof {
                    seq,
                    header: h.clone(),
                    votes: votes.into_iter().take(self.quorum()).collect(),
                };
                self.make_stable(proof, out);
            }
            Some(_) => self.drop(DropReason::BadProof),
            None => {
                let m = self.sign(Message::FetchBlocks {
                    from: SeqNo(self.executed.0 + 1),
                });
                let to = votes[0].from;
                out.push(Effect::Send(to, m));
            }
        }
    }

    fn make_stable(&mut self, proof: CheckpointProof, out: &mut Vec<Effect>) {
        let seq = proof.seq;
        if seq <= self.stable.seq {
            return;
        }
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
        if self.is_primary() && !self.in_view_change && self.proposable() > 0 {
            self.propose(out);
        }
    }

    fn valid_checkpoint_proof(&self, proof: &CheckpointProof) -> bool {
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

    // ---- view change (§4.4) -------------------------------------------------------------

    fn arm_view_change_timer(&mut self, out: &mut Vec<Effect>) {
        // §4.5.2: during a view change the timer runs only once 2f+1 replicas want this view,
        // whoever asks for it (a restart, new transactions, a block from state transfer).
        // Otherwise a replica leaves for the next view alone, and the replicas it leaves behind
        // may never see 2f+1 for theirs while it alone cannot pull them up (f+1 rule).
        if self.in_view_change && self.view_changes.get(&self.view).map_or(0, BTreeMap::len) < self.quorum() {
            return;
        }
        self.view_change_timer_set = true;
        self.timer_for = self.mempool.front().map(|(d, ..)| *d);
        let factor = 1u32 << self.view_change_attempts.min(6);
        out.push(Effect::SetTimer(
            TimerKind::ViewChange,
            self.config.view_change_timeout * factor,
        ));
    }

    fn start_view_change(&mut self, new_view: View, out: &mut Vec<Effect>) {
        if new_view <= self.view && self.in_view_change {
            return;
        }
        self.view = new_view;
        self.in_view_change = true;
        self.stats.view_changes += 1;
        self.batch_timer_set = false;
        out.push(Effect::CancelTimer(TimerKind::Batch));
        let m = self.vote(self.view_change_message(new_view), out);
        self.view_changes.entry(new_view).or_default().insert(self.id, m);
        // §4.5.2: the timer for the new view starts only once 2f+1 replicas want it, so a lone
        // replica never races ahead through views the others are not in.
        if self.view_change_timer_set {
            self.view_change_timer_set = false;
            out.push(Effect::CancelTimer(TimerKind::ViewChange));
        }
        self.arm_on_view_change_quorum(out);
        self.try_new_view(new_view, out);
    }

    /// ⟨VIEW-CHANGE, v, n, C, P, i⟩ (§4.4): the stable checkpoint and the prepared
    /// certificates above it.
    fn view_change_message(&self, new_view: View) -> Message {
        let prepared: Vec<PreparedCert> = self
            .prepared_certs
            .range(SeqNo(self.stable.seq.0 + 1)..)
            .map(|(_, c)| c.clone())
            .take(MAX_PREPARED_CERTS)
            .collect();
        Message::ViewChange {
            new_view,
            checkpoint: self.stable.clone(),
            prepared,
        }
    }

    /// Until the view change completes, repeats this replica's view-change message (the network
    /// may have lost it; nothing else would resend it). If it has none for its view — a
    /// validator-set change voids the view changes in flight, its own included, as their
    /// checkpoints belong to the old set's epoch — it sends a new one from the new epoch's base,
    /// which the set that now orders blocks can check. (It used to rely on its timer, started
    /// regardless of 2f+1, to move on to the next view with a fresh message.)
    fn repeat_view_change(&mut self, out: &mut Vec<Effect>) {
        // A replica a set change removed only follows: it has no view change to send.
        if !self.in_view_change || !self.active {
            return;
        }
        if let Some(own) = self.view_changes.get(&self.view).and_then(|by| by.get(&self.id)) {
            out.push(Effect::Broadcast(own.clone()));
            return;
        }
        let view = self.view;
        let m = self.vote(self.view_change_message(view), out);
        self.view_changes.entry(view).or_default().insert(self.id, m);
        self.arm_on_view_change_quorum(out);
        self.try_new_view(view, out);
    }

    fn arm_on_view_change_quorum(&mut self, out: &mut Vec<Effect>) {
        let votes = self.view_changes.get(&self.view).map_or(0, BTreeMap::len);
        if self.in_view_change && !self.view_change_timer_set && votes >= self.quorum() {
            self.arm_view_change_timer(out);
        }
    }

    fn on_timeout(&mut self, kind: TimerKind, out: &mut Vec<Effect>) {
        match kind {
            TimerKind::Batch => {
                self.batch_timer_set = false;
                if self.is_primary() && !self.in_view_change {
                    self.propose(out);
                }
            }
            TimerKind::ViewChange => {
                self.view_change_timer_set = false;
                if self.in_view_change || !self.mempool.is_empty() {
                    self.view_change_attempts = self.view_change_attempts.saturating_add(1);
                    let next = View(self.view.0 + 1);
                    self.start_view_change(next, out);
                }
            }
            TimerKind::Sync => {
                let m = self.sign(Message::Status {
                    executed: self.executed,
                });
                out.push(Effect::Broadcast(m));
                self.repeat_view_change(out);
                out.push(Effect::SetTimer(TimerKind::Sync, self.config.sync_interval));
            }
        }
    }

    /// Checks a view-change message's proofs; returns its prepared certificates' (seq, view,
    /// batch) if valid.
    fn valid_view_change(&self, m: &SignedMessage) -> Option<ValidViewChange> {
        let Message::ViewChange {
            new_view,
            checkpoint,
            prepared,
        } = &m.message
        else {
            return None;
        };
        if !self.valid_checkpoint_proof(checkpoint) || prepared.len() > MAX_PREPARED_CERTS {
            return None;
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for cert in prepared {
            let (view, seq, batch) = pre_prepare_parts(&cert.pre_prepare)?;
            if view >= *new_view
                || seq <= checkpoint.seq
                || seq.0 > checkpoint.seq.0 + LOG_WINDOW
                || !seen.insert(seq)
                || cert.pre_prepare.from != self.primary(view)
                || self.verify_message(&cert.pre_prepare).is_err()
            {
                return None;
            }
            let digest = batch.digest(seq);
            let mut signers = BTreeSet::new();
            for p in &cert.prepares {
                let ok = matches!(p.message, Message::Prepare { view: v, seq: s, digest: d } if v == view && s == seq && d == digest);
                if !ok
                    || p.from == cert.pre_prepare.from
                    || !signers.insert(p.from)
                    || self.verify_message(p).is_err()
                {
                    return None;
                }
            }
            if signers.len() + 1 < self.quorum() {
                return None;
            }
            out.push((seq, view, batch.clone()));
        }
        Some((*new_view, checkpoint.seq, out))
    }

    fn on_view_change(&mut self, m: SignedMessage, out: &mut Vec<Effect>) {
        let Some((new_view, _, _)) = self.valid_view_change(&m) else {
            return self.drop(DropReason::BadProof);
        };
        if new_view < self.view || (new_view == self.view && !self.in_view_change) {
            // The sender is still trying to reach a view this replica has left.
            self.help_lagging(m.from, new_view, out);
            return self.drop(DropReason::Stale);
        }
        self.view_changes.entry(new_view).or_default().insert(m.from, m);
        self.bound_view_changes();
        // §4.5.2: f+1 replicas want a higher view — join the smallest of them.
        let ahead: BTreeSet<ReplicaId> = self
            .view_changes
            .range(View(self.view.0 + 1)..)
            .flat_map(|(_, by)| by.keys().copied())
            .collect();
        if ahead.len() > self.f() {
            let target = self
                .view_changes
                .range(View(self.view.0 + 1)..)
                .find(|(_, by)| !by.is_empty())
                .map(|(v, _)| *v)
                .expect("non-empty");
            self.start_view_change(target, out);
        }
        self.arm_on_view_change_quorum(out);
        self.try_new_view(new_view, out);
    }

    /// Bounds memory: forgets view changes far ahead.
    fn bound_view_changes(&mut self) {
        while self.view_changes.len() > MAX_VIEW_CHANGE_VIEWS {
            self.view_changes.pop_last();
        }
    }

    /// Answers a replica whose view change asks for `their_view`, a view this replica has left
    /// or entered already, with what lets it meet the others again. §4.5.2's liveness argument
    /// assumes messages are retransmitted until received; this replica repeats only its latest
    /// view change, so a lost one for an earlier view would otherwise be lost for good, and
    /// replicas left in that view could stay one short of 2f+1 while fewer than f+1 replicas
    /// are ahead to pull them up. It sends, at most once per sync interval per replica:
    /// - the new-view message of the latest view it entered, if not below theirs: they accept
    ///   it and enter that view (§4.4);
    /// - the view changes it holds for their view, its own included: with those of replicas
    ///   that moved on they reach 2f+1, so their timer starts or their primary sends NEW-VIEW;
    /// - for views above theirs, the lowest view change of each of up to f+1 replicas: the f+1
    ///   rule then moves them to the smallest of those views.
    fn help_lagging(&mut self, to: ReplicaId, their_view: View, out: &mut Vec<Effect>) {
        let interval = u64::try_from(self.config.sync_interval.as_millis()).unwrap_or(u64::MAX);
        if to == self.id
            || self
                .catch_up_sent
                .get(&to)
                .is_some_and(|at| self.now_ms < at.saturating_add(interval))
        {
            return;
        }
        self.catch_up_sent.insert(to, self.now_ms);
        if let Some(nv) = &self.last_new_view
            && matches!(nv.message, Message::NewView { view, .. } if view >= their_view)
        {
            out.push(Effect::Send(to, nv.clone()));
        }
        if let Some(by) = self.view_changes.get(&their_view) {
            for vc in by.values().filter(|vc| vc.from != to) {
                out.push(Effect::Send(to, vc.clone()));
            }
        }
        let mut ahead = BTreeSet::new();
        for (_, by) in self.view_changes.range(View(their_view.0.saturating_add(1))..) {
            for vc in by.values() {
                if ahead.len() > self.f() {
                    return;
                }
                if vc.from != to && ahead.insert(vc.from) {
                    out.push(Effect::Send(to, vc.clone()));
                }
            }
        }
    }

    /// Computes O for a new view from a set of valid view changes (§4.4): re-propose the
    /// highest-view prepared batch at each sequence in (min-s, max-s], a null batch elsewhere.
    fn new_view_batches(&self, view: View, vcs: &[SignedMessage]) -> Option<(SeqNo, BTreeMap<SeqNo, Batch>)> {
        let mut min_s = SeqNo(0);
        let mut best: BTreeMap<SeqNo, (View, Batch)> = BTreeMap::new();
        for m in vcs {
            let (_, checkpoint_seq, certs) = self.valid_view_change(m)?;
            min_s = min_s.max(checkpoint_seq);
            if self.config.broken.drop_prepared_in_new_view {
                continue;
            }
            for (seq, v, batch) in certs {
                if best.get(&seq).is_none_or(|(bv, _)| v > *bv) {
                    best.insert(seq, (v, batch));
                }
            }
        }
        let max_s = best.keys().next_back().copied().unwrap_or(min_s).max(min_s);
        let batches = (min_s.0 + 1..=max_s.0)
            .map(SeqNo)
            .map(|s| {
                (
                    s,
                    best.get(&s).map(|(_, b)| b.clone()).unwrap_or(Batch::null(view)),
                )
            })
            .collect();
        Some((min_s, batches))
    }

    fn try_new_view(&mut self, view: View, out: &mut Vec<Effect>) {
        if self.primary(view) != self.id || self.new_view_sent.contains(&view) || view != self.view {
            return;
        }
        let Some(by) = self.view_changes.get(&view) else {
            return;
        };
        if by.len() < self.quorum() {
            return;
        }
        let vcs: Vec<SignedMessage> = by.values().take(self.quorum()).cloned().collect();
        let Some((min_s, batches)) = self.new_view_batches(view, &vcs) else {
            return;
        };
        let pre_prepares: Vec<SignedMessage> = batches
            .iter()
            .map(|(seq, batch)| {
                self.sign(Message::PrePrepare {
                    view,
                    seq: *seq,
                    batch: batch.clone(),
                })
            })
            .collect();
        self.new_view_sent.insert(view);
        self.vote(
            Message::NewView {
                view,
                view_changes: vcs,
                pre_prepares: pre_prepares.clone(),
            },
            out,
        );
        self.enter_view(view, min_s, pre_prepares, out);
    }

    fn on_new_view(&mut self, m: SignedMessage, out: &mut Vec<Effect>) {
        let Message::NewView {
            view,
            view_changes,
            pre_prepares,
        } = &m.message
        else {
            return;
        };
        let view = *view;
        if view < self.view || (view == self.view && !self.in_view_change) || m.from != self.primary(view) {
            return self.drop(DropReason::Stale);
        }
        let mut signers = BTreeSet::new();
        for vc in view_changes {
            let ok = matches!(vc.message, Message::ViewChange { new_view, .. } if new_view == view);
            if !ok || !signers.insert(vc.from) {
                return self.drop(DropReason::BadProof);
            }
        }
        if signers.len() < self.quorum() {
            return self.drop(DropReason::BadProof);
        }
        let Some((min_s, batches)) = self.new_view_batches(view, view_changes) else {
            return self.drop(DropReason::BadProof);
        };
        if pre_prepares.len() != batches.len() {
            return self.drop(DropReason::BadProof);
        }
        for (pp, (seq, batch)) in pre_prepares.iter().zip(&batches) {
            let ok = matches!(&pp.message, Message::PrePrepare { view: v, seq: s, batch: b } if *v == view && s == seq && b == batch);
            if !ok || pp.from != m.from || self.verify_message(pp).is_err() {
                return self.drop(DropReason::BadProof);
            }
        }
        self.record_sent(&m);
        out.push(Effect::Persist(LogEntry::Sent(m.clone())));
        self.enter_view(view, min_s, pre_prepares.clone(), out);
    }

    fn enter_view(
        &mut self,
        view: View,
        min_s: SeqNo,
        pre_prepares: Vec<SignedMessage>,
        out: &mut Vec<Effect>,
    ) {
        self.view = view;
        self.in_view_change = false;
        self.view_change_attempts = 0;
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
        // Replay what arrived for this view before the new-view message; keep later views'.
        self.replay_early(out);
        if !self.mempool.is_empty() {
            self.arm_view_change_timer(out);
        }
        if self.is_primary() && self.proposable() > 0 {
            self.propose(out);
        }
        for seq in self.slots.keys().copied().collect::<Vec<_>>() {
            if seq <= self.executed {
                self.send_commit(seq, out);
            }
        }
        self.advance(out);
    }

    // ---- state transfer -----------------------------------------------------------------

    fn on_blocks(&mut self, blocks: BlockTransfer, out: &mut Vec<Effect>) {
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

    fn certificate_ok(&self, header: &BlockHeader, cert: &CommitCertificate) -> bool {
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

//! A deterministic simulator of a PBFT consortium, in the manner of TigerBeetle's VOPR.
//!
//! One `u64` seed decides everything: keys, client load, network delays, drops, duplicates and
//! reordering, partitions, crash-restarts (including a crash between a step's `Persist` and its
//! later `Send`s), and which replicas are Byzantine and how (twins sharing one key, conflicting
//! votes, silence, floods of invalid messages, a primary that censors transactions). Time is virtual. After every step the checker
//! verifies:
//!
//! - **agreement**: no two correct replicas commit different blocks at one height;
//! - **validity**: only submitted transactions commit, and each takes effect once per chain (a
//!   lagging replica may prepare a batch repeating a transaction committed at a height it has
//!   not executed yet; execution skips it, as the ledger rejects a replayed nonce, and the state
//!   root — re-derived by the checker from the transactions that took effect — proves it);
//! - **certificates**: every committed block's certificate verifies with the `schemas` light
//!   client against the validator set (real SM2);
//! - **no equivocation**: a correct replica never sends two different prepares or commits for one
//!   (view, sequence), across crash-restarts;
//! - **monotonic views** and **state roots** that match re-execution;
//! - **liveness**: once the network heals and crashed replicas restart, every submitted
//!   transaction commits at every correct replica within a bounded virtual time.
//!
//! Replicas verify signatures through one shared cache, so each distinct signature is checked
//! with real SM2 once per run instead of once per replica.
//!
//! **Architecture Invariant:** this crate depends on nothing but `pbft`, `schemas` and a seeded
//! RNG: no clock, socket, disk or thread of its own decides a schedule.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use pbft::{
    Batch, BlockTransfer, BrokenRules, Config, Effect, Input, LogEntry, Message, Replica, ReplicaId, SeqNo,
    SignatureCheck, SignedMessage, TimerKind, View,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use schemas::codec::Canonical;
use schemas::did::Did;
use schemas::hash::{Domain, Hash, hash_parts, sm3};
use schemas::ledger::{
    BlockBody, BlockHeader, Height, SignedTransaction, Transaction, TxPayload, ValidatorInfo, ValidatorSet,
};
use schemas::light_client::verify_commit_certificate;
use schemas::sm2::{PublicKey, SecretKey, Signature};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// What a run does.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The seed.
    pub seed: u64,
    /// Validators.
    pub replicas: usize,
    /// Byzantine validators (at most f).
    pub byzantine: usize,
    /// Rules broken on purpose (to show the checker bites).
    pub broken: BrokenRules,
    /// Keep a trace of every event.
    pub trace: bool,
    /// Client transactions submitted.
    pub transactions: usize,
    /// Virtual time of faults before the network heals.
    pub chaos_ms: u64,
    /// Virtual time after healing within which everything must commit.
    pub liveness_ms: u64,
    /// Turn off crash-restarts.
    pub no_crashes: bool,
    /// Chance, per mille, that a message is lost during chaos.
    pub drop_per_mille: u32,
    /// Turn off every network fault and Byzantine behaviour (benchmarks).
    pub calm: bool,
    /// How replicas check signatures.
    pub check: CheckMode,
    /// Start a standby replica outside the set and commit a validator-set change that adds it.
    pub reconfigure: bool,
    /// Let Byzantine replicas also attack the admission and time rules: a primary that puts
    /// oversized, mis-signed or other-chain transactions in its batches (and forwards them), or
    /// dates its batches an hour ahead. Off by default so earlier seeds replay unchanged; the
    /// behaviours are drawn from a separate stream of the seed.
    pub attacks: bool,
    /// The replicas' heartbeat, ms, and an idle phase after everything committed: for
    /// [`IDLE_HEARTBEATS`] heartbeats no transaction arrives, and every correct replica's last
    /// block must stay fresh (see [`Violation::Stale`]). `None`: the replicas' default heartbeat
    /// and no idle phase (earlier seeds replay unchanged).
    pub heartbeat_ms: Option<u64>,
}

/// How many heartbeats the idle phase lasts.
pub const IDLE_HEARTBEATS: u64 = 40;

/// How replicas check signatures in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckMode {
    /// Real SM2, each distinct signature once per run (the default).
    Cached,
    /// Real SM2 at every replica for every signature (what a deployment pays).
    EveryReplica,
    /// No verification at all: only to measure what consensus costs without cryptography.
    StandIn,
}

/// Accepts every signature. Only the benchmark uses it, to separate consensus cost from SM2.
struct StandInCheck;

impl SignatureCheck for StandInCheck {
    fn verify(&self, _: &PublicKey, _: Domain, _: &[u8], _: &Signature) -> bool {
        true
    }
}

impl SimOptions {
    /// Defaults for a seed.
    pub fn new(seed: u64, replicas: usize, byzantine: usize) -> Self {
        SimOptions {
            seed,
            replicas,
            byzantine,
            broken: BrokenRules::default(),
            trace: false,
            transactions: 24,
            chaos_ms: 8_000,
            liveness_ms: 60_000,
            no_crashes: false,
            drop_per_mille: 50,
            calm: false,
            check: CheckMode::Cached,
            reconfigure: false,
            attacks: false,
            heartbeat_ms: None,
        }
    }
}

/// A broken property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two correct replicas committed different blocks at one height.
    Agreement {
        /// Height.
        height: u64,
    },
    /// A committed transaction nobody submitted, or committed twice.
    Validity {
        /// What happened.
        what: String,
    },
    /// A certificate that does not verify.
    Certificate {
        /// Height.
        height: u64,
        /// Light-client error.
        error: String,
    },
    /// A correct replica voted twice differently.
    Equivocation {
        /// Replica.
        replica: u32,
        /// View.
        view: u64,
        /// Sequence.
        seq: u64,
    },
    /// A correct replica's view went down.
    ViewRegressed {
        /// Replica.
        replica: u32,
    },
    /// A header's state root does not match re-execution.
    StateRoot {
        /// Height.
        height: u64,
    },
    /// A block certified by the wrong validator set for its height.
    ValidatorSet {
        /// Height.
        height: u64,
    },
    /// During the idle phase, a correct replica went longer without a block than an idle
    /// chain may: the primary of an idle chain makes a block each heartbeat, and backups
    /// replace a primary that does not. The bound allows four heartbeats and twelve base
    /// view-change timeouts (two faulty primaries in a row, the second timer doubled).
    Stale {
        /// The replica.
        replica: u32,
        /// Its longest time without a block in the idle phase, virtual ms.
        age_ms: u64,
        /// The bound.
        bound_ms: u64,
    },
    /// Transactions still uncommitted at the deadline.
    Liveness {
        /// Replica lagging most.
        replica: u32,
        /// Transactions missing there.
        missing: usize,
    },
}

/// The outcome of one run.
#[derive(Debug)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// `Ok(blocks committed at the best replica)` or the first violation.
    pub result: Result<u64, Violation>,
    /// Committed transactions.
    pub transactions: usize,
    /// Virtual time at the end, ms.
    pub virtual_ms: u64,
    /// The trace, if asked for.
    pub trace: String,
    /// Inputs correct replicas dropped, by reason, summed (shows which attacks were refused).
    pub dropped: BTreeMap<pbft::DropReason, u64>,
}

/// Verifies each distinct signature once, with real SM2.
#[derive(Default)]
pub struct CachingCheck {
    verified: Mutex<HashSet<Hash>>,
}

const CACHE_DOMAIN: Domain = Domain::new("credence/sim-signature-cache/v1");

impl SignatureCheck for CachingCheck {
    fn verify(&self, key: &PublicKey, domain: Domain, msg: &[u8], sig: &Signature) -> bool {
        let id = hash_parts(
            CACHE_DOMAIN,
            &[&key.to_sec1(), domain.as_str().as_bytes(), &sm3(msg).0, &sig.0],
        );
        if self.verified.lock().map(|s| s.contains(&id)).unwrap_or(false) {
            return true;
        }
        let ok = key.verify(domain, msg, sig).is_ok();
        if ok && let Ok(mut s) = self.verified.lock() {
            s.insert(id);
        }
        ok
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Correct,
    /// Sends nothing.
    Silent,
    /// Sends a validly signed, conflicting version of its votes to half its peers.
    Equivocate,
    /// Two instances share the key and run independently.
    Twin,
    /// Adds invalid messages to everything it sends.
    Flood,
    /// As primary, leaves half the transactions out of its batches and forwards none.
    Censor,
    /// Adds an oversized, a mis-signed and another chain's transaction to every batch it
    /// proposes and every forward it sends (`attacks`).
    Oversize,
    /// Dates every batch it proposes an hour ahead of its clock (`attacks`).
    LyingClock,
}

enum Payload {
    Msg(Box<SignedMessage>),
    Blocks(BlockTransfer),
}

enum Event {
    Deliver {
        to: usize,
        payload: Payload,
    },
    Timer {
        instance: usize,
        kind: TimerKind,
        generation: u64,
    },
    Submit {
        tx: Box<SignedTransaction>,
        targets: Vec<usize>,
    },
    Crash {
        instance: usize,
    },
    Restart {
        instance: usize,
    },
    Heal,
}

struct Instance {
    id: ReplicaId,
    key_seed: [u8; 32],
    behaviour: Behaviour,
    replica: Option<Replica>,
    disk: Vec<LogEntry>,
    timers: HashMap<TimerKind, u64>,
    generation: u64,
    app_root: Hash,
    chain_txs: HashSet<Hash>,
    committed: u64,
    /// The view this incarnation last reported (monotonic within an incarnation).
    last_view: View,
    /// The highest view this replica has put in a message it sent: a restart must not forget it.
    announced_view: View,
    /// When it last committed a block (virtual ms).
    last_commit_at: u64,
    /// Its longest time without a commit during the idle phase so far (virtual ms).
    max_idle_gap_ms: u64,
}

/// Runs one seed.
pub fn run(opts: &SimOptions) -> SimReport {
    let mut sim = Sim::new(opts);
    let result = sim.run();
    let transactions = sim
        .instances
        .iter()
        .filter(|i| i.behaviour == Behaviour::Correct)
        .map(|i| i.chain_txs.len())
        .max()
        .unwrap_or(0);
    let best = sim.instances.iter().map(|i| i.committed).max().unwrap_or(0);
    let mut dropped = BTreeMap::new();
    for r in sim
        .instances
        .iter()
        .filter(|i| i.behaviour == Behaviour::Correct)
        .filter_map(|i| i.replica.as_ref())
    {
        for (reason, n) in &r.stats().dropped {
            *dropped.entry(*reason).or_default() += n;
        }
    }
    SimReport {
        seed: opts.seed,
        result: result.map(|()| best),
        transactions,
        virtual_ms: sim.now,
        trace: sim.trace,
        dropped,
    }
}

const STATE_DOMAIN: Domain = Domain::new("credence/sim-state/v1");

/// The simulated application: the state root chains the transactions that took effect.
fn next_root(parent: &Hash, applied: &[Hash]) -> Hash {
    let mut parts: Vec<&[u8]> = vec![&parent.0];
    parts.extend(applied.iter().map(|h| &h.0[..]));
    hash_parts(STATE_DOMAIN, &parts)
}

impl Instance {
    /// The transactions of `txs` that take effect: those not yet in this chain, first
    /// occurrence only.
    fn fresh(&self, txs: &[SignedTransaction]) -> Vec<Hash> {
        let mut seen = HashSet::new();
        txs.iter()
            .map(|t| t.digest())
            .filter(|d| !self.chain_txs.contains(d) && seen.insert(*d))
            .collect()
    }
}

struct Sim {
    opts: SimOptions,
    rng: ChaCha20Rng,
    now: u64,
    counter: u64,
    queue: BTreeMap<(u64, u64), Event>,
    instances: Vec<Instance>,
    validators: ValidatorSet,
    genesis: BlockHeader,
    check: Arc<dyn SignatureCheck>,
    config: Config,
    healed: bool,
    /// When the idle phase began (virtual ms), once it has.
    idle_since: Option<u64>,
    partition: Option<BTreeSet<u32>>,
    submitted: BTreeMap<Hash, SignedTransaction>,
    /// The set a reconfiguring run changes to, and its change transaction.
    next_validators: Option<(ValidatorSet, Hash)>,
    /// The checkpoint after which the new set certifies blocks, once the change commits.
    change_at: Option<u64>,
    heights: HashMap<u64, Hash>,
    certified: HashSet<Hash>,
    votes: HashMap<(u32, u64, u64, u8), Hash>,
    trace: String,
}

fn key_from(seed: [u8; 32]) -> SecretKey {
    SecretKey::generate(&mut ChaCha20Rng::from_seed(seed))
}

impl Sim {
    fn new(opts: &SimOptions) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
        let n = opts.replicas;
        let standby = usize::from(opts.reconfigure);
        let seeds: Vec<[u8; 32]> = (0..n + standby)
            .map(|_| {
                let mut s = [0u8; 32];
                rng.fill_bytes(&mut s);
                s
            })
            .collect();
        let validators = ValidatorSet {
            epoch: 0,
            validators: seeds
                .iter()
                .take(n)
                .enumerate()
                .map(|(i, s)| {
                    ValidatorInfo::new(&key_from(*s), format!("sim-peer-{i}"), format!("/memory/{i}"))
                })
                .collect(),
        };
        let config = Config {
            chain_id: "credence-sim".into(),
            broken: opts.broken,
            heartbeat: opts
                .heartbeat_ms
                .map_or(pbft::DEFAULT_HEARTBEAT, std::time::Duration::from_millis),
            ..Config::default()
        };
        let genesis = BlockHeader {
            chain_id: config.chain_id.clone(),
            height: Height(0),
            prev_hash: Hash::ZERO,
            tx_root: BlockBody { transactions: vec![] }.tx_root(),
            state_root: sm3(b"credence-sim genesis"),
            validator_set_hash: validators.digest(),
            timestamp_ms: 0,
            view: 0,
        };
        // Byzantine replicas and their behaviour.
        let mut ids: Vec<u32> = (0..n as u32).collect();
        for i in (1..ids.len()).rev() {
            ids.swap(i, (rng.next_u32() as usize) % (i + 1));
        }
        let byzantine: BTreeMap<u32, Behaviour> = ids
            .iter()
            .take(opts.byzantine)
            .map(|id| {
                let b = [
                    Behaviour::Silent,
                    Behaviour::Equivocate,
                    Behaviour::Twin,
                    Behaviour::Flood,
                    Behaviour::Censor,
                ][rng.next_u32() as usize % 5];
                (*id, b)
            })
            .collect();
        // The attacks come from their own stream, so the main one (and every earlier seed's
        // schedule) is the same with or without them.
        let byzantine: BTreeMap<u32, Behaviour> = if opts.attacks {
            let mut attack_rng = ChaCha20Rng::seed_from_u64(opts.seed ^ 0xa77a_c4ed_0000_0000);
            byzantine
                .into_iter()
                .map(|(id, b)| match attack_rng.next_u32() % 7 {
                    0 => (id, Behaviour::Oversize),
                    1 => (id, Behaviour::LyingClock),
                    _ => (id, b),
                })
                .collect()
        } else {
            byzantine
        };
        let mut instances = Vec::new();
        for (i, seed) in seeds.iter().enumerate() {
            let behaviour = byzantine.get(&(i as u32)).copied().unwrap_or(Behaviour::Correct);
            let copies = if behaviour == Behaviour::Twin { 2 } else { 1 };
            for _ in 0..copies {
                instances.push(Instance {
                    id: ReplicaId(i as u32),
                    key_seed: *seed,
                    behaviour,
                    replica: None,
                    disk: vec![],
                    timers: HashMap::new(),
                    generation: 0,
                    app_root: genesis.state_root,
                    chain_txs: HashSet::new(),
                    committed: 0,
                    last_commit_at: 0,
                    max_idle_gap_ms: 0,
                    last_view: View(0),
                    announced_view: View(0),
                });
            }
        }
        let mut sim = Sim {
            opts: opts.clone(),
            rng,
            now: 0,
            counter: 0,
            queue: BTreeMap::new(),
            instances,
            validators,
            genesis,
            check: match opts.check {
                CheckMode::Cached => Arc::new(CachingCheck::default()),
                CheckMode::EveryReplica => Arc::new(pbft::Sm2Check),
                CheckMode::StandIn => Arc::new(StandInCheck),
            },
            config,
            healed: false,
            idle_since: None,
            partition: None,
            submitted: BTreeMap::new(),
            next_validators: None,
            change_at: None,
            heights: HashMap::new(),
            certified: HashSet::new(),
            votes: HashMap::new(),
            trace: String::new(),
        };
        sim.schedule_load();
        sim
    }

    fn log(&mut self, line: impl FnOnce() -> String) {
        if self.opts.trace {
            let _ = writeln!(self.trace, "{:>8} {}", self.now, line());
        }
    }

    fn at(&mut self, time: u64, e: Event) {
        self.counter += 1;
        self.queue.insert((time, self.counter), e);
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        self.rng.next_u32() % 1000 < per_mille
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.rng.next_u64() % n }
    }

    fn schedule_load(&mut self) {
        let client = SecretKey::generate(&mut self.rng);
        let sender = Did::from_public_key(client.public_key());
        let f = self.validators.max_faulty();
        for nonce in 0..self.opts.transactions as u64 {
            let mut proposal = [0u8; 32];
            self.rng.fill_bytes(&mut proposal);
            let tx = Transaction {
                chain_id: self.config.chain_id.clone(),
                sender: sender.clone(),
                nonce,
                payload: TxPayload::Approve {
                    proposal: Hash(proposal),
                },
            };
            let tx = SignedTransaction::sign(tx, &[&client]);
            self.submitted.insert(tx.digest(), tx.clone());
            // A client sends to f+1 replicas, so at least one is correct.
            let mut targets = BTreeSet::new();
            while targets.len() < f + 1 {
                targets.insert(self.below(self.opts.replicas as u64) as u32);
            }
            let instances = self.instances_of_ids(&targets);
            let t = self.below(self.opts.chaos_ms);
            self.at(
                t,
                Event::Submit {
                    tx: Box::new(tx),
                    targets: instances,
                },
            );
        }
        // Faults during the chaos phase.
        if self.opts.reconfigure {
            self.schedule_set_change(&sender);
        }
        let crashes = if self.opts.no_crashes || self.opts.calm {
            0
        } else {
            self.below(3)
        };
        for _ in 0..crashes {
            let instance = self.below(self.instances.len() as u64) as usize;
            let t = self.below(self.opts.chaos_ms);
            self.at(t, Event::Crash { instance });
        }
        let chaos = self.opts.chaos_ms;
        self.at(chaos, Event::Heal);
    }

    /// Commits a change adding the standby replica, signed by every genesis validator.
    fn schedule_set_change(&mut self, sender: &Did) {
        let n = self.opts.replicas;
        let standby = self
            .instances
            .iter()
            .find(|i| i.id.0 as usize == n)
            .map(|i| i.key_seed);
        let Some(seed) = standby else { return };
        let mut next = self.validators.clone();
        next.epoch += 1;
        next.validators.push(ValidatorInfo::new(
            &key_from(seed),
            format!("sim-peer-{n}"),
            format!("/memory/{n}"),
        ));
        let keys: Vec<SecretKey> = self
            .instances
            .iter()
            .filter(|i| (i.id.0 as usize) < n)
            .map(|i| key_from(i.key_seed))
            .collect();
        let mut dedup: Vec<&SecretKey> = Vec::new();
        for k in &keys {
            if !dedup.iter().any(|d| d.public_key() == k.public_key()) {
                dedup.push(k);
            }
        }
        let tx = Transaction {
            chain_id: self.config.chain_id.clone(),
            sender: sender.clone(),
            nonce: u64::MAX,
            payload: TxPayload::ChangeValidatorSet { set: next.clone() },
        };
        let tx = SignedTransaction::sign(tx, &dedup);
        self.submitted.insert(tx.digest(), tx.clone());
        self.next_validators = Some((next, tx.digest()));
        let targets: Vec<usize> = (0..self.instances.len())
            .filter(|k| (self.instances[*k].id.0 as usize) < n)
            .collect();
        let t = self.below(self.opts.chaos_ms / 2);
        self.at(
            t,
            Event::Submit {
                tx: Box::new(tx),
                targets,
            },
        );
    }

    /// Delivers to every instance of replica `id` after a random delay (no loss).
    fn deliver(&mut self, id: ReplicaId, payload: impl Fn() -> Payload) {
        for to in self.instances_of_ids(&BTreeSet::from([id.0])) {
            let delay = self.delay();
            self.at(
                self.now + delay,
                Event::Deliver {
                    to,
                    payload: payload(),
                },
            );
        }
    }

    fn instances_of_ids(&self, ids: &BTreeSet<u32>) -> Vec<usize> {
        self.instances
            .iter()
            .enumerate()
            .filter(|(_, i)| ids.contains(&i.id.0))
            .map(|(k, _)| k)
            .collect()
    }

    fn correct(&self, instance: usize) -> bool {
        self.instances[instance].behaviour == Behaviour::Correct
    }

    fn run(&mut self) -> Result<(), Violation> {
        for k in 0..self.instances.len() {
            self.boot(k)?;
        }
        let deadline = self.opts.chaos_ms + self.opts.liveness_ms;
        // Once everything committed, the idle phase (if asked for) runs until `idle_until`.
        let mut idle_until: Option<u64> = None;
        // Bound every loop: no run takes more than this many events.
        for _ in 0..4_000_000u64 {
            if self.healed && self.all_committed() {
                let Some(h) = self.opts.heartbeat_ms else {
                    return Ok(());
                };
                let until = *idle_until.get_or_insert(self.now + IDLE_HEARTBEATS * h);
                self.idle_since.get_or_insert(self.now);
                if self.queue.first_key_value().is_none_or(|((t, _), _)| *t > until) {
                    return self.fresh_after_idle(h, until);
                }
            }
            let Some(((time, _), event)) = self.queue.pop_first() else {
                break;
            };
            if time > deadline.max(idle_until.unwrap_or(0)) {
                break;
            }
            self.now = time;
            self.handle(event)?;
        }
        if self.all_committed() {
            return match (self.opts.heartbeat_ms, idle_until) {
                (Some(h), Some(_)) => self.fresh_after_idle(h, self.now),
                _ => Ok(()),
            };
        }
        for k in 0..self.instances.len() {
            let summary = self.instances[k].replica.as_ref().map(|r| {
                format!(
                    "view {} executed {} low {} pending {} validator {} epoch {} dropped {:?}",
                    r.view().0,
                    r.executed().0,
                    r.low_watermark().0,
                    r.pending(),
                    r.is_validator(),
                    r.validators().epoch,
                    r.stats().dropped
                )
            });
            self.log(|| format!("end instance {k}: {summary:?}"));
        }
        let (replica, missing) = self
            .instances
            .iter()
            .filter(|i| i.behaviour == Behaviour::Correct)
            .map(|i| (i.id.0, self.submitted.len() - i.chain_txs.len()))
            .max_by_key(|(_, m)| *m)
            .unwrap_or((0, 0));
        Err(Violation::Liveness { replica, missing })
    }

    /// The freshness property of the idle phase: no correct replica went longer than four
    /// heartbeats and twelve base view-change timeouts without committing a block, at any point
    /// of the phase (gaps between commits, and the last one up to its end).
    fn fresh_after_idle(&self, heartbeat_ms: u64, now: u64) -> Result<(), Violation> {
        let vc = u64::try_from(self.config.view_change_timeout.as_millis()).unwrap_or(u64::MAX);
        let bound_ms = 4 * heartbeat_ms + 12 * vc;
        let since = self.idle_since.unwrap_or(now);
        for i in self
            .instances
            .iter()
            .filter(|i| i.behaviour == Behaviour::Correct)
        {
            let age_ms = i
                .max_idle_gap_ms
                .max(now.saturating_sub(i.last_commit_at.max(since)));
            if i.replica.is_some() && age_ms > bound_ms {
                return Err(Violation::Stale {
                    replica: i.id.0,
                    age_ms,
                    bound_ms,
                });
            }
        }
        Ok(())
    }

    fn all_committed(&self) -> bool {
        self.instances
            .iter()
            .filter(|i| i.behaviour == Behaviour::Correct)
            .all(|i| i.chain_txs.len() == self.submitted.len())
    }

    fn boot(&mut self, k: usize) -> Result<(), Violation> {
        let inst = &self.instances[k];
        let replica = Replica::new(
            inst.id,
            key_from(inst.key_seed),
            self.validators.clone(),
            self.genesis.clone(),
            self.check.clone(),
            self.config.clone(),
            &inst.disk,
        );
        if self.correct(k) && replica.view() < self.instances[k].announced_view {
            return Err(Violation::ViewRegressed {
                replica: self.instances[k].id.0,
            });
        }
        self.instances[k].last_view = replica.view();
        let mut out = Vec::new();
        let mut replica = replica;
        replica.start(self.now, &mut out);
        self.instances[k].replica = Some(replica);
        let (id, behaviour, view, executed, validator) = (
            self.instances[k].id.0,
            self.instances[k].behaviour,
            self.instances[k].replica.as_ref().map(|r| r.view().0),
            self.instances[k].replica.as_ref().map(|r| r.executed().0),
            self.instances[k].replica.as_ref().map(|r| r.is_validator()),
        );
        self.log(|| format!("boot instance {k}: replica {id} {behaviour:?} view {view:?} executed {executed:?} validator {validator:?}"));
        self.carry_out(k, out)
    }

    fn handle(&mut self, event: Event) -> Result<(), Violation> {
        match event {
            Event::Deliver { to, payload } => {
                if self.instances[to].replica.is_none() {
                    return Ok(());
                }
                let input = match payload {
                    Payload::Msg(m) => Input::Message(*m),
                    Payload::Blocks(b) => Input::Blocks(b),
                };
                self.step(to, input)
            }
            Event::Timer {
                instance,
                kind,
                generation,
            } => {
                if self.instances[instance].timers.get(&kind) != Some(&generation)
                    || self.instances[instance].replica.is_none()
                {
                    return Ok(());
                }
                self.instances[instance].timers.remove(&kind);
                self.step(instance, Input::Timeout(kind))
            }
            Event::Submit { tx, targets } => {
                for k in targets {
                    if self.instances[k].replica.is_some() {
                        self.step(k, Input::Submit(vec![(*tx).clone()]))?;
                    }
                }
                Ok(())
            }
            Event::Crash { instance } => {
                self.crash(instance);
                Ok(())
            }
            Event::Restart { instance } => {
                if self.instances[instance].replica.is_none() {
                    self.boot(instance)?;
                }
                Ok(())
            }
            Event::Heal => {
                self.healed = true;
                self.partition = None;
                self.log(|| "heal: network reliable, crashed replicas restart, clients retry".into());
                for k in 0..self.instances.len() {
                    if self.instances[k].replica.is_none() {
                        self.boot(k)?;
                    }
                }
                // Clients retry every uncommitted transaction at every replica.
                let all: Vec<usize> = (0..self.instances.len()).collect();
                let txs: Vec<SignedTransaction> = self.submitted.values().cloned().collect();
                for tx in txs {
                    let now = self.now + 1;
                    self.at(
                        now,
                        Event::Submit {
                            tx: Box::new(tx),
                            targets: all.clone(),
                        },
                    );
                }
                Ok(())
            }
        }
    }

    fn crash(&mut self, k: usize) {
        let inst = &mut self.instances[k];
        if inst.replica.take().is_some() {
            inst.generation += 1;
            inst.timers.clear();
            let restart = self.now + 200 + self.below(2_000);
            self.log(|| format!("crash instance {k}"));
            self.at(restart.min(self.opts.chaos_ms), Event::Restart { instance: k });
        }
    }

    fn step(&mut self, k: usize, input: Input) -> Result<(), Violation> {
        if self.opts.trace {
            let what = describe_input(&input);
            self.log(|| format!("#{k} <- {what}"));
        }
        let mut out = Vec::new();
        let now = self.now;
        let Some(replica) = self.instances[k].replica.as_mut() else {
            return Ok(());
        };
        replica.step(now, input, &mut out);
        let view = replica.view();
        if self.correct(k) {
            if view < self.instances[k].last_view {
                return Err(Violation::ViewRegressed {
                    replica: self.instances[k].id.0,
                });
            }
            self.instances[k].last_view = view;
        }
        self.carry_out(k, out)
    }

    fn carry_out(&mut self, k: usize, effects: Vec<Effect>) -> Result<(), Violation> {
        // During chaos, a replica may crash part-way through carrying out a step's effects.
        let crash_at = if !self.healed
            && !self.opts.no_crashes
            && !self.opts.calm
            && !effects.is_empty()
            && self.chance(2)
        {
            Some(self.below(effects.len() as u64) as usize)
        } else {
            None
        };
        for (i, effect) in effects.into_iter().enumerate() {
            if crash_at == Some(i) {
                self.crash(k);
                return Ok(());
            }
            self.effect(k, effect)?;
        }
        Ok(())
    }

    fn effect(&mut self, k: usize, effect: Effect) -> Result<(), Violation> {
        match effect {
            Effect::Persist(entry) => self.instances[k].disk.push(entry),
            Effect::Send(to, m) => {
                self.observe_vote(k, &m)?;
                self.send(k, &[to], m);
            }
            Effect::Broadcast(m) => {
                self.observe_vote(k, &m)?;
                let id = self.instances[k].id;
                let ids = self.opts.replicas + usize::from(self.opts.reconfigure);
                let to: Vec<ReplicaId> = (0..ids as u32).map(ReplicaId).filter(|r| *r != id).collect();
                self.send(k, &to, m);
            }
            Effect::ServeBlocks { to, from } => {
                let blocks: BlockTransfer = self.instances[k]
                    .disk
                    .iter()
                    .filter_map(|e| match e {
                        LogEntry::Committed(b, c) if b.header.height.0 >= from.0 => {
                            Some((b.clone(), c.clone()))
                        }
                        _ => None,
                    })
                    .take(pbft::MAX_TRANSFER_BLOCKS)
                    .collect();
                self.deliver(to, || Payload::Blocks(blocks.clone()));
            }
            Effect::SetTimer(kind, after) => {
                let inst = &mut self.instances[k];
                inst.generation += 1;
                let generation = inst.generation;
                inst.timers.insert(kind, generation);
                let when = self.now + u64::try_from(after.as_millis()).unwrap_or(u64::MAX / 2);
                self.at(
                    when,
                    Event::Timer {
                        instance: k,
                        kind,
                        generation,
                    },
                );
            }
            Effect::CancelTimer(kind) => {
                self.instances[k].timers.remove(&kind);
            }
            Effect::Execute {
                seq,
                parent_state_root,
                batch,
            } => {
                let fresh = self.instances[k].fresh(&batch.txs);
                let root = next_root(&parent_state_root, &fresh);
                self.step(
                    k,
                    Input::Executed {
                        seq,
                        state_root: root,
                    },
                )?;
            }
            Effect::Commit(block, cert) => {
                let height = block.header.height.0;
                let inst = &self.instances[k];
                let expected = next_root(&inst.app_root, &inst.fresh(&block.body.transactions));
                let correct = self.correct(k);
                if correct {
                    let hash = block.header.digest();
                    if *self.heights.entry(height).or_insert(hash) != hash {
                        return Err(Violation::Agreement { height });
                    }
                    if expected != block.header.state_root {
                        return Err(Violation::StateRoot { height });
                    }
                    // The set that must certify this height: the new one only after the
                    // checkpoint following the change's block.
                    let k = pbft::CHECKPOINT_INTERVAL;
                    let set = match (&self.next_validators, self.change_at) {
                        (Some((next, _)), Some(c)) if height > c => next,
                        _ => &self.validators,
                    };
                    if block.header.validator_set_hash != set.digest() {
                        return Err(Violation::ValidatorSet { height });
                    }
                    if let Some((_, change)) = &self.next_validators
                        && self.change_at.is_none()
                        && block.body.transactions.iter().any(|t| t.digest() == *change)
                    {
                        self.change_at = Some((height / k + 1) * k);
                    }
                    if self.certified.insert(hash)
                        && let Err(e) = verify_commit_certificate(&block.header, &cert, set)
                    {
                        return Err(Violation::Certificate {
                            height,
                            error: e.to_string(),
                        });
                    }
                    for tx in &block.body.transactions {
                        if !self.submitted.contains_key(&tx.digest()) {
                            return Err(Violation::Validity {
                                what: format!("unsubmitted transaction at height {height}"),
                            });
                        }
                    }
                }
                // A transaction already in the chain is a no-op (the ledger rejects a replayed
                // nonce): the state root checked above proves each took effect once.
                for tx in &block.body.transactions {
                    self.instances[k].chain_txs.insert(tx.digest());
                }
                let inst = &mut self.instances[k];
                inst.app_root = block.header.state_root;
                inst.committed = height;
                if let Some(t0) = self.idle_since {
                    let gap = self.now.saturating_sub(inst.last_commit_at.max(t0));
                    inst.max_idle_gap_ms = inst.max_idle_gap_ms.max(gap);
                }
                inst.last_commit_at = self.now;
                inst.disk.push(LogEntry::Committed(block, cert));
                self.log(|| format!("#{k} commit height {height}"));
            }
        }
        Ok(())
    }

    /// Records prepares and commits sent by correct replicas; two different ones for one
    /// (view, sequence) are an equivocation.
    fn observe_vote(&mut self, k: usize, m: &SignedMessage) -> Result<(), Violation> {
        // Only what the replica signed itself: it also relays others' view-change and new-view
        // messages to a lagging replica, which announce nothing about its own view.
        if !self.correct(k) || m.from != self.instances[k].id {
            return Ok(());
        }
        let announced = match &m.message {
            Message::PrePrepare { view, .. }
            | Message::Prepare { view, .. }
            | Message::Commit { view, .. } => Some(*view),
            Message::ViewChange { new_view, .. } => Some(*new_view),
            Message::NewView { view, .. } => Some(*view),
            _ => None,
        };
        if let Some(v) = announced {
            let inst = &mut self.instances[k];
            inst.announced_view = inst.announced_view.max(v);
        }
        let (view, seq, kind, digest) = match &m.message {
            Message::Prepare { view, seq, digest } => (view, seq, 1, *digest),
            Message::Commit {
                view, seq, digest, ..
            } => (view, seq, 2, *digest),
            Message::PrePrepare { view, seq, batch } => (view, seq, 0, batch.digest(*seq)),
            _ => return Ok(()),
        };
        let id = self.instances[k].id.0;
        let key = (id, view.0, seq.0, kind);
        if *self.votes.entry(key).or_insert(digest) != digest {
            return Err(Violation::Equivocation {
                replica: id,
                view: view.0,
                seq: seq.0,
            });
        }
        Ok(())
    }

    fn delay(&mut self) -> u64 {
        if self.healed || self.opts.calm {
            return 1 + self.below(20);
        }
        let slow = self.chance(100);
        1 + self.below(if slow { 800 } else { 60 })
    }

    fn send(&mut self, from: usize, to: &[ReplicaId], m: SignedMessage) {
        let behaviour = self.instances[from].behaviour;
        if behaviour == Behaviour::Silent {
            return;
        }
        // Partitions come and go during chaos.
        if !self.healed && !self.opts.calm && self.chance(3) {
            self.partition = if self.partition.is_some() {
                None
            } else {
                let size = 1 + self.below(self.opts.replicas as u64 / 2) as usize;
                Some(
                    (0..size)
                        .map(|_| self.below(self.opts.replicas as u64) as u32)
                        .collect(),
                )
            };
            let p = self.partition.clone();
            self.log(|| format!("partition {p:?}"));
        }
        let sender = self.instances[from].id;
        for (n, target) in to.iter().enumerate() {
            let mut msg = m.clone();
            if behaviour == Behaviour::Equivocate && n % 2 == 1 {
                msg = self.conflicting(from, &m);
            }
            if behaviour == Behaviour::Censor {
                match self.censored(from, &m) {
                    Some(c) => msg = c,
                    None => continue,
                }
            }
            if matches!(behaviour, Behaviour::Oversize | Behaviour::LyingClock) {
                msg = self.attacked(from, behaviour, &m);
            }
            for instance in self.instances_of_ids(&BTreeSet::from([target.0])) {
                if let Some(p) = &self.partition
                    && p.contains(&sender.0) != p.contains(&target.0)
                {
                    continue;
                }
                let drop = if matches!(msg.message, Message::Commit { .. }) {
                    4 * self.opts.drop_per_mille
                } else {
                    self.opts.drop_per_mille
                };
                if !self.healed && !self.opts.calm && self.chance(drop) {
                    continue;
                }
                let copies = if !self.opts.calm && self.chance(30) { 2 } else { 1 };
                for _ in 0..copies {
                    let delay = self.delay();
                    self.at(
                        self.now + delay,
                        Event::Deliver {
                            to: instance,
                            payload: Payload::Msg(Box::new(msg.clone())),
                        },
                    );
                }
            }
        }
        if behaviour == Behaviour::Flood {
            self.flood(from, to);
        }
    }

    /// A validly signed message that contradicts `m` (an equivocating replica's other vote).
    fn conflicting(&mut self, from: usize, m: &SignedMessage) -> SignedMessage {
        let mut junk = [0u8; 32];
        self.rng.fill_bytes(&mut junk);
        let message = match &m.message {
            Message::Prepare { view, seq, .. } => Message::Prepare {
                view: *view,
                seq: *seq,
                digest: Hash(junk),
            },
            Message::Commit {
                view,
                seq,
                digest,
                vote,
                ..
            } => Message::Commit {
                view: *view,
                seq: *seq,
                digest: *digest,
                block_hash: Hash(junk),
                vote: *vote,
            },
            Message::PrePrepare { view, seq, batch } => {
                let mut b = batch.clone();
                b.timestamp_ms = b.timestamp_ms.wrapping_add(1);
                Message::PrePrepare {
                    view: *view,
                    seq: *seq,
                    batch: b,
                }
            }
            other => other.clone(),
        };
        SignedMessage::sign(m.from, message, &key_from(self.instances[from].key_seed))
    }

    /// What a censoring replica sends instead of `m`: no forwarded transactions, and batches
    /// without the transactions whose digest starts with an even byte.
    fn censored(&mut self, from: usize, m: &SignedMessage) -> Option<SignedMessage> {
        match &m.message {
            Message::Forward { .. } => None,
            Message::PrePrepare { view, seq, batch } => {
                let mut b = batch.clone();
                b.txs.retain(|t| t.digest().0[0] % 2 == 1);
                let message = Message::PrePrepare {
                    view: *view,
                    seq: *seq,
                    batch: b,
                };
                Some(SignedMessage::sign(
                    m.from,
                    message,
                    &key_from(self.instances[from].key_seed),
                ))
            }
            _ => Some(m.clone()),
        }
    }

    /// What an `Oversize` or `LyingClock` replica sends instead of `m` (validly signed by it):
    /// batches and forwards with transactions no correct replica admits, or batches dated an
    /// hour ahead. Correct backups must refuse them, and the chain must still commit everything
    /// once a correct primary takes over.
    fn attacked(&self, from: usize, behaviour: Behaviour, m: &SignedMessage) -> SignedMessage {
        let key = key_from(self.instances[from].key_seed);
        let bad_txs = || {
            let sender = Did::from_public_key(key.public_key());
            let json = "x".repeat(schemas::limits::MAX_TX_BYTES + 1);
            let tx = |chain_id: &str, payload| Transaction {
                chain_id: chain_id.into(),
                sender: sender.clone(),
                nonce: 0,
                payload,
            };
            let oversized = SignedTransaction::sign(
                tx(
                    &self.config.chain_id,
                    TxPayload::PublishSchema {
                        record: schemas::ledger::SchemaRecord {
                            id: "oversized".into(),
                            credential_type: "Oversized".into(),
                            schema_hash: schemas::hash::sm3(json.as_bytes()),
                            json,
                            publisher: sender.clone(),
                        },
                    },
                ),
                &[&key],
            );
            let approve = |chain_id: &str| {
                tx(
                    chain_id,
                    TxPayload::Approve {
                        proposal: Hash([0xab; 32]),
                    },
                )
            };
            let mut mis_signed = SignedTransaction::sign(approve(&self.config.chain_id), &[&key]);
            mis_signed.signatures[0].signature = Signature([1; 64]);
            let other_chain = SignedTransaction::sign(approve("another-chain"), &[&key]);
            vec![oversized, mis_signed, other_chain]
        };
        let message = match (&m.message, behaviour) {
            (Message::PrePrepare { view, seq, batch }, Behaviour::Oversize) => {
                let mut b = batch.clone();
                b.txs.extend(bad_txs());
                Message::PrePrepare {
                    view: *view,
                    seq: *seq,
                    batch: b,
                }
            }
            (Message::Forward { txs }, Behaviour::Oversize) => {
                let mut txs = txs.clone();
                txs.extend(bad_txs());
                Message::Forward { txs }
            }
            (Message::PrePrepare { view, seq, batch }, Behaviour::LyingClock) => {
                let mut b = batch.clone();
                b.timestamp_ms = self.now + 3_600_000;
                Message::PrePrepare {
                    view: *view,
                    seq: *seq,
                    batch: b,
                }
            }
            _ => return m.clone(),
        };
        SignedMessage::sign(m.from, message, &key)
    }

    /// Invalid messages: bad signatures, impossible views and sequence numbers, empty proofs.
    fn flood(&mut self, from: usize, to: &[ReplicaId]) {
        let id = self.instances[from].id;
        let key = key_from(self.instances[from].key_seed);
        let far = SeqNo(self.below(1 << 40));
        let junk = [
            SignedMessage {
                from: id,
                message: Message::Status { executed: far },
                signature: Signature([7; 64]),
            },
            SignedMessage::sign(
                id,
                Message::Prepare {
                    view: View(u64::MAX),
                    seq: far,
                    digest: Hash::ZERO,
                },
                &key,
            ),
            SignedMessage::sign(ReplicaId(999), Message::FetchBlocks { from: SeqNo(0) }, &key),
            SignedMessage::sign(
                id,
                Message::PrePrepare {
                    view: View(0),
                    seq: SeqNo(1),
                    batch: Batch::null(View(0)),
                },
                &key,
            ),
        ];
        for m in junk {
            for target in to {
                self.deliver(*target, || Payload::Msg(Box::new(m.clone())));
            }
        }
    }
}

fn describe_input(input: &Input) -> String {
    match input {
        Input::Message(m) => format!("{} from {}", m.message, m.from.0),
        Input::Blocks(b) => format!("{} blocks", b.len()),
        Input::Timeout(k) => format!("timeout {k:?}"),
        Input::Submit(_) => "submit".into(),
        Input::Executed { seq, .. } => format!("executed {}", seq.0),
    }
}

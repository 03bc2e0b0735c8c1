//! The node: one loop that turns network frames, timers and API submissions into
//! `pbft::Input`s and carries out the replica's effects in order.
//!
//! Invariants:
//! - only this loop touches the replica; the API reads committed data from the store;
//! - a step's `Persist` entries are written and flushed before any later effect of that step
//!   (so before its votes are sent);
//! - a committed block's state root is re-derived from its transactions before it is written;
//!   a mismatch stops the node (it would mean consensus certified a state this code does not
//!   compute: a bug, never outside input);
//! - one `Execute` at a time: the speculative result is kept until its block commits.

use crate::metrics::Metrics;
use crate::network::{self, NetConfig, NetEvent, Network, Target};
use crate::rules::{self, Execution, RevocationCache};
use crate::store::{Store, StoreError};
use ledger_api::NodeStatus;
use libp2p::{Multiaddr, PeerId};
use pbft::{BlockTransfer, Effect, Input, LogEntry, Message, Replica, ReplicaId, TimerKind, Wire};
use schemas::codec::{Canonical, decode, encode};
use schemas::hash::{Domain, Hash};
use schemas::ledger::{Block, Genesis, SignedTransaction};
use schemas::sm2::{PublicKey, Signature};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// Most bytes of blocks in one state-transfer reply.
pub const MAX_TRANSFER_BYTES: usize = 8 << 20;
const _: () = assert!(MAX_TRANSFER_BYTES < network::MAX_MESSAGE_BYTES);
/// Least time between two state-transfer replies to one peer: a peer asking faster (each ask
/// costs it a few bytes, each answer up to `MAX_TRANSFER_BYTES`) is answered at this rate.
pub const SERVE_INTERVAL: Duration = Duration::from_millis(50);
/// Capacity of the API's submission queue.
pub const SUBMIT_QUEUE: usize = 4_096;

/// Everything a node needs to run.
pub struct NodeConfig {
    /// Where sled keeps its files.
    pub data_dir: PathBuf,
    /// The consortium's genesis.
    pub genesis: Genesis,
    /// This node's keys.
    pub keys: crate::keys::NodeKeys,
    /// libp2p listen address.
    pub p2p_listen: Multiaddr,
    /// HTTP listen address.
    pub api_listen: SocketAddr,
    /// The API's certificate and key: HTTPS when given.
    pub api_tls: Option<crate::tls::TlsFiles>,
    /// The API's public address for the links it serves (default: from the request's `Host`).
    pub public_url: Option<String>,
    /// Consensus timing.
    pub consensus: pbft::Config,
}

pub use crate::shared::{Shared, Submission, SubmitError, VerifiedCache};

struct CachedSignatures(Arc<Shared>);

impl pbft::SignatureCheck for CachedSignatures {
    fn verify(&self, key: &PublicKey, domain: Domain, msg: &[u8], sig: &Signature) -> bool {
        self.0.verified.verify(key, domain, msg, sig)
    }
}

/// A running node.
pub struct NodeHandle {
    /// The HTTP address it listens on.
    pub api: SocketAddr,
    /// Its peer id.
    pub peer_id: PeerId,
    /// Its network (to cut and heal its links in fault tests).
    pub network: Network,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Closes the API: dropping it (with the handle) shuts the server down gracefully.
    api_stop: oneshot::Sender<()>,
    api_task: tokio::task::JoinHandle<()>,
}

impl NodeHandle {
    /// Stops the node and its API (in-flight requests finish, idle connections close, the port
    /// is released) and waits for both.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.run_until(std::future::ready(())).await
    }

    /// Waits until the node stops by itself (a fatal error), then closes its API.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Runs until `shutdown` completes (then stops the node) or the node stops by itself (a
    /// fatal error, returned); either way the API is closed before this returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let NodeHandle {
            stop,
            mut task,
            api_stop,
            api_task,
            ..
        } = self;
        let core = tokio::select! {
            ended = &mut task => ended,
            () = shutdown => {
                let _ = stop.send(());
                task.await
            }
        };
        let _ = api_stop.send(());
        let _ = api_task.await;
        core?
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Opens the store (writing genesis on first start), joins the network, serves the API.
pub async fn start(config: NodeConfig) -> anyhow::Result<NodeHandle> {
    use anyhow::Context as _;
    rules::validate_genesis(&config.genesis).map_err(|e| anyhow::anyhow!("invalid genesis: {e}"))?;
    // The API's certificate before anything starts: a bad one stops the node here.
    let tls = match &config.api_tls {
        Some(files) => Some(files.load().await?),
        None => None,
    };
    let store = Store::open(&config.data_dir)
        .with_context(|| format!("opening the store at {}", config.data_dir.display()))?;
    let genesis_digest = config.genesis.digest();
    match store.genesis_digest()? {
        Some(d) if d != genesis_digest => anyhow::bail!(
            "the store at {} belongs to another genesis; use a fresh data directory",
            config.data_dir.display()
        ),
        Some(_) => {}
        None => {
            let ex = rules::execute_genesis(&store, rules::genesis_updates(&config.genesis))?;
            let header = rules::genesis_header(&config.genesis, ex.root);
            store.init_genesis(genesis_digest, &header, &ex)?;
        }
    }
    let genesis_header = store
        .block(0)?
        .context("the store has no genesis block")?
        .0
        .header;

    let validators = &config.genesis.validators;
    let me = config.keys.sm2.public_key().clone();
    let replica_id = if let Some(i) = validators.index_of(&me) {
        i as u32
    } else if let Some(i) = config.genesis.observers.iter().position(|o| o.public_key == me) {
        (validators.len() + i) as u32
    } else {
        anyhow::bail!("this node's key is neither a validator nor an observer of the genesis")
    };

    let mut peers = BTreeMap::new();
    for v in &validators.validators {
        peers.insert(parse_peer(&v.peer_id)?, parse_addr(&v.address)?);
    }
    for o in &config.genesis.observers {
        peers.insert(parse_peer(&o.peer_id)?, parse_addr(&o.address)?);
    }
    let (events_tx, events) = mpsc::channel(network::QUEUE);
    let peer_id = config.keys.peer_id();
    let net = network::spawn(
        NetConfig {
            keypair: config.keys.p2p.clone(),
            listen: config.p2p_listen.clone(),
            peers: peers.clone(),
        },
        events_tx,
    )?;

    let (submit, submissions) = mpsc::channel(SUBMIT_QUEUE);
    let shared = Arc::new(Shared {
        store: store.clone(),
        genesis: config.genesis.clone(),
        metrics: Metrics::new(),
        status: RwLock::new(NodeStatus {
            chain_id: config.genesis.chain_id.clone(),
            peer_id: peer_id.to_string(),
            replica: replica_id,
            ..NodeStatus::default()
        }),
        submit,
        verified: VerifiedCache::default(),
        ceremony_files: crate::ceremony_files::CeremonyFiles::new(&config.data_dir),
        public_url: config.public_url.clone(),
        https: config.api_tls.is_some(),
    });

    let mut log: Vec<LogEntry> = Vec::new();
    let height = store.height()?.map_or(0, |h| h.0);
    for h in 1..=height {
        let (b, c) = store
            .block(h)?
            .with_context(|| format!("block {h} is missing from the store"))?;
        log.push(LogEntry::Committed(b, c));
    }
    log.extend(store.log()?);
    let mut consensus = config.consensus.clone();
    consensus.chain_id = config.genesis.chain_id.clone();
    let replica = Replica::new(
        ReplicaId(replica_id),
        config.keys.sm2,
        validators.clone(),
        genesis_header,
        Arc::new(CachedSignatures(shared.clone())),
        consensus,
        &log,
    );
    drop(log);

    let listener = tokio::net::TcpListener::bind(config.api_listen)
        .await
        .with_context(|| format!("binding the API to {}", config.api_listen))?;
    let api = listener.local_addr()?;
    let app = crate::api::router(shared.clone());
    let (api_stop, api_stopped) = oneshot::channel::<()>();
    let api_task = tokio::spawn(async move {
        // Ends when told to or when the handle is dropped (the sender goes with it).
        let closing = async {
            let _ = api_stopped.await;
        };
        if let Err(e) = crate::tls::serve(listener, app, tls, closing).await {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    tracing::info!(%api, %peer_id, replica = replica_id, height, "node started");

    let network = net.clone();
    let core = Core {
        replica,
        shared,
        net,
        revocations: RevocationCache::default(),
        execution: None,
        timers: BTreeMap::new(),
        origin: None,
        served: HashMap::new(),
        peers_of: Vec::new(),
        epoch: u64::MAX,
        observers: config
            .genesis
            .observers
            .iter()
            .filter_map(|o| o.peer_id.parse().ok())
            .collect(),
        submitted: HashMap::new(),
        reported: BTreeMap::new(),
    };
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(core.run(events, submissions, stopped));
    Ok(NodeHandle {
        api,
        peer_id,
        network,
        stop,
        task,
        api_stop,
        api_task,
    })
}

fn parse_peer(s: &str) -> anyhow::Result<PeerId> {
    s.parse().map_err(|e| anyhow::anyhow!("peer id {s:?}: {e}"))
}

fn parse_addr(s: &str) -> anyhow::Result<Multiaddr> {
    s.parse().map_err(|e| anyhow::anyhow!("address {s:?}: {e}"))
}

struct Core {
    replica: Replica,
    shared: Arc<Shared>,
    net: Network,
    revocations: RevocationCache,
    /// The speculative execution of the next height: (height, transaction digests, result).
    execution: Option<(u64, Vec<Hash>, Execution)>,
    timers: BTreeMap<TimerKind, Instant>,
    /// The peer whose frame is being processed (state-transfer replies go back to it).
    origin: Option<PeerId>,
    /// When each peer was last sent blocks (admitted peers only: bounded by the consortium).
    served: HashMap<PeerId, Instant>,
    /// Peer of each validator id of the current set.
    peers_of: Vec<Option<PeerId>>,
    epoch: u64,
    observers: Vec<PeerId>,
    /// When this node's API received each pending transaction (commit latency).
    submitted: HashMap<Hash, Instant>,
    /// Rejection counts (consensus drop reasons, network drops and refusals) already exported.
    reported: BTreeMap<String, u64>,
}

/// Most transactions whose submission time is remembered for the latency histogram.
const MAX_TRACKED: usize = 1 << 16;

impl Core {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<NetEvent>,
        mut submissions: mpsc::Receiver<Submission>,
        mut stop: oneshot::Receiver<()>,
    ) -> anyhow::Result<()> {
        let mut out = Vec::new();
        self.replica.start(now_ms(), &mut out);
        self.carry_out(out)?;
        self.update_status();
        loop {
            let next_timer = self
                .timers
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, at)| (*k, *at));
            let sleep = tokio::time::sleep_until(
                next_timer
                    .map_or_else(|| Instant::now() + Duration::from_secs(3_600), |(_, at)| at)
                    .into(),
            );
            tokio::select! {
                _ = &mut stop => break,
                _ = sleep => {
                    if let Some((kind, _)) = next_timer {
                        self.timers.remove(&kind);
                        self.input(Input::Timeout(kind))?;
                    }
                }
                Some(NetEvent::Message(peer, frame)) = events.recv() => {
                    self.net.stats.taken(frame.len());
                    match decode::<Wire>(&frame) {
                        Ok(Wire::Message(m)) => { self.origin = Some(peer); self.input(Input::Message(*m))?; }
                        Ok(Wire::Blocks(b)) => { self.origin = Some(peer); self.input(Input::Blocks(b))?; }
                        Err(e) => {
                            self.shared.metrics.reject("p2p_malformed");
                            tracing::debug!(%peer, error = %e, "malformed frame");
                        }
                    }
                    self.origin = None;
                }
                Some(first) = submissions.recv() => {
                    // Take what else is waiting: one forward carries them all.
                    let mut batch = vec![first];
                    while batch.len() < pbft::MAX_BATCH_TXS {
                        match submissions.try_recv() {
                            Ok(s) => batch.push(s),
                            Err(_) => break,
                        }
                    }
                    let txs = batch.iter().map(|s| s.tx.clone()).collect();
                    self.input(Input::Submit(txs))?;
                    for s in batch {
                        let digest = s.tx.id();
                        let answer = if self.replica.knows(&digest) {
                            if self.submitted.len() < MAX_TRACKED {
                                self.submitted.entry(digest).or_insert_with(Instant::now);
                            }
                            Ok(())
                        } else {
                            Err(SubmitError::Busy)
                        };
                        let _ = s.reply.send(answer);
                    }
                }
            }
        }
        tracing::info!("node stopped");
        Ok(())
    }

    fn input(&mut self, input: Input) -> anyhow::Result<()> {
        let mut queue = VecDeque::from([input]);
        while let Some(i) = queue.pop_front() {
            let mut out = Vec::new();
            self.replica.step(now_ms(), i, &mut out);
            if let Some(next) = self.carry_out(out)? {
                queue.push_back(next);
            }
        }
        self.update_status();
        Ok(())
    }

    fn update_status(&mut self) {
        let stats = self.replica.stats();
        let m = &self.shared.metrics;
        let net = &self.net.stats;
        let counts = stats
            .dropped
            .iter()
            .map(|(reason, count)| (format!("{reason:?}"), *count))
            .chain([
                (
                    "p2p_frame_dropped".to_string(),
                    net.dropped.load(std::sync::atomic::Ordering::Relaxed),
                ),
                (
                    "p2p_connection_refused".to_string(),
                    net.refused.load(std::sync::atomic::Ordering::Relaxed),
                ),
            ]);
        for (reason, count) in counts {
            let before = self.reported.get(&reason).copied().unwrap_or(0);
            if count > before {
                m.reject_by(&reason, count - before);
                self.reported.insert(reason, count);
            }
        }
        m.view.set(self.replica.view().0 as i64);
        m.set_view_changes(stats.view_changes);
        m.mempool.set(self.replica.pending() as i64);
        let peers = self.net.stats.peers.load(std::sync::atomic::Ordering::Relaxed);
        m.peers.set(peers as i64);
        let mut s = self.shared.status.write().unwrap_or_else(|p| p.into_inner());
        s.height = self.replica.executed().0;
        s.view = self.replica.view().0;
        s.validator = self.replica.is_validator();
        s.mempool = self.replica.pending();
        s.peers = peers;
    }

    fn refresh_peers(&mut self) {
        let set = self.replica.validators();
        if set.epoch == self.epoch {
            return;
        }
        self.epoch = set.epoch;
        self.peers_of = set.validators.iter().map(|v| v.peer_id.parse().ok()).collect();
    }

    fn peer(&self, id: ReplicaId) -> Option<PeerId> {
        let n = self.peers_of.len();
        let i = id.0 as usize;
        if i < n {
            self.peers_of[i]
        } else {
            self.observers.get(i - n).copied()
        }
    }

    fn frame(w: &Wire) -> Arc<Vec<u8>> {
        Arc::new(encode(w))
    }

    /// Carries out effects in order; returns the `Executed` input to feed back, if any.
    fn carry_out(&mut self, effects: Vec<Effect>) -> anyhow::Result<Option<Input>> {
        self.refresh_peers();
        let mut log: Vec<LogEntry> = Vec::new();
        let mut next = None;
        for effect in effects {
            if let Effect::Persist(entry) = effect {
                log.push(entry);
                continue;
            }
            self.persist(&mut log)?;
            match effect {
                Effect::Persist(_) => {}
                Effect::Send(to, m) => {
                    if let Some(p) = self.peer(to) {
                        self.net
                            .send(Target::Peer(p), Self::frame(&Wire::Message(Box::new(m))));
                    }
                }
                Effect::Broadcast(m) => {
                    let me = self.net.local;
                    let mut to: Vec<PeerId> = self
                        .peers_of
                        .iter()
                        .flatten()
                        .copied()
                        .filter(|p| *p != me)
                        .collect();
                    if matches!(m.message, Message::Status { .. }) {
                        to.extend(self.observers.iter().copied().filter(|p| *p != me));
                    }
                    self.net
                        .send(Target::Peers(to), Self::frame(&Wire::Message(Box::new(m))));
                }
                Effect::ServeBlocks { to, from } => {
                    let Some(p) = self.origin.or_else(|| self.peer(to)) else {
                        continue;
                    };
                    let now = Instant::now();
                    if self.served.get(&p).is_some_and(|at| now < *at + SERVE_INTERVAL) {
                        self.shared.metrics.reject("fetch_rate");
                        continue;
                    }
                    self.served.insert(p, now);
                    let mut blocks = Vec::new();
                    let mut bytes = 0;
                    let top = self.replica.executed().0;
                    for h in from.0..=top {
                        let Some((b, c)) = self.shared.store.block(h)? else {
                            break;
                        };
                        bytes += encode(&b).len();
                        if blocks.len() >= pbft::MAX_TRANSFER_BLOCKS
                            || (bytes > MAX_TRANSFER_BYTES && !blocks.is_empty())
                        {
                            break;
                        }
                        blocks.push((b, c));
                    }
                    let transfer: BlockTransfer = blocks;
                    self.net
                        .send(Target::Peer(p), Self::frame(&Wire::Blocks(transfer)));
                }
                Effect::SetTimer(kind, after) => {
                    self.timers.insert(kind, Instant::now() + after);
                }
                Effect::CancelTimer(kind) => {
                    self.timers.remove(&kind);
                }
                Effect::Execute {
                    seq,
                    parent_state_root,
                    batch,
                } => {
                    let ex = self.execute(seq.0, &batch.txs, Some(parent_state_root))?;
                    let digests = batch.txs.iter().map(Canonical::digest).collect();
                    next = Some(Input::Executed {
                        seq,
                        state_root: ex.root,
                    });
                    self.execution = Some((seq.0, digests, ex));
                }
                Effect::Commit(block, cert) => self.commit(block, cert)?,
            }
        }
        self.persist(&mut log)?;
        Ok(next)
    }

    fn persist(&mut self, log: &mut Vec<LogEntry>) -> Result<(), StoreError> {
        if log.is_empty() {
            return Ok(());
        }
        self.shared.store.append_log(log)?;
        if let Some(seq) = log
            .iter()
            .filter_map(|e| match e {
                LogEntry::Stable(p) => Some(p.seq.0),
                _ => None,
            })
            .max()
        {
            self.shared.store.compact_log(seq)?;
        }
        log.clear();
        Ok(())
    }

    /// Executes `txs` as block `height` on the committed state, which must be at `height - 1`
    /// (and at `parent_root`, when consensus names it).
    fn execute(
        &self,
        height: u64,
        txs: &[SignedTransaction],
        parent_root: Option<Hash>,
    ) -> anyhow::Result<Execution> {
        let store = &self.shared.store;
        let (header, _) = store
            .latest()?
            .ok_or_else(|| anyhow::anyhow!("no committed block"))?;
        anyhow::ensure!(
            header.height.0 + 1 == height,
            "asked to execute height {height} on top of height {}",
            header.height.0
        );
        if let Some(root) = parent_root {
            anyhow::ensure!(
                header.state_root == root,
                "consensus asked to execute on state root {root}, the store is at {}",
                header.state_root
            );
        }
        Ok(rules::execute(
            store,
            store.state_version()?,
            header.state_root,
            (&self.shared.genesis.chain_id, schemas::ledger::Height(height)),
            txs,
            &self.revocations,
        )?)
    }

    fn commit(&mut self, block: Block, cert: schemas::ledger::CommitCertificate) -> anyhow::Result<()> {
        let h = block.header.height.0;
        let digests: Vec<Hash> = block.body.transactions.iter().map(Canonical::digest).collect();
        let mut ex = match self.execution.take() {
            Some((eh, d, ex)) if eh == h && d == digests => ex,
            _ => self.execute(h, &block.body.transactions, None)?,
        };
        if ex.root != block.header.state_root {
            anyhow::bail!(
                "state divergence at height {h}: the certified block says state root {} but executing it gives {}; \
                 stopping rather than serving a state the consortium did not agree on",
                block.header.state_root,
                ex.root
            );
        }
        self.shared.store.commit(&block, &cert, &ex)?;
        self.revocations.commit(&mut ex);
        for s in block.body.transactions.iter().flat_map(|t| &t.signatures) {
            self.shared.verified.note_signer(&s.public_key);
        }
        let m = &self.shared.metrics;
        m.height.set(h as i64);
        m.blocks.inc();
        m.transactions.inc_by(digests.len() as u64);
        for (d, rejection) in &ex.rejections {
            tracing::debug!(tx = %d, code = ?rejection.code, detail = %rejection, "transaction rejected");
        }
        for (d, r) in &ex.receipts {
            if let schemas::ledger::TxOutcome::Rejected { .. } = r.outcome {
                m.reject("ledger_rule");
            }
            if let Some(t) = self.submitted.remove(d) {
                m.commit_latency.observe(t.elapsed().as_secs_f64());
            }
        }
        Ok(())
    }
}

//! The load tool: drives a running devnet with anchor transactions and reports committed
//! transactions per second and commit latency, beside this machine's SM2 verification rate and
//! the CPU bound it implies (cores ÷ (validators × verify time): every validator verifies every
//! transaction once, and all of them share this machine's cores).
//!
//! Two phases: **peak** (as fast as the nodes take them, a fixed number in flight) and
//! **half load** (a steady rate of half the measured peak, for latency); optionally a third,
//! **through a fault**: the half-load rate again with the primary killed a quarter of the way
//! in, submissions failing over to the nodes that answer, and commits read from any of them.

use crate::config::{DevnetFile, open_governance_key, password, read_json};
use crate::keys::Role;
use anyhow::{Context, Result, bail};
use ledger_api::client::Client;
use rand_core::{OsRng, RngCore};
use rayon::prelude::*;
use schemas::did::Did;
use schemas::hash::{Hash, domains};
use schemas::ledger::{
    AnchorRecord, Genesis, IssuerRecord, IssuerStatus, SignedTransaction, Transaction, TxOutcome, TxPayload,
};
use schemas::sm2::SecretKey;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Transactions in the peak phase.
    pub transactions: usize,
    /// Issuers the load is spread over.
    pub issuers: usize,
    /// Requests in flight in the peak phase.
    pub in_flight: usize,
    /// Seconds of the half-load phase.
    pub half_load_secs: u64,
    /// The half-load phase's rate, tx/s, when not half the measured peak.
    pub rate: Option<f64>,
    /// Run a third phase: the half-load rate again, with the primary killed (`SIGKILL`, by
    /// the pid `ledger-node devnet` writes) a quarter of the way in; `ledger-node devnet`
    /// restarts it.
    pub kill_primary: bool,
}

/// Figures of a phase with a fault.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultReport {
    /// What was done, e.g. "killed node-2 (the primary of view 0)".
    pub fault: String,
    /// Transactions offered (and committed) in the phase.
    pub transactions: usize,
    /// Offered rate.
    pub rate: f64,
    /// Committed transactions per second over the phase (first submission to last commit).
    pub tx_per_s: f64,
    /// Commit latency p50 / p99 / max, ms.
    pub latency_ms: (f64, f64, f64),
    /// Submissions that had to go to another node because the first did not answer.
    pub failovers: usize,
    /// Transactions sent again, to the next node, because they had not committed within
    /// [`RETRANSMIT_AFTER`]: a node that took one and was then killed may never have passed it
    /// on (PBFT's clients retransmit for the same reason, §4.1).
    pub retransmissions: usize,
}

/// The figures.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    /// Cores on this machine.
    pub cores: usize,
    /// Validators in the devnet.
    pub validators: usize,
    /// One SM2 verification by the `sm2` crate (constant time), µs (single thread).
    pub sm2_verify_us: f64,
    /// The nodes' variable-time verification, µs (single thread).
    pub sm2_vartime_verify_us: f64,
    /// The same with the signer's precomputed table, µs (single thread).
    pub sm2_table_verify_us: f64,
    /// SM2 verifications per second on all cores.
    pub sm2_verify_per_s: f64,
    /// The CPU bound: cores ÷ (validators × verify time).
    pub bound_tx_per_s: f64,
    /// Transactions committed in the peak phase.
    pub peak_transactions: usize,
    /// Committed transactions per second at peak.
    pub peak_tx_per_s: f64,
    /// Peak as a share of the bound.
    pub peak_share_of_bound: f64,
    /// Commit latency at peak, p50 / p99, ms.
    pub peak_latency_ms: (f64, f64),
    /// Offered rate in the half-load phase.
    pub half_load_rate: f64,
    /// Commit latency at half load, p50 / p99, ms.
    pub half_load_latency_ms: (f64, f64),
    /// Transactions rejected by the ledger (should be 0).
    pub rejected: usize,
    /// The phase with a fault, if run.
    pub fault: Option<FaultReport>,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "machine: {} cores; devnet of {} validators",
            self.cores, self.validators
        )?;
        writeln!(
            f,
            "SM2 verify (sm2 crate): {:.0} µs single-thread, {:.0}/s on all cores → CPU bound {:.0} tx/s",
            self.sm2_verify_us, self.sm2_verify_per_s, self.bound_tx_per_s
        )?;
        writeln!(
            f,
            "SM2 verify as the nodes do it: {:.0} µs variable time, {:.0} µs with the signer's table",
            self.sm2_vartime_verify_us, self.sm2_table_verify_us
        )?;
        writeln!(
            f,
            "peak: {} tx committed at {:.0} tx/s = {:.0} % of the bound; latency p50 {:.1} ms, p99 {:.1} ms",
            self.peak_transactions,
            self.peak_tx_per_s,
            100.0 * self.peak_share_of_bound,
            self.peak_latency_ms.0,
            self.peak_latency_ms.1
        )?;
        writeln!(
            f,
            "half load: {:.0} tx/s offered; latency p50 {:.1} ms, p99 {:.1} ms",
            self.half_load_rate, self.half_load_latency_ms.0, self.half_load_latency_ms.1
        )?;
        write!(f, "rejected by the ledger: {}", self.rejected)?;
        if let Some(x) = &self.fault {
            write!(
                f,
                "\nthrough a fault ({}): {} tx at {:.0} tx/s offered, {:.0} tx/s committed; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} submissions failed over, {} retransmitted",
                x.fault,
                x.transactions,
                x.rate,
                x.tx_per_s,
                x.latency_ms.0,
                x.latency_ms.1,
                x.latency_ms.2,
                x.failovers,
                x.retransmissions
            )?;
        }
        Ok(())
    }
}

/// What one SM2 verification costs on this machine, single thread.
#[derive(Clone, Copy, Debug)]
pub struct VerifyCost {
    /// The `sm2` crate's constant-time verification, µs: the reference the bound assumes.
    pub reference_us: f64,
    /// The nodes' variable-time verification, µs.
    pub vartime_us: f64,
    /// The same with the key's precomputed table (keys that sign again), µs.
    pub table_us: f64,
    /// Reference verifications per second on all cores.
    pub reference_per_s: f64,
}

/// Measures SM2 verification: each path single-threaded, the reference on every core.
pub fn sm2_verify_rate() -> VerifyCost {
    let key = SecretKey::generate(&mut OsRng);
    let msgs: Vec<[u8; 32]> = (0..64u8).map(|i| [i; 32]).collect();
    let sigs: Vec<_> = msgs.iter().map(|m| key.sign(domains::TRANSACTION, m)).collect();
    let pk = key.public_key().clone();
    let table = schemas::sm2::VerifyTable::new(&pk);
    let n = 1_000;
    let time = |f: &dyn Fn(usize) -> bool| {
        let t = Instant::now();
        for i in 0..n {
            assert!(f(i % 64), "an honest signature failed to verify");
        }
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    };
    let reference_us = time(&|i| {
        pk.verify_reference(domains::TRANSACTION, &msgs[i], &sigs[i])
            .is_ok()
    });
    let vartime_us = time(&|i| pk.verify(domains::TRANSACTION, &msgs[i], &sigs[i]).is_ok());
    let table_us = time(&|i| {
        pk.verify_with(&table, domains::TRANSACTION, &msgs[i], &sigs[i])
            .is_ok()
    });
    let n_par = 4_000;
    let t = Instant::now();
    (0..n_par).into_par_iter().for_each(|i| {
        let _ = pk.verify_reference(domains::TRANSACTION, &msgs[i % 64], &sigs[i % 64]);
    });
    VerifyCost {
        reference_us,
        vartime_us,
        table_us,
        reference_per_s: n_par as f64 / t.elapsed().as_secs_f64(),
    }
}

fn tx(chain: &str, key: &SecretKey, nonce: u64, payload: TxPayload) -> SignedTransaction {
    SignedTransaction::sign(
        Transaction {
            chain_id: chain.to_string(),
            sender: Did::from_public_key(key.public_key()),
            nonce,
            payload,
        },
        &[key],
    )
}

async fn submit_all(clients: &[Client], txs: &[SignedTransaction]) -> Result<Vec<Hash>> {
    let mut hashes = Vec::new();
    for (i, t) in txs.iter().enumerate() {
        hashes.push(clients[i % clients.len()].submit(t).await?);
    }
    Ok(hashes)
}

/// Waits until every client's node has committed every transaction: the next step may submit
/// to any of them, and a node admits a transaction against its own committed state (an approval
/// sent to a node one block behind would be refused as approving "no proposal").
async fn wait_all(clients: &[Client], hashes: &[Hash]) -> Result<()> {
    for client in clients {
        for h in hashes {
            let r = client.wait(h, Duration::from_secs(60)).await?;
            if let TxOutcome::Rejected { code } = r.outcome {
                bail!("setup transaction {h} was rejected: {code}");
            }
        }
    }
    Ok(())
}

/// Registers `n` issuers through governance; returns their keys and the schema to anchor under.
pub async fn register_issuers(
    devnet: &DevnetFile,
    genesis: &Genesis,
    clients: &[Client],
    n: usize,
) -> Result<(Vec<SecretKey>, String, String)> {
    let pw = password(Some(&devnet.password_file))?;
    let gov: Vec<SecretKey> = devnet
        .governance_keys
        .iter()
        .map(|p| open_governance_key(p, &pw))
        .collect::<Result<_>>()?;
    let needed = usize::from(genesis.governance.policies.approvals_needed);
    let schema = genesis
        .schemas
        .first()
        .context("the genesis publishes no schema")?;
    let chain = &genesis.chain_id;
    let issuers: Vec<SecretKey> = (0..n).map(|_| SecretKey::generate(&mut OsRng)).collect();
    let regs: Vec<SignedTransaction> = issuers
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let did = Did::from_public_key(k.public_key());
            tx(
                chain,
                k,
                0,
                TxPayload::RegisterIssuer {
                    record: IssuerRecord {
                        did,
                        name: format!("Load-test University {i}"),
                        public_key: k.public_key().clone(),
                        officers: vec![],
                        threshold: 1,
                        allowed_types: vec![schema.credential_type.clone()],
                        status: IssuerStatus::Active,
                    },
                },
            )
        })
        .collect();
    let hashes = submit_all(clients, &regs).await?;
    wait_all(clients, &hashes).await?;
    let mut approvals = Vec::new();
    for g in gov.iter().take(needed) {
        let mut nonce = clients[0]
            .next_nonce(&Did::from_public_key(g.public_key()))
            .await?;
        for h in &hashes {
            approvals.push(tx(chain, g, nonce, TxPayload::Approve { proposal: *h }));
            nonce += 1;
        }
    }
    let hashes = submit_all(clients, &approvals).await?;
    wait_all(clients, &hashes).await?;
    Ok((issuers, schema.id.clone(), schema.credential_type.clone()))
}

/// Signs `count` anchor transactions spread over `issuers`, nonces from `first_nonce`.
pub fn anchors(
    chain: &str,
    issuers: &[SecretKey],
    schema: &(String, String),
    count: usize,
    first_nonce: u64,
) -> Vec<SignedTransaction> {
    (0..count)
        .into_par_iter()
        .map(|i| {
            let k = &issuers[i % issuers.len()];
            let mut root = [0u8; 32];
            OsRng.fill_bytes(&mut root);
            tx(
                chain,
                k,
                first_nonce + (i / issuers.len()) as u64,
                TxPayload::AnchorBatch {
                    anchor: AnchorRecord {
                        issuer: Did::from_public_key(k.public_key()),
                        root: Hash(root),
                        poseidon_root: None,
                        count: 1_000,
                        schema_id: schema.0.clone(),
                        credential_type: schema.1.clone(),
                    },
                },
            )
        })
        .collect()
}

/// Follows committed blocks and notes when each transaction appeared; reads from the first
/// node and moves on to the next when one stops answering.
struct Watcher {
    seen: Arc<Mutex<HashMap<Hash, (Instant, bool)>>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

fn watch(clients: Vec<Client>, from: u64) -> Watcher {
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let s = seen.clone();
    tokio::spawn(async move {
        let mut next = from;
        let mut k = 0;
        loop {
            if stopped.try_recv().is_ok() {
                break;
            }
            let client = &clients[k % clients.len()];
            let top = match client.status().await {
                Ok(s) => s.height,
                Err(_) => {
                    k += 1;
                    0
                }
            };
            while next <= top {
                let Ok(b) = client.block(next).await else {
                    k += 1;
                    break;
                };
                let now = Instant::now();
                let mut seen = s.lock().unwrap_or_else(|p| p.into_inner());
                for t in &b.block.body.transactions {
                    seen.insert(t.id(), (now, true));
                }
                next += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    Watcher { seen, stop }
}

/// How long a client waits for a transaction to commit before it sends it again to another
/// node (the fault phase only; a view change after a kill takes a few seconds).
pub const RETRANSMIT_AFTER: Duration = Duration::from_secs(10);

/// What the fault phase retransmits: the transactions by id, the nodes, and a count.
struct Retransmit<'a> {
    txs: &'a HashMap<Hash, SignedTransaction>,
    clients: &'a [Client],
    count: &'a AtomicUsize,
}

/// Waits (up to two minutes) until all `count` transactions in `submitted` are in blocks;
/// returns their commit latencies in ms, sorted, and when the last one committed. With
/// `retransmit`, every [`RETRANSMIT_AFTER`] the transactions not yet committed are sent again,
/// each to the next node in turn; a node's refusal (it may already hold or have committed the
/// transaction) is not an error there: only commitment counts.
async fn committed(
    watcher: &Watcher,
    submitted: &Mutex<HashMap<Hash, Instant>>,
    count: usize,
    phase: &str,
    retransmit: Option<Retransmit<'_>>,
) -> Result<(Vec<f64>, Option<Instant>)> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut next_retransmit = Instant::now() + RETRANSMIT_AFTER;
    let mut round = 0usize;
    loop {
        let seen = watcher.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let sub = submitted.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let done: Vec<(Instant, Instant)> = sub
            .iter()
            .filter_map(|(h, s)| seen.get(h).map(|(c, _)| (*s, *c)))
            .collect();
        if done.len() == count {
            let mut lat: Vec<f64> = done.iter().map(|(s, c)| (*c - *s).as_secs_f64() * 1e3).collect();
            lat.sort_by(f64::total_cmp);
            return Ok((lat, done.iter().map(|(_, c)| *c).max()));
        }
        if Instant::now() > deadline {
            bail!(
                "{phase}: only {} of {count} transactions committed within two minutes",
                done.len()
            );
        }
        if let Some(r) = &retransmit
            && Instant::now() >= next_retransmit
        {
            round += 1;
            let missing = r.txs.iter().filter(|(h, _)| !seen.contains_key(*h));
            for (k, (_, t)) in missing.enumerate() {
                r.count.fetch_add(1, Ordering::Relaxed);
                let _ = r.clients[(k + round) % r.clients.len()].submit(t).await;
            }
            next_retransmit = Instant::now() + RETRANSMIT_AFTER;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs both phases against the devnet described by `devnet.json`.
pub async fn run(devnet: &DevnetFile, opts: &LoadOptions) -> Result<LoadReport> {
    let genesis: Genesis = read_json(&devnet.genesis)?;
    let clients: Vec<Client> = devnet
        .nodes
        .iter()
        .filter(|n| n.role == Role::Validator)
        .map(|n| Client::new(&n.api))
        .collect();
    let validators = clients.len();
    // Wait (bounded) until every validator answers and sees its peers.
    let ready_by = Instant::now() + Duration::from_secs(60);
    for c in &clients {
        loop {
            match c.status().await {
                Ok(s) if s.peers + 1 >= validators => break,
                _ if Instant::now() > ready_by => {
                    bail!("{} is not up (or sees too few peers) after a minute", c.base())
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let verify = sm2_verify_rate();
    let bound = verify.reference_per_s / validators as f64;

    let (issuers, schema, ctype) = register_issuers(devnet, &genesis, &clients, opts.issuers).await?;
    let schema = (schema, ctype);
    let chain = genesis.chain_id.clone();

    // Peak.
    let peak_txs = anchors(&chain, &issuers, &schema, opts.transactions, 1);
    let start_height = clients[0].status().await?.height + 1;
    let watcher = watch(clients.clone(), start_height);
    let submitted: Arc<Mutex<HashMap<Hash, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let t0 = Instant::now();
    let queue = Arc::new(Mutex::new(
        peak_txs
            .into_iter()
            .enumerate()
            .collect::<std::collections::VecDeque<_>>(),
    ));
    let mut tasks = Vec::new();
    for _ in 0..opts.in_flight {
        let queue = queue.clone();
        let clients = clients.clone();
        let submitted = submitted.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((i, t)) = next else { break };
                let at = Instant::now();
                let c = &clients[i % clients.len()];
                let mut tries = 0;
                loop {
                    match c.submit(&t).await {
                        Ok(h) => {
                            submitted.lock().unwrap_or_else(|p| p.into_inner()).insert(h, at);
                            break;
                        }
                        Err(ledger_api::client::ClientError::Refused { status: 503, .. }) if tries < 100 => {
                            tries += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => return Err(anyhow::anyhow!(e)),
                    }
                }
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let total = opts.transactions;
    let (peak_lat, last_commit) = committed(&watcher, &submitted, total, "peak", None).await?;
    let last_commit = last_commit.unwrap_or(t0);
    let peak_tps = total as f64 / (last_commit - t0).as_secs_f64();

    // Half load: a steady rate of half the peak.
    let rate = opts.rate.unwrap_or(peak_tps / 2.0).max(1.0);
    let count = (rate * opts.half_load_secs as f64).ceil() as usize;
    let per_issuer = total.div_ceil(issuers.len()) as u64;
    let half_txs = anchors(&chain, &issuers, &schema, count, 1 + per_issuer);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let half_submitted: Arc<Mutex<HashMap<Hash, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for (i, t) in half_txs.into_iter().enumerate() {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let c = clients[i % clients.len()].clone();
        let hs = half_submitted.clone();
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            let h = c.submit(&t).await?;
            hs.lock().unwrap_or_else(|p| p.into_inner()).insert(h, at);
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let (half_lat, _) = committed(&watcher, &half_submitted, count, "half-load", None).await?;
    // Through a fault: the same rate with the primary killed a quarter of the way in.
    let fault = if opts.kill_primary {
        let txs = anchors(
            &chain,
            &issuers,
            &schema,
            count,
            1 + per_issuer + count.div_ceil(issuers.len()) as u64,
        );
        Some(fault_phase(devnet, &clients, &watcher, txs, rate).await?)
    } else {
        None
    };
    let _ = watcher.stop.send(());

    // Every anchor must have taken effect.
    let mut rejected = 0;
    let sample: Vec<Hash> = submitted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .keys()
        .take(50)
        .copied()
        .collect();
    for h in sample {
        if let Some(r) = clients[0].receipt(&h).await?.value
            && matches!(r.outcome, TxOutcome::Rejected { .. })
        {
            rejected += 1;
        }
    }
    Ok(LoadReport {
        cores,
        validators,
        sm2_verify_us: verify.reference_us,
        sm2_vartime_verify_us: verify.vartime_us,
        sm2_table_verify_us: verify.table_us,
        sm2_verify_per_s: verify.reference_per_s,
        bound_tx_per_s: bound,
        peak_transactions: total,
        peak_tx_per_s: peak_tps,
        peak_share_of_bound: peak_tps / bound,
        peak_latency_ms: (percentile(&peak_lat, 0.5), percentile(&peak_lat, 0.99)),
        half_load_rate: rate,
        half_load_latency_ms: (percentile(&half_lat, 0.5), percentile(&half_lat, 0.99)),
        rejected,
        fault,
    })
}

/// Submits `t` to node `i`, or to the next that answers (counting failovers), for up to a
/// minute: a killed node refuses connections until it is back.
async fn submit_anywhere(
    clients: &[Client],
    i: usize,
    t: &SignedTransaction,
    failovers: &AtomicUsize,
) -> Result<Hash> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut k = i;
    loop {
        match clients[k % clients.len()].submit(t).await {
            Ok(h) => return Ok(h),
            Err(ledger_api::client::ClientError::Refused { status, message, .. }) if status != 503 => {
                bail!("node refused a load transaction ({status}): {message}")
            }
            Err(e) if Instant::now() > deadline => bail!("no node took a transaction for a minute: {e}"),
            Err(_) => {
                failovers.fetch_add(1, Ordering::Relaxed);
                k += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Kills the primary of the current view: finds the node whose replica id is `view mod n` and
/// sends `SIGKILL` to the pid in its folder's `node.pid`.
async fn kill_primary(devnet: &DevnetFile, clients: &[Client]) -> Result<String> {
    let mut view = None;
    for c in clients {
        if let Ok(s) = c.status().await {
            view = Some(s.view);
            break;
        }
    }
    let view = view.context("no validator answers")?;
    let primary = (view % clients.len() as u64) as u32;
    for (c, node) in clients
        .iter()
        .zip(devnet.nodes.iter().filter(|n| n.role == Role::Validator))
    {
        if c.status().await.is_ok_and(|s| s.replica == primary) {
            let pid_file = node.config.with_file_name("node.pid");
            let pid = std::fs::read_to_string(&pid_file).with_context(|| {
                format!(
                    "reading {}: a fault phase needs a devnet started by `ledger-node devnet`",
                    pid_file.display()
                )
            })?;
            let status = std::process::Command::new("kill")
                .args(["-KILL", pid.trim()])
                .status()
                .context("running kill")?;
            anyhow::ensure!(status.success(), "kill -KILL {} failed", pid.trim());
            return Ok(format!("killed {} (the primary of view {view})", node.name));
        }
    }
    bail!("no validator says it is replica {primary}, the primary of view {view}")
}

async fn fault_phase(
    devnet: &DevnetFile,
    clients: &[Client],
    watcher: &Watcher,
    txs: Vec<SignedTransaction>,
    rate: f64,
) -> Result<FaultReport> {
    let count = txs.len();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let submitted: Arc<Mutex<HashMap<Hash, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let failovers = Arc::new(AtomicUsize::new(0));
    let start = tokio::time::Instant::now();
    let t0 = Instant::now();
    let mut fault = String::new();
    let mut tasks = Vec::new();
    let by_id: HashMap<Hash, SignedTransaction> = txs.iter().map(|t| (t.id(), t.clone())).collect();
    for (i, t) in txs.into_iter().enumerate() {
        tokio::time::sleep_until(start + interval * i as u32).await;
        if i == count / 4 {
            fault = kill_primary(devnet, clients).await?;
        }
        let clients = clients.to_vec();
        let (sub, failovers) = (submitted.clone(), failovers.clone());
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            let h = submit_anywhere(&clients, i, &t, &failovers).await?;
            sub.lock().unwrap_or_else(|p| p.into_inner()).insert(h, at);
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let retransmissions = AtomicUsize::new(0);
    let (lat, last) = committed(
        watcher,
        &submitted,
        count,
        &format!("through the fault ({fault})"),
        Some(Retransmit {
            txs: &by_id,
            clients,
            count: &retransmissions,
        }),
    )
    .await?;
    let last = last.unwrap_or(t0);
    Ok(FaultReport {
        fault,
        transactions: count,
        rate,
        tx_per_s: count as f64 / (last - t0).as_secs_f64(),
        latency_ms: (
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN),
        ),
        failovers: failovers.load(Ordering::Relaxed),
        retransmissions: retransmissions.into_inner(),
    })
}

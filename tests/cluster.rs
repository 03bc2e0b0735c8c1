//! Real-process tests of a consortium: four validators and one observer, each a separate
//! `ledger-node run` process on 127.0.0.1, talking libp2p and serving HTTP.
//!
//! Every wait polls with a deadline; nothing sleeps to synchronise and nothing asserts a
//! duration.

use ledger_api::{Client, ClientError};
use ledger_node::config::{self, DevnetFile, NodeFile};
use ledger_node::keys::Role;
use schemas::codec::Canonical;
use schemas::ledger::{Genesis, SignedTransaction, TxOutcome, ValidatorSet};
use schemas::light_client::verify_ledger_proof;
use schemas::sm2::SecretKey;
use std::io::Write as _;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_ledger-node");
const DEADLINE: Duration = Duration::from_secs(90);

struct Cluster {
    dir: tempfile::TempDir,
    devnet: DevnetFile,
    genesis: Genesis,
    procs: Vec<Option<Child>>,
}

impl Cluster {
    /// Writes a devnet of 4 validators and 1 observer and starts every node.
    fn start(tag: u16) -> Cluster {
        Cluster::start_with(tag, |_| {})
    }

    /// As [`Cluster::start`], with each node's `node.toml` changed by `edit` first.
    fn start_with(tag: u16, edit: impl Fn(&mut NodeFile)) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        // Ten ports per cluster (p2p, then HTTP), distinct per test process and test, below
        // Linux's ephemeral range (32768–60999) so no outgoing connection holds one.
        let slot = (std::process::id().wrapping_mul(4) + u32::from(tag)) % 2_000;
        let base = 12_000 + 10 * slot as u16;
        let devnet = config::create_devnet(dir.path(), 4, 1, base, base + 5).expect("create devnet");
        let genesis: Genesis = config::read_json(&devnet.genesis).expect("genesis");
        for node in &devnet.nodes {
            let mut file = NodeFile::load(&node.config).expect("node.toml");
            edit(&mut file);
            // `load` made its paths absolute; written back as they are.
            let text = toml::to_string_pretty(&file).expect("toml");
            config::write_atomic(&node.config, text.as_bytes()).expect("write node.toml");
        }
        let mut c = Cluster {
            dir,
            devnet,
            genesis,
            procs: Vec::new(),
        };
        for i in 0..c.devnet.nodes.len() {
            c.procs.push(None);
            c.run(i);
        }
        c
    }

    fn run(&mut self, i: usize) {
        let node = &self.devnet.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.config.with_file_name("node.log"))
            .expect("log file");
        let child = Command::new(EXE)
            .args(["run", "--exit-with-parent", "--fault-signals", "--config"])
            .arg(&node.config)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start ledger-node");
        self.procs[i] = Some(child);
    }

    /// `kill -9`.
    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
    }

    /// Cuts (`true`) or heals node `i`'s links to every peer, in process at its transport
    /// (`run --fault-signals`: SIGUSR1 cuts, SIGUSR2 heals).
    fn cut(&self, i: usize, cut: bool) {
        let pid = self.procs[i].as_ref().expect("node running").id();
        let sig = if cut { "-USR1" } else { "-USR2" };
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(ok.success(), "kill {sig} {pid}");
    }

    /// Waits until node `i` reports `peers` connected peers.
    async fn wait_peers(&self, i: usize, peers: impl Fn(usize) -> bool) {
        let t = Instant::now();
        loop {
            if let Ok(s) = self.client(i).status().await
                && peers(s.peers)
            {
                return;
            }
            assert!(
                t.elapsed() < DEADLINE,
                "node {i}'s peers did not change; its log:\n{}",
                self.log(i)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn client(&self, i: usize) -> Client {
        Client::new(&self.devnet.nodes[i].api)
    }

    fn validators(&self) -> ValidatorSet {
        self.genesis.validators.clone()
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.devnet.nodes[i].config.with_file_name("node.log")).unwrap_or_default()
    }

    async fn height(&self, i: usize) -> Option<u64> {
        self.client(i).status().await.ok().map(|s| s.height)
    }

    /// Waits until node `i` has committed `h`.
    async fn wait_height(&self, i: usize, h: u64) {
        let t = Instant::now();
        loop {
            if self.height(i).await.is_some_and(|x| x >= h) {
                return;
            }
            assert!(
                t.elapsed() < DEADLINE,
                "node {i} did not reach height {h}; its log:\n{}",
                self.log(i)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_up(&self, i: usize) {
        let t = Instant::now();
        while self.height(i).await.is_none() {
            assert!(
                t.elapsed() < DEADLINE,
                "node {i} did not start; its log:\n{}",
                self.log(i)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Registers issuers through governance (as a consortium would) and returns them.
    async fn issuers(&self, n: usize) -> (Vec<SecretKey>, (String, String)) {
        let clients: Vec<Client> = (0..4).map(|i| self.client(i)).collect();
        for i in 0..self.devnet.nodes.len() {
            self.wait_up(i).await;
        }
        let (keys, schema, ty) =
            ledger_node::load::register_issuers(&self.devnet, &self.genesis, &clients, n)
                .await
                .expect("register issuers");
        (keys, (schema, ty))
    }

    /// Submits to the given nodes in turn, retrying while a node is down or busy.
    async fn submit(&self, nodes: &[usize], txs: &[SignedTransaction]) -> Vec<schemas::Hash> {
        let mut out = Vec::new();
        for (k, tx) in txs.iter().enumerate() {
            let t = Instant::now();
            loop {
                let i = nodes[(k + out.len()) % nodes.len()];
                match self.client(i).submit(tx).await {
                    Ok(h) => {
                        out.push(h);
                        break;
                    }
                    Err(e) => {
                        assert!(t.elapsed() < DEADLINE, "cannot submit: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
        out
    }

    /// Waits until node `i` has committed every transaction of `hashes`; returns the highest
    /// block they are in (read from the receipts: a node's status can lag its store briefly).
    async fn wait_committed(&self, i: usize, hashes: &[schemas::Hash]) -> u64 {
        let c = self.client(i);
        let mut top = 0;
        for h in hashes {
            let r = c.wait(h, DEADLINE).await.expect("transaction commits");
            assert_eq!(r.outcome, TxOutcome::Applied, "transaction {h}");
            top = top.max(r.height.0);
        }
        top
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            let keep = self.dir.path().to_path_buf();
            eprintln!("cluster folder: {}", keep.display());
        }
    }
}

async fn root_at(c: &Client, h: u64) -> schemas::Hash {
    c.block(h).await.expect("block").block.header.state_root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_everywhere_and_reads_prove_against_the_validator_set() {
    let cluster = Cluster::start(0);
    let (issuers, schema) = cluster.issuers(2).await;
    let txs = ledger_node::load::anchors(&cluster.genesis.chain_id, &issuers, &schema, 20, 1);
    let hashes = cluster.submit(&[0, 1, 2, 3], &txs).await;
    cluster.wait_committed(0, &hashes).await;
    let h = cluster.height(0).await.expect("height");
    for i in 0..5 {
        cluster.wait_height(i, h).await;
    }
    // Every node — the observer too — holds the same blocks and state roots.
    let root = root_at(&cluster.client(0), h).await;
    for i in 1..5 {
        assert_eq!(
            root_at(&cluster.client(i), h).await,
            root,
            "node {i} state root at {h}"
        );
    }
    let observer = cluster.client(4).status().await.expect("status");
    assert!(!observer.validator);

    // A read from the observer verifies against the validator set alone.
    let anchor = match &txs[0].tx.payload {
        schemas::ledger::TxPayload::AnchorBatch { anchor } => anchor.clone(),
        _ => unreachable!(),
    };
    let read: ledger_api::Proven<schemas::ledger::AnchorRecord> = cluster
        .client(4)
        .get(&format!("/v1/anchors/{}/{}", anchor.issuer, anchor.root))
        .await
        .expect("anchor read");
    assert_eq!(read.value.as_ref(), Some(&anchor));
    verify_ledger_proof(&read.proof, &cluster.validators()).expect("proof verifies");
    // ... and a proof whose value was swapped does not.
    let mut forged = read.proof.clone();
    forged.state[0].value = None;
    assert!(verify_ledger_proof(&forged, &cluster.validators()).is_err());

    // A receipt, an absent record, the DID document of an issuer, metrics and OpenAPI.
    let receipt = cluster.client(2).receipt(&hashes[3]).await.expect("receipt");
    verify_ledger_proof(&receipt.proof, &cluster.validators()).expect("receipt proof");
    let unknown = schemas::Did::from_public_key(SecretKey::generate(&mut rand_core::OsRng).public_key());
    let absent: ledger_api::Proven<schemas::ledger::IssuerRecord> = cluster
        .client(1)
        .get(&format!("/v1/issuers/{unknown}"))
        .await
        .expect("absent read");
    assert!(absent.value.is_none());
    verify_ledger_proof(&absent.proof, &cluster.validators()).expect("absence proof");
    let did = schemas::Did::from_public_key(issuers[0].public_key());
    let doc: serde_json::Value = cluster
        .client(0)
        .get(&format!("/v1/dids/{did}"))
        .await
        .expect("did");
    // A W3C DID Resolution result, with the ledger proof of the record it comes from.
    assert_eq!(doc["didDocument"]["id"], did.to_string());
    assert_eq!(doc["didDocumentMetadata"]["role"], "issuer");
    assert_eq!(doc["didDocumentMetadata"]["deactivated"], false);
    let proof: schemas::ledger::LedgerProof =
        serde_json::from_value(doc["ledgerProof"].clone()).expect("proof");
    verify_ledger_proof(&proof, &cluster.validators()).expect("the record's proof");
    let metrics = reqwest::get(format!("{}/metrics", cluster.client(0).base()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for m in [
        "credence_height",
        "credence_view",
        "credence_commit_latency_seconds",
        "credence_mempool_transactions",
        "credence_peers",
    ] {
        assert!(metrics.contains(m), "metrics lack {m}:\n{metrics}");
    }
    let doc: serde_json::Value = cluster.client(0).get("/openapi.json").await.expect("openapi");
    // Generated from the handlers the router serves (utoipa_axum::routes!): every path is there
    // with its operation, typed from the handler's Rust types.
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 30, "{} paths", paths.len());
    for (path, method) in [
        ("/v1/transactions", "post"),
        ("/v1/ceremony/files", "post"),
        ("/v1/status-lists/{issuer}/{list}/{chunk}/credential", "get"),
        ("/v1/dids/{did}", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
    }
    assert_eq!(
        doc["paths"]["/v1/transactions"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SignedTransaction"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backup_and_a_killed_primary_do_not_stop_the_consortium() {
    let mut cluster = Cluster::start(1);
    let (issuers, schema) = cluster.issuers(4).await;
    let chain = cluster.genesis.chain_id.clone();
    let mut txs = ledger_node::load::anchors(&chain, &issuers, &schema, 120, 1).into_iter();

    // kill -9 a backup under load: the others keep committing.
    let first: Vec<_> = txs.by_ref().take(40).collect();
    let hashes = cluster.submit(&[0, 1, 2], &first[..20]).await;
    cluster.kill(3);
    let more = cluster.submit(&[0, 1, 2], &first[20..]).await;
    cluster.wait_committed(0, &hashes).await;
    cluster.wait_committed(0, &more).await;
    let h = cluster.height(0).await.expect("height");

    // It restarts and catches up.
    cluster.run(3);
    cluster.wait_height(3, h).await;
    assert_eq!(
        root_at(&cluster.client(3), h).await,
        root_at(&cluster.client(0), h).await
    );

    // kill -9 the primary of view 0: a view change, then commits resume.
    cluster.kill(0);
    let next: Vec<_> = txs.by_ref().take(20).collect();
    let hashes = cluster.submit(&[1, 2, 3], &next).await;
    cluster.wait_committed(1, &hashes).await;
    let s = cluster.client(1).status().await.expect("status");
    assert!(
        s.view > 0,
        "commits resumed without a view change? view {}",
        s.view
    );

    // The old primary restarts and catches up too.
    cluster.run(0);
    let h = cluster.height(1).await.expect("height");
    cluster.wait_height(0, h).await;
    assert_eq!(
        root_at(&cluster.client(0), h).await,
        root_at(&cluster.client(1), h).await
    );
}

/// Issue 13: a validator cut off the network falls behind while the other three commit; healed,
/// it catches up to the same blocks. Then the primary: cut off, the others change view and go on
/// without it; healed, it rejoins and catches up. The cut is in process, at each node's
/// transport (`run --fault-signals`): its connections close and none are accepted or dialled,
/// while the process, its store and its API run on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_cut_off_the_network_catches_up_when_healed() {
    let cluster = Cluster::start(5);
    let (issuers, schema) = cluster.issuers(4).await;
    let chain = cluster.genesis.chain_id.clone();
    let mut txs = ledger_node::load::anchors(&chain, &issuers, &schema, 80, 1).into_iter();

    for (cut, others) in [(3, [0, 1, 2]), (0, [1, 2, 3])] {
        let before = cluster.height(cut).await.expect("height");
        cluster.cut(cut, true);
        cluster.wait_peers(cut, |p| p == 0).await;
        let batch: Vec<_> = txs.by_ref().take(30).collect();
        let hashes = cluster.submit(&others, &batch).await;
        let h = cluster.wait_committed(others[0], &hashes).await;
        let stuck = cluster
            .height(cut)
            .await
            .expect("the cut node's API still answers");
        assert!(
            stuck < h,
            "node {cut} reached {stuck} of {h} while cut off (it was at {before})"
        );

        cluster.cut(cut, false);
        cluster.wait_peers(cut, |p| p >= 3).await;
        cluster.wait_height(cut, h).await;
        assert_eq!(
            root_at(&cluster.client(cut), h).await,
            root_at(&cluster.client(others[0]), h).await,
            "node {cut} caught up to another chain"
        );
    }
    // The primary of view 0 was cut off: the others went on in a later view.
    let s = cluster.client(1).status().await.expect("status");
    assert!(
        s.view > 0,
        "commits went on without a view change? view {}",
        s.view
    );
    // And all four commit together again.
    let last: Vec<_> = txs.by_ref().take(10).collect();
    let hashes = cluster.submit(&[0, 3], &last).await;
    for i in 0..4 {
        cluster.wait_committed(i, &hashes).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_and_restarted_cluster_keeps_every_committed_block() {
    let mut cluster = Cluster::start(2);
    let (issuers, schema) = cluster.issuers(2).await;
    let txs = ledger_node::load::anchors(&cluster.genesis.chain_id, &issuers, &schema, 30, 1);
    let hashes = cluster.submit(&[0, 1, 2, 3], &txs).await;
    cluster.wait_committed(0, &hashes).await;
    let h = cluster.height(0).await.expect("height");
    for i in 0..5 {
        cluster.wait_height(i, h).await;
    }
    let mut headers = Vec::new();
    for k in 1..=h {
        headers.push(
            cluster
                .client(0)
                .block(k)
                .await
                .expect("block")
                .block
                .header
                .digest(),
        );
    }
    for i in 0..5 {
        cluster.kill(i);
    }
    for i in 0..5 {
        cluster.run(i);
    }
    for i in 0..5 {
        cluster.wait_up(i).await;
        assert!(
            cluster.height(i).await.expect("height") >= h,
            "node {i} lost blocks"
        );
        for k in 1..=h {
            let b = cluster.client(i).block(k).await.expect("block kept");
            assert_eq!(
                b.block.header.digest(),
                headers[(k - 1) as usize],
                "node {i} block {k}"
            );
        }
    }
    // ... and it still commits: every receipt survived, and new transactions take effect.
    for hsh in &hashes {
        assert!(
            cluster
                .client(3)
                .receipt(hsh)
                .await
                .expect("receipt")
                .value
                .is_some()
        );
    }
    let more = ledger_node::load::anchors(&cluster.genesis.chain_id, &issuers, &schema, 5, 100);
    let hashes = cluster.submit(&[1], &more).await;
    cluster.wait_committed(2, &hashes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_unknown_peers_are_refused_and_the_node_stays_up() {
    let cluster = Cluster::start(3);
    cluster.wait_up(0).await;
    let api = cluster.client(0).base().to_string();
    let http = reqwest::Client::new();

    // Garbage and oversized bodies: a 4xx with a JSON error, never a crash.
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"not json".to_vec(), 400),
        (b"{\"tx\": 1}".to_vec(), 400),
        (vec![b'['; 3 << 20], 413),
    ];
    for (body, status) in cases {
        // A fresh connection each: the server closes one whose body it refused to read.
        let r = reqwest::Client::new()
            .post(format!("{api}/v1/transactions"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status().as_u16(), status);
        let e: serde_json::Value = r.json().await.expect("JSON error body");
        assert!(e["detail"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    }
    for path in [
        "/v1/blocks/abc",
        "/v1/issuers/did:x",
        "/v1/issuers/%FF%FE",
        "/v1/anchors/x/y",
        "/v1/status-lists/a/b/c",
        "/nope",
    ] {
        let r = http.get(format!("{api}{path}")).send().await.expect("answer");
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
        let r_status = r.status().as_u16();
        assert_eq!(
            r.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some(ledger_api::PROBLEM_MEDIA_TYPE),
            "{path}"
        );
        let e: serde_json::Value = r.json().await.expect("a JSON error body");
        assert!(e["detail"].as_str().is_some_and(|m| !m.is_empty()), "{path}: {e}");
        assert_eq!(e["status"], r_status, "{path}: one error shape (RFC 9457)");
    }
    let r = http
        .delete(format!("{api}/v1/transactions"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status().as_u16(), 405);
    assert!(
        r.json::<serde_json::Value>().await.is_ok(),
        "405 with a JSON body"
    );
    // A transaction for another chain, one with a bad signature, one from nobody.
    let key = SecretKey::generate(&mut rand_core::OsRng);
    let mut tx = SignedTransaction::sign(
        schemas::ledger::Transaction {
            chain_id: "other-chain".into(),
            sender: schemas::Did::from_public_key(key.public_key()),
            nonce: 0,
            payload: schemas::ledger::TxPayload::Approve {
                proposal: schemas::Hash::ZERO,
            },
        },
        &[&key],
    );
    let c = cluster.client(0);
    assert!(matches!(
        c.submit(&tx).await,
        Err(ClientError::Refused { status: 400, .. })
    ));
    tx.tx.chain_id = cluster.genesis.chain_id.clone();
    assert!(
        matches!(c.submit(&tx).await, Err(ClientError::Refused { status: 400, .. })),
        "stale signature"
    );
    let tx = SignedTransaction::sign(tx.tx, &[&key]);
    match c.submit(&tx).await {
        Err(ClientError::Refused {
            status: 422, message, ..
        }) => {
            assert!(message.contains("not a governance member"), "{message}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }

    // Garbage and an oversized frame on the p2p port.
    let p2p = format!(
        "127.0.0.1:{}",
        cluster.devnet.nodes[0].p2p.rsplit('/').next().expect("port")
    );
    for bytes in [b"\x13/multistream/1.0.0\ngarbage".to_vec(), vec![0xff; 1 << 20]] {
        if let Ok(mut s) = std::net::TcpStream::connect(&p2p) {
            let _ = s.write_all(&bytes);
        }
    }

    // A peer outside the consortium is refused; the observer's own identity is admitted
    // (the observer process is stopped first so its identity is free to use).
    let target: libp2p::PeerId = cluster.genesis.validators.validators[0]
        .peer_id
        .parse()
        .expect("peer id");
    let addr: libp2p::Multiaddr = cluster.devnet.nodes[0].p2p.parse().expect("multiaddr");
    let stranger = libp2p::identity::Keypair::generate_ed25519();
    let frame = schemas::codec::encode(&pbft::Wire::Blocks(vec![]));
    let refused = ledger_node::network::probe(stranger, target, addr.clone(), frame.clone())
        .await
        .expect("probe");
    assert!(!refused, "a stranger's frame was accepted");
    let mut cluster = cluster;
    cluster.kill(4);
    let observer = NodeFile::load(&cluster.devnet.nodes[4].config)
        .and_then(|f| f.node_config())
        .expect("observer keys");
    assert_eq!(cluster.devnet.nodes[4].role, Role::Observer);
    let admitted = ledger_node::network::probe(observer.keys.p2p.clone(), target, addr, frame)
        .await
        .expect("probe");
    assert!(admitted, "a consortium member's frame was refused");

    // The node is still up and still commits.
    assert!(cluster.client(0).status().await.is_ok());
    let (issuers, schema) = {
        cluster.run(4);
        cluster.issuers(1).await
    };
    let txs = ledger_node::load::anchors(&cluster.genesis.chain_id, &issuers, &schema, 3, 1);
    let hashes = cluster.submit(&[0], &txs).await;
    cluster.wait_committed(0, &hashes).await;
}

/// Security finding 1 / issue 13: one anonymous transaction must not stall the consortium.
/// A verifier keystore nobody registered sends registrations with long strings — ten 125 KB
/// `disclose` entries (1.25 MB), one 200 KB entry (under the body limit, over the transaction
/// limit), and entries one character over the field bound — through the real API, while
/// ordinary anchors flow. Each is refused at the door with the limit it broke; the anchors
/// commit without a view change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_registrations_are_refused_at_the_api_and_the_chain_keeps_committing() {
    let cluster = Cluster::start(4);
    let (issuers, schema) = cluster.issuers(1).await;
    let view_before = cluster.client(0).status().await.expect("status").view;
    let key = SecretKey::generate(&mut rand_core::OsRng);
    let did = schemas::Did::from_public_key(key.public_key());
    let registration = |disclose: Vec<String>| {
        let record = schemas::ledger::VerifierRecord {
            did: did.clone(),
            name: "Flooder".into(),
            public_key: key.public_key().clone(),
            scope: vec![schemas::ledger::ScopeItem {
                credential_type: schema.1.clone(),
                disclose,
                predicates: vec![],
                escrow: None,
            }],
            purposes: vec!["hiring".into()],
            nullifier_scope: "flood/v1".into(),
        };
        SignedTransaction::sign(
            schemas::ledger::Transaction {
                chain_id: cluster.genesis.chain_id.clone(),
                sender: did.clone(),
                nonce: 0,
                payload: schemas::ledger::TxPayload::RegisterVerifier { record },
            },
            &[&key],
        )
    };
    let attacks = [
        (registration(vec!["x".repeat(125_000); 10]), 413, "MAX_TX_BYTES"),
        (registration(vec!["x".repeat(200_000)]), 413, "MAX_TX_BYTES"),
        (
            registration(vec!["x".repeat(schemas::limits::MAX_TEXT + 1); 8]),
            400,
            "the limit is 256",
        ),
    ];
    // The ordinary traffic, submitted between the attacks.
    let txs = ledger_node::load::anchors(&cluster.genesis.chain_id, &issuers, &schema, 12, 1);
    let mut hashes = Vec::new();
    for (k, chunk) in txs.chunks(4).enumerate() {
        for node in 0..4 {
            match cluster.client(node).submit(&attacks[k].0).await {
                Err(ClientError::Refused { status, message, .. }) => {
                    assert_eq!(status, attacks[k].1, "attack {k} at node {node}: {message}");
                    assert!(
                        message.contains(attacks[k].2),
                        "attack {k}: the answer names the limit: {message}"
                    );
                }
                other => panic!("attack {k} at node {node} was not refused: {other:?}"),
            }
        }
        hashes.extend(cluster.submit(&[k % 4], chunk).await);
    }
    cluster.wait_committed(0, &hashes).await;
    // The status the API shows is refreshed by the node's loop after it carries out a commit,
    // a moment after the receipts are readable: wait (boundedly) for it to catch up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        let status = cluster.client(0).status().await.expect("status");
        if status.mempool == 0 || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status.view, view_before, "no view change was needed");
    assert_eq!(status.mempool, 0, "nothing is left waiting");
}

/// An idle chain keeps certifying fresh headers (a wallet refuses reads older than it accepts:
/// the default heartbeat is 60 s against a 600 s read age; here 1 s). With no transaction at
/// all, the height grows by empty blocks each certified by the genesis set. Then the primary is
/// killed: nothing is pending, so no request timer runs, yet the backups replace the silent
/// primary and the chain goes on growing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_chain_keeps_certifying_and_a_silent_primary_is_replaced() {
    let mut cluster = Cluster::start_with(6, |f| f.consensus.heartbeat_ms = 1_000);
    for i in 0..5 {
        cluster.wait_up(i).await;
    }
    let h0 = cluster.height(1).await.expect("height");
    cluster.wait_height(1, h0 + 3).await;
    let first = cluster.client(2).block(h0 + 1).await.expect("block");
    let third = cluster.client(2).block(h0 + 3).await.expect("block");
    for b in [&first, &third] {
        assert!(b.block.body.transactions.is_empty(), "an empty heartbeat block");
        schemas::light_client::verify_commit_certificate(
            &b.block.header,
            &b.certificate,
            &cluster.validators(),
        )
        .expect("certified by the genesis set");
    }
    assert!(third.block.header.timestamp_ms > first.block.header.timestamp_ms);

    let status = cluster.client(1).status().await.expect("status");
    let primary = (status.view % 4) as usize;
    cluster.kill(primary);
    let other = (primary + 1) % 4;
    let h = cluster.height(other).await.expect("height");
    cluster.wait_height(other, h + 2).await;
    let after = cluster.client(other).status().await.expect("status");
    assert!(
        after.view > status.view,
        "blocks resumed without replacing the silent primary? view {} -> {}",
        status.view,
        after.view
    );
}

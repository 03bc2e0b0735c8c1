//! The ledger state machine and its sled store: executing a full block of anchors (what a node
//! does to answer consensus's `Execute`) and executing and committing it to sled (flushed).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ledger_node::config::build_genesis;
use ledger_node::keys::{NodeKeys, Role};
use ledger_node::load::anchors;
use ledger_node::rules::{RevocationCache, execute, execute_genesis, genesis_header, genesis_updates};
use ledger_node::store::Store;
use schemas::codec::Canonical;
use schemas::did::Did;
use schemas::ledger::{
    Block, BlockBody, CommitCertificate, GovernanceMember, Height, IssuerRecord, IssuerStatus,
    SignedTransaction, Transaction, TxOutcome, TxPayload,
};
use schemas::sm2::SecretKey;
use std::time::{Duration, Instant};

const BLOCK: usize = 256;

struct Ledger {
    store: Store,
    height: u64,
    root: schemas::Hash,
    cache: RevocationCache,
}

impl Ledger {
    fn commit(&mut self, txs: Vec<SignedTransaction>) -> Vec<TxOutcome> {
        let h = self.height + 1;
        let version = self.store.state_version().expect("version");
        let mut ex = execute(
            &self.store,
            version,
            self.root,
            ("bench", Height(h)),
            &txs,
            &self.cache,
        )
        .expect("execute");
        let (prev, _) = self.store.latest().expect("latest").expect("a block");
        let body = BlockBody { transactions: txs };
        let mut header = prev.clone();
        header.height = Height(h);
        header.prev_hash = prev.digest();
        header.tx_root = body.tx_root();
        header.state_root = ex.root;
        let cert = CommitCertificate {
            height: Height(h),
            block_hash: header.digest(),
            signatures: vec![],
        };
        self.store
            .commit(&Block { header, body }, &cert, &ex)
            .expect("commit");
        self.cache.commit(&mut ex);
        self.height = h;
        self.root = ex.root;
        ex.receipts.into_iter().map(|(_, r)| r.outcome).collect()
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = rand_core::OsRng;
    let node = NodeKeys::generate(&mut rng);
    let gov: Vec<SecretKey> = (0..2).map(|_| SecretKey::generate(&mut rng)).collect();
    let members = gov
        .iter()
        .map(|k| GovernanceMember {
            name: "member".into(),
            did: Did::from_public_key(k.public_key()),
            public_key: k.public_key().clone(),
        })
        .collect();
    let g = build_genesis(
        "bench",
        &[node.member("v", Role::Validator, "/ip4/127.0.0.1/tcp/1")],
        members,
        1,
        0,
    )
    .expect("genesis");
    let g_genesis = g.clone();
    let store = Store::open(dir.path()).expect("store");
    let ex = execute_genesis(&store, genesis_updates(&g)).expect("genesis state");
    store
        .init_genesis(g.digest(), &genesis_header(&g, ex.root), &ex)
        .expect("init");
    let mut ledger = Ledger {
        store,
        height: 0,
        root: ex.root,
        cache: RevocationCache::default(),
    };
    let issuer = SecretKey::generate(&mut rng);
    let schema = &g.schemas[0];
    let tx = |key: &SecretKey, nonce, payload| {
        let t = Transaction {
            chain_id: g.chain_id.clone(),
            sender: Did::from_public_key(key.public_key()),
            nonce,
            payload,
        };
        SignedTransaction::sign(t, &[key])
    };
    let register = tx(
        &issuer,
        0,
        TxPayload::RegisterIssuer {
            record: IssuerRecord {
                did: Did::from_public_key(issuer.public_key()),
                name: "Bench University".into(),
                public_key: issuer.public_key().clone(),
                officers: vec![],
                threshold: 1,
                allowed_types: vec![schema.credential_type.clone()],
                status: IssuerStatus::Active,
            },
        },
    );
    let approve = tx(
        &gov[0],
        0,
        TxPayload::Approve {
            proposal: register.id(),
        },
    );
    assert!(
        ledger
            .commit(vec![register, approve])
            .iter()
            .all(|o| *o == TxOutcome::Applied)
    );
    let kind = (schema.id.clone(), schema.credential_type.clone());
    let issuers = [issuer];

    let mut g = c.benchmark_group("ledger_block_of_256_anchors");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(BLOCK as u64));
    let block = anchors("bench", &issuers, &kind, BLOCK, 1);
    let version = ledger.store.state_version().expect("version");
    g.bench_function("execute_speculatively", |b| {
        b.iter(|| {
            execute(
                &ledger.store,
                version,
                ledger.root,
                ("bench", Height(ledger.height + 1)),
                &block,
                &ledger.cache,
            )
        })
    });
    let mut nonce = 1;
    g.bench_function("execute_and_commit_to_sled", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let txs = anchors(&ledger_chain(&ledger), &issuers, &kind, BLOCK, nonce);
                nonce += BLOCK as u64;
                let t = Instant::now();
                let outcomes = ledger.commit(txs);
                total += t.elapsed();
                assert!(outcomes.iter().all(|o| *o == TxOutcome::Applied));
            }
            total
        })
    });
    g.finish();

    // What power-cut durability costs per block: commit an empty block with sled's flush alone,
    // and with the fdatasync of its data file after it (what `Store::open` does).
    let mut g = c.benchmark_group("store_commit_per_block");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(4));
    for (name, durable) in [("flush", false), ("flush_and_fdatasync", true)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = if durable {
            Store::open(dir.path())
        } else {
            Store::open_flush_only(dir.path())
        }
        .expect("store");
        let ex = execute_genesis(&store, genesis_updates(&g_genesis)).expect("genesis state");
        store
            .init_genesis(g_genesis.digest(), &genesis_header(&g_genesis, ex.root), &ex)
            .expect("init");
        let mut l = Ledger {
            store,
            height: 0,
            root: ex.root,
            cache: RevocationCache::default(),
        };
        g.bench_function(name, |b| b.iter(|| l.commit(vec![])));
    }
    g.finish();
}

fn ledger_chain(l: &Ledger) -> String {
    l.store
        .latest()
        .ok()
        .flatten()
        .map(|(h, _)| h.chain_id)
        .unwrap_or_default()
}

criterion_group!(benches, bench);
criterion_main!(benches);

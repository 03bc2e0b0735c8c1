//! Benchmarks of the `schemas` primitives, compared in the closing notes against
//! `../shared/dependencies.md`: SM3 throughput, SM2 sign / verify, the batch Merkle tree of
//! 10^6 leaves, inclusion-proof verification, commit-certificate verification (n = 4, 7).

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use schemas::Canonical;
use schemas::hash::{Hash, domains, sm3};
use schemas::ledger::{BlockHeader, CommitCertificate, CommitVote, Height, ValidatorInfo, ValidatorSet};
use schemas::light_client::verify_commit_certificate;
use schemas::merkle::{MerkleTree, leaf_hash};
use schemas::sm2::SecretKey;
use schemas::state::{MemoryStore, StateTree};
use std::hint::black_box;

fn bench_sm3(c: &mut Criterion) {
    let mut g = c.benchmark_group("sm3");
    for size in [32usize, 256, 1 << 20] {
        let data = vec![0xa5u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, d| {
            b.iter(|| sm3(black_box(d)))
        });
    }
    g.finish();
}

fn bench_sm2(c: &mut Criterion) {
    let key = SecretKey::from_bytes(&[7; 32]).expect("valid scalar");
    let msg = [0x42u8; 32];
    let sig = key.sign(domains::TRANSACTION, &msg);
    let public = key.public_key().clone();
    c.bench_function("sm2/sign", |b| {
        b.iter(|| key.sign(domains::TRANSACTION, black_box(&msg)))
    });
    c.bench_function("sm2/verify", |b| {
        b.iter(|| public.verify(domains::TRANSACTION, black_box(&msg), &sig))
    });
}

fn bench_merkle(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle");
    g.sample_size(10);
    let leaves: Vec<Hash> = (0u32..1_000_000).map(|i| leaf_hash(&i.to_le_bytes())).collect();
    g.bench_function("build_1m_leaves", |b| {
        b.iter_batched(
            || leaves.clone(),
            MerkleTree::from_leaf_hashes,
            BatchSize::LargeInput,
        )
    });
    let tree = MerkleTree::from_leaf_hashes(leaves.clone());
    let proof = tree.prove(123_456).expect("in range");
    let root = tree.root();
    g.bench_function("verify_inclusion_1m", |b| {
        b.iter(|| proof.verify(black_box(&leaves[123_456]), &root))
    });
    g.finish();
}

fn bench_certificates(c: &mut Criterion) {
    let mut g = c.benchmark_group("commit_certificate_verify");
    for n in [4usize, 7] {
        let keys: Vec<SecretKey> = (0..n)
            .map(|i| SecretKey::from_bytes(&[0x10 + i as u8; 32]).expect("valid scalar"))
            .collect();
        let set = ValidatorSet {
            epoch: 0,
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| ValidatorInfo::new(k, format!("peer{i}"), String::new()))
                .collect(),
        };
        let header = BlockHeader {
            chain_id: "bench".into(),
            height: Height(1),
            prev_hash: Hash::ZERO,
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            validator_set_hash: set.digest(),
            timestamp_ms: 0,
            view: 0,
        };
        let vote = CommitVote::for_header(&header);
        let cert = CommitCertificate {
            height: header.height,
            block_hash: vote.block_hash,
            signatures: keys.iter().take(set.quorum()).map(|k| vote.sign(k)).collect(),
        };
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| verify_commit_certificate(&header, &cert, &set).expect("valid"))
        });
    }
    g.finish();
}

fn bench_state_proof(c: &mut Criterion) {
    let store = MemoryStore::new();
    let (v, root) = store
        .apply((0u32..10_000).map(|i| (format!("anchor/{i}").into_bytes(), Some(vec![1u8; 100]))))
        .expect("apply");
    let proof = StateTree::new(&store)
        .get_with_proof(b"anchor/4242", v)
        .expect("proof");
    // Sizes: the compact proof beside jmt's node-per-sibling proof, over 100 keys.
    let (mut compact, mut jmt_bytes) = (0, 0);
    for i in 0..100u32 {
        let key = format!("anchor/{}", i * 97);
        compact += StateTree::new(&store)
            .get_with_proof(key.as_bytes(), v)
            .expect("proof")
            .proof
            .len();
        let (_, p) = jmt::JellyfishMerkleTree::<_, schemas::state::StateHasher>::new(&store)
            .get_with_proof(schemas::state::state_key_hash(key.as_bytes()), v)
            .expect("jmt proof");
        jmt_bytes += borsh::to_vec(&p).expect("borsh").len();
    }
    println!(
        "state proof size at 10,000 keys: {} bytes compact, {} bytes as jmt's proof (mean of 100)",
        compact / 100,
        jmt_bytes / 100
    );
    c.bench_function("state_proof/verify_10k", |b| {
        b.iter(|| proof.verify(black_box(&root)).expect("valid"))
    });
}

criterion_group!(
    benches,
    bench_sm3,
    bench_sm2,
    bench_merkle,
    bench_certificates,
    bench_state_proof
);
criterion_main!(benches);

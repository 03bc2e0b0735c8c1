//! `zk` benchmarks: commitments, Bulletproofs predicates (1, 2, 4, 8 aggregated), the Groth16
//! unlinkable proof with and without escrow, the regulator council's key generation and opening,
//! and a native Poseidon tree of 10^6 leaves. Sizes and constraint counts are printed once before
//! the timings.

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use schemas::Hash;
use schemas::presentation::{Predicate, PredicateKind};
use std::hint::black_box;
use zk::escrow::council::{Council, CouncilParams, CouncilShare, Dealing, ReceivingSecret, deal};
use zk::escrow::{CouncilKey, EscrowRandomness, encrypt};
use zk::pedersen::{Blinding, commit, commit_batch, commit_random};
use zk::predicates::{
    PredicateStatement, PredicateWitness, ProofBinding, prove_predicates, verify_predicates,
};
use zk::tree::{CredentialTree, RevocationTree};
use zk::unlinkable::{
    CircuitShape, EscrowStatement, HolderSecret, LeafData, UnlinkableStatement, UnlinkableWitness,
    binding_element, constraint_count, credential_leaf, prove_escrowed, prove_unlinkable, setup,
    verify_escrowed, verify_unlinkable,
};
use zk::{CircuitPredicate, Fr};

const BINDING: ProofBinding = ProofBinding {
    request: Hash([1; 32]),
    envelope: Hash([2; 32]),
};

fn bench_commit(c: &mut Criterion) {
    let b = Blinding::from_bytes(&[7; 32]).expect("canonical");
    c.bench_function("pedersen/commit", |bench| {
        bench.iter(|| commit(black_box(372), &b))
    });
    // An issuer's case: many commitments, encoded in one batch (per commitment = time / 64).
    let values: Vec<i64> = (0..64).map(|i| 300 + i).collect();
    let blindings: Vec<Blinding> = values.iter().map(|_| b.clone()).collect();
    c.bench_function("pedersen/commit_batch_64", |bench| {
        bench.iter(|| commit_batch(black_box(&values), &blindings))
    });
    c.bench_function("pedersen/commit_64_one_by_one", |bench| {
        bench.iter(|| {
            black_box(&values)
                .iter()
                .zip(&blindings)
                .map(|(x, b)| commit(*x, b))
                .collect::<Vec<_>>()
        })
    });
    // The same commitment by the generators' multiscalar multiplication, for comparison.
    let gens = bulletproofs::PedersenGens::default();
    let blinding = curve25519_dalek::scalar::Scalar::from_bytes_mod_order([7; 32]);
    c.bench_function("pedersen/commit_multiscalar", |bench| {
        bench.iter(|| {
            gens.commit(
                curve25519_dalek::scalar::Scalar::from(black_box(372u64)),
                blinding,
            )
            .compress()
        })
    });
}

fn bench_predicates(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut g = c.benchmark_group("bulletproofs");
    g.sample_size(10);
    for (bits, base) in [(64u8, 1i64 << 40), (32, 1_000)] {
        for m in [1usize, 2, 4, 8] {
            if bits == 32 && m != 2 {
                continue;
            }
            let attrs: Vec<_> = (0..m)
                .map(|i| (base + i as i64, commit_random(base + i as i64, &mut rng)))
                .collect();
            let preds: Vec<Predicate> = (0..m)
                .map(|i| Predicate {
                    attribute: format!("a{i}"),
                    kind: PredicateKind::AtLeast { bound: 0 },
                })
                .collect();
            let witnesses: Vec<_> = preds
                .iter()
                .zip(&attrs)
                .map(|(p, (v, (c, b)))| PredicateWitness {
                    predicate: p,
                    commitment: *c,
                    value: *v,
                    blinding: b,
                })
                .collect();
            let statements: Vec<_> = preds
                .iter()
                .zip(&attrs)
                .map(|(p, (_, (c, _)))| PredicateStatement {
                    predicate: p,
                    commitment: *c,
                })
                .collect();
            let proof = prove_predicates(&BINDING, &witnesses, &mut rng).expect("proves");
            assert_eq!(proof.bits, bits);
            println!("bulletproofs {bits}-bit m={m}: proof {} bytes", proof.proof.len());
            let id = format!("{bits}bit/m{m}");
            g.bench_function(BenchmarkId::new("prove", &id), |b| {
                b.iter(|| prove_predicates(&BINDING, &witnesses, &mut rng).expect("proves"))
            });
            g.bench_function(BenchmarkId::new("verify", &id), |b| {
                b.iter(|| verify_predicates(&BINDING, &statements, &proof).expect("verifies"))
            });
        }
    }
    g.finish();
}

fn bench_unlinkable(c: &mut Criterion) {
    for escrow in [false, true] {
        bench_shape(c, escrow);
    }
}

/// The unlinkable shape with four attributes and two predicates, with or without escrow of the
/// fourth attribute to a council.
fn bench_shape(c: &mut Criterion, escrow: bool) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let shape = CircuitShape {
        attributes: 4,
        predicates: 2,
        escrow,
    };
    println!(
        "groth16 {}: {} constraints",
        shape.id(),
        constraint_count(shape).expect("synthesises")
    );
    let (pk, vk) = setup(shape, &mut rng).expect("setup");
    println!(
        "groth16 {}: proving key {} bytes, verifying key {} bytes",
        shape.id(),
        pk.size_bytes(),
        vk.to_bytes().len()
    );
    let secret = HolderSecret::random(&mut rng);
    let data = LeafData {
        binding: binding_element("did:credence:bank", "kyc/v1"),
        id: 777,
        valid_from: 1_767_225_600,
        valid_until: u32::MAX,
        attributes: vec![Some(7_300), Some(2), Some(156), Some(20_000)],
    };
    let salt = Fr::from(5u64);
    let mut leaves: Vec<Fr> = (0..1000u64).map(Fr::from).collect();
    leaves[10] = credential_leaf(&data, &salt, &secret.commitment());
    let tree = CredentialTree::build(leaves).expect("fits");
    let revoked = RevocationTree::from_revoked(0..100);
    let statement = UnlinkableStatement {
        issuer_root: tree.root_hash(),
        revocation_root: revoked.root_hash(),
        binding: data.binding,
        now: 1_780_272_000,
        predicates: vec![
            CircuitPredicate {
                attribute: 1,
                at_most: true,
                threshold: 12_000,
            },
            CircuitPredicate {
                attribute: 2,
                at_most: false,
                threshold: 2,
            },
        ],
        scope: "bank".into(),
        request: Hash([3; 32]),
    };
    let (cp, rp) = (tree.path(10).expect("exists"), revoked.path(777));
    let witness = UnlinkableWitness {
        leaf: &data,
        salt: schemas::Hash(zk::poseidon::fr_to_bytes(&salt)),
        secret: &secret,
        credential_path: &cp,
        revocation_path: &rp,
    };
    let mut g = c.benchmark_group("groth16");
    g.sample_size(10);
    if escrow {
        let council = council_key(&mut rng);
        let (proof, nullifier, ciphertext) =
            prove_escrowed(&pk, &statement, 4, &council, &witness, &mut rng).expect("proves");
        let escrowed = EscrowStatement {
            handle_attribute: 4,
            council,
            ciphertext,
        };
        g.bench_function("prove_escrow", |b| {
            b.iter(|| prove_escrowed(&pk, &statement, 4, &council, &witness, &mut rng).expect("proves"))
        });
        g.bench_function("verify_escrow", |b| {
            b.iter(|| verify_escrowed(&vk, &statement, &escrowed, &nullifier, &proof).expect("verifies"))
        });
        // What each validator does for an opening proposal: parse the registered key, check the
        // evidence's inputs and the proof.
        let evidence =
            zk::unlinkable::escrow_evidence(&vk, &statement, &escrowed, &nullifier).expect("inputs");
        let key_bytes = vk.to_bytes();
        g.bench_function("opening_evidence_check", |b| {
            b.iter(|| {
                let vk = zk::unlinkable::VerifyingKey::from_bytes(&shape.id(), vk.version(), &key_bytes)
                    .expect("parses");
                let claim = zk::unlinkable::EvidenceClaim {
                    council: &council,
                    ciphertext: &ciphertext,
                    request: &statement.request,
                    issuer_root: &statement.issuer_root,
                    binding: statement.binding,
                    scope: &statement.scope,
                    handle_attribute: 4,
                };
                zk::unlinkable::verify_escrow_evidence(&vk, &evidence, &proof, &claim).expect("holds")
            })
        });
    } else {
        let (proof, nullifier) = prove_unlinkable(&pk, &statement, &witness, &mut rng).expect("proves");
        println!("groth16 {}: proof {} bytes", shape.id(), proof.len());
        g.bench_function("prove", |b| {
            b.iter(|| prove_unlinkable(&pk, &statement, &witness, &mut rng).expect("proves"))
        });
        g.bench_function("verify", |b| {
            b.iter(|| verify_unlinkable(&vk, &statement, &nullifier, &proof).expect("verifies"))
        });
    }
    g.finish();
}

/// One council key generation among `n` members with threshold `t`: every receiving key, every
/// dealing, every member's check of every dealing and sum of its shares.
fn generate_council(t: u16, n: u16, rng: &mut ChaCha20Rng) -> (Council, Vec<CouncilShare>) {
    let params = CouncilParams::new(Hash([7; 32]), t, n).expect("valid");
    let secrets: Vec<ReceivingSecret> = (0..n).map(|_| ReceivingSecret::random(rng)).collect();
    let keys: Vec<_> = secrets.iter().map(ReceivingSecret::public).collect();
    let dealings: Vec<Dealing> = (1..=n)
        .map(|i| deal(&params, i, &keys, rng).expect("deals"))
        .collect();
    let council = Council::from_transcript(&params, &dealings, &[]).expect("council");
    let shares = (1..=n)
        .map(|j| {
            let received: Vec<_> = dealings
                .iter()
                .map(|d| {
                    let share = d
                        .share_for(&params, j, &secrets[usize::from(j) - 1], rng)
                        .unwrap_or_else(|_| panic!("honest dealing"));
                    (d.dealer(), share)
                })
                .collect();
            CouncilShare::new(&council, j, &received).expect("sums")
        })
        .collect();
    (council, shares)
}

fn council_key(rng: &mut ChaCha20Rng) -> CouncilKey {
    generate_council(2, 3, rng).0.key()
}

fn bench_council(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut g = c.benchmark_group("council");
    g.sample_size(10);
    for (t, n) in [(3u16, 5u16), (5, 9)] {
        g.bench_function(BenchmarkId::new("key_generation", format!("{t}_of_{n}")), |b| {
            b.iter(|| generate_council(t, n, &mut rng))
        });
    }
    let (council, shares) = generate_council(3, 5, &mut rng);
    let ct = encrypt(
        &council.key(),
        zk::poseidon::fr_from_i64(4_411_000_017),
        &EscrowRandomness::random(&mut rng),
    );
    let opening = Hash([0x0b; 32]);
    g.bench_function("decryption_share", |b| {
        b.iter(|| shares[0].decrypt(&council, &ct, &opening, &mut rng))
    });
    let published: Vec<_> = shares[..3]
        .iter()
        .map(|s| s.decrypt(&council, &ct, &opening, &mut rng))
        .collect();
    g.bench_function("open_3_of_5", |b| {
        b.iter(|| council.open(&ct, &opening, &published).expect("opens"))
    });
    g.finish();
}

fn bench_poseidon_tree(c: &mut Criterion) {
    let mut g = c.benchmark_group("poseidon");
    g.bench_function("hash2", |b| {
        b.iter(|| zk::poseidon::hash2(black_box(Fr::from(1u64)), Fr::from(2u64)))
    });
    g.sample_size(10);
    let leaves: Vec<Fr> = (0..1_000_000u64).map(Fr::from).collect();
    g.bench_function("tree_1m_leaves", |b| {
        b.iter_batched(
            || leaves.clone(),
            |l| CredentialTree::build(l).expect("fits"),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_commit,
    bench_predicates,
    bench_unlinkable,
    bench_council,
    bench_poseidon_tree
);
criterion_main!(benches);

//! `zk` decoders and verifiers on arbitrary bytes: Bulletproofs predicate proofs, Groth16
//! verifying keys and proofs. None may panic; none may accept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::Hash;
use schemas::presentation::{Predicate, PredicateKind, PredicateProof};
use std::sync::OnceLock;
use zk::pedersen::{Blinding, commit};
use zk::predicates::{PredicateStatement, ProofBinding, verify_predicates};
use zk::unlinkable::{CircuitShape, UnlinkableStatement, VerifyingKey, setup, verify_unlinkable};
use zk::{CircuitPredicate, Fr};

fn vk() -> &'static VerifyingKey {
    static VK: OnceLock<VerifyingKey> = OnceLock::new();
    VK.get_or_init(|| {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
        setup(CircuitShape::SHAPES[0], &mut rng).expect("setup").1
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 3 {
        0 => {
            let blinding = Blinding::from_bytes(&[1; 32]).expect("canonical");
            let predicate = Predicate { attribute: "gpa".into(), kind: PredicateKind::AtLeast { bound: 300 } };
            let statement = PredicateStatement { predicate: &predicate, commitment: commit(372, &blinding) };
            let binding = ProofBinding { request: Hash([1; 32]), envelope: Hash([2; 32]) };
            for bits in [32, 64] {
                let proof = PredicateProof { bits, proof: rest.to_vec() };
                assert!(verify_predicates(&binding, &[statement], &proof).is_err(), "random bytes verified");
            }
        }
        1 => {
            let _ = VerifyingKey::from_bytes(&CircuitShape::SHAPES[0].id(), zk::unlinkable::KEY_VERSION, rest);
        }
        _ => {
            // The carried roots and nullifier come from the input too: any 32 bytes, canonical
            // field elements or not.
            let hash = |i: usize| {
                let mut h = [0u8; 32];
                for (j, b) in rest.iter().skip(32 * i).take(32).enumerate() {
                    h[j] = *b;
                }
                Hash(h)
            };
            let statement = UnlinkableStatement {
                issuer_root: hash(0),
                revocation_root: hash(1),
                binding: Fr::from(5u64),
                now: 1_800_000_000,
                predicates: vec![CircuitPredicate { attribute: 1, at_most: false, threshold: 2 }],
                scope: "s".into(),
                request: Hash([3; 32]),
            };
            let proof = rest.get(96..).unwrap_or(rest);
            assert!(verify_unlinkable(vk(), &statement, &hash(2), proof).is_err(), "random bytes verified");
        }
    }
});

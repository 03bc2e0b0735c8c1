//! Bulletproofs predicates: completeness, soundness, binding.

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use schemas::Hash;
use schemas::credential::PedersenCommitment;
use schemas::presentation::{Predicate, PredicateKind, PredicateProof};
use zk::ZkError;
use zk::pedersen::{Blinding, commit_random};
use zk::predicates::{
    PredicateStatement, PredicateWitness, ProofBinding, prove_predicates, verify_predicates,
};

struct Attr {
    value: i64,
    commitment: PedersenCommitment,
    blinding: Blinding,
}

fn attr(value: i64, rng: &mut ChaCha20Rng) -> Attr {
    let (commitment, blinding) = commit_random(value, rng);
    Attr {
        value,
        commitment,
        blinding,
    }
}

fn pred(attribute: &str, kind: PredicateKind) -> Predicate {
    Predicate {
        attribute: attribute.into(),
        kind,
    }
}

const BINDING: ProofBinding = ProofBinding {
    request: Hash([1; 32]),
    envelope: Hash([2; 32]),
};

fn prove(
    b: &ProofBinding,
    items: &[(&Predicate, &Attr)],
    rng: &mut ChaCha20Rng,
) -> Result<PredicateProof, ZkError> {
    let w: Vec<_> = items
        .iter()
        .map(|(p, a)| PredicateWitness {
            predicate: p,
            commitment: a.commitment,
            value: a.value,
            blinding: &a.blinding,
        })
        .collect();
    prove_predicates(b, &w, rng)
}

fn verify(b: &ProofBinding, items: &[(&Predicate, &Attr)], proof: &PredicateProof) -> Result<(), ZkError> {
    let s: Vec<_> = items
        .iter()
        .map(|(p, a)| PredicateStatement {
            predicate: p,
            commitment: a.commitment,
        })
        .collect();
    verify_predicates(b, &s, proof)
}

#[test]
fn gpa_and_age_predicates_prove_and_verify() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let gpa = attr(372, &mut rng);
    let birth = attr(-3_000, &mut rng); // born 1961-10-15
    let level = attr(2, &mut rng);
    let gpa_ok = pred("gpa", PredicateKind::AtLeast { bound: 300 });
    let adult = pred("birth_date", PredicateKind::AtMost { bound: 12_000 });
    let level_ok = pred("kyc_level", PredicateKind::Between { low: 2, high: 3 });
    let items = [(&gpa_ok, &gpa), (&adult, &birth), (&level_ok, &level)];
    let proof = prove(&BINDING, &items, &mut rng).expect("true predicates prove");
    assert_eq!(proof.bits, 32);
    verify(&BINDING, &items, &proof).expect("verifies");
    // Single predicate, and the bound exactly at the value.
    let exact = pred("gpa", PredicateKind::AtLeast { bound: 372 });
    let p = prove(&BINDING, &[(&exact, &gpa)], &mut rng).expect("x >= x");
    verify(&BINDING, &[(&exact, &gpa)], &p).expect("verifies");
}

#[test]
fn a_false_predicate_cannot_be_proven() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let gpa = attr(280, &mut rng);
    let p = pred("gpa", PredicateKind::AtLeast { bound: 300 });
    assert_eq!(
        prove(&BINDING, &[(&p, &gpa)], &mut rng).map(|_| ()),
        Err(ZkError::PredicateFalse { index: 0 })
    );
    let range = pred("gpa", PredicateKind::Between { low: 300, high: 400 });
    assert!(prove(&BINDING, &[(&range, &gpa)], &mut rng).is_err());
    // A wrong value for the commitment is refused before proving.
    let lie = Attr {
        value: 390,
        commitment: gpa.commitment,
        blinding: gpa.blinding.clone(),
    };
    assert_eq!(
        prove(&BINDING, &[(&p, &lie)], &mut rng).map(|_| ()),
        Err(ZkError::OpeningMismatch)
    );
}

#[test]
fn a_proof_fails_for_any_other_statement() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let gpa = attr(372, &mut rng);
    let p = pred("gpa", PredicateKind::AtLeast { bound: 300 });
    let proof = prove(&BINDING, &[(&p, &gpa)], &mut rng).expect("proves");
    let failed = Err(ZkError::VerificationFailed { what: "predicate" });
    // Another request, another envelope.
    let other_request = ProofBinding {
        request: Hash([9; 32]),
        ..BINDING
    };
    assert_eq!(verify(&other_request, &[(&p, &gpa)], &proof), failed);
    let other_envelope = ProofBinding {
        envelope: Hash([9; 32]),
        ..BINDING
    };
    assert_eq!(verify(&other_envelope, &[(&p, &gpa)], &proof), failed);
    // Another threshold (the verifier derives the shifted commitment itself).
    let higher = pred("gpa", PredicateKind::AtLeast { bound: 380 });
    assert_eq!(verify(&BINDING, &[(&higher, &gpa)], &proof), failed);
    // Another attribute name, another kind.
    let renamed = pred("credits", PredicateKind::AtLeast { bound: 300 });
    assert_eq!(verify(&BINDING, &[(&renamed, &gpa)], &proof), failed);
    let flipped_kind = pred("gpa", PredicateKind::AtMost { bound: 300 });
    assert!(verify(&BINDING, &[(&flipped_kind, &gpa)], &proof).is_err());
    // Another commitment.
    let other = attr(372, &mut rng);
    assert_eq!(verify(&BINDING, &[(&p, &other)], &proof), failed);
    // Wrong bit size.
    let mut wrong_bits = proof.clone();
    wrong_bits.bits = 64;
    assert!(verify(&BINDING, &[(&p, &gpa)], &wrong_bits).is_err());
    wrong_bits.bits = 16;
    assert_eq!(
        verify(&BINDING, &[(&p, &gpa)], &wrong_bits),
        Err(ZkError::UnsupportedBits { bits: 16 })
    );
}

#[test]
fn every_flipped_proof_byte_is_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let gpa = attr(372, &mut rng);
    let level = attr(2, &mut rng);
    let p1 = pred("gpa", PredicateKind::AtLeast { bound: 300 });
    let p2 = pred("kyc_level", PredicateKind::AtLeast { bound: 2 });
    let items = [(&p1, &gpa), (&p2, &level)];
    let proof = prove(&BINDING, &items, &mut rng).expect("proves");
    for i in 0..proof.proof.len() {
        let mut bad = proof.clone();
        bad.proof[i] ^= 0x01;
        assert!(verify(&BINDING, &items, &bad).is_err(), "byte {i}");
    }
    let mut short = proof.clone();
    short.proof.pop();
    assert!(matches!(
        verify(&BINDING, &items, &short),
        Err(ZkError::MalformedProof { .. })
    ));
}

#[test]
fn aggregates_of_one_two_four_and_eight_predicates() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for m in [1usize, 2, 4, 8] {
        let attrs: Vec<Attr> = (0..m).map(|i| attr(1_000 + i as i64, &mut rng)).collect();
        let preds: Vec<Predicate> = (0..m)
            .map(|i| pred(&format!("a{i}"), PredicateKind::AtLeast { bound: 999 }))
            .collect();
        let items: Vec<_> = preds.iter().zip(&attrs).collect();
        let proof = prove(&BINDING, &items, &mut rng).expect("proves");
        verify(&BINDING, &items, &proof).expect("verifies");
    }
    let attrs: Vec<Attr> = (0..9).map(|_| attr(1, &mut rng)).collect();
    let preds: Vec<Predicate> = (0..9)
        .map(|i| pred(&format!("a{i}"), PredicateKind::AtLeast { bound: 0 }))
        .collect();
    let items: Vec<_> = preds.iter().zip(&attrs).collect();
    assert_eq!(
        prove(&BINDING, &items, &mut rng).map(|_| ()),
        Err(ZkError::PredicateCount { found: 9, max: 8 })
    );
}

#[test]
fn large_differences_use_64_bit_ranges() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let big = attr(1 << 40, &mut rng);
    let p = pred("x", PredicateKind::AtLeast { bound: -(1 << 40) });
    let proof = prove(&BINDING, &[(&p, &big)], &mut rng).expect("proves");
    assert_eq!(proof.bits, 64);
    verify(&BINDING, &[(&p, &big)], &proof).expect("verifies");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_attributes_and_thresholds(x in -100_000i64..100_000, t in -100_000i64..100_000, at_most in any::<bool>(), seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let a = attr(x, &mut rng);
        let kind = if at_most { PredicateKind::AtMost { bound: t } } else { PredicateKind::AtLeast { bound: t } };
        let p = pred("v", kind);
        match prove(&BINDING, &[(&p, &a)], &mut rng) {
            Ok(proof) => {
                prop_assert!(p.holds(x));
                prop_assert!(verify(&BINDING, &[(&p, &a)], &proof).is_ok());
            }
            Err(e) => {
                prop_assert!(!p.holds(x));
                prop_assert_eq!(e, ZkError::PredicateFalse { index: 0 });
            }
        }
    }

    #[test]
    fn arbitrary_proof_bytes_never_verify(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let a = attr(5, &mut rng);
        let p = pred("v", PredicateKind::AtLeast { bound: 0 });
        let proof = PredicateProof { bits: 32, proof: bytes };
        prop_assert!(verify(&BINDING, &[(&p, &a)], &proof).is_err());
    }
}

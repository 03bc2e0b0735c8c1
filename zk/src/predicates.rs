//! Predicates on committed attributes, proven with aggregated Bulletproofs range proofs.
//!
//! Each predicate becomes one or two statements "v ∈ [0, 2^n)" about a commitment the
//! *verifier derives itself* from the envelope's commitment `C = x·B + r·B̃`:
//!
//! | predicate        | value proven      | commitment the verifier derives | prover's blinding |
//! |------------------|-------------------|---------------------------------|-------------------|
//! | `x >= t`         | `x − t`           | `C − t·B`                       | `r`               |
//! | `x <= t`         | `t − x`           | `t·B − C`                       | `−r`              |
//! | `a <= x <= b`    | `x − a`, `b − x`  | both of the above               | `r`, `−r`         |
//!
//! Since `|x|, |t| < 2^63` and the group order is about `2^252`, `v mod l ∈ [0, 2^n)` means the
//! integer inequality holds. All ranges of a presentation are aggregated into one proof
//! (Bulletproofs needs a power-of-two count; padding slots prove `0` about the public
//! commitment `B̃ = 0·B + 1·B̃`). The merlin transcript first binds the request digest, the
//! envelope digest and every predicate with its commitment, so the proof is worthless for any
//! other request or credential.

use crate::ZkError;
use crate::pedersen::{Blinding, generators, point, scalar_of};
use crate::transcript::TranscriptProtocol;
use bulletproofs::{BulletproofGens, RangeProof};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::CryptoRngCore;
use schemas::Hash;
use schemas::credential::PedersenCommitment;
use schemas::presentation::{Predicate, PredicateKind, PredicateProof};
use std::sync::OnceLock;

/// Most predicates one proof covers.
pub const MAX_PREDICATES: usize = 8;
/// Most range statements (a `Between` counts twice).
const MAX_RANGES: usize = 2 * MAX_PREDICATES;
/// Largest range size.
const MAX_BITS: usize = 64;
/// Largest serialised proof: 2·log2(64·16) + 9 points/scalars of 32 bytes.
const MAX_PROOF_BYTES: usize = 32 * (2 * 10 + 9);

fn bulletproof_gens() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(MAX_BITS, MAX_RANGES))
}

/// What the proof is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofBinding {
    /// Digest of the presentation request (covers verifier, nonce, purpose, expiry).
    pub request: Hash,
    /// Digest of the credential envelope.
    pub envelope: Hash,
}

/// A predicate as the prover knows it.
pub struct PredicateWitness<'a> {
    /// The predicate.
    pub predicate: &'a Predicate,
    /// The envelope's commitment to the attribute.
    pub commitment: PedersenCommitment,
    /// The attribute's value.
    pub value: i64,
    /// Its blinding.
    pub blinding: &'a Blinding,
}

/// A predicate as the verifier sees it.
#[derive(Clone, Copy, Debug)]
pub struct PredicateStatement<'a> {
    /// The predicate asked.
    pub predicate: &'a Predicate,
    /// The envelope's commitment to the attribute.
    pub commitment: PedersenCommitment,
}

/// Kind code and bounds as bound in the transcript.
fn describe(kind: &PredicateKind) -> (u8, i64, i64) {
    match *kind {
        PredicateKind::AtLeast { bound } => (0, bound, 0),
        PredicateKind::AtMost { bound } => (1, 0, bound),
        PredicateKind::Between { low, high } => (2, low, high),
    }
}

/// The ranges a predicate stands for: `(sign, bound)` meaning `sign·(x − bound) ≥ 0`.
fn ranges(kind: &PredicateKind) -> Vec<(bool, i64)> {
    match *kind {
        PredicateKind::AtLeast { bound } => vec![(true, bound)],
        PredicateKind::AtMost { bound } => vec![(false, bound)],
        PredicateKind::Between { low, high } => vec![(true, low), (false, high)],
    }
}

fn open_transcript(
    binding: &ProofBinding,
    statements: &[(&Predicate, PedersenCommitment)],
    bits: u8,
) -> Transcript {
    let mut t = Transcript::new(b"credence");
    t.predicates_domain_sep(
        &binding.request,
        &binding.envelope,
        statements.len() as u64,
        u64::from(bits),
    );
    for (p, c) in statements {
        let (kind, low, high) = describe(&p.kind);
        t.append_predicate(&p.attribute, kind, low, high, &c.0);
    }
    t
}

fn check_count(n: usize) -> Result<(), ZkError> {
    if n == 0 || n > MAX_PREDICATES {
        return Err(ZkError::PredicateCount {
            found: n,
            max: MAX_PREDICATES,
        });
    }
    Ok(())
}

/// Proves every predicate about its committed value in one aggregated proof.
pub fn prove_predicates(
    binding: &ProofBinding,
    witnesses: &[PredicateWitness<'_>],
    rng: &mut impl CryptoRngCore,
) -> Result<PredicateProof, ZkError> {
    check_count(witnesses.len())?;
    let mut values = Vec::new();
    let mut blindings = Vec::new();
    for (index, w) in witnesses.iter().enumerate() {
        crate::pedersen::verify_opening(&w.commitment, w.value, w.blinding)?;
        if !w.predicate.holds(w.value) {
            return Err(ZkError::PredicateFalse { index });
        }
        for (positive, bound) in ranges(&w.predicate.kind) {
            let diff = if positive {
                i128::from(w.value) - i128::from(bound)
            } else {
                i128::from(bound) - i128::from(w.value)
            };
            let v = u64::try_from(diff).map_err(|_| ZkError::PredicateFalse { index })?;
            values.push(v);
            blindings.push(if positive { w.blinding.0 } else { -w.blinding.0 });
        }
    }
    let bits: u8 = if values.iter().all(|v| *v < 1 << 32) {
        32
    } else {
        64
    };
    pad(&mut values, &mut blindings);
    let statements: Vec<_> = witnesses.iter().map(|w| (w.predicate, w.commitment)).collect();
    let mut transcript = open_transcript(binding, &statements, bits);
    let result = RangeProof::prove_multiple_with_rng(
        bulletproof_gens(),
        &generators().pedersen,
        &mut transcript,
        &values,
        &blindings,
        usize::from(bits),
        rng,
    );
    blindings.iter_mut().for_each(zeroize::Zeroize::zeroize);
    let (proof, _) = result.map_err(|e| ZkError::Internal {
        reason: e.to_string(),
    })?;
    Ok(PredicateProof {
        bits,
        proof: proof.to_bytes(),
    })
}

fn pad(values: &mut Vec<u64>, blindings: &mut Vec<Scalar>) {
    while !values.len().is_power_of_two() {
        values.push(0);
        blindings.push(Scalar::ONE);
    }
}

/// Verifies a predicate proof against the envelope's commitments and the request.
pub fn verify_predicates(
    binding: &ProofBinding,
    statements: &[PredicateStatement<'_>],
    proof: &PredicateProof,
) -> Result<(), ZkError> {
    check_count(statements.len())?;
    if proof.bits != 32 && proof.bits != 64 {
        return Err(ZkError::UnsupportedBits { bits: proof.bits });
    }
    if proof.proof.len() > MAX_PROOF_BYTES {
        return Err(ZkError::MalformedProof {
            reason: format!("{} bytes is over {MAX_PROOF_BYTES}", proof.proof.len()),
        });
    }
    let g = generators();
    let mut derived: Vec<CompressedRistretto> = Vec::new();
    for s in statements {
        let c = point(&s.commitment)?;
        for (positive, bound) in ranges(&s.predicate.kind) {
            let t: RistrettoPoint = scalar_of(bound) * g.pedersen.B;
            derived.push(if positive { c - t } else { t - c }.compress());
        }
    }
    while !derived.len().is_power_of_two() {
        derived.push(g.pedersen.B_blinding.compress());
    }
    let range_proof = RangeProof::from_bytes(&proof.proof).map_err(|e| ZkError::MalformedProof {
        reason: e.to_string(),
    })?;
    let pairs: Vec<_> = statements.iter().map(|s| (s.predicate, s.commitment)).collect();
    let mut transcript = open_transcript(binding, &pairs, proof.bits);
    range_proof
        .verify_multiple(
            bulletproof_gens(),
            &g.pedersen,
            &mut transcript,
            &derived,
            usize::from(proof.bits),
        )
        .map_err(|_| ZkError::VerificationFailed { what: "predicate" })
}

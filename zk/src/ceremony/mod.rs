//! The consortium's Groth16 setup as a sequential multi-party computation, so that no single
//! party ever holds the toxic waste of a circuit's keys.
//!
//! Two phases, each a chain of contributions (BGM17, "A multi-party protocol for constructing
//! the public parameters of the Pinocchio zk-SNARK"):
//!
//! 1. **Powers of tau** ([`Powers`]), for every circuit up to a domain of `2^power` constraints:
//!    `[τ^i]₁` (`i < 2·2^power − 1`), `[τ^i]₂`, `[ατ^i]₁`, `[βτ^i]₁` (`i < 2^power`) and `[β]₂`.
//!    A contribution multiplies the secrets by its own `(t, a, b)`.
//! 2. **Circuit-specific** ([`Params`]): from the final powers, the circuit's keys are derived in
//!    the Lagrange basis with `γ = δ = 1` ([`derive`], deterministic: anyone recomputes it); a
//!    contribution multiplies `δ` by its own `d` and divides the `L` and `H` queries by it.
//!
//! Every contribution carries a proof of knowledge of each secret ([`Knowledge`]) bound to the
//! previous state's digest and to the contributor, and is checked against the previous state
//! ([`verify_contribution`]); the contributor's secrets are wiped when it returns (`zeroize`).
//! The final keys are sound if one contributor of each phase was honest and destroyed its
//! secrets; KMSV21 shows no random beacon is needed after the last contribution. The argument is
//! written out in ARCHITECTURE.md ("The setup ceremony").
//!
//! The ledger keeps each contribution's digest, its [`Heads`] (the few points that carry the
//! secrets) and its proof; [`check_step`] is the check validators make from those alone. The
//! files ([`File`]) live beside the ledger; their format is `docs/ceremony.md`.

mod file;
mod phase1;
mod phase2;
mod pok;

pub use file::{File, FileKind, MAX_FILE_BYTES, file_digest};
pub use phase1::Powers;
pub use phase2::{Params, derive};
pub use pok::Knowledge;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_core::CryptoRngCore;
use schemas::Hash;

/// Largest phase-1 size: a domain of `2^MAX_POWER` constraints (a file of about 12 MB).
pub const MAX_POWER: u8 = 16;

/// Smallest phase-1 size.
pub const MIN_POWER: u8 = 2;

/// Longest ceremony id, circuit id or contributor name in a file or on the ledger.
pub const MAX_NAME: usize = 128;

/// Why a ceremony step is refused. Each says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// Bytes that do not decode (or decode to points off the curve or outside the subgroup).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A contribution whose proof of knowledge does not verify: the contributor did not show it
    /// knows the secret it applied, or the proof was made for another transcript.
    #[error(
        "the proof of knowledge of {secret} does not verify (made for another transcript or contributor, or forged)"
    )]
    Knowledge {
        /// Which secret.
        secret: &'static str,
    },
    /// A contribution that is not the previous state times the proven secret.
    #[error("{what}: the contribution is not the previous state updated by the proven secret")]
    Inconsistent {
        /// Which part.
        what: &'static str,
    },
    /// A file that does not follow the one it names, or names another ceremony or circuit.
    #[error("out of order: {reason}")]
    Order {
        /// What does not follow.
        reason: String,
    },
    /// A circuit too large for the ceremony's powers.
    #[error("circuit {circuit} needs a domain of 2^{needed}; the ceremony's powers go to 2^{power}")]
    TooLarge {
        /// The circuit.
        circuit: String,
        /// log2 of the domain it needs.
        needed: u32,
        /// The ceremony's power.
        power: u8,
    },
    /// Synthesising the circuit failed (a bug, reported rather than panicking).
    #[error("circuit synthesis: {reason}")]
    Circuit {
        /// What failed.
        reason: String,
    },
}

/// log2 of the domain a shape's circuit needs (constraints plus public inputs), computed once per
/// shape and process (synthesising a circuit takes a fraction of a second; validators ask for it
/// when a plan is proposed and approved).
pub fn domain_power(shape: crate::unlinkable::CircuitShape) -> Result<u32, CeremonyError> {
    use std::sync::OnceLock;
    type Powers = Vec<(crate::unlinkable::CircuitShape, Result<u32, CeremonyError>)>;
    static POWERS: OnceLock<Powers> = OnceLock::new();
    let all = POWERS.get_or_init(|| {
        crate::unlinkable::CircuitShape::SHAPES
            .iter()
            .map(|s| (*s, phase2::domain_power(*s)))
            .collect()
    });
    match all.iter().find(|(s, _)| *s == shape) {
        Some((_, p)) => p.clone(),
        None => phase2::domain_power(shape),
    }
}

/// Which chain a contribution extends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase<'a> {
    /// The powers of tau.
    Powers,
    /// The circuit-specific phase of the circuit named.
    Circuit(&'a str),
}

/// The points of a state that carry the contributors' secrets: what the ledger keeps of each
/// contribution, so validators check the chain of secrets without the files.
// Kept one per chain: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heads {
    /// Phase 1: `[τ]₁, [τ]₂, [α]₁, [β]₁, [β]₂`.
    Powers {
        /// `[τ]₁`.
        tau_g1: G1Affine,
        /// `[τ]₂`.
        tau_g2: G2Affine,
        /// `[α]₁`.
        alpha_g1: G1Affine,
        /// `[β]₁`.
        beta_g1: G1Affine,
        /// `[β]₂`.
        beta_g2: G2Affine,
    },
    /// Phase 2: `[δ]₁, [δ]₂`.
    Circuit {
        /// `[δ]₁`.
        delta_g1: G1Affine,
        /// `[δ]₂`.
        delta_g2: G2Affine,
    },
}

impl Heads {
    /// The heads before any contribution: every secret is 1.
    pub fn initial(phase: Phase<'_>) -> Heads {
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        match phase {
            Phase::Powers => Heads::Powers {
                tau_g1: g1,
                tau_g2: g2,
                alpha_g1: g1,
                beta_g1: g1,
                beta_g2: g2,
            },
            Phase::Circuit(_) => Heads::Circuit {
                delta_g1: g1,
                delta_g2: g2,
            },
        }
    }

    /// Compressed encoding (as the ledger keeps it): `1 ‖ [τ]₁ ‖ [τ]₂ ‖ [α]₁ ‖ [β]₁ ‖ [β]₂` or
    /// `2 ‖ [δ]₁ ‖ [δ]₂`.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Heads::Powers {
                tau_g1,
                tau_g2,
                alpha_g1,
                beta_g1,
                beta_g2,
            } => [
                vec![1],
                to_bytes(&(*tau_g1, *tau_g2, *alpha_g1, *beta_g1, *beta_g2)),
            ]
            .concat(),
            Heads::Circuit { delta_g1, delta_g2 } => [vec![2], to_bytes(&(*delta_g1, *delta_g2))].concat(),
        }
    }

    /// Decodes heads, checking every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CeremonyError> {
        match bytes.split_first() {
            Some((1, rest)) => {
                let (tau_g1, tau_g2, alpha_g1, beta_g1, beta_g2) = from_bytes(rest, "heads")?;
                Ok(Heads::Powers {
                    tau_g1,
                    tau_g2,
                    alpha_g1,
                    beta_g1,
                    beta_g2,
                })
            }
            Some((2, rest)) => {
                let (delta_g1, delta_g2) = from_bytes(rest, "heads")?;
                Ok(Heads::Circuit { delta_g1, delta_g2 })
            }
            _ => Err(CeremonyError::Malformed {
                what: "heads",
                reason: "the first byte is neither 1 (powers) nor 2 (a circuit)".into(),
            }),
        }
    }
}

/// The proof a contribution carries: one [`Knowledge`] per secret (`t, a, b` in phase 1, `d` in
/// phase 2).
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct ContributionProof {
    /// In order: τ, α, β (phase 1) or δ (phase 2).
    pub secrets: Vec<Knowledge>,
}

impl ContributionProof {
    /// Compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(self)
    }

    /// Decodes a proof, checking every point (at most three secrets).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CeremonyError> {
        if bytes.len() > 8 + 3 * pok::KNOWLEDGE_BYTES {
            return Err(CeremonyError::Malformed {
                what: "contribution proof",
                reason: format!("{} bytes; a proof has at most three secrets", bytes.len()),
            });
        }
        from_bytes(bytes, "contribution proof")
    }
}

/// What a contribution's proofs of knowledge are bound to: the ceremony, the chain, the
/// contributor and the digest of the state it extends. A proof made for one transcript or one
/// contributor verifies for no other.
pub fn challenge(ceremony: &str, phase: Phase<'_>, contributor: &str, previous: &Hash) -> Hash {
    let circuit = match phase {
        Phase::Powers => "",
        Phase::Circuit(c) => c,
    };
    let framed = |s: &str| {
        let mut v = (s.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    };
    schemas::hash::hash_parts(
        CHALLENGE_DOMAIN,
        &[
            &framed(ceremony),
            &framed(circuit),
            &framed(contributor),
            previous.as_bytes(),
        ],
    )
}

const CHALLENGE_DOMAIN: schemas::hash::Domain = schemas::hash::Domain::new("credence/ceremony-challenge/v1");

/// The check validators make of a contribution from what the ledger keeps: its proofs of
/// knowledge verify for `challenge`, and `after` is `before` updated by exactly the proven
/// secrets. It does not read the files; [`verify_contribution`] checks every point of them.
pub fn check_step(
    before: &Heads,
    after: &Heads,
    proof: &ContributionProof,
    challenge: &Hash,
) -> Result<(), CeremonyError> {
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    match (before, after) {
        (
            Heads::Powers {
                tau_g1: t0,
                alpha_g1: a0,
                beta_g1: b0,
                ..
            },
            Heads::Powers {
                tau_g1: t1,
                tau_g2: t1_2,
                alpha_g1: a1,
                beta_g1: b1,
                beta_g2: b1_2,
            },
        ) => {
            let [tau, alpha, beta] = proof.secrets.as_slice() else {
                return Err(CeremonyError::Malformed {
                    what: "contribution proof",
                    reason: format!(
                        "{} secrets; a powers-of-tau contribution proves 3",
                        proof.secrets.len()
                    ),
                });
            };
            for p in [t1, a1, b1] {
                nonzero_g1(p, "heads")?;
            }
            for p in [t1_2, b1_2] {
                nonzero_g2(p, "heads")?;
            }
            let (r, rx) = tau.verify(challenge, "tau", "τ")?;
            same_ratio(t0, t1, &r, &rx, "[τ]₁")?;
            let (r, rx) = alpha.verify(challenge, "alpha", "α")?;
            same_ratio(a0, a1, &r, &rx, "[α]₁")?;
            let (r, rx) = beta.verify(challenge, "beta", "β")?;
            same_ratio(b0, b1, &r, &rx, "[β]₁")?;
            same_ratio(&g1, t1, &g2, t1_2, "[τ]₂")?;
            same_ratio(&g1, b1, &g2, b1_2, "[β]₂")?;
            Ok(())
        }
        (
            Heads::Circuit { delta_g1: d0, .. },
            Heads::Circuit {
                delta_g1: d1,
                delta_g2: d1_2,
            },
        ) => {
            let [delta] = proof.secrets.as_slice() else {
                return Err(CeremonyError::Malformed {
                    what: "contribution proof",
                    reason: format!("{} secrets; a circuit contribution proves 1", proof.secrets.len()),
                });
            };
            nonzero_g1(d1, "heads")?;
            nonzero_g2(d1_2, "heads")?;
            let (r, rx) = delta.verify(challenge, "delta", "δ")?;
            same_ratio(d0, d1, &r, &rx, "[δ]₁")?;
            same_ratio(&g1, d1, &g2, d1_2, "[δ]₂")?;
            Ok(())
        }
        _ => Err(CeremonyError::Order {
            reason: "the heads belong to the other phase".into(),
        }),
    }
}

/// The verifying key a ceremony ends with carries the transcript's secrets: its α and β are the
/// final powers' heads, γ is the generator (BGM17 fixes γ = 1) and δ is the circuit chain's last
/// head. (Its input points are derived from the powers; [`verify_contribution`] of the circuit's
/// first file checks them.)
pub fn check_final_key(
    vk: &crate::unlinkable::VerifyingKey,
    powers: &Heads,
    circuit: &Heads,
) -> Result<(), CeremonyError> {
    let raw = vk.raw();
    let (alpha_g1, beta_g2, delta_g2) = final_heads(powers, circuit)?;
    let checks = [
        (raw.alpha_g1 == *alpha_g1, "α is not the powers' [α]₁"),
        (raw.beta_g2 == *beta_g2, "β is not the powers' [β]₂"),
        (raw.gamma_g2 == G2Affine::generator(), "γ is not the generator"),
        (
            raw.delta_g2 == *delta_g2,
            "δ is not the circuit chain's last [δ]₂",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(CeremonyError::Inconsistent { what }),
        None => Ok(()),
    }
}

/// `[α]₁, [β]₂` of the final powers and `[δ]₂` of a circuit chain's last contribution.
fn final_heads<'h>(
    powers: &'h Heads,
    circuit: &'h Heads,
) -> Result<(&'h G1Affine, &'h G2Affine, &'h G2Affine), CeremonyError> {
    match (powers, circuit) {
        (
            Heads::Powers {
                alpha_g1, beta_g2, ..
            },
            Heads::Circuit { delta_g2, .. },
        ) => Ok((alpha_g1, beta_g2, delta_g2)),
        _ => Err(CeremonyError::Order {
            reason: "the heads are not those of the powers and of a circuit".into(),
        }),
    }
}

/// Checks `next` against `previous` point by point: it is a contribution to the same ceremony
/// and chain, names `previous` by its digest, carries a proof of knowledge bound to it, and every
/// point is the previous one updated by the proven secrets. `rng` draws the random linear
/// combinations that batch the ratio checks (a cheating file passes with probability about
/// `1/r`).
pub fn verify_contribution(
    previous: &File,
    next: &File,
    rng: &mut impl CryptoRngCore,
) -> Result<(), CeremonyError> {
    let order = |reason: String| Err(CeremonyError::Order { reason });
    if next.ceremony != previous.ceremony || next.circuit != previous.circuit || next.power != previous.power
    {
        return order(format!(
            "the file belongs to ceremony {:?}, circuit {:?}, power {}; the previous one to {:?}, {:?}, {}",
            next.ceremony, next.circuit, next.power, previous.ceremony, previous.circuit, previous.power
        ));
    }
    if Some(next.index) != previous.index.checked_add(1) {
        return order(format!(
            "the file is contribution {}, so it cannot follow state {}",
            next.index, previous.index
        ));
    }
    let previous_digest = previous.digest();
    if next.previous != previous_digest {
        return order(format!(
            "the file extends state {}, not {previous_digest} (a stale transcript?)",
            next.previous
        ));
    }
    let Some(proof) = &next.proof else {
        return Err(CeremonyError::Malformed {
            what: "contribution file",
            reason: "it carries no proof of knowledge".into(),
        });
    };
    let c = challenge(&next.ceremony, next.phase(), &next.contributor, &next.previous);
    check_step(&previous.heads(), &next.heads(), proof, &c)?;
    match (&previous.kind, &next.kind) {
        (FileKind::Powers(a), FileKind::Powers(b)) => phase1::verify_update(a, b, rng),
        (FileKind::Circuit(a), FileKind::Circuit(b)) => phase2::verify_update(a, b, rng),
        _ => order("the files are of different phases".into()),
    }
}

/// What a contribution does to the heads alone, with fresh secrets (wiped on return): the
/// ledger's view of a contribution. For tests of the ledger's rules, which never see the files;
/// it makes no usable keys.
#[doc(hidden)]
pub fn contribute_heads(
    before: &Heads,
    challenge: &Hash,
    rng: &mut impl CryptoRngCore,
) -> (Heads, ContributionProof) {
    let mul1 = |p: &G1Affine, x: &Fr| (*p * x).into_affine();
    let mul2 = |p: &G2Affine, x: &Fr| (*p * x).into_affine();
    match before {
        Heads::Powers {
            tau_g1,
            tau_g2,
            alpha_g1,
            beta_g1,
            beta_g2,
        } => {
            let s: [zeroize::Zeroizing<Fr>; 3] =
                std::array::from_fn(|_| zeroize::Zeroizing::new(nonzero_secret(rng)));
            let proof = ContributionProof {
                secrets: vec![
                    Knowledge::prove(&s[0], challenge, "tau", rng),
                    Knowledge::prove(&s[1], challenge, "alpha", rng),
                    Knowledge::prove(&s[2], challenge, "beta", rng),
                ],
            };
            let heads = Heads::Powers {
                tau_g1: mul1(tau_g1, &s[0]),
                tau_g2: mul2(tau_g2, &s[0]),
                alpha_g1: mul1(alpha_g1, &s[1]),
                beta_g1: mul1(beta_g1, &s[2]),
                beta_g2: mul2(beta_g2, &s[2]),
            };
            (heads, proof)
        }
        Heads::Circuit { delta_g1, delta_g2 } => {
            let d = zeroize::Zeroizing::new(nonzero_secret(rng));
            let proof = ContributionProof {
                secrets: vec![Knowledge::prove(&d, challenge, "delta", rng)],
            };
            let heads = Heads::Circuit {
                delta_g1: mul1(delta_g1, &d),
                delta_g2: mul2(delta_g2, &d),
            };
            (heads, proof)
        }
    }
}

/// A verifying key of `shape` whose α, β, γ, δ are the heads' and whose input points are random:
/// what [`check_final_key`] accepts. For tests of the ledger's rules; no proof verifies under it.
#[doc(hidden)]
pub fn key_for_heads(
    shape: crate::unlinkable::CircuitShape,
    version: u32,
    powers: &Heads,
    circuit: &Heads,
    rng: &mut impl CryptoRngCore,
) -> Result<crate::unlinkable::VerifyingKey, crate::ZkError> {
    let (alpha_g1, beta_g2, delta_g2) =
        final_heads(powers, circuit).map_err(|e| crate::ZkError::Internal {
            reason: e.to_string(),
        })?;
    let inputs = crate::unlinkable::public_input_count(shape) + 1;
    let raw = ark_groth16::VerifyingKey::<Bn254> {
        alpha_g1: *alpha_g1,
        beta_g2: *beta_g2,
        gamma_g2: G2Affine::generator(),
        delta_g2: *delta_g2,
        gamma_abc_g1: (0..inputs)
            .map(|_| (G1Affine::generator() * nonzero_secret(rng)).into_affine())
            .collect(),
    };
    crate::unlinkable::VerifyingKey::from_bytes(&shape.id(), version, &to_bytes(&raw))
}

/// `e(a₀, b₁) = e(a₁, b₀)`: `a₁/a₀` and `b₁/b₀` are the same secret.
fn same_ratio(
    a0: &G1Affine,
    a1: &G1Affine,
    b0: &G2Affine,
    b1: &G2Affine,
    what: &'static str,
) -> Result<(), CeremonyError> {
    if Bn254::pairing(a0, b1) == Bn254::pairing(a1, b0) {
        Ok(())
    } else {
        Err(CeremonyError::Inconsistent { what })
    }
}

/// Random linear combinations `(Σ rᵢ·xᵢ, Σ rᵢ·yᵢ)` of two equally long G1 sequences.
fn combine_g1(x: &[G1Affine], y: &[G1Affine], rng: &mut impl CryptoRngCore) -> (G1Affine, G1Affine) {
    let r = random_scalars(x.len(), rng);
    (
        G1Projective::msm_unchecked(x, &r).into_affine(),
        G1Projective::msm_unchecked(y, &r).into_affine(),
    )
}

/// [`combine_g1`] in G2.
fn combine_g2(x: &[G2Affine], y: &[G2Affine], rng: &mut impl CryptoRngCore) -> (G2Affine, G2Affine) {
    let r = random_scalars(x.len(), rng);
    (
        G2Projective::msm_unchecked(x, &r).into_affine(),
        G2Projective::msm_unchecked(y, &r).into_affine(),
    )
}

fn random_scalars(n: usize, rng: &mut impl CryptoRngCore) -> Vec<Fr> {
    let mut rng = crate::unlinkable::RngAdapter(rng);
    (0..n).map(|_| Fr::rand(&mut rng)).collect()
}

fn nonzero_g1(p: &G1Affine, what: &'static str) -> Result<(), CeremonyError> {
    if p.is_zero() {
        return Err(at_infinity(what));
    }
    Ok(())
}

fn nonzero_g2(p: &G2Affine, what: &'static str) -> Result<(), CeremonyError> {
    if p.is_zero() {
        return Err(at_infinity(what));
    }
    Ok(())
}

fn at_infinity(what: &'static str) -> CeremonyError {
    CeremonyError::Malformed {
        what,
        reason: "a point is at infinity (a zero secret would erase the transcript)".into(),
    }
}

/// A secret scalar that is never zero (a zero secret would erase the transcript).
fn nonzero_secret(rng: &mut impl CryptoRngCore) -> Fr {
    let mut rng = crate::unlinkable::RngAdapter(rng);
    loop {
        let x = Fr::rand(&mut rng);
        if !x.is_zero() {
            return x;
        }
    }
}

fn to_bytes(v: &impl CanonicalSerialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.compressed_size());
    v.serialize_compressed(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

fn from_bytes<T: CanonicalDeserialize>(bytes: &[u8], what: &'static str) -> Result<T, CeremonyError> {
    let mut reader = bytes;
    let v = T::deserialize_compressed(&mut reader).map_err(|e| CeremonyError::Malformed {
        what,
        reason: e.to_string(),
    })?;
    if !reader.is_empty() {
        return Err(CeremonyError::Malformed {
            what,
            reason: format!("{} bytes after the end", reader.len()),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests;

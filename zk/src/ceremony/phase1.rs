//! Phase 1: the powers of tau.

use super::{CeremonyError, ContributionProof, Heads, Knowledge, combine_g1, combine_g2, nonzero_secret};
use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_core::CryptoRngCore;
use rayon::prelude::*;
use schemas::Hash;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The powers of tau for domains up to `2^power`: `[τ^i]₁` for `i < 2·2^power − 1` (the H query
/// of a domain of `2^power` needs `τ^(2m−2)`), `[τ^i]₂`, `[ατ^i]₁`, `[βτ^i]₁` for `i < 2^power`,
/// and `[β]₂`.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Powers {
    pub(super) tau_g1: Vec<G1Affine>,
    pub(super) tau_g2: Vec<G2Affine>,
    pub(super) alpha_g1: Vec<G1Affine>,
    pub(super) beta_g1: Vec<G1Affine>,
    pub(super) beta_g2: G2Affine,
}

/// A phase-1 contributor's secrets, wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Secrets {
    tau: Fr,
    alpha: Fr,
    beta: Fr,
}

impl Powers {
    /// The powers before any contribution (every secret 1: each point a generator).
    pub fn initial(power: u8) -> Self {
        let m = 1usize << power;
        Powers {
            tau_g1: vec![G1Affine::generator(); 2 * m - 1],
            tau_g2: vec![G2Affine::generator(); m],
            alpha_g1: vec![G1Affine::generator(); m],
            beta_g1: vec![G1Affine::generator(); m],
            beta_g2: G2Affine::generator(),
        }
    }

    /// The domain size `2^power` these powers serve, or an error if the vectors' lengths are not
    /// those of one `power` (a decoded file is checked with this).
    pub(super) fn check_lengths(&self, power: u8) -> Result<(), CeremonyError> {
        let m = 1usize << power;
        let ok = self.tau_g1.len() == 2 * m - 1
            && self.tau_g2.len() == m
            && self.alpha_g1.len() == m
            && self.beta_g1.len() == m;
        if ok {
            Ok(())
        } else {
            Err(CeremonyError::Malformed {
                what: "powers of tau",
                reason: format!(
                    "{} G1, {} G2, {} α and {} β powers; power {power} needs {}, {m}, {m}, {m}",
                    self.tau_g1.len(),
                    self.tau_g2.len(),
                    self.alpha_g1.len(),
                    self.beta_g1.len(),
                    2 * m - 1
                ),
            })
        }
    }

    /// The points that carry the secrets.
    pub(super) fn heads(&self) -> Heads {
        Heads::Powers {
            tau_g1: self.tau_g1[1],
            tau_g2: self.tau_g2[1],
            alpha_g1: self.alpha_g1[0],
            beta_g1: self.beta_g1[0],
            beta_g2: self.beta_g2,
        }
    }

    /// Applies fresh secrets `(t, a, b)` drawn from `rng` and proves knowledge of them for
    /// `challenge`. The secrets are wiped before this returns. `progress` is told the fraction
    /// done.
    pub(super) fn contribute(
        &self,
        challenge: &Hash,
        rng: &mut impl CryptoRngCore,
        progress: &(dyn Fn(f64) + Sync),
    ) -> (Powers, ContributionProof) {
        let s = Secrets {
            tau: nonzero_secret(rng),
            alpha: nonzero_secret(rng),
            beta: nonzero_secret(rng),
        };
        let proof = ContributionProof {
            secrets: vec![
                Knowledge::prove(&s.tau, challenge, "tau", rng),
                Knowledge::prove(&s.alpha, challenge, "alpha", rng),
                Knowledge::prove(&s.beta, challenge, "beta", rng),
            ],
        };
        let mut powers = zeroize::Zeroizing::new(powers_of(&s.tau, self.tau_g1.len()));
        progress(0.05);
        let tau_g1 = scale_g1(&self.tau_g1, &powers, &Fr::one());
        progress(0.45);
        let alpha_g1 = scale_g1(&self.alpha_g1, &powers[..self.alpha_g1.len()], &s.alpha);
        progress(0.6);
        let beta_g1 = scale_g1(&self.beta_g1, &powers[..self.beta_g1.len()], &s.beta);
        progress(0.75);
        let tau_g2 = scale_g2(&self.tau_g2, &powers[..self.tau_g2.len()]);
        let beta_g2 = (self.beta_g2 * s.beta).into_affine();
        powers.zeroize();
        progress(1.0);
        (
            Powers {
                tau_g1,
                tau_g2,
                alpha_g1,
                beta_g1,
                beta_g2,
            },
            proof,
        )
    }
}

/// `1, x, x², …` (`n` of them).
fn powers_of(x: &Fr, n: usize) -> Vec<Fr> {
    let mut out = Vec::with_capacity(n);
    let mut p = Fr::one();
    for _ in 0..n {
        out.push(p);
        p *= x;
    }
    out
}

fn scale_g1(points: &[G1Affine], powers: &[Fr], factor: &Fr) -> Vec<G1Affine> {
    let scaled: Vec<G1Projective> = points
        .par_iter()
        .zip(powers)
        .map(|(p, x)| *p * (*x * factor))
        .collect();
    G1Projective::normalize_batch(&scaled)
}

fn scale_g2(points: &[G2Affine], powers: &[Fr]) -> Vec<G2Affine> {
    let scaled: Vec<G2Projective> = points.par_iter().zip(powers).map(|(p, x)| *p * x).collect();
    G2Projective::normalize_batch(&scaled)
}

/// Checks every point of `next` against `previous` (whose heads [`super::check_step`] has
/// already related): the first power of each sequence is the generator or the head, and each
/// sequence goes up by the same τ, batched in random linear combinations.
pub(super) fn verify_update(
    previous: &Powers,
    next: &Powers,
    rng: &mut impl CryptoRngCore,
) -> Result<(), CeremonyError> {
    if next.tau_g1.len() != previous.tau_g1.len()
        || next.tau_g2.len() != previous.tau_g2.len()
        || next.alpha_g1.len() != previous.alpha_g1.len()
        || next.beta_g1.len() != previous.beta_g1.len()
    {
        return Err(CeremonyError::Malformed {
            what: "powers of tau",
            reason: "the contribution has other lengths than the state it extends".into(),
        });
    }
    verify_powers(next, rng)
}

/// The powers are consistent among themselves: `[τ^i]₁`, `[τ^i]₂`, `[ατ^i]₁`, `[βτ^i]₁` go up by
/// the τ of `[τ]₂`, and start at the generators (τ) or at `[α]₁`, `[β]₁`.
pub(super) fn verify_powers(p: &Powers, rng: &mut impl CryptoRngCore) -> Result<(), CeremonyError> {
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    if p.tau_g1[0] != g1 || p.tau_g2[0] != g2 {
        return Err(CeremonyError::Inconsistent {
            what: "the first power is not the generator",
        });
    }
    let tau_g2 = p.tau_g2[1];
    let tau_g1 = p.tau_g1[1];
    // [τ^(i+1)]₁ = τ·[τ^i]₁ for every i: e(Σrᵢ[τ^(i+1)]₁, g₂) = e(Σrᵢ[τ^i]₁, [τ]₂).
    let n = p.tau_g1.len();
    let (up, down) = combine_g1(&p.tau_g1[1..], &p.tau_g1[..n - 1], rng);
    super::same_ratio(&down, &up, &g2, &tau_g2, "[τ^i]₁")?;
    for (seq, what) in [(&p.alpha_g1, "[ατ^i]₁"), (&p.beta_g1, "[βτ^i]₁")] {
        let m = seq.len();
        let (up, down) = combine_g1(&seq[1..], &seq[..m - 1], rng);
        super::same_ratio(&down, &up, &g2, &tau_g2, what)?;
    }
    let m = p.tau_g2.len();
    let (up, down) = combine_g2(&p.tau_g2[1..], &p.tau_g2[..m - 1], rng);
    super::same_ratio(&g1, &tau_g1, &down, &up, "[τ^i]₂")?;
    // [β]₂ carries the β of [β]₁.
    super::same_ratio(&g1, &p.beta_g1[0], &g2, &p.beta_g2, "[β]₂")?;
    Ok(())
}

//! Proof of knowledge of a contribution's secret `x`, bound to a challenge (BGM17 §3).
//!
//! The prover draws `s`, publishes `[s]₁` and `[s·x]₁`, derives `R = H(challenge, tag, [s]₁,
//! [s·x]₁)` in G2 (a point nobody knows the discrete logarithm of) and publishes `x·R`. The
//! verifier checks `e([s]₁, x·R) = e([s·x]₁, R)`. Knowing `x·R` for a fresh `R` requires knowing
//! `x` (in the algebraic group model); `R` depends on the challenge, so a proof is valid for one
//! transcript position and contributor only. The pair `(R, x·R)` then lets anyone check that the
//! contribution applied this `x`: `e(new, R) = e(old, x·R)`.

use super::CeremonyError;
use ark_bn254::{Bn254, Fr, G1Affine, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::UniformRand;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, SeedableRng};
use schemas::Hash;

/// Size of a compressed [`Knowledge`].
pub(super) const KNOWLEDGE_BYTES: usize = 32 + 32 + 64;

/// A proof of knowledge of one secret.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Knowledge {
    /// `[s]₁`.
    pub s_g1: G1Affine,
    /// `[s·x]₁`.
    pub sx_g1: G1Affine,
    /// `x·R`.
    pub x_r_g2: G2Affine,
}

impl Knowledge {
    /// Proves knowledge of `x` for `challenge`; `tag` names the secret (`"tau"`, `"alpha"`, ...).
    pub(super) fn prove(x: &Fr, challenge: &Hash, tag: &str, rng: &mut impl CryptoRngCore) -> Self {
        let s = zeroize::Zeroizing::new(super::nonzero_secret(rng));
        let s_g1 = (G1Affine::generator() * *s).into_affine();
        let sx_g1 = (s_g1 * x).into_affine();
        let r = point(challenge, tag, &s_g1, &sx_g1);
        Knowledge {
            s_g1,
            sx_g1,
            x_r_g2: (r * x).into_affine(),
        }
    }

    /// Verifies the proof and returns `(R, x·R)` for the ratio checks of the contribution.
    pub(super) fn verify(
        &self,
        challenge: &Hash,
        tag: &str,
        secret: &'static str,
    ) -> Result<(G2Affine, G2Affine), CeremonyError> {
        if self.s_g1.is_zero() || self.sx_g1.is_zero() || self.x_r_g2.is_zero() {
            return Err(CeremonyError::Knowledge { secret });
        }
        let r = point(challenge, tag, &self.s_g1, &self.sx_g1);
        if Bn254::pairing(self.s_g1, self.x_r_g2) != Bn254::pairing(self.sx_g1, r) {
            return Err(CeremonyError::Knowledge { secret });
        }
        Ok((r, self.x_r_g2))
    }
}

/// `R`: a G2 point drawn by ChaCha20 seeded with `SM3(domain ‖ challenge ‖ tag ‖ [s]₁ ‖ [s·x]₁)`
/// (a random x-coordinate, then the cofactor cleared), so its discrete logarithm is unknown.
fn point(challenge: &Hash, tag: &str, s: &G1Affine, sx: &G1Affine) -> G2Affine {
    let mut points = Vec::with_capacity(64);
    s.serialize_compressed(&mut points)
        .expect("writing to a Vec cannot fail");
    sx.serialize_compressed(&mut points)
        .expect("writing to a Vec cannot fail");
    let seed = schemas::hash::hash_parts(
        POINT_DOMAIN,
        &[challenge.as_bytes(), &[tag.len() as u8], tag.as_bytes(), &points],
    );
    let mut rng = ChaCha20Rng::from_seed(*seed.as_bytes());
    G2Projective::rand(&mut rng).into_affine()
}

const POINT_DOMAIN: schemas::hash::Domain = schemas::hash::Domain::new("credence/ceremony-pok-point/v1");

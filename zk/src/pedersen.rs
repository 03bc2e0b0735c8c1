//! Pedersen commitments on Ristretto to numeric attributes.
//!
//! `C = x·B + r·B̃` with the `bulletproofs` generators (`B` the Ristretto basepoint, `B̃` its
//! SHA3-512 hash to the group), so the same commitments feed range proofs. `x` is the
//! attribute's signed integer encoding, mapped into the scalar field (`-x` as `l - x`).
//! Committing uses precomputed basepoint tables for both generators (two fixed-base
//! multiplications instead of one variable-base multi-scalar multiplication).
//!
//! Invariant: a [`Blinding`] is zeroized on drop, never printed, and crosses into `schemas` only
//! as the 32-byte opening randomness of the holder's own credential.

use crate::ZkError;
use bulletproofs::PedersenGens;
use core::fmt;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRngCore;
use schemas::credential::PedersenCommitment;
use std::sync::OnceLock;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A commitment's blinding factor.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Blinding(pub(crate) Scalar);

impl Blinding {
    /// A uniformly random blinding.
    pub fn random(rng: &mut impl CryptoRngCore) -> Self {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        let b = Blinding(Scalar::from_bytes_mod_order_wide(&wide));
        wide.zeroize();
        b
    }

    /// Parses the 32-byte little-endian canonical scalar kept in an opening.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, ZkError> {
        Option::from(Scalar::from_canonical_bytes(*bytes))
            .map(Blinding)
            .ok_or(ZkError::InvalidBlinding)
    }

    /// The 32-byte encoding kept in an opening.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for Blinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blinding").finish_non_exhaustive()
    }
}

/// The generators with their precomputed tables.
pub(crate) struct Generators {
    pub(crate) pedersen: PedersenGens,
    value_table: RistrettoBasepointTable,
    blinding_table: RistrettoBasepointTable,
}

/// The process-wide generators (computed once; building the tables takes a few ms).
pub(crate) fn generators() -> &'static Generators {
    static GENS: OnceLock<Generators> = OnceLock::new();
    GENS.get_or_init(|| {
        let pedersen = PedersenGens::default();
        Generators {
            value_table: RistrettoBasepointTable::create(&pedersen.B),
            blinding_table: RistrettoBasepointTable::create(&pedersen.B_blinding),
            pedersen,
        }
    })
}

/// The scalar of a signed integer.
pub(crate) fn scalar_of(x: i64) -> Scalar {
    if x >= 0 {
        Scalar::from(x as u64)
    } else {
        -Scalar::from(x.unsigned_abs())
    }
}

pub(crate) fn commit_point(value: i64, blinding: &Blinding) -> RistrettoPoint {
    let g = generators();
    &scalar_of(value) * &g.value_table + &blinding.0 * &g.blinding_table
}

/// Commits to `value` with `blinding`.
pub fn commit(value: i64, blinding: &Blinding) -> PedersenCommitment {
    PedersenCommitment(commit_point(value, blinding).compress().to_bytes())
}

/// Commits to `value` with a fresh blinding.
pub fn commit_random(value: i64, rng: &mut impl CryptoRngCore) -> (PedersenCommitment, Blinding) {
    let blinding = Blinding::random(rng);
    (commit(value, &blinding), blinding)
}

/// Decompresses a commitment.
pub(crate) fn point(c: &PedersenCommitment) -> Result<RistrettoPoint, ZkError> {
    CompressedRistretto(c.0)
        .decompress()
        .ok_or(ZkError::InvalidCommitment)
}

/// Checks that `value` and `blinding` open `commitment`.
pub fn verify_opening(
    commitment: &PedersenCommitment,
    value: i64,
    blinding: &Blinding,
) -> Result<(), ZkError> {
    let c = point(commitment)?;
    if c == commit_point(value, blinding) {
        Ok(())
    } else {
        Err(ZkError::OpeningMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_agree_with_the_generators() {
        let b = Blinding::from_bytes(&[7; 32]).expect("canonical");
        for x in [0i64, 1, 372, -25_000, i64::MAX, i64::MIN] {
            let expected = generators().pedersen.commit(scalar_of(x), b.0);
            assert_eq!(commit_point(x, &b), expected, "x = {x}");
        }
    }

    #[test]
    fn openings_check_value_and_blinding() {
        let mut rng = rand_core::OsRng;
        let (c, b) = commit_random(372, &mut rng);
        verify_opening(&c, 372, &b).expect("opens");
        assert_eq!(verify_opening(&c, 373, &b), Err(ZkError::OpeningMismatch));
        let other = Blinding::random(&mut rng);
        assert_eq!(verify_opening(&c, 372, &other), Err(ZkError::OpeningMismatch));
        assert_eq!(
            Blinding::from_bytes(&[0xff; 32]).map(|_| ()),
            Err(ZkError::InvalidBlinding)
        );
        assert!(!format!("{b:?}").contains(&hex_of(&b.to_bytes())));
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

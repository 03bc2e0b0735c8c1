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
    /// 1/2 in the scalar field (for batch encoding).
    half: Scalar,
}

/// The process-wide generators (computed once; building the tables takes a few ms).
pub(crate) fn generators() -> &'static Generators {
    static GENS: OnceLock<Generators> = OnceLock::new();
    GENS.get_or_init(|| {
        let pedersen = PedersenGens::default();
        Generators {
            value_table: RistrettoBasepointTable::create(&pedersen.B),
            blinding_table: RistrettoBasepointTable::create(&pedersen.B_blinding),
            half: Scalar::from(2u8).invert(),
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

/// Commits to each value with a fresh blinding, in one batch: the encodings share one field
/// inversion instead of an inverse square root each (an issuer commits to millions).
///
/// Each point is built at half its scalars and encoded with Ristretto's double-and-encode,
/// which yields exactly `commit(x, r)`: `2·((x/2)·B + (r/2)·B̃) = x·B + r·B̃`.
pub fn commit_random_batch(
    values: &[i64],
    rng: &mut impl CryptoRngCore,
) -> Vec<(PedersenCommitment, Blinding)> {
    let blindings: Vec<Blinding> = values.iter().map(|_| Blinding::random(rng)).collect();
    let commitments = commit_batch(values, &blindings);
    commitments.into_iter().zip(blindings).collect()
}

/// [`commit`] for many values at once (`values` and `blindings` pair up in order).
pub fn commit_batch(values: &[i64], blindings: &[Blinding]) -> Vec<PedersenCommitment> {
    let g = generators();
    let half = g.half;
    let halves: Vec<RistrettoPoint> = values
        .iter()
        .zip(blindings)
        .map(|(x, b)| {
            let mut r = b.0 * half;
            let p = &(scalar_of(*x) * half) * &g.value_table + &r * &g.blinding_table;
            r.zeroize();
            p
        })
        .collect();
    RistrettoPoint::double_and_compress_batch(&halves)
        .into_iter()
        .map(|c| PedersenCommitment(c.to_bytes()))
        .collect()
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
    fn batch_commitments_equal_single_ones() {
        let mut rng = rand_core::OsRng;
        let values = [0i64, 1, 300, 20_270, -25_000, i64::MAX, i64::MIN];
        let batch = commit_random_batch(&values, &mut rng);
        assert_eq!(batch.len(), values.len());
        for (x, (c, b)) in values.iter().zip(&batch) {
            assert_eq!(*c, commit(*x, b), "x = {x}");
            verify_opening(c, *x, b).expect("opens");
        }
        assert!(commit_random_batch(&[], &mut rng).is_empty());
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

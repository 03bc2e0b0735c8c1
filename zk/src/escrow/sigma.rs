//! Proofs of equal discrete logarithms on Baby Jubjub, made non-interactive with SM3.
//!
//! One proof shows that the prover knows `x` with `Y_i = [x]B_i` for every base `B_i` it names:
//! with one base it is a Schnorr proof of knowledge (a dealer's constant term), with two a
//! Chaum–Pedersen proof (a decryption share, a complaint's revealed key).
//!
//! Prover: `k` random, `R_i = [k]B_i`, `c = H(domain, context, B_i, Y_i, R_i …)`,
//! `z = k + c·x`. Verifier: `R_i = [z]B_i − [c]Y_i`, and `c` must equal the hash. The challenge
//! is 512 bits of SM3 output reduced modulo the group order (no visible bias). Every point in
//! the hash is its 32-byte compressed encoding, so the hashed bytes have one parse; the context
//! names the council and the act (which dealer, which member, which opening), so a proof made for
//! one act fails for any other.

use super::{Point, Scalar, point_bytes, scalar_bytes, wide_scalar};
use ark_ec::CurveGroup;
use ark_ff::UniformRand;
use rand_core::CryptoRngCore;
use schemas::hash::Domain;
use zeroize::Zeroizing;

/// Size of an encoded proof: the challenge and the response.
pub const PROOF_BYTES: usize = 64;

/// A proof of equal discrete logarithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EqualLogs {
    c: Scalar,
    z: Scalar,
}

impl EqualLogs {
    /// Proves knowledge of `x` with `images[i] = [x]bases[i]`.
    pub(crate) fn prove(
        domain: Domain,
        context: &[u8],
        bases: &[Point],
        x: &Scalar,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let k = Zeroizing::new(Scalar::rand(&mut crate::unlinkable::RngAdapter(rng)));
        let images: Vec<Point> = bases.iter().map(|b| (*b * *x).into_affine()).collect();
        let commitments: Vec<Point> = bases.iter().map(|b| (*b * *k).into_affine()).collect();
        let c = challenge(domain, context, bases, &images, &commitments);
        EqualLogs { c, z: *k + c * x }
    }

    /// Whether the proof shows `images[i] = [x]bases[i]` for one `x`, in this context.
    pub(crate) fn verify(&self, domain: Domain, context: &[u8], bases: &[Point], images: &[Point]) -> bool {
        if bases.len() != images.len() {
            return false;
        }
        let commitments: Vec<Point> = bases
            .iter()
            .zip(images)
            .map(|(b, y)| (*b * self.z - *y * self.c).into_affine())
            .collect();
        challenge(domain, context, bases, images, &commitments) == self.c
    }

    /// `c ‖ z`, each 32 bytes little endian.
    pub fn to_bytes(&self) -> [u8; PROOF_BYTES] {
        let mut out = [0u8; PROOF_BYTES];
        out[..32].copy_from_slice(&scalar_bytes(&self.c));
        out[32..].copy_from_slice(&scalar_bytes(&self.z));
        out
    }

    /// Parses [`EqualLogs::to_bytes`]; `None` unless both halves are canonical scalars.
    pub fn from_bytes(bytes: &[u8; PROOF_BYTES]) -> Option<Self> {
        let (c, z) = bytes.split_at(32);
        Some(EqualLogs {
            c: super::scalar_from_bytes(c.try_into().ok()?)?,
            z: super::scalar_from_bytes(z.try_into().ok()?)?,
        })
    }
}

fn challenge(
    domain: Domain,
    context: &[u8],
    bases: &[Point],
    images: &[Point],
    commitments: &[Point],
) -> Scalar {
    let mut bytes = Vec::with_capacity(context.len() + 2 + 96 * bases.len());
    bytes.extend_from_slice(&(bases.len() as u16).to_le_bytes());
    for ((b, y), r) in bases.iter().zip(images).zip(commitments) {
        bytes.extend_from_slice(&point_bytes(b));
        bytes.extend_from_slice(&point_bytes(y));
        bytes.extend_from_slice(&point_bytes(r));
    }
    bytes.extend_from_slice(context);
    wide_scalar(domain, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escrow::generator;
    use rand_core::OsRng;

    const D: Domain = Domain::new("credence/test-equal-logs/v1");

    #[test]
    fn honest_proofs_verify_and_every_change_is_refused() {
        let x = Scalar::rand(&mut crate::unlinkable::RngAdapter(&mut OsRng));
        let h = (generator() * Scalar::from(7u64)).into_affine();
        let bases = [generator(), h];
        let images: Vec<Point> = bases.iter().map(|b| (*b * x).into_affine()).collect();
        let proof = EqualLogs::prove(D, b"ctx", &bases, &x, &mut OsRng);
        assert!(proof.verify(D, b"ctx", &bases, &images));
        assert!(!proof.verify(D, b"other", &bases, &images), "another context");
        assert!(
            !proof.verify(Domain::new("credence/other/v1"), b"ctx", &bases, &images),
            "another domain"
        );
        let wrong = [images[0], (images[1] + generator()).into_affine()];
        assert!(!proof.verify(D, b"ctx", &bases, &wrong), "logs differ");
        assert!(!proof.verify(D, b"ctx", &bases[..1], &images), "lengths differ");
        let decoded = EqualLogs::from_bytes(&proof.to_bytes()).expect("round trip");
        assert_eq!(decoded, proof);
        let mut bytes = proof.to_bytes();
        bytes[40] ^= 1;
        if let Some(p) = EqualLogs::from_bytes(&bytes) {
            assert!(!p.verify(D, b"ctx", &bases, &images), "a flipped bit");
        }
        assert_eq!(EqualLogs::from_bytes(&[0xff; PROOF_BYTES]), None);
    }
}

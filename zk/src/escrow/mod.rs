//! Controllable anonymity: a holder's identity handle, encrypted inside an unlinkable proof to a
//! regulator council's key, that only `t` council members together can open.
//!
//! **The ciphertext** (hashed ElGamal on Baby Jubjub, the twisted Edwards curve over BN254's
//! scalar field, so the circuit computes it natively). `G` is the curve's prime-order generator,
//! `ℓ` its order, `K` the council's key.
//!
//! - encrypt a handle `h` (an attribute of the credential, a BN254 field element): `r` uniform in
//!   `[0, ℓ)`; `C1 = [r]G`; `S = [r]K`; `body = h + Poseidon(TAG_ESCROW, S.x, S.y)`;
//! - open: member `j` publishes `D_j = [x_j]C1` with a Chaum–Pedersen proof that
//!   `log_G X_j = log_C1 D_j` ([`sigma`]); any `t` valid shares give `S = Σ λ_j D_j` (Lagrange at
//!   0) and `h = body − Poseidon(TAG_ESCROW, S.x, S.y)`.
//!
//! Hiding: `S` is a Diffie–Hellman value of `C1` and `K`; without it the pad is a hash of a point
//! no one can compute (CDH on Baby Jubjub, Poseidon as a random oracle), so `body` says nothing of
//! `h`, and `C1` is a fresh random point, so two ciphertexts of one handle cannot be linked (DDH).
//! Binding: the circuit computes `C1`, `S` and `body` from the one `r` it is given and the handle
//! the credential's leaf holds, so every accepted ciphertext opens to that handle.
//!
//! **The council key** comes from a distributed key generation ([`council`]): no party, member or
//! node, ever holds the council's secret `x`; each member holds a share `x_j` of it on a
//! polynomial of degree `t − 1`, and `X_j = [x_j]G` is public.

pub mod council;
pub mod record;
pub mod sigma;

use crate::ZkError;
use crate::poseidon::{TAG_ESCROW, fr_from_bytes, fr_to_bytes, hash};
use ark_bn254::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, UniformRand};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use core::fmt;
use rand_core::CryptoRngCore;
use schemas::hash::{Domain, hash_parts};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A point of Baby Jubjub (affine).
pub type Point = ark_ed_on_bn254::EdwardsAffine;
/// A scalar of Baby Jubjub's prime-order subgroup (modulo `ℓ`).
pub type Scalar = ark_ed_on_bn254::Fr;

/// Bits of the encryption randomness inside the circuit: `ℓ < 2^251`.
pub const RANDOMNESS_BITS: usize = 251;

/// The prime-order subgroup's generator `G`.
pub fn generator() -> Point {
    Point::generator()
}

/// A point's 32-byte compressed encoding (`y` with the sign of `x`).
pub(crate) fn point_bytes(p: &Point) -> [u8; 32] {
    let mut out = [0u8; 32];
    p.serialize_compressed(&mut out[..])
        .expect("a compressed Baby Jubjub point is 32 bytes");
    out
}

/// Parses a compressed point that is on the curve, in the prime-order subgroup and not the
/// identity (a point with a small-order part would leak bits of whoever multiplies it by a
/// secret); `None` otherwise.
pub(crate) fn point_from_bytes(bytes: &[u8; 32]) -> Option<Point> {
    let p = Point::deserialize_compressed(&bytes[..]).ok()?;
    (!p.is_zero()).then_some(p)
}

pub(crate) fn scalar_bytes(s: &Scalar) -> [u8; 32] {
    let mut out = [0u8; 32];
    s.serialize_compressed(&mut out[..])
        .expect("a Baby Jubjub scalar is 32 bytes");
    out
}

/// A canonical scalar (below `ℓ`), or `None`.
pub(crate) fn scalar_from_bytes(bytes: &[u8; 32]) -> Option<Scalar> {
    Scalar::deserialize_compressed(&bytes[..]).ok()
}

/// A scalar from 512 bits of SM3 output: `SM3(tag, 0, data) ‖ SM3(tag, 1, data)` mod `ℓ`.
pub(crate) fn wide_scalar(domain: Domain, data: &[u8]) -> Scalar {
    let mut wide = [0u8; 64];
    wide[..32].copy_from_slice(hash_parts(domain, &[&[0], data]).as_bytes());
    wide[32..].copy_from_slice(hash_parts(domain, &[&[1], data]).as_bytes());
    Scalar::from_le_bytes_mod_order(&wide)
}

fn random_scalar(rng: &mut impl CryptoRngCore) -> Scalar {
    Scalar::rand(&mut crate::unlinkable::RngAdapter(rng))
}

fn malformed(what: &'static str, reason: impl Into<String>) -> ZkError {
    ZkError::MalformedEscrow {
        what,
        reason: reason.into(),
    }
}

/// The regulator council's public key `K` (never the identity, always in the subgroup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CouncilKey(pub(crate) Point);

impl CouncilKey {
    /// The 32-byte compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        point_bytes(&self.0)
    }

    /// Parses a council key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, ZkError> {
        point_from_bytes(bytes).map(CouncilKey).ok_or_else(|| {
            malformed(
                "council key",
                "not a point of Baby Jubjub's prime-order subgroup, or the identity",
            )
        })
    }

    /// The affine coordinates, as the circuit takes them.
    pub(crate) fn coordinates(&self) -> (Fr, Fr) {
        (self.0.x, self.0.y)
    }
}

/// An escrow ciphertext: `C1 = [r]G` and `body = h + Poseidon(TAG_ESCROW, [r]K)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    pub(crate) c1: Point,
    pub(crate) body: Fr,
}

impl Ciphertext {
    /// Size of the encoding.
    pub const BYTES: usize = 64;

    /// `C1` compressed, then `body` as 32 bytes little endian.
    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut out = [0u8; Self::BYTES];
        out[..32].copy_from_slice(&point_bytes(&self.c1));
        out[32..].copy_from_slice(&fr_to_bytes(&self.body));
        out
    }

    /// Parses a ciphertext: `C1` a subgroup point other than the identity (an identity `C1`
    /// would mean `r = 0`, a handle anyone can read), `body` a canonical field element.
    pub fn from_bytes(bytes: &[u8; Self::BYTES]) -> Result<Self, ZkError> {
        let (c1, body) = bytes.split_at(32);
        let c1 = point_from_bytes(c1.try_into().expect("32 bytes")).ok_or_else(|| {
            malformed(
                "escrow ciphertext",
                "its first point is not in Baby Jubjub's prime-order subgroup, or is the identity",
            )
        })?;
        let body = fr_from_bytes(body.try_into().expect("32 bytes"))
            .ok_or_else(|| malformed("escrow ciphertext", "its body is not a BN254 field element"))?;
        Ok(Ciphertext { c1, body })
    }

    /// The public inputs it adds to the circuit: `C1.x, C1.y, body`.
    pub(crate) fn coordinates(&self) -> (Fr, Fr, Fr) {
        (self.c1.x, self.c1.y, self.body)
    }
}

/// The randomness `r` of one encryption. Secret: with it anyone decrypts the ciphertext.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EscrowRandomness(pub(crate) Scalar);

impl EscrowRandomness {
    /// A fresh `r`, uniform below `ℓ`.
    pub fn random(rng: &mut impl CryptoRngCore) -> Self {
        EscrowRandomness(random_scalar(rng))
    }
}

impl fmt::Debug for EscrowRandomness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscrowRandomness").finish_non_exhaustive()
    }
}

/// The one-time pad of a shared point: `Poseidon(TAG_ESCROW, S.x, S.y)`.
fn pad(shared: &Point) -> Fr {
    hash(&[Fr::from(TAG_ESCROW), shared.x, shared.y])
}

/// Encrypts `handle` (already a field element) to `key` with randomness `r`.
pub fn encrypt(key: &CouncilKey, handle: Fr, r: &EscrowRandomness) -> Ciphertext {
    let c1 = (generator() * r.0).into_affine();
    let shared = (key.0 * r.0).into_affine();
    Ciphertext {
        c1,
        body: handle + pad(&shared),
    }
}

/// Removes the pad once `S = [x]C1` is known (from `t` decryption shares).
pub(crate) fn decrypt_with(ct: &Ciphertext, shared: &Point) -> Fr {
    ct.body - pad(shared)
}

/// A recovered handle as the attribute value it encodes (the inverse of
/// [`crate::poseidon::fr_from_i64`]); `None` if it is no `i64`.
pub fn handle_value(f: &Fr) -> Option<i64> {
    let small = |v: &Fr| -> Option<u64> {
        let big = v.into_bigint();
        (big.0[1..].iter().all(|l| *l == 0)).then_some(big.0[0])
    };
    if let Some(v) = small(f).filter(|v| i64::try_from(*v).is_ok()) {
        return Some(v as i64);
    }
    let neg = small(&-*f)?;
    if neg == 1 << 63 {
        return Some(i64::MIN);
    }
    i64::try_from(neg).ok().filter(|v| *v > 0).map(|v| -v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poseidon::fr_from_i64;
    use ark_ff::Zero;
    use rand_core::OsRng;

    #[test]
    fn handles_round_trip_through_the_field() {
        for h in [0i64, 1, -1, 42, i64::MAX, i64::MIN, -(1 << 40)] {
            assert_eq!(handle_value(&fr_from_i64(h)), Some(h), "{h}");
        }
        assert_eq!(handle_value(&Fr::from(u64::MAX)), None);
        assert_eq!(handle_value(&-Fr::from(u64::MAX)), None);
    }

    #[test]
    fn encodings_refuse_identity_small_order_and_non_canonical_values() {
        let key = CouncilKey((generator() * Scalar::from(5u64)).into_affine());
        let ct = encrypt(&key, Fr::from(9u64), &EscrowRandomness::random(&mut OsRng));
        assert_eq!(Ciphertext::from_bytes(&ct.to_bytes()), Ok(ct));
        assert_eq!(CouncilKey::from_bytes(&key.to_bytes()), Ok(key));
        // The identity.
        let identity = point_bytes(&Point::zero());
        assert!(CouncilKey::from_bytes(&identity).is_err());
        let mut bytes = ct.to_bytes();
        bytes[..32].copy_from_slice(&identity);
        assert!(Ciphertext::from_bytes(&bytes).is_err());
        // A point of order 2 ((0, −1)) is on the curve but outside the subgroup.
        let order_two = Point::new_unchecked(Fr::zero(), -<Fr as ark_ff::One>::one());
        assert!(order_two.is_on_curve());
        let mut enc = [0u8; 32];
        order_two.serialize_compressed(&mut enc[..]).expect("32 bytes");
        assert!(CouncilKey::from_bytes(&enc).is_err());
        // A body at or above the field's modulus.
        let mut bytes = ct.to_bytes();
        bytes[32..].copy_from_slice(&[0xff; 32]);
        assert!(Ciphertext::from_bytes(&bytes).is_err());
    }
}

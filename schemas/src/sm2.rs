//! SM2 (GB/T 32918) signatures with SM3 and the default distinguishing id.
//!
//! Keys import and export as PKCS#8 (secret) and SPKI (public), DER or PEM, the forms OpenSSL 3,
//! GmSSL and HSMs read, so a signature made here verifies there and back.
//!
//! Invariants:
//! - a [`SecretKey`] is zeroized when dropped, has no `Clone`, `Serialize` or `Display`, and its
//!   `Debug` shows only the public key;
//! - a [`PublicKey`] is always a valid point on the SM2 curve (checked when parsed) and caches
//!   its `Z_A` digest, so verification does not recompute it;
//! - every structured signature signs `len(tag) || tag || message` ([`crate::hash::Domain`]), so
//!   a signature made for one purpose never verifies for another.

use crate::hash::Domain;
use core::fmt;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use zeroize::Zeroizing;

/// The SM2 default distinguishing identifier (GB/T 35276), as OpenSSL uses it.
pub const DEFAULT_DIST_ID: &str = "1234567812345678";

/// Length of an uncompressed SEC1 public key (`0x04 || x || y`).
pub const PUBLIC_KEY_LEN: usize = 65;

/// Length of a signature (`r || s`, big endian).
pub const SIGNATURE_LEN: usize = 64;

/// What was wrong with a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Bytes that are not an SM2 public key.
    #[error("invalid SM2 public key: expected 65 bytes 0x04||x||y of a point on the SM2 curve")]
    InvalidPublicKey,
    /// Bytes that are not an SM2 secret key.
    #[error("invalid SM2 secret key: expected a 32-byte scalar in [1, n-1]")]
    InvalidSecretKey,
    /// A DER or PEM document that is not an SM2 key of the expected kind.
    #[error("invalid {what}: {reason}")]
    Document {
        /// Which document was expected, e.g. "PKCS#8 PEM private key".
        what: &'static str,
        /// What the parser reported.
        reason: String,
    },
    /// Bytes that are not a signature.
    #[error("invalid SM2 signature encoding: expected 64 bytes r||s with r, s in [1, n-1]")]
    InvalidSignature,
    /// A well-formed signature that does not verify.
    #[error("SM2 signature does not verify for this key and message")]
    BadSignature,
}

/// An SM2 public key with its cached `Z_A` (default distinguishing id).
#[derive(Clone)]
pub struct PublicKey {
    key: sm2::dsa::VerifyingKey,
    sec1: [u8; PUBLIC_KEY_LEN],
    /// `Z_A` for [`DEFAULT_DIST_ID`] (GB/T 32918.2 §5.5), for the variable-time verification.
    z: [u8; 32],
}

/// `Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)` (GB/T 32918.2 §5.5) for
/// the default distinguishing id; `sec1` is `0x04 || x_A || y_A`.
fn identity_digest(sec1: &[u8; PUBLIC_KEY_LEN]) -> [u8; 32] {
    use primeorder::PrimeCurveParams as _;
    use sm3::Digest as _;
    const ENTL: u16 = (DEFAULT_DIST_ID.len() * 8) as u16;
    let mut h = sm3::Sm3::new();
    h.update(ENTL.to_be_bytes());
    h.update(DEFAULT_DIST_ID.as_bytes());
    h.update(sm2::Sm2::EQUATION_A.to_bytes());
    h.update(sm2::Sm2::EQUATION_B.to_bytes());
    h.update(sm2::Sm2::GENERATOR.0.to_bytes());
    h.update(sm2::Sm2::GENERATOR.1.to_bytes());
    h.update(&sec1[1..]);
    h.finalize().into()
}

/// Multiples of one public key, precomputed so that verifying its signatures costs about a
/// third of a plain verification: `[t]P` becomes 66 table additions instead of 256 doublings
/// and ~50 additions (the same radix-16 method, with tables spaced by 2⁸, that `sm2` uses for
/// the generator). About 26 KB; building one costs about three verifications, so it pays for
/// keys that sign many transactions (issuers, governance members, validators).
pub struct VerifyTable {
    key: [u8; PUBLIC_KEY_LEN],
    tables: Box<[primeorder::LookupTable<sm2::ProjectivePoint>; VERIFY_TABLES]>,
}

/// One table per byte of the scalar, and one for the top digit.
const VERIFY_TABLES: usize = 33;

impl VerifyTable {
    /// Precomputes `key`'s multiples.
    pub fn new(key: &PublicKey) -> Self {
        use primeorder::elliptic_curve::group::Group as _;
        let mut base = sm2::ProjectivePoint::from(*key.key.as_affine());
        let tables = Box::new(core::array::from_fn(|_| {
            let t = primeorder::LookupTable::new(base);
            for _ in 0..8 {
                base = base.double();
            }
            t
        }));
        VerifyTable {
            key: key.sec1,
            tables,
        }
    }

    /// `[k]P` in variable time (`k` is public: it is `r + s` of a signature).
    fn mul(&self, k: &sm2::Scalar) -> sm2::ProjectivePoint {
        let digits = primeorder::Radix16Decomposition::<primeorder::Radix16Digits<sm2::Sm2>>::new(k);
        let n = VERIFY_TABLES - 1;
        let mut even = self.tables[n].select_vartime(digits[n * 2]);
        let mut odd = sm2::ProjectivePoint::IDENTITY;
        for i in (0..n).rev() {
            odd += &self.tables[i].select_vartime(digits[i * 2 + 1]);
            even += &self.tables[i].select_vartime(digits[i * 2]);
        }
        for _ in 0..4 {
            odd = primeorder::elliptic_curve::group::Group::double(&odd);
        }
        even + odd
    }
}

impl PublicKey {
    /// Parses an uncompressed (65 bytes) or compressed (33 bytes) SEC1 point.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(DEFAULT_DIST_ID, bytes)
            .map_err(|_| KeyError::InvalidPublicKey)?;
        Ok(Self::from_verifying_key(key))
    }

    fn from_verifying_key(key: sm2::dsa::VerifyingKey) -> Self {
        let encoded = key.to_sec1_bytes();
        let mut sec1 = [0u8; PUBLIC_KEY_LEN];
        // An uncompressed point on a 256-bit curve is always 65 bytes.
        assert_eq!(encoded.len(), PUBLIC_KEY_LEN, "uncompressed SM2 point length");
        sec1.copy_from_slice(&encoded);
        let z = identity_digest(&sec1);
        PublicKey { key, sec1, z }
    }

    /// The uncompressed SEC1 encoding `0x04 || x || y`.
    pub fn to_sec1(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.sec1
    }

    /// Parses an SPKI DER document.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let pk = sm2::PublicKey::from_public_key_der(der).map_err(|e| KeyError::Document {
            what: "SPKI DER public key",
            reason: e.to_string(),
        })?;
        Self::from_public(pk)
    }

    /// Parses an SPKI PEM document (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        let pk = sm2::PublicKey::from_public_key_pem(pem).map_err(|e| KeyError::Document {
            what: "SPKI PEM public key",
            reason: e.to_string(),
        })?;
        Self::from_public(pk)
    }

    fn from_public(pk: sm2::PublicKey) -> Result<Self, KeyError> {
        let key = sm2::dsa::VerifyingKey::new(DEFAULT_DIST_ID, pk).map_err(|_| KeyError::InvalidPublicKey)?;
        Ok(Self::from_verifying_key(key))
    }

    /// The SPKI DER document.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.key
            .to_public_key_der()
            .expect("a valid SM2 point always has an SPKI encoding")
            .into_vec()
    }

    /// The SPKI PEM document.
    pub fn to_spki_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .expect("a valid SM2 point always has an SPKI encoding")
    }

    /// Verifies an SM2 signature over the raw message `msg` (SM3 with `Z_A`, as OpenSSL's
    /// `pkeyutl -verify -rawin -digest sm3`).
    ///
    /// GB/T 32918.2 §7.1 in variable time (every input is public): `[s]G` from the generator's
    /// table, `[t]P` by wNAF, or from `table` when one is given for this key.
    pub fn verify_raw(&self, msg: &[u8], sig: &Signature) -> Result<(), KeyError> {
        self.verify_raw_with(None, msg, sig)
    }

    fn verify_raw_with(
        &self,
        table: Option<&VerifyTable>,
        msg: &[u8],
        sig: &Signature,
    ) -> Result<(), KeyError> {
        use primeorder::elliptic_curve::group::Group as _;
        use primeorder::elliptic_curve::ops::{MulByGeneratorVartime as _, Reduce as _};
        use primeorder::elliptic_curve::point::AffineCoordinates as _;
        use sm3::Digest as _;
        // B1, B2: r and s in [1, n − 1] (checked when the signature is parsed).
        let sig = sig.to_sm2()?;
        let (r, s) = (*sig.r(), *sig.s());
        // B3, B4: e = SM3(Z_A || M).
        let mut h = sm3::Sm3::new_with_prefix(self.z);
        h.update(msg);
        let e = sm2::Scalar::reduce(&h.finalize());
        // B5: t = r + s mod n, not zero.
        let t = r + s;
        if bool::from(primeorder::elliptic_curve::Field::is_zero(&t)) {
            return Err(KeyError::BadSignature);
        }
        // B6: (x1, y1) = [s]G + [t]P, not the point at infinity.
        let point = match table {
            Some(table) => sm2::ProjectivePoint::mul_by_generator_vartime(&s) + table.mul(&t),
            None => sm2::ProjectivePoint::mul_by_generator_and_mul_add_vartime(
                &s,
                &t,
                &sm2::ProjectivePoint::from(*self.key.as_affine()),
            ),
        };
        if bool::from(point.is_identity()) {
            return Err(KeyError::BadSignature);
        }
        // B7: R = e + x1 mod n equals r.
        if r == e + sm2::Scalar::reduce(&point.to_affine().x()) {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }

    /// Verifies with the `sm2` crate's own (constant-time) implementation: the reference the
    /// variable-time path is tested against, and the load tool's measure of one verification.
    pub fn verify_reference(&self, domain: Domain, msg: &[u8], sig: &Signature) -> Result<(), KeyError> {
        let sig = sig.to_sm2()?;
        self.key
            .verify(&domain.frame(msg), &sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Verifies a signature made by [`SecretKey::sign`] with the same domain.
    pub fn verify(&self, domain: Domain, msg: &[u8], sig: &Signature) -> Result<(), KeyError> {
        self.verify_raw(&domain.frame(msg), sig)
    }

    /// [`PublicKey::verify`] with this key's precomputed table (a table of another key is
    /// refused as a bad signature, never used).
    pub fn verify_with(
        &self,
        table: &VerifyTable,
        domain: Domain,
        msg: &[u8],
        sig: &Signature,
    ) -> Result<(), KeyError> {
        if table.key != self.sec1 {
            return Err(KeyError::BadSignature);
        }
        self.verify_raw_with(Some(table), &domain.frame(msg), sig)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.sec1 == other.sec1
    }
}
impl Eq for PublicKey {}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.sec1.cmp(&other.sec1)
    }
}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.sec1.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.sec1))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::bytes::variable::serialize(&self.sec1, s)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = crate::bytes::variable::deserialize(d)?;
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(serde::de::Error::custom(format!(
                "SM2 public key must be {PUBLIC_KEY_LEN} bytes (uncompressed), found {}",
                bytes.len()
            )));
        }
        PublicKey::from_sec1(&bytes).map_err(serde::de::Error::custom)
    }
}

/// An SM2 signature `r || s`. Holding one says nothing about its validity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signature(#[serde(with = "crate::bytes::fixed")] pub [u8; SIGNATURE_LEN]);

impl Signature {
    fn to_sm2(self) -> Result<sm2::dsa::Signature, KeyError> {
        sm2::dsa::Signature::from_slice(&self.0).map_err(|_| KeyError::InvalidSignature)
    }

    /// Parses a DER `SEQUENCE { r INTEGER, s INTEGER }`, as OpenSSL writes it.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let sig = sm2::dsa::Signature::from_der(der).map_err(|_| KeyError::InvalidSignature)?;
        Ok(Self::from_sm2(&sig))
    }

    /// The DER encoding, as OpenSSL reads it.
    pub fn to_der(&self) -> Result<Vec<u8>, KeyError> {
        Ok(self.to_sm2()?.to_der().as_bytes().to_vec())
    }

    fn from_sm2(sig: &sm2::dsa::Signature) -> Self {
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&sig.to_bytes());
        Signature(out)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// An SM2 secret key. Zeroized on drop; never printed, serialised or cloned.
pub struct SecretKey {
    // `sm2::SecretKey` zeroizes its scalar on drop. We keep no other long-lived copy of it: the
    // `sm2::dsa::SigningKey` needed to sign is built per signature and dropped at once,
    // because sm2 0.14's `SigningKey` does not zeroize itself.
    secret: sm2::SecretKey,
    public: PublicKey,
}

impl SecretKey {
    /// Generates a fresh key from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(bytes.as_mut());
            // Out of range (0 or >= n) happens with probability ~2^-32; draw again.
            if let Ok(key) = Self::from_bytes(&bytes) {
                return key;
            }
        }
    }

    /// Builds a key from its 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let secret = sm2::SecretKey::from_slice(bytes).map_err(|_| KeyError::InvalidSecretKey)?;
        Self::from_secret(secret)
    }

    fn from_secret(secret: sm2::SecretKey) -> Result<Self, KeyError> {
        let public = PublicKey::from_public(secret.public_key())?;
        Ok(SecretKey { secret, public })
    }

    /// The 32-byte big-endian scalar, in a buffer zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.secret.to_bytes());
        out
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Parses a PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let secret = sm2::SecretKey::from_pkcs8_der(der).map_err(|e| KeyError::Document {
            what: "PKCS#8 DER private key",
            reason: e.to_string(),
        })?;
        Self::from_secret(secret)
    }

    /// Parses a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let secret = sm2::SecretKey::from_pkcs8_pem(pem).map_err(|e| KeyError::Document {
            what: "PKCS#8 PEM private key",
            reason: e.to_string(),
        })?;
        Self::from_secret(secret)
    }

    /// The PKCS#8 DER document, zeroized on drop.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        let doc = self
            .secret
            .to_pkcs8_der()
            .expect("a valid SM2 scalar always has a PKCS#8 encoding");
        Zeroizing::new(doc.as_bytes().to_vec())
    }

    /// The PKCS#8 PEM document, zeroized on drop.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .expect("a valid SM2 scalar always has a PKCS#8 encoding")
    }

    /// Signs the raw message `msg` (SM3 with `Z_A`), as OpenSSL's
    /// `pkeyutl -sign -rawin -digest sm3` does. The nonce is derived deterministically
    /// (RFC 6979 with SM3), so no randomness is needed and none can be weak.
    pub fn sign_raw(&self, msg: &[u8]) -> Signature {
        let signer = sm2::dsa::SigningKey::new(DEFAULT_DIST_ID, &self.secret)
            .expect("a valid secret key always makes a signing key");
        // Signing fails only with probability ~2^-256 (r = 0 or r + k = n); that would be a bug
        // worth stopping for rather than a condition to handle.
        let sig: sm2::dsa::Signature = signer.sign(msg);
        Signature::from_sm2(&sig)
    }

    /// Signs `len(tag) || tag || msg`.
    pub fn sign(&self, domain: Domain, msg: &[u8]) -> Signature {
        self.sign_raw(&domain.frame(msg))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

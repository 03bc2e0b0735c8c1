//! Data at rest sealed under a password: Argon2id derives a key, SM4-GCM encrypts.
//!
//! A [`SealedBox`] is self-describing JSON (algorithm, Argon2id cost, salt, nonce, ciphertext),
//! so a file written today opens after the default cost is raised.
//!
//! Invariants:
//! - the derived key and every plaintext live in `Zeroizing` buffers;
//! - a wrong password and a modified file are the same error ([`SealError::Open`]): GCM's tag
//!   cannot tell them apart, and the message says both;
//! - costs read from a file are bounded ([`MAX_MEMORY_KIB`], [`MAX_ITERATIONS`]) so a crafted
//!   file cannot make opening it take the machine's memory.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{AesGcm, Nonce};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

type Sm4Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// The algorithm name a sealed box carries.
pub const ALGORITHM: &str = "argon2id+sm4-gcm";
/// Default Argon2id memory (KiB): OWASP's 19 MiB floor.
pub const DEFAULT_MEMORY_KIB: u32 = 19_456;
/// Default Argon2id passes.
pub const DEFAULT_ITERATIONS: u32 = 2;
/// Largest memory cost accepted from a file (1 GiB).
pub const MAX_MEMORY_KIB: u32 = 1 << 20;
/// Largest pass count accepted from a file.
pub const MAX_ITERATIONS: u32 = 64;

/// A sealed secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealedBox {
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    /// Argon2id memory, KiB.
    pub memory_kib: u32,
    /// Argon2id passes.
    pub iterations: u32,
    /// Argon2id salt, 16 bytes.
    #[serde(with = "crate::bytes::variable")]
    pub salt: Vec<u8>,
    /// GCM nonce, 12 bytes.
    #[serde(with = "crate::bytes::variable")]
    pub nonce: Vec<u8>,
    /// Ciphertext and tag.
    #[serde(with = "crate::bytes::variable")]
    pub ciphertext: Vec<u8>,
}

/// Why sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The box is not one this version understands.
    #[error("sealed data is malformed: {reason}")]
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// Authentication failed.
    #[error("cannot open the sealed data: the password is wrong or the file was modified")]
    Open,
}

/// Argon2id cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
}

impl Default for Cost {
    fn default() -> Self {
        Cost {
            memory_kib: DEFAULT_MEMORY_KIB,
            iterations: DEFAULT_ITERATIONS,
        }
    }
}

fn derive(password: &[u8], salt: &[u8], cost: Cost) -> Result<Zeroizing<[u8; 16]>, SealError> {
    let params = argon2::Params::new(cost.memory_kib, cost.iterations, 1, Some(16)).map_err(|e| {
        SealError::Malformed {
            reason: format!("Argon2id parameters: {e}"),
        }
    })?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 16]);
    argon
        .hash_password_into(password, salt, key.as_mut())
        .map_err(|e| SealError::Malformed {
            reason: format!("Argon2id: {e}"),
        })?;
    Ok(key)
}

/// SM4-GCM encryption under a 128-bit key.
fn encrypt(key: &[u8], nonce: &[u8], msg: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
    let cipher = Sm4Gcm::new_from_slice(key).map_err(|_| SealError::Open)?;
    cipher
        .encrypt(Nonce::from_slice(nonce), Payload { msg, aad })
        .map_err(|_| SealError::Open)
}

/// SM4-GCM decryption; a wrong key, nonce, AAD or a modified ciphertext is [`SealError::Open`].
fn decrypt(key: &[u8], nonce: &[u8], msg: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let cipher = Sm4Gcm::new_from_slice(key).map_err(|_| SealError::Open)?;
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg, aad })
        .map(Zeroizing::new)
        .map_err(|_| SealError::Open)
}

/// Seals `plaintext` under `password`; `context` is authenticated but not stored (e.g. what the
/// file is), so a box moved to another purpose does not open.
pub fn seal(
    password: &[u8],
    plaintext: &[u8],
    context: &[u8],
    cost: Cost,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedBox, SealError> {
    let mut salt = vec![0u8; 16];
    let mut nonce = vec![0u8; 12];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let key = derive(password, &salt, cost)?;
    let ciphertext = encrypt(key.as_ref(), &nonce, plaintext, context)?;
    Ok(SealedBox {
        algorithm: ALGORITHM.into(),
        memory_kib: cost.memory_kib,
        iterations: cost.iterations,
        salt,
        nonce,
        ciphertext,
    })
}

impl SealedBox {
    /// Opens the box.
    pub fn open(&self, password: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let malformed = |reason: String| Err(SealError::Malformed { reason });
        if self.algorithm != ALGORITHM {
            return malformed(format!("algorithm {:?}, expected {ALGORITHM:?}", self.algorithm));
        }
        if self.memory_kib > MAX_MEMORY_KIB || self.iterations > MAX_ITERATIONS {
            return malformed(format!(
                "Argon2id cost {} KiB × {} passes is above the limit {MAX_MEMORY_KIB} KiB × {MAX_ITERATIONS}",
                self.memory_kib, self.iterations
            ));
        }
        if self.salt.len() != 16 || self.nonce.len() != 12 {
            return malformed("salt must be 16 bytes and nonce 12 bytes".into());
        }
        let cost = Cost {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
        };
        let key = derive(password, &self.salt, cost)?;
        decrypt(key.as_ref(), &self.nonce, &self.ciphertext, context)
    }

    /// Parses a sealed box from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, SealError> {
        serde_json::from_str(text).map_err(|e| SealError::Malformed {
            reason: format!("{e}; expected the JSON written by Credence"),
        })
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a sealed box always serialises")
    }
}

/// Length of a data key (SM4 is a 128-bit cipher).
pub const DATA_KEY_LEN: usize = 16;
/// Bytes a sealed record adds to its plaintext: nonce (12) and tag (16).
pub const RECORD_OVERHEAD: usize = 28;

/// Seals `plaintext` under a data key (no password derivation): `nonce || ciphertext || tag`,
/// with `context` authenticated. For many small records under one key derived once.
pub fn seal_with_key(
    key: &[u8; DATA_KEY_LEN],
    plaintext: &[u8],
    context: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut nonce);
    let ct = encrypt(key, &nonce, plaintext, context)?;
    Ok([nonce.as_slice(), &ct].concat())
}

/// Opens what [`seal_with_key`] sealed.
pub fn open_with_key(
    key: &[u8; DATA_KEY_LEN],
    sealed: &[u8],
    context: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if sealed.len() < RECORD_OVERHEAD {
        return Err(SealError::Malformed {
            reason: format!(
                "a sealed record has at least {RECORD_OVERHEAD} bytes, got {}",
                sealed.len()
            ),
        });
    }
    let (nonce, ct) = sealed.split_at(12);
    decrypt(key, nonce, ct, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Cost = Cost {
        memory_kib: 64,
        iterations: 1,
    };

    #[test]
    fn round_trip_and_every_failure() {
        let mut rng = rand_core::OsRng;
        let b = seal(b"pw", b"secret", b"node-key", CHEAP, &mut rng).unwrap();
        assert_eq!(&b.open(b"pw", b"node-key").unwrap()[..], b"secret");
        assert_eq!(b.open(b"pX", b"node-key"), Err(SealError::Open));
        assert_eq!(b.open(b"pw", b"wallet"), Err(SealError::Open));
        let mut t = b.clone();
        t.ciphertext[0] ^= 1;
        assert_eq!(t.open(b"pw", b"node-key"), Err(SealError::Open));
        let mut t = b.clone();
        t.memory_kib = u32::MAX;
        assert!(matches!(
            t.open(b"pw", b"node-key"),
            Err(SealError::Malformed { .. })
        ));
        let back = SealedBox::from_json(&b.to_json()).unwrap();
        assert_eq!(back, b);
        assert!(SealedBox::from_json("{").is_err());
    }

    #[test]
    fn records_under_a_data_key() {
        let mut rng = rand_core::OsRng;
        let key = [7u8; DATA_KEY_LEN];
        let r = seal_with_key(&key, b"credential", b"cred/1", &mut rng).unwrap();
        assert_eq!(r.len(), b"credential".len() + RECORD_OVERHEAD);
        assert_eq!(&open_with_key(&key, &r, b"cred/1").unwrap()[..], b"credential");
        assert_eq!(
            open_with_key(&key, &r, b"cred/2"),
            Err(SealError::Open),
            "moved record"
        );
        assert_eq!(
            open_with_key(&[8u8; DATA_KEY_LEN], &r, b"cred/1"),
            Err(SealError::Open)
        );
        let mut t = r.clone();
        t[20] ^= 1;
        assert_eq!(open_with_key(&key, &t, b"cred/1"), Err(SealError::Open));
        assert!(matches!(
            open_with_key(&key, &r[..10], b"cred/1"),
            Err(SealError::Malformed { .. })
        ));
    }
}

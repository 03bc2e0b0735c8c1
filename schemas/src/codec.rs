//! The canonical byte encoding: one byte string per value, for everything hashed or signed.
//!
//! Format (specified in full in `ARCHITECTURE.md`, pinned by `schemas/tests/golden/`):
//!
//! ```text
//! canonical(v) = CODEC_VERSION (one byte, now 0x01) || BCS(v)
//! digest(v)    = SM3(len(tag) || tag || BCS(v))     with tag = T::DOMAIN
//! ```
//!
//! BCS (Binary Canonical Serialization) gives every value exactly one encoding: integers are
//! fixed-width little-endian, lengths and enum tags ULEB128 in their shortest form, structs
//! their fields in declaration order, `Option` a `0x00`/`0x01` tag. Our types contain no maps,
//! so no order is ever left unspecified. The decoder rejects trailing bytes, non-minimal
//! lengths, unknown enum tags, bool bytes other than 0/1, and containers deeper than
//! [`MAX_DEPTH`] — so `decode(encode(v)) == v` and `encode(decode(b)) == b` for every `b`
//! that decodes.

use crate::hash::{Domain, Hash, hash_domain};
use serde::{Serialize, de::DeserializeOwned};

/// The version byte that opens every canonical encoding.
pub const CODEC_VERSION: u8 = 1;

/// The largest canonical encoding we decode (bounded input, bounded allocation).
pub const MAX_ENCODED_BYTES: usize = 64 * 1024 * 1024;

/// The deepest nesting of structs and enums the decoder follows.
pub const MAX_DEPTH: usize = 64;

/// A type with a canonical encoding and a domain-separated digest.
pub trait Canonical: Serialize + DeserializeOwned {
    /// The domain tag of this type's digest.
    const DOMAIN: Domain;

    /// `CODEC_VERSION || BCS(self)`.
    fn to_canonical(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes [`Canonical::to_canonical`] output, rejecting every other byte string.
    fn from_canonical(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(bytes)
    }

    /// `SM3(len(tag) || tag || BCS(self))`: the value's identity.
    fn digest(&self) -> Hash {
        hash_domain(Self::DOMAIN, &body(self))
    }
}

/// BCS bytes of a value (no version byte). Our types contain no maps and no unbounded
/// recursion, so serialisation cannot fail; a failure is a bug in a type definition.
pub(crate) fn body<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    bcs::to_bytes(v).expect("Credence types always have a BCS encoding")
}

/// Decodes `CODEC_VERSION || BCS(v)` for any type, canonical or not.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MAX_ENCODED_BYTES {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: MAX_ENCODED_BYTES,
        });
    }
    let (&version, rest) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != CODEC_VERSION {
        return Err(CodecError::UnsupportedVersion {
            found: version,
            supported: CODEC_VERSION,
        });
    }
    bcs::from_bytes_with_limit(rest, MAX_DEPTH).map_err(|e| CodecError::Malformed {
        reason: e.to_string(),
    })
}

/// Encodes any serialisable value as `CODEC_VERSION || BCS(v)`.
pub fn encode<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    let body = body(v);
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(CODEC_VERSION);
    out.extend_from_slice(&body);
    out
}

/// What was wrong with an encoded value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// No bytes at all.
    #[error("empty input: a canonical encoding starts with the version byte 0x01")]
    Empty,
    /// Input over the size bound.
    #[error("input of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A version byte this build does not know.
    #[error("unsupported encoding version {found}: this build reads version {supported}")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The bytes after the version do not decode to the expected type.
    #[error("malformed canonical bytes: {reason}")]
    Malformed {
        /// What the decoder reported.
        reason: String,
    },
    /// Text that should be hex is not.
    #[error("invalid hex: {reason}")]
    Hex {
        /// What the hex decoder reported.
        reason: String,
    },
    /// JSON that does not match the expected shape.
    #[error("invalid JSON: {reason}")]
    Json {
        /// What serde_json reported (it names the line, column and field).
        reason: String,
    },
}

impl From<serde_json::Error> for CodecError {
    fn from(e: serde_json::Error) -> Self {
        CodecError::Json {
            reason: e.to_string(),
        }
    }
}

/// Refuses JSON text in which an object names a member twice (at any depth): readers differ on
/// which one counts (serde_json keeps the last, others the first), so a document could say one
/// thing to Credence and another to whoever else reads it. Nesting deeper than [`MAX_DEPTH`]
/// is refused too.
pub fn refuse_duplicate_keys(text: &str) -> Result<(), CodecError> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    struct Check(usize);
    impl<'de> DeserializeSeed<'de> for Check {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Check {
        type Value = ();
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let depth = self.deeper::<A::Error>()?;
            while seq.next_element_seed(Check(depth))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let depth = self.deeper::<A::Error>()?;
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(serde::de::Error::custom(format!(
                        "the member {:?} appears twice in one object",
                        key.chars().take(64).collect::<String>()
                    )));
                }
                map.next_value_seed(Check(depth))?;
            }
            Ok(())
        }
    }
    impl Check {
        fn deeper<E: serde::de::Error>(&self) -> Result<usize, E> {
            if self.0 >= MAX_DEPTH {
                return Err(E::custom(format!("JSON nested deeper than {MAX_DEPTH}")));
            }
            Ok(self.0 + 1)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    Check(0).deserialize(&mut de)?;
    de.end()?;
    Ok(())
}

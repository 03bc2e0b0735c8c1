//! Byte strings in two faces: lowercase hex in human-readable formats (JSON), raw bytes in
//! the canonical binary encoding.
//!
//! Invariant: a fixed-size field (`[u8; N]`) never decodes from a value of another length.

use core::fmt;
use serde::de::{Error as _, Visitor};
use serde::{Deserializer, Serializer};

/// Lowercase hex of `bytes`. (`hex::encode` builds its string a character at a time, which
/// showed up in profiles of writing a million credentials.)
pub fn to_hex(bytes: &[u8]) -> String {
    let mut buf = vec![0u8; bytes.len() * 2];
    hex::encode_to_slice(bytes, &mut buf).expect("the buffer is twice the input");
    String::from_utf8(buf).expect("hex digits are ASCII")
}

/// Calls `f` with the lowercase hex of `bytes`, without allocating for short inputs.
fn with_hex<R>(bytes: &[u8], f: impl FnOnce(&str) -> R) -> R {
    let mut stack = [0u8; 256];
    if let Some(buf) = stack.get_mut(..bytes.len() * 2) {
        hex::encode_to_slice(bytes, buf).expect("the buffer is twice the input");
        f(core::str::from_utf8(buf).expect("hex digits are ASCII"))
    } else {
        f(&to_hex(bytes))
    }
}

/// A byte string with the two faces above, for byte strings inside lists and options.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Bytes(#[serde(with = "variable")] pub Vec<u8>);

/// Serde helpers for `[u8; N]` fields: `#[serde(with = "crate::bytes::fixed")]`.
pub mod fixed {
    use super::*;

    /// Serialises `[u8; N]` as hex (human-readable) or a length-prefixed byte string.
    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            with_hex(v, |h| s.serialize_str(h))
        } else {
            s.serialize_bytes(v)
        }
    }

    /// Deserialises what [`serialize`] wrote, rejecting any other length.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let v = super::variable::deserialize(d)?;
        let len = v.len();
        v.try_into()
            .map_err(|_| D::Error::custom(format!("expected {N} bytes, found {len}")))
    }
}

/// Serde helpers for `Vec<u8>` fields: `#[serde(with = "crate::bytes::variable")]`.
pub mod variable {
    use super::*;

    /// Serialises bytes as hex (human-readable) or a length-prefixed byte string.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            with_hex(v, |h| s.serialize_str(h))
        } else {
            s.serialize_bytes(v)
        }
    }

    /// Deserialises what [`serialize`] wrote.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(HexVisitor)
        } else {
            d.deserialize_byte_buf(BytesVisitor)
        }
    }

    struct HexVisitor;

    impl Visitor<'_> for HexVisitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a lowercase hex string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            if v.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(E::custom("hex must be lowercase (one spelling per value)"));
            }
            hex::decode(v).map_err(|e| E::custom(format!("invalid hex: {e}")))
        }
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

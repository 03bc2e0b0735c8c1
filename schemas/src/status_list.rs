//! The W3C Bitstring Status List v1.0 view of an issuer's revocation chunks.
//!
//! The ledger stores each chunk of a status list with index 0 in the *least* significant bit
//! of byte 0 ([`StatusListChunk`]); the specification's bitstring puts index 0 in the
//! left-most, *most* significant bit. [`w3c_bitstring`] reverses the bits of every byte; the
//! served `encodedList` is `u` + base64url (no padding) of the GZIP of that bitstring. One
//! chunk is one list credential of [`STATUS_CHUNK_BITS`] (131,072) entries, the
//! specification's minimum; a credential's `statusListIndex` is its index within the chunk.
//!
//! Invariant: for every index `i` of a chunk, `is_set(i)` on the ledger's chunk equals bit
//! `i % 131072` of the decoded list, read left to right.

use crate::credential::{CREDENTIAL_CONTEXT, from_multibase_base64url, multibase_base64url, rfc3339};
use crate::ledger::{LedgerProof, STATUS_CHUNK_BITS, StatusListChunk};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Bytes of one chunk's bitstring.
pub const CHUNK_BYTES: usize = (STATUS_CHUNK_BITS / 8) as usize;

/// Longest `encodedList` text read (GZIP of 16 KiB of bits is far smaller unless the bits are
/// random; base64 of 16 KiB of incompressible bits plus headers fits).
pub const MAX_ENCODED_LIST: usize = 24 * 1024;

/// The Data Integrity cryptosuite of a served status list credential's proof: a ledger proof.
pub const LEDGER_CRYPTOSUITE: &str = "credence-ledger-2026";

/// The chunk's bits in the specification's order (index 0 = most significant bit of byte 0).
pub fn w3c_bitstring(chunk: &StatusListChunk) -> Vec<u8> {
    chunk.bits.iter().map(|b| b.reverse_bits()).collect()
}

/// `encodedList`: `u` + base64url (no padding) of the GZIP of `bitstring`.
pub fn encode_list(bitstring: &[u8]) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bitstring).expect("writing to memory cannot fail");
    multibase_base64url(&gz.finish().expect("writing to memory cannot fail"))
}

/// Decodes an `encodedList` of one chunk, refusing anything but exactly [`CHUNK_BYTES`] bytes.
pub fn decode_list(encoded: &str) -> Result<Vec<u8>, String> {
    let gz = from_multibase_base64url(encoded, MAX_ENCODED_LIST).map_err(|e| format!("encodedList: {e}"))?;
    let mut out = Vec::with_capacity(CHUNK_BYTES);
    flate2::read::GzDecoder::new(gz.as_slice())
        .take(CHUNK_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("encodedList is not GZIP: {e}"))?;
    if out.len() != CHUNK_BYTES {
        return Err(format!(
            "encodedList holds {} bytes, not {CHUNK_BYTES}",
            out.len()
        ));
    }
    Ok(out)
}

/// Whether bit `offset` of a specification-order bitstring is set.
pub fn bit(bitstring: &[u8], offset: u32) -> bool {
    bitstring
        .get((offset / 8) as usize)
        .is_some_and(|b| b & (0x80 >> (offset % 8)) != 0)
}

/// The `BitstringStatusListCredential` of `chunk` at `url`, valid from `valid_from_ms` (the
/// time of the block the proof certifies), with the ledger proof of the chunk's state key as
/// its `credence-ledger-2026` proof.
pub fn list_credential(
    chunk: &StatusListChunk,
    url: &str,
    valid_from_ms: u64,
    proof: &LedgerProof,
) -> StatusListCredential {
    let secs = i64::try_from(valid_from_ms / 1000).unwrap_or(i64::MAX);
    StatusListCredential {
        context: CREDENTIAL_CONTEXT.iter().map(|c| (*c).to_owned()).collect(),
        id: url.to_owned(),
        types: vec![
            "VerifiableCredential".into(),
            "BitstringStatusListCredential".into(),
        ],
        issuer: chunk.issuer.clone(),
        valid_from: rfc3339(secs).unwrap_or_default(),
        credential_subject: StatusListSubject {
            id: format!("{url}#list"),
            kind: "BitstringStatusList".into(),
            status_purpose: "revocation".into(),
            encoded_list: encode_list(&w3c_bitstring(chunk)),
        },
        proof: LedgerDataIntegrityProof {
            kind: "DataIntegrityProof".into(),
            cryptosuite: LEDGER_CRYPTOSUITE.into(),
            proof_purpose: "assertionMethod".into(),
            verification_method: chunk.issuer.clone(),
            proof_value: multibase_base64url(&crate::codec::encode(proof)),
        },
    }
}

/// A `BitstringStatusListCredential` (W3C Bitstring Status List 1.0 §2.2) as a node serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusListCredential {
    /// The W3C credentials v2 context, then Credence's.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// The URL it is served at.
    pub id: String,
    /// `["VerifiableCredential", "BitstringStatusListCredential"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// The issuer whose list it is.
    pub issuer: crate::did::Did,
    /// When the proven header was made (RFC 3339, UTC).
    pub valid_from: String,
    /// The list.
    pub credential_subject: StatusListSubject,
    /// The ledger proof of the chunk.
    pub proof: LedgerDataIntegrityProof,
}

/// A status list's subject: the list itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusListSubject {
    /// `{id}#list`.
    pub id: String,
    /// `BitstringStatusList`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `revocation`.
    pub status_purpose: String,
    /// Multibase base64url (`u`) of the GZIP of the bitstring, index 0 the left-most bit.
    pub encoded_list: String,
}

/// A Data Integrity proof of cryptosuite `credence-ledger-2026` (docs/cryptosuites.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerDataIntegrityProof {
    /// `DataIntegrityProof`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `credence-ledger-2026`.
    pub cryptosuite: String,
    /// `assertionMethod`.
    pub proof_purpose: String,
    /// The issuer's DID.
    pub verification_method: crate::did::Did,
    /// `u` + base64url of the canonical encoding (BCS) of the ledger proof.
    pub proof_value: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Did;

    #[test]
    fn index_zero_is_the_left_most_bit_of_the_served_list() {
        let issuer = Did::parse("did:credence:b987008228c997219be868caef353a6f44c4841a").expect("did");
        let mut chunk = StatusListChunk::empty(issuer, 0, 1);
        for i in [
            STATUS_CHUNK_BITS,
            STATUS_CHUNK_BITS + 9,
            2 * STATUS_CHUNK_BITS - 1,
        ] {
            assert!(chunk.set(i));
        }
        let w3c = w3c_bitstring(&chunk);
        assert_eq!(
            w3c[0], 0x80,
            "index 0 of the chunk is the most significant bit of byte 0"
        );
        assert_eq!(w3c[1], 0x40, "index 9 is the second bit of byte 1");
        assert_eq!(w3c[CHUNK_BYTES - 1], 0x01);
        let back = decode_list(&encode_list(&w3c)).expect("decodes");
        for offset in 0..STATUS_CHUNK_BITS {
            assert_eq!(
                bit(&back, offset),
                chunk.is_set(STATUS_CHUNK_BITS + offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_list_of_another_size_or_not_gzip_is_refused() {
        assert!(
            decode_list(&encode_list(&[0u8; 16]))
                .unwrap_err()
                .contains("not 16384")
        );
        assert!(decode_list("uAAAA").is_err());
        assert!(decode_list("zAAAA").is_err());
        // A GZIP bomb stops at one byte past the chunk size.
        let big = vec![0u8; 10 * CHUNK_BYTES];
        assert!(decode_list(&encode_list(&big)).unwrap_err().contains("not 16384"));
    }
}

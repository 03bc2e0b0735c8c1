//! SM3 (GB/T 32905) hashing with domain separation.
//!
//! Every hash Credence computes over structured data is `SM3(tag || data)` where the tag names
//! what is hashed, so a digest of one kind can never be mistaken for another. Merkle trees use
//! the RFC 6962 prefixes instead (`0x00` leaf, `0x01` node), see [`crate::merkle`].

use core::fmt;
use serde::{Deserialize, Serialize};
use sm3::{Digest as _, Sm3};

/// A 32-byte SM3 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hash(#[serde(with = "crate::bytes::fixed")] pub [u8; 32]);

impl Hash {
    /// The all-zero digest, used as "nothing here" (never the output of SM3 in practice).
    pub const ZERO: Hash = Hash([0; 32]);

    /// The digest as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        crate::bytes::to_hex(&self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, crate::CodecError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| crate::CodecError::Hex {
            reason: e.to_string(),
        })?;
        Ok(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Plain SM3 of `data`, with no domain tag. Only for test vectors and interoperability.
pub fn sm3(data: &[u8]) -> Hash {
    Hash(Sm3::digest(data).into())
}

/// A domain tag: every structured hash in Credence is prefixed by one.
///
/// The tag is written as `len(tag) as u8 || tag`, so no tag is a prefix of another's framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain(&'static str);

impl Domain {
    /// Makes a tag. Tags are short ASCII names ending in a version, e.g. `credence/envelope/v1`.
    pub const fn new(tag: &'static str) -> Self {
        assert!(!tag.is_empty() && tag.len() <= 64, "domain tags are 1..=64 bytes");
        Domain(tag)
    }

    /// The tag text.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }

    /// `len(tag) || tag || msg`: the framing every signed message carries.
    pub fn frame(&self, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.0.len() + msg.len());
        // Tags are at most 64 bytes (asserted in `Domain::new`), so the length fits a byte.
        out.push(self.0.len() as u8);
        out.extend_from_slice(self.0.as_bytes());
        out.extend_from_slice(msg);
        out
    }
}

/// `SM3(len(tag) || tag || part_0 || part_1 || ...)`.
pub fn hash_parts(domain: Domain, parts: &[&[u8]]) -> Hash {
    let mut h = Sm3::new();
    // Tags are at most 64 bytes (asserted in `Domain::new`), so the length fits a byte.
    h.update([domain.0.len() as u8]);
    h.update(domain.0.as_bytes());
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}

/// `SM3(len(tag) || tag || data)`.
pub fn hash_domain(domain: Domain, data: &[u8]) -> Hash {
    hash_parts(domain, &[data])
}

/// Domain tags used across Credence. Changing one changes every digest of that kind.
pub mod domains {
    use super::Domain;
    /// Hash of a credential envelope: the credential's identity.
    pub const ENVELOPE: Domain = Domain::new("credence/envelope/v1");
    /// Salted digest of one plain attribute.
    pub const ATTRIBUTE: Domain = Domain::new("credence/attribute/v1");
    /// Block header hash (what commit votes sign).
    pub const BLOCK_HEADER: Domain = Domain::new("credence/block-header/v1");
    /// A commit vote's signed message.
    pub const COMMIT_VOTE: Domain = Domain::new("credence/commit-vote/v1");
    /// A transaction's signed message.
    pub const TRANSACTION: Domain = Domain::new("credence/transaction/v1");
    /// A presentation request's signed message.
    pub const REQUEST: Domain = Domain::new("credence/request/v1");
    /// The holder's key-binding signature over a presentation.
    pub const PRESENTATION: Domain = Domain::new("credence/presentation/v1");
    /// A validator's binding of its libp2p peer id to its SM2 key.
    pub const PEER_BINDING: Domain = Domain::new("credence/peer-binding/v1");
    /// Keys of the ledger state tree.
    pub const STATE_KEY: Domain = Domain::new("credence/state-key/v1");
    /// DID derivation from a public key.
    pub const DID: Domain = Domain::new("credence/did/v1");
    /// Validator set hash.
    pub const VALIDATOR_SET: Domain = Domain::new("credence/validator-set/v1");
    /// Transactions root inside a block body.
    pub const BLOCK_BODY: Domain = Domain::new("credence/block-body/v1");
}

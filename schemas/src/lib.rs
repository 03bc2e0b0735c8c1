//! The Credence data model, shared by every part: credentials, presentations, ledger types,
//! the canonical encoding, SM3 hashing, SM2 signing, Merkle trees and light-client
//! verification.
//!
//! Invariants:
//! - pure: no I/O, no clocks, no global state; randomness is passed in;
//! - every decoder of outside data (JSON, canonical bytes, PEM/DER) returns a typed error and
//!   never panics (fuzzed in `fuzz/`);
//! - everything hashed or signed goes through [`codec`] and a [`hash::Domain`] tag.
//!
//! ```
//! use schemas::{Canonical, hash::domains, ledger::CommitVote, merkle::{MerkleTree, leaf_hash}};
//! use schemas::sm2::SecretKey;
//!
//! // An issuer anchors a batch by its root; each holder keeps an inclusion proof.
//! let envelopes: Vec<&[u8]> = vec![b"envelope 0", b"envelope 1", b"envelope 2"];
//! let tree = MerkleTree::from_leaves(&envelopes);
//! let proof = tree.prove(1).expect("leaf 1 exists");
//! assert!(proof.verify(&leaf_hash(b"envelope 1"), &tree.root()).is_ok());
//! assert!(proof.verify(&leaf_hash(b"envelope 2"), &tree.root()).is_err());
//!
//! // SM2 signatures are domain-separated: a signature for one purpose fails for another.
//! let key = SecretKey::generate(&mut rand_core::OsRng);
//! let sig = key.sign(domains::TRANSACTION, tree.root().as_bytes());
//! assert!(key.public_key().verify(domains::TRANSACTION, tree.root().as_bytes(), &sig).is_ok());
//! assert!(key.public_key().verify(domains::COMMIT_VOTE, tree.root().as_bytes(), &sig).is_err());
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod bytes;
pub mod codec;
pub mod credential;
pub mod credential_schema;
pub mod did;
pub mod file;
pub mod hash;
pub mod jose;
pub mod ledger;
pub mod light_client;
pub mod limits;
pub mod merkle;
pub mod openapi;
pub mod openid4vci;
pub mod openid4vp;
pub mod presentation;
pub mod seal;
pub mod sm2;
pub mod state;
pub mod status_list;

pub use codec::{Canonical, CodecError};
pub use did::Did;
pub use hash::Hash;

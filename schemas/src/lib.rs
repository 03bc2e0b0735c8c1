//! The Credence data model, shared by every part: credentials, presentations, ledger types,
//! the canonical encoding, SM3 hashing, SM2 signing, Merkle trees and light-client
//! verification.
//!
//! Invariants:
//! - pure: no I/O, no clocks, no global state; randomness is passed in;
//! - every decoder of outside data (JSON, canonical bytes, PEM/DER) returns a typed error and
//!   never panics (fuzzed in `fuzz/`);
//! - everything hashed or signed goes through [`codec`] and a [`hash::Domain`] tag.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod bytes;
pub mod codec;
pub mod credential;
pub mod credential_schema;
pub mod did;
pub mod hash;
pub mod ledger;
pub mod light_client;
pub mod merkle;
pub mod presentation;
pub mod sm2;
pub mod state;

pub use codec::{Canonical, CodecError};
pub use did::Did;
pub use hash::Hash;

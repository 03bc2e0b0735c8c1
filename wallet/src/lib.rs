//! The Credence wallet library: what issuers, holders and verifiers do, shared by the
//! `credctl` command line and the desktop app.
//!
//! - [`keystore`]: the encrypted store every role keeps its keys and credentials in;
//! - [`ledger`]: verified reads ([`ledger::Facts`]) and signed submissions;
//! - [`issuer`]: batch issuance from CSV/JSONL rows, anchoring, output files;
//! - [`holder`]: import, list, consent, presentations (both tiers), disclosure history;
//! - [`verifier`]: requests, the verification checks, replay protection;
//! - [`tier`]: what the two presentation tiers share;
//! - [`roles`]: issuer and verifier identities kept in a keystore;
//! - [`service`]: the verifier over HTTP;
//! - [`demo`]: the whole story on an embedded devnet (`credctl demo`).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod demo;
pub mod holder;
pub mod issuer;
pub mod keystore;
pub mod ledger;
pub mod roles;
pub mod service;
pub mod tier;
pub mod verifier;

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

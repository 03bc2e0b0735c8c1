//! The Credence wallet library: what issuers, holders and verifiers do, shared by the
//! `credctl` command line and the desktop app.
//!
//! **Architecture Invariant:** the wallet is a client, not a node: it depends on `schemas`,
//! `zk` and `ledger-api` and cannot open a p2p connection, serve HTTP or start a node. It
//! trusts no node it reads from: every answer is checked against a validator set it trusts.
//!
//! - [`keystore`]: the encrypted store every role keeps its keys and credentials in;
//! - [`ledger`]: verified reads ([`ledger::Facts`]) and signed submissions;
//! - [`pinning`]: which consortium a party trusts, pinned once, and failover across its nodes;
//! - [`issuer`]: batch issuance from CSV/JSONL rows, anchoring, output files;
//! - [`holder`]: import, list, consent, presentations (both tiers), disclosure history;
//! - [`exchange`]: OpenID4VP from the holder's side: open a link, fetch and check the signed
//!   request object, send the answer (a presentation or a refusal) by `direct_post`;
//! - [`verifier`]: requests, the verification checks, replay protection;
//! - [`plan`]: what a presentation reads from the ledger and which schema it is under, one
//!   rule for holder and verifier;
//! - [`tier`]: what the two presentation tiers share;
//! - [`roles`]: issuer and verifier identities kept in a keystore;
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod ceremony;
pub mod council;
pub mod exchange;
pub mod holder;
pub mod issuer;
pub mod keystore;
pub mod ledger;
pub mod pinning;
pub mod plan;
pub mod roles;
pub mod tier;
pub mod verifier;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tampering;

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

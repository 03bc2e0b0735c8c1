//! The Credence wallet library (holder, issuer, verifier) and, next, the `credctl` binary.
//!
//! Built so far: [`keystore`], the encrypted store every role keeps its keys and credentials
//! in. The issuer, holder and verifier APIs and `credctl` are the rest of the wallet issue.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod keystore;

//! `credctl`: the Credence command line, and what only it runs.
//!
//! - [`demo`]: the embedded devnet (validators and an observer in this process) and the whole
//!   story (`credctl demo`); the devnet also serves the tests of this crate and the desktop's;
//! - [`service`]: the verifier over HTTP (`credctl verifier serve`), with the employer's page;
//! - [`issuance`]: the issuer's OpenID4VCI service (`credctl issuer offer`, `credctl issuer serve`).
//!
//! **Architecture Invariant:** this is the only crate of the wallet side that starts ledger
//! nodes; the `wallet` library and the desktop app reach a ledger through `ledger-api` only.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod demo;
pub mod issuance;
pub mod service;

//! The Credence ledger node: PBFT consensus, authenticated state, storage, network, HTTP API.
//!
//! Not built yet: this crate is an empty placeholder until the PBFT core and ledger-node
//! issues land. It exposes nothing.
#![forbid(unsafe_code)]

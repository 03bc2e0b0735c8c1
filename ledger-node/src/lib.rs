//! The Credence ledger node.
//!
//! - [`rules`]: the state machine (the ledger's rules) — what each transaction does to the authenticated state;
//! - [`store`]: sled storage of blocks, certificates, the consensus log and the state tree;
//! - [`network`]: libp2p transport between consortium members;
//! - [`shared`]: what the loop and the API share (store, status, submission queue, verified
//!   signatures);
//! - [`node`]: the event loop that drives `pbft::Replica` and carries out its effects;
//! - [`api`]: the HTTP API (axum) with proofs, OpenAPI and metrics, serving the `ledger-api`
//!   contract (routes, answer types, limits; the client lives there too);
//! - [`load`]: the load tool behind `ledger-node bench`.
//!
//! The deterministic simulator of the consensus core is its own crate, `pbft-sim`
//! (`ledger-node/sim/`).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod api;
pub mod ceremony_files;
pub mod config;
pub mod keys;
pub mod load;
pub mod metrics;
pub mod network;
pub mod node;
pub mod rules;
pub mod shared;
pub mod store;
pub mod tls;

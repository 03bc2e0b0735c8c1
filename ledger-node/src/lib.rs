//! The Credence ledger node.
//!
//! Built so far: [`sim`], the deterministic fault-injecting simulator that drives real
//! [`pbft::Replica`]s (real SM2 signatures) through a seeded schedule of delays, drops,
//! duplicates, partitions, crash-restarts and Byzantine replicas, checking safety after every
//! step and liveness once the network heals. Storage (sled), networking (libp2p) and the HTTP
//! API come with the ledger-node issue.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod sim;

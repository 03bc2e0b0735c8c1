//! Integration tests of `zk`: completeness and soundness of predicates and unlinkable proofs.

mod ceremony;
mod escrow;
mod predicates;
mod unlinkable;

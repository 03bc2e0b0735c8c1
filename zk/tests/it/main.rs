//! Integration tests of `zk`: completeness and soundness of predicates and unlinkable proofs.

mod predicates;
mod unlinkable;

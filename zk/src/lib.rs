//! Commitments and zero-knowledge proofs for Credence: Pedersen commitments on Ristretto,
//! Bulletproofs range predicates, Groth16 unlinkable credential proofs.
//!
//! Not built yet: this crate is an empty placeholder until the `zk` issue lands. It exposes
//! nothing, so nothing can mistake it for a working proof system.
#![forbid(unsafe_code)]

//! Commitments and zero-knowledge proofs for Credence. Pure computation: no I/O.
//!
//! - [`pedersen`]: Pedersen commitments on Ristretto to numeric attributes;
//! - [`predicates`]: `x >= t`, `x <= t`, `a <= x <= b` on committed values, aggregated
//!   Bulletproofs range proofs bound to the request and envelope through a merlin transcript;
//! - [`escrow`]: the regulator council's threshold key (distributed key generation) and the
//!   escrow ciphertext of a holder's identity handle that escrow shapes of the unlinkable circuit
//!   prove, opened only by `t` members' decryption shares;
//! - [`unlinkable`]: Groth16 (BN254) proofs of an unrevoked credential in an issuer's Poseidon
//!   tree, with predicates and a verifier-scoped nullifier; [`tree`] and [`poseidon`] are the
//!   native counterparts of the circuit's gadgets.
//!
//! Invariants: secrets ([`pedersen::Blinding`], [`unlinkable::HolderSecret`]) zeroize on drop and
//! never print; randomness is passed in; every verifier returns a [`ZkError`] naming the check.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod ceremony;
mod circuit;
mod error;
pub mod escrow;
pub mod pedersen;
pub mod poseidon;
pub mod predicates;
pub mod snarkjs;
mod transcript;
pub mod tree;
pub mod unlinkable;

pub use ark_bn254::Fr;
pub use circuit::{CircuitPredicate, RANGE_BITS};
pub use error::ZkError;

//! The Credence wallet library (holder, issuer, verifier) and the `credctl` binary.
//!
//! Not built yet: this crate is an empty placeholder until the wallet issue lands. It exposes
//! nothing.
#![forbid(unsafe_code)]

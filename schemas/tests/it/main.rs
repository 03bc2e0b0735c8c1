//! Integration tests of the `schemas` crate: vectors, interoperability, rejection, codecs.

mod credentials;
mod fixtures;
mod golden;
mod interop;
mod light_client;
mod merkle;
mod openid4vci;
mod openid4vp;
mod sm2_verify;
mod state;
mod vectors;
mod wire;

//! OpenAPI schemas of the types that serialise as strings (hex bytes, hashes, keys, DIDs): the
//! node's and the verifier service's documents are generated from the Rust types
//! (`utoipa::ToSchema`), and these are their leaves.

use std::borrow::Cow;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A string schema with a pattern and a description.
fn string(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

macro_rules! string_schema {
    ($ty:ty, $name:literal, $pattern:expr, $description:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string($pattern, $description)
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

string_schema!(
    crate::hash::Hash,
    "Hash",
    "^[0-9a-f]{64}$",
    "An SM3 digest (32 bytes), lowercase hex"
);
string_schema!(
    crate::bytes::Bytes,
    "Bytes",
    "^([0-9a-f]{2})*$",
    "Bytes, lowercase hex"
);
string_schema!(
    crate::sm2::PublicKey,
    "Sm2PublicKey",
    "^04[0-9a-f]{128}$",
    "An SM2 public key: the SEC1 uncompressed point (65 bytes), lowercase hex"
);
string_schema!(
    crate::sm2::Signature,
    "Sm2Signature",
    "^[0-9a-f]{128}$",
    "An SM2 signature: r || s (64 bytes), lowercase hex"
);
string_schema!(
    crate::did::Did,
    "Did",
    "^did:credence:[0-9a-f]{40}$",
    "A did:credence identifier (docs/did-method-credence.md)"
);
string_schema!(
    crate::state::StateValue,
    "StateValue",
    "^([0-9a-f]{2})*$",
    "A state value: its canonical encoding (BCS), lowercase hex"
);

//! The contract between a Credence node and its clients: the routes of `/v1`, the request and
//! answer types, the limits both sides enforce, and the HTTP client.
//!
//! **API Boundary:** a change here is a change of `/v1`. The node serialises these types; the
//! wallet, the desktop, the load tool and the tests read them. Nothing here verifies: callers
//! check every proven answer with `schemas::light_client` against a validator set they trust.
//!
//! **Architecture Invariant:** this crate depends on `schemas`, serde and an HTTP client only:
//! no consensus, no storage, no server, no p2p. Whatever depends on it can reach a node over
//! HTTP and nothing else.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod client;

pub use client::{Client, ClientError};
use schemas::ledger::{Block, CommitCertificate, LedgerProof};
use serde::{Deserialize, Serialize};

/// Largest request body. A transaction at [`schemas::limits::MAX_TX_BYTES`] encoded is at most
/// about 4× that as JSON (hex doubles byte fields; escapes lengthen text); the margin above lets
/// the API parse what it refuses and answer 413 naming `MAX_TX_BYTES` rather than closing the
/// connection on a client still sending (a refused body the server stops reading fails the
/// client's write once it outgrows the socket buffers).
pub const MAX_BODY_BYTES: usize = 16 * schemas::limits::MAX_TX_BYTES;

/// Most keys one `/v1/proofs` read covers.
pub const MAX_PROOF_KEYS: usize = 32;

/// Largest answer the client reads: a node cannot make it allocate more. The largest answers
/// are a block (at most `pbft::MAX_BATCH_BYTES` of transactions, about 3× as JSON; the node
/// asserts the margin at compile time) and a status list's revoked indexes (at most
/// [`schemas::limits::MAX_REVOKED_PER_LIST`], 9 bytes each as JSON).
pub const MAX_RESPONSE_BYTES: usize = 32 << 20;

const _: () = assert!(10 * schemas::limits::MAX_REVOKED_PER_LIST < MAX_RESPONSE_BYTES);

/// A read: the value (or `null`) and the proof that the certified state holds it (or nothing)
/// at the key read. Check it with `schemas::light_client::verify_ledger_proof`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proven<T> {
    /// The value.
    pub value: Option<T>,
    /// Proof against a certified header.
    pub proof: LedgerProof,
}

// Written by hand: utoipa's derive drops the `null` of a generic `Option<T>` it inlines, and a
// generic body needs `ComposeSchema` (utoipa's hidden trait for generics; utoipa 6).
impl<T: utoipa::ToSchema> utoipa::__dev::ComposeSchema for Proven<T> {
    fn compose(
        generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Ref, Type};
        let inner = generics
            .into_iter()
            .next()
            .unwrap_or_else(|| Ref::from_schema_name(T::name()).into());
        let value = OneOfBuilder::new()
            .item(inner)
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(
                "The value, or null when the key holds nothing (the proof shows the absence)",
            ));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A read: the value (or null) and the proof that the certified state holds it (or nothing) at the key read",
            ))
            .property("value", value)
            .property("proof", Ref::from_schema_name("LedgerProof"))
            .required("value")
            .required("proof")
            .into()
    }
}

impl<T: utoipa::ToSchema> utoipa::ToSchema for Proven<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        // utoipa appends the generic's name: `Proven_TxReceipt`.
        "Proven".into()
    }

    fn schemas(out: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        out.push((T::name().into_owned(), T::schema()));
        T::schemas(out);
        out.push((
            <LedgerProof as utoipa::ToSchema>::name().into_owned(),
            <LedgerProof as utoipa::PartialSchema>::schema(),
        ));
        <LedgerProof as utoipa::ToSchema>::schemas(out);
    }
}

/// A block with its commit certificate (`/v1/blocks/...`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertifiedBlock {
    /// The block.
    pub block: Block,
    /// The certificate of its header.
    pub certificate: CommitCertificate,
}

/// Every error answer, from the node and from the verifier service: an RFC 9457 problem
/// (`application/problem+json`) with a 4xx/5xx status — `type` is `about:blank` (the status
/// says what kind of problem it is), `title` the status's reason phrase, `detail` what was wrong
/// and how to fix it, and the extension member `code` a stable machine-readable code
/// (`bad_request`, `not_found`, `busy`, `rejected`, …). `docs/http-errors.md` lists the codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type", default = "about_blank")]
    pub problem_type: String,
    /// The HTTP status's reason phrase.
    #[serde(default)]
    pub title: String,
    /// The HTTP status code.
    #[serde(default)]
    pub status: u16,
    /// What was wrong, for people (nodes before December 2026 called it `message`).
    #[serde(alias = "message")]
    pub detail: String,
    /// A stable code (nodes before December 2026 called it `error`).
    #[serde(alias = "error")]
    pub code: String,
}

fn about_blank() -> String {
    "about:blank".into()
}

/// The media type of a [`Problem`].
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

impl Problem {
    /// A problem with `status` (a 4xx/5xx code), a stable `code` and a `detail` for people.
    pub fn new(status: u16, code: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem {
            problem_type: about_blank(),
            title: reason_phrase(status).into(),
            status,
            detail: detail.into(),
            code: code.into(),
        }
    }
}

/// The reason phrase of the statuses Credence answers with (RFC 9110 §15).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        507 => "Insufficient Storage",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

/// What the API shows about the node.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Chain id.
    pub chain_id: String,
    /// Committed height.
    pub height: u64,
    /// Current view.
    pub view: u64,
    /// Whether this node votes.
    pub validator: bool,
    /// Replica id (observers count from the validator count up).
    pub replica: u32,
    /// Transactions waiting.
    pub mempool: usize,
    /// Connected peers.
    pub peers: usize,
    /// libp2p peer id.
    pub peer_id: String,
}

/// The revoked indexes of one status list at one height: the set bits of its chunks. Served
/// without a proof (a list's chunks can reach 2 MiB): whoever needs them rebuilds the revocation
/// tree and accepts them only if its root is the proven `RevocationRoot`'s. Fetching the whole
/// list, not a path for one index, keeps the node from learning which credential is presented.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevokedIndexes {
    /// The height they were read at.
    pub height: u64,
    /// Revoked indexes, ascending (at most [`schemas::limits::MAX_REVOKED_PER_LIST`]).
    pub ids: Vec<u32>,
}

/// An account's next nonce with its proven record (`/v1/accounts/{did}`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountAnswer {
    /// The nonce the account's next transaction must carry.
    pub next_nonce: u64,
    /// The account's record (`null` before its first transaction).
    pub value: Option<schemas::ledger::AccountRecord>,
    /// Proof against a certified header.
    pub proof: LedgerProof,
}

/// A transaction queued for consensus (202 on `POST /v1/transactions`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    /// The transaction's id: read its receipt at `/v1/transactions/{txHash}`.
    pub tx_hash: schemas::hash::Hash,
    /// `pending`.
    pub status: String,
}

/// A setup ceremony file the node kept (201 on `POST /v1/ceremony/files`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredFile {
    /// The file's SM3 digest: read it back at `/v1/ceremony/files/{digest}`.
    pub digest: schemas::hash::Hash,
}

/// A body of raw bytes (`application/octet-stream`): setup ceremony files.
pub struct OctetStream;

impl utoipa::PartialSchema for OctetStream {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("Raw bytes"))
            .into()
    }
}

impl utoipa::ToSchema for OctetStream {}

/// The liveness answer (`/health`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// A W3C DID Resolution result (`/v1/dids/{did}`, `application/did-resolution`;
/// `docs/did-method-credence.md`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DidResolution {
    /// The DID document (`null` when deactivated, not found or invalid).
    pub did_document: Option<schemas::did::DidDocument>,
    /// How resolution went.
    pub did_resolution_metadata: DidResolutionMetadata,
    /// About the document.
    pub did_document_metadata: DidDocumentMetadata,
    /// The ledger proof of the record the document comes from, or of the DID's absence from
    /// every place it could be registered (issuers, verifiers, governance) at one height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_proof: Option<LedgerProof>,
}

/// DID Resolution metadata.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DidResolutionMetadata {
    /// `application/did+ld+json` when a document or its metadata is returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `invalidDid` or `notFound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What was wrong, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// DID document metadata.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DidDocumentMetadata {
    /// Whether the DID is deactivated (a suspended issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated: Option<bool>,
    /// The height the record was proven at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `issuer`, `verifier` or `governance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

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

/// A block with its commit certificate (`/v1/blocks/...`).
#[derive(Debug, Serialize, Deserialize)]
pub struct CertifiedBlock {
    /// The block.
    pub block: Block,
    /// The certificate of its header.
    pub certificate: CommitCertificate,
}

/// Every error answer: `{ "error": code, "message": text }` with a 4xx/5xx status.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code (`bad_request`, `not_found`, `mempool_full`, ...).
    pub error: String,
    /// What was wrong, for people.
    pub message: String,
}

/// What the API shows about the node.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedIndexes {
    /// The height they were read at.
    pub height: u64,
    /// Revoked indexes, ascending (at most [`schemas::limits::MAX_REVOKED_PER_LIST`]).
    pub ids: Vec<u32>,
}

/// One documented route: method, path, summary, and whether it returns a proof.
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
}

/// Every route the node serves.
pub const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/v1/ceremony/files",
        summary: "Upload a setup ceremony contribution file (raw bytes, docs/ceremony.md; at most 16 MiB). The node checks it point by point against the file it extends and keeps it; 201 with its digest",
    },
    Route {
        method: "get",
        path: "/v1/ceremony/files/{digest}",
        summary: "A setup ceremony file this node holds (raw bytes); the reader checks its digest",
    },
    Route {
        method: "post",
        path: "/v1/transactions",
        summary: "Submit a signed transaction (JSON). 202 when queued; 4xx with the reason when it cannot take effect",
    },
    Route {
        method: "get",
        path: "/v1/transactions/{hash}",
        summary: "A transaction's receipt with its proof (value null while pending or unknown)",
    },
    Route {
        method: "get",
        path: "/v1/blocks/latest",
        summary: "The latest committed block with its commit certificate",
    },
    Route {
        method: "get",
        path: "/v1/blocks/{height}",
        summary: "A committed block with its commit certificate",
    },
    Route {
        method: "get",
        path: "/v1/validators",
        summary: "The current validator set, with proof",
    },
    Route {
        method: "get",
        path: "/v1/validators/changes",
        summary: "The validator-set changes after ?after=EPOCH, oldest first (at most 32): for each, the last block the outgoing set certified, with a proof of the incoming set. A light client checks each against the set before it, from the genesis it pinned",
    },
    Route {
        method: "get",
        path: "/v1/governance",
        summary: "Governance members and policies, with proof",
    },
    Route {
        method: "get",
        path: "/v1/genesis",
        summary: "The consortium genesis",
    },
    Route {
        method: "get",
        path: "/v1/accounts/{did}",
        summary: "An account's nonce window (next nonce), with proof",
    },
    Route {
        method: "get",
        path: "/v1/dids/{did}",
        summary: "Resolves a DID (docs/did-method-credence.md): a W3C DID Resolution result (application/did-resolution) with the DID document of an issuer, verifier or governance member and the ledger proof of its record; 410 with deactivated metadata for a suspended issuer, 404 notFound, 400 invalidDid",
    },
    Route {
        method: "get",
        path: "/v1/issuers/{did}",
        summary: "An issuer record, with proof",
    },
    Route {
        method: "get",
        path: "/v1/verifiers/{did}",
        summary: "A verifier record and scope, with proof",
    },
    Route {
        method: "get",
        path: "/v1/schemas/{id}",
        summary: "A published credential schema, with proof",
    },
    Route {
        method: "get",
        path: "/v1/schemas/{id}/document",
        summary: "A published credential schema's JSON Schema document as published (application/schema+json): what a credential's credentialSchema.id names; its SM3 hash is in the proven record at /v1/schemas/{id}",
    },
    Route {
        method: "get",
        path: "/v1/contexts/credentials/v1",
        summary: "The Credence JSON-LD context https://credence.dev/ns/credentials/v1 (application/ld+json), the file shipped in the repository",
    },
    Route {
        method: "get",
        path: "/v1/anchors/{issuer}/{root}",
        summary: "An anchored batch, with proof",
    },
    Route {
        method: "get",
        path: "/v1/status-lists/{issuer}/{list}/{chunk}",
        summary: "A status-list chunk (revocation bits), with proof",
    },
    Route {
        method: "get",
        path: "/v1/status-lists/{issuer}/{list}/{chunk}/credential",
        summary: "A status-list chunk as a W3C BitstringStatusListCredential (131072 entries, GZIP, multibase base64url, index 0 the left-most bit) whose credence-ledger-2026 proof is the ledger proof of the chunk (docs/cryptosuites.md): what a credential's statusListCredential names",
    },
    Route {
        method: "get",
        path: "/v1/revoked/{issuer}/{list}",
        summary: "How many indexes a status list revoked and its revocation-tree root, with proof",
    },
    Route {
        method: "get",
        path: "/v1/revoked/{issuer}/{list}/ids",
        summary: "The revoked indexes of a status list (the set bits of its chunks) at one height, without proof: rebuild the revocation tree from them and compare its root with the proven one",
    },
    Route {
        method: "get",
        path: "/v1/verifying-keys/{circuit}/{version}",
        summary: "A registered Groth16 verifying key, with proof",
    },
    Route {
        method: "get",
        path: "/v1/proposals/{hash}",
        summary: "A governance proposal and its approvals, with proof",
    },
    Route {
        method: "get",
        path: "/v1/councils/{id}",
        summary: "A regulator council: its plan, the key generation's transcript (receiving keys, dealings, disqualified dealers, readiness) and, once in force, its key and verification keys, with proof",
    },
    Route {
        method: "get",
        path: "/v1/openings/{hash}",
        summary: "An approved opening (by its proposal's hash): the ciphertext, verifier, request and legal basis, the decryption shares published and, with enough of them, the opened handle, with proof (a proposal not yet approved is at /v1/proposals/{hash})",
    },
    Route {
        method: "get",
        path: "/v1/proofs",
        summary: "Several state keys read at one height under one certificate: ?keys=HEX,HEX,... (at most 32 raw state keys, hex); answers a ledger proof whose state proofs show each value or its absence",
    },
    Route {
        method: "get",
        path: "/v1/status",
        summary: "Node status: height, view, role, peers",
    },
    Route {
        method: "get",
        path: "/health",
        summary: "200 when the node runs",
    },
    Route {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics (OpenMetrics text)",
    },
    Route {
        method: "get",
        path: "/openapi.json",
        summary: "This document",
    },
];

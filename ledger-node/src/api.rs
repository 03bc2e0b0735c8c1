//! The HTTP API (axum). Every read of ledger state answers with the value (or `null`), the
//! state proof, the header and its commit certificate: a client that trusts only the validator
//! set checks the answer with `schemas::light_client::verify_ledger_proof`, whatever node it
//! asked.
//!
//! Invariants:
//! - every error is a JSON body `{ "error": code, "message": text }` with a 4xx/5xx status;
//!   no input makes a handler panic;
//! - request bodies are capped at [`MAX_BODY_BYTES`];
//! - [`ROUTES`] lists every route; `/openapi.json` is generated from it and a test checks the
//!   router serves each one.

use crate::shared::{Shared, Submission, SubmitError};
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ledger_api::{MAX_BODY_BYTES, MAX_PROOF_KEYS, Proven, ROUTES, RevokedIndexes};
use schemas::codec::Canonical;
use schemas::did::Did;
use schemas::hash::{Hash, domains};
use schemas::ledger::{
    AccountRecord, AnchorRecord, CouncilRecord, Governance, IssuerRecord, LedgerProof, OpeningRecord,
    ProposalRecord, RevocationRoot, STATUS_CHUNKS_PER_LIST, SchemaRecord, SignedTransaction, StatusListChunk,
    TxReceipt, ValidatorSet, VerifierRecord, VerifyingKeyRecord, state_keys,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

// The client reads a block whole: the largest block, as JSON, must fit in what it reads.
const _: () = assert!(4 * pbft::MAX_BATCH_BYTES < ledger_api::MAX_RESPONSE_BYTES);

type SharedState = Arc<Shared>;

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(ledger_api::ErrorBody {
                error: self.code.to_owned(),
                message: self.message,
            }),
        )
            .into_response()
    }
}

type ApiResult<T> = Result<axum::Json<T>, ApiError>;

/// The router.
pub fn router(shared: SharedState) -> Router {
    Router::new()
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{hash}", get(receipt))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/validators", get(validators))
        .route("/v1/validators/changes", get(set_changes))
        .route("/v1/governance", get(governance))
        .route("/v1/genesis", get(genesis))
        .route("/v1/accounts/{did}", get(account))
        .route("/v1/dids/{did}", get(did_document))
        .route("/v1/issuers/{did}", get(issuer))
        .route("/v1/verifiers/{did}", get(verifier))
        .route("/v1/schemas/{id}", get(schema))
        .route("/v1/anchors/{issuer}/{root}", get(anchor))
        .route("/v1/status-lists/{issuer}/{list}/{chunk}", get(status_chunk))
        .route(
            "/v1/status-lists/{issuer}/{list}/{chunk}/credential",
            get(status_list_credential),
        )
        .route("/v1/schemas/{id}/document", get(schema_document))
        .route(
            "/v1/contexts/credentials/v1",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/ld+json")],
                    schemas::credential::CREDENCE_CONTEXT_JSON,
                )
            }),
        )
        .route("/v1/revoked/{issuer}/{list}", get(revoked))
        .route("/v1/revoked/{issuer}/{list}/ids", get(revoked_ids))
        .route("/v1/verifying-keys/{circuit}/{version}", get(verifying_key))
        .route("/v1/proposals/{hash}", get(proposal))
        .route("/v1/councils/{id}", get(council))
        .route("/v1/openings/{hash}", get(opening))
        .route("/v1/proofs", get(proofs))
        .route(
            "/v1/ceremony/files",
            post(upload_ceremony_file).layer(DefaultBodyLimit::max(zk::ceremony::MAX_FILE_BYTES)),
        )
        .route("/v1/ceremony/files/{digest}", get(ceremony_file))
        .route("/v1/status", get(status))
        .route("/health", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(|| async { axum::Json(openapi()) }))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see /openapi.json",
            )
        })
        .layer(axum::middleware::map_response(json_errors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

/// Turns the plain-text rejections of axum's extractors (a path segment that is not UTF-8, a
/// wrong method, …) into the API's JSON error shape.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        // A DID Resolution result is JSON too, errors included (DID Resolution §9).
        let v = v.as_bytes();
        v.starts_with(b"application/json") || v.starts_with(b"application/did-resolution")
    });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&body).trim().to_string();
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        message
    };
    (
        status,
        axum::Json(json!({ "error": "bad_request", "message": message })),
    )
        .into_response()
}

/// The media type a route answers with.
fn media_type(path: &str) -> &'static str {
    match path {
        "/metrics" => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        "/v1/contexts/credentials/v1" => "application/ld+json",
        "/v1/schemas/{id}/document" => "application/schema+json",
        "/v1/status-lists/{issuer}/{list}/{chunk}/credential" => "application/vc",
        "/v1/dids/{did}" => "application/did-resolution",
        "/v1/ceremony/files/{digest}" => "application/octet-stream",
        _ => "application/json",
    }
}

/// `get_v1_status_lists_issuer_list_chunk` for `get /v1/status-lists/{issuer}/{list}/{chunk}`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for word in path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        id.push('_');
        id.push_str(word);
    }
    id
}

/// The OpenAPI 3.1 document.
pub fn openapi() -> Value {
    let error = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if r.path == "/v1/proofs" {
            params.push(json!({ "name": "keys", "in": "query", "required": true, "description": "State keys, hex, comma-separated (at most 32)", "schema": { "type": "string" } }));
        }
        if r.path == "/v1/validators/changes" {
            params.push(json!({ "name": "after", "in": "query", "required": false, "description": "The epoch the reader knows", "schema": { "type": "integer", "minimum": 0 } }));
        }
        let media = media_type(r.path);
        let body = if media.starts_with("application/json") {
            json!({ "type": "object" })
        } else {
            json!({ "type": "string" })
        };
        let mut op = json!({
            "operationId": operation_id(r.method, r.path),
            "summary": r.summary,
            "parameters": params,
            "responses": {
                "200": { "description": "OK", "content": { media: { "schema": body } } },
                "400": { "description": "Malformed request", "content": error },
                "404": { "description": "Not found", "content": error },
                "503": { "description": "The node cannot read its state now; retry or ask another node", "content": error }
            }
        });
        if r.path == "/v1/dids/{did}" {
            op["responses"]["410"] = json!({ "description": "Deactivated (a suspended issuer): a DID Resolution result with deactivated metadata", "content": { media: { "schema": body } } });
        }
        if r.method == "post" {
            let request = if r.path == "/v1/transactions" {
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/SignedTransaction" } } })
            } else {
                json!({ "application/octet-stream": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } } })
            };
            op["requestBody"] = json!({ "required": true, "content": request });
            op["responses"]["202"] = json!({ "description": "Queued for consensus" });
            op["responses"]["413"] = json!({ "description": "Body over the size limit", "content": error });
            op["responses"]["422"] =
                json!({ "description": "The ledger would reject it; message says why", "content": error });
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Credence ledger node",
            "version": env!("CARGO_PKG_VERSION"),
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
            "description": "Reads return the value with an SM3 sparse-Merkle proof, the block header and its SM2 commit certificate; verify them against the validator set alone."
        },
        "servers": [{ "url": "/", "description": "The node serving this document" }],
        // Public: every read is proven, every write signed; nothing is authorised by the API.
        "security": [],
        "paths": paths,
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["error", "message"], "properties": {
                "error": { "type": "string" }, "message": { "type": "string" } } },
            "SignedTransaction": { "type": "object", "required": ["tx", "signatures"], "properties": {
                "tx": { "type": "object", "required": ["chainId", "sender", "nonce", "payload"], "properties": {
                    "chainId": { "type": "string" },
                    "sender": { "type": "string", "description": "The sender's DID" },
                    "nonce": { "type": "integer", "minimum": 0 },
                    "payload": { "type": "object", "description": "One transaction kind (schemas::ledger::TxPayload)" } } },
                "signatures": { "type": "array", "items": { "type": "object", "required": ["publicKey", "signature"], "properties": {
                    "publicKey": { "type": "string", "description": "SEC1 uncompressed SM2 key, hex" },
                    "signature": { "type": "string", "description": "r || s, hex" } } } } } }
        } }
    })
}

fn parse_did(s: &str) -> Result<Did, ApiError> {
    Did::parse(s).map_err(|e| ApiError::bad(format!("{e}")))
}

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(s).map_err(|e| ApiError::bad(format!("{s:?} is not a 64-hex-digit hash: {e}")))
}

fn parse_u32(what: &str, s: &str) -> Result<u32, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad(format!("{what} must be a number from 0 to 4294967295, got {s:?}")))
}

/// Reads `key` with its proof, in a blocking task (sled and the tree walk block).
async fn read<T: DeserializeOwned + Send + 'static>(
    shared: &SharedState,
    key: Vec<u8>,
) -> Result<Proven<T>, ApiError> {
    let store = shared.store.clone();
    let proof = tokio::task::spawn_blocking(move || store.read(&[key]))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))?;
    let value = match proof.state.first().and_then(|p| p.value.as_ref()) {
        None => None,
        Some(v) => Some(schemas::codec::decode(&v.0).map_err(ApiError::internal)?),
    };
    Ok(Proven { value, proof })
}

async fn found<T: DeserializeOwned + Serialize + Send + 'static>(
    shared: &SharedState,
    key: Vec<u8>,
) -> ApiResult<Proven<T>> {
    read(shared, key).await.map(axum::Json)
}

async fn submit(
    State(shared): State<SharedState>,
    body: Result<axum::Json<SignedTransaction>, JsonRejection>,
) -> Result<Response, ApiError> {
    let axum::Json(tx) = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                status,
                "too_large",
                format!(
                    "the request body exceeds {MAX_BODY_BYTES} bytes (MAX_BODY_BYTES); a transaction is at most {} bytes encoded (MAX_TX_BYTES)",
                    schemas::limits::MAX_TX_BYTES
                ),
            );
        }
        ApiError::new(
            status,
            "bad_request",
            format!(
                "{}; send a SignedTransaction as JSON (see /openapi.json)",
                e.body_text()
            ),
        )
    })?;
    // The admission rule every replica and the ledger apply too (schemas::limits), before any
    // signature is checked: what a backup would refuse never reaches the mempool.
    if let Err(e) = schemas::limits::check_transaction(&tx, &shared.genesis.chain_id) {
        shared.metrics.reject("api_limit");
        return Err(match e {
            schemas::limits::LimitError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
            }
            _ => ApiError::bad(e.to_string()),
        });
    }
    let shared2 = shared.clone();
    let tx2 = tx.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let digest = tx2.tx.digest();
        if let Some(i) = tx2
            .signatures
            .iter()
            .position(|s| !shared2.verified.verify(&s.public_key, domains::TRANSACTION, &digest.0, &s.signature))
        {
            return Err(ApiError::bad(format!(
                "signature {i} does not verify over the transaction; sign the transaction's digest with that key"
            )));
        }
        let version = shared2.store.state_version().map_err(ApiError::internal)?;
        crate::rules::precheck(&shared2.store, version, &shared2.genesis.chain_id, &tx2)
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    // A contribution is admitted only once this node holds its file, checked against the file it
    // extends (ceremony_files), and only if it records that file's heads and proofs: what it
    // would order is what it has seen.
    if let schemas::ledger::TxPayload::Contribute { contribution } = &tx.tx.payload
        && checked.is_ok()
        && let Err(reason) = shared.ceremony_files.matches(contribution, &tx.tx.sender)
    {
        shared.metrics.reject("api_rule");
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "file_mismatch",
            reason,
        ));
    }
    if let Err(reason) = checked {
        shared.metrics.reject("api_rule");
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            reason.to_string(),
        ));
    }
    let hash = tx.id();
    let (reply, answer) = tokio::sync::oneshot::channel();
    let queued = shared
        .submit
        .send_timeout(Submission { tx, reply }, Duration::from_secs(5))
        .await;
    let result = match queued {
        Err(_) => Err(SubmitError::Busy),
        Ok(()) => answer.await.unwrap_or(Err(SubmitError::Stopped)),
    };
    match result {
        Ok(()) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({ "txHash": hash, "status": "pending" })),
        )
            .into_response()),
        Err(SubmitError::Busy) => {
            shared.metrics.reject("mempool_full");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the mempool is full; retry shortly",
            ))
        }
        Err(SubmitError::Stopped) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            "the node is stopping",
        )),
    }
}

/// Checks and keeps a setup ceremony file (the raw bytes of `docs/ceremony.md`'s format).
async fn upload_ceremony_file(
    State(s): State<SharedState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    use crate::ceremony_files::FileError;
    let shared = s.clone();
    let result = tokio::task::spawn_blocking(move || shared.ceremony_files.put(&shared.store, &body))
        .await
        .map_err(ApiError::internal)?;
    match result {
        Ok(digest) => Ok((StatusCode::CREATED, axum::Json(json!({ "digest": digest }))).into_response()),
        Err(e @ FileError::Invalid(_)) => Err(ApiError::bad(e.to_string())),
        Err(e @ FileError::Unknown(_)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown",
            e.to_string(),
        )),
        Err(e @ FileError::Full) => Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "full",
            e.to_string(),
        )),
        Err(e @ FileError::Io(_)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        )),
    }
}

/// A setup ceremony file this node holds, by digest (the client checks the digest).
async fn ceremony_file(
    State(s): State<SharedState>,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    let digest = parse_hash(&digest)?;
    let shared = s.clone();
    let bytes = tokio::task::spawn_blocking(move || shared.ceremony_files.get(&digest))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))?;
    match bytes {
        Some(b) => Ok(([(header::CONTENT_TYPE, "application/octet-stream")], b).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("this node does not hold ceremony file {digest}"),
        )),
    }
}

async fn receipt(State(s): State<SharedState>, Path(hash): Path<String>) -> ApiResult<Proven<TxReceipt>> {
    found(&s, state_keys::receipt(&parse_hash(&hash)?)).await
}

async fn block_at(s: &SharedState, height: u64) -> Result<Response, ApiError> {
    let store = s.store.clone();
    let b = tokio::task::spawn_blocking(move || store.block(height))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    match b {
        Some((block, certificate)) => {
            Ok(axum::Json(json!({ "block": block, "certificate": certificate })).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no block at height {height} yet"),
        )),
    }
}

async fn latest_block(State(s): State<SharedState>) -> Result<Response, ApiError> {
    let h = s.store.height().map_err(ApiError::internal)?.map_or(0, |h| h.0);
    block_at(&s, h).await
}

async fn block(State(s): State<SharedState>, Path(height): Path<String>) -> Result<Response, ApiError> {
    let h: u64 = height
        .parse()
        .map_err(|_| ApiError::bad(format!("height must be a non-negative integer, got {height:?}")))?;
    block_at(&s, h).await
}

async fn validators(State(s): State<SharedState>) -> ApiResult<Proven<ValidatorSet>> {
    found(&s, state_keys::VALIDATORS.to_vec()).await
}

#[derive(serde::Deserialize)]
struct ChangesQuery {
    after: Option<String>,
}

async fn set_changes(
    State(s): State<SharedState>,
    axum::extract::Query(q): axum::extract::Query<ChangesQuery>,
) -> ApiResult<Vec<LedgerProof>> {
    let after = match q.after.as_deref() {
        None => 0,
        Some(a) => a.parse().map_err(|_| {
            ApiError::bad(format!(
                "?after must be an epoch (a non-negative integer), got {a:?}"
            ))
        })?,
    };
    let (store, genesis) = (s.store.clone(), s.genesis.validators.clone());
    let changes = tokio::task::spawn_blocking(move || store.set_changes(&genesis, after))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))?;
    Ok(axum::Json(changes))
}

async fn governance(State(s): State<SharedState>) -> ApiResult<Proven<Governance>> {
    found(&s, state_keys::GOVERNANCE.to_vec()).await
}

async fn genesis(State(s): State<SharedState>) -> axum::Json<schemas::ledger::Genesis> {
    axum::Json(s.genesis.clone())
}

async fn account(State(s): State<SharedState>, Path(did): Path<String>) -> Result<Response, ApiError> {
    let r: Proven<AccountRecord> = read(&s, state_keys::account(&parse_did(&did)?)).await?;
    let next = r.value.as_ref().map_or(0, AccountRecord::next_nonce);
    Ok(axum::Json(json!({ "nextNonce": next, "value": r.value, "proof": r.proof })).into_response())
}

/// A W3C DID Resolution result (`docs/did-method-credence.md`).
fn resolution(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/did-resolution")],
        axum::Json(body),
    )
        .into_response()
}

fn resolution_error(status: StatusCode, error: &str, detail: String, proof: Option<LedgerProof>) -> Response {
    let mut body = json!({
        "didDocument": null,
        "didResolutionMetadata": { "error": error, "errorMessage": detail },
        "didDocumentMetadata": {},
    });
    if let Some(p) = proof {
        body["ledgerProof"] = json!(p);
    }
    resolution(status, body)
}

async fn did_document(State(s): State<SharedState>, Path(did): Path<String>) -> Result<Response, ApiError> {
    let did = match Did::parse(&did) {
        Ok(d) => d,
        Err(e) => {
            return Ok(resolution_error(
                StatusCode::BAD_REQUEST,
                "invalidDid",
                e.to_string(),
                None,
            ));
        }
    };
    let found = |key: &schemas::sm2::PublicKey, role: &str, deactivated: bool, proof: LedgerProof| {
        let height = proof.header.height.0.to_string();
        let metadata = json!({ "deactivated": deactivated, "versionId": height, "role": role });
        if deactivated {
            // DID Resolution: a deactivated DID resolves to no document, with HTTP 410.
            return resolution(
                StatusCode::GONE,
                json!({
                    "didDocument": null,
                    "didResolutionMetadata": { "contentType": "application/did+ld+json" },
                    "didDocumentMetadata": metadata,
                    "ledgerProof": proof,
                }),
            );
        }
        resolution(
            StatusCode::OK,
            json!({
                "didDocument": did.document(key),
                "didResolutionMetadata": { "contentType": "application/did+ld+json" },
                "didDocumentMetadata": metadata,
                "ledgerProof": proof,
            }),
        )
    };
    let issuer: Proven<IssuerRecord> = read(&s, state_keys::issuer(&did)).await?;
    if let Some(rec) = issuer.value {
        let suspended = rec.status == schemas::ledger::IssuerStatus::Suspended;
        return Ok(found(&rec.public_key, "issuer", suspended, issuer.proof));
    }
    let verifier: Proven<VerifierRecord> = read(&s, state_keys::verifier(&did)).await?;
    if let Some(rec) = verifier.value {
        return Ok(found(&rec.public_key, "verifier", false, verifier.proof));
    }
    let gov: Proven<Governance> = read(&s, state_keys::GOVERNANCE.to_vec()).await?;
    if let Some(m) = gov
        .value
        .as_ref()
        .and_then(|g| g.members.iter().find(|m| m.did == did))
    {
        return Ok(found(&m.public_key, "governance", false, gov.proof));
    }
    // Not found: one proof, at one height, of the three places a DID could be registered.
    let store = s.store.clone();
    let keys = vec![
        state_keys::issuer(&did),
        state_keys::verifier(&did),
        state_keys::GOVERNANCE.to_vec(),
    ];
    let absence = tokio::task::spawn_blocking(move || store.read(&keys))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))?;
    Ok(resolution_error(
        StatusCode::NOT_FOUND,
        "notFound",
        format!(
            "{did} is not a registered issuer, verifier or governance member (a holder's DID resolves from the key it presents)"
        ),
        Some(absence),
    ))
}

/// The public base URL this request reached the node at: `http://` and its `Host` header.
fn public_base(headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .ok_or_else(|| ApiError::bad("the request needs a Host header naming this node"))?;
    Ok(format!("http://{host}"))
}

async fn status_list_credential(
    State(s): State<SharedState>,
    headers: axum::http::HeaderMap,
    Path((issuer, list, chunk)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let did = parse_did(&issuer)?;
    let list = parse_u32("list", &list)?;
    let chunk = parse_u32("chunk", &chunk)?;
    if chunk >= STATUS_CHUNKS_PER_LIST {
        return Err(ApiError::bad(format!(
            "a status list has chunks 0 to {}",
            STATUS_CHUNKS_PER_LIST - 1
        )));
    }
    let base = public_base(&headers)?;
    let proven: Proven<StatusListChunk> = read(&s, state_keys::status_chunk(&did, list, chunk)).await?;
    // No chunk yet: nothing in it was ever revoked (the proof shows the absence).
    let bits = proven
        .value
        .unwrap_or_else(|| StatusListChunk::empty(did.clone(), list, chunk));
    let url = format!("{base}/v1/status-lists/{did}/{list}/{chunk}/credential");
    let vc =
        schemas::status_list::list_credential(&bits, &url, proven.proof.header.timestamp_ms, &proven.proof);
    // Its `id` comes from the Host header: caches must key on it.
    Ok((
        [(header::CONTENT_TYPE, "application/vc"), (header::VARY, "Host")],
        axum::Json(vc),
    )
        .into_response())
}

async fn schema_document(State(s): State<SharedState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    if id.len() > 256 {
        return Err(ApiError::bad("schema id longer than 256 characters"));
    }
    // A built-in schema is the text every wallet and verifier knows (a ledger whose genesis
    // predates December 2026 holds its earlier, subject-only text under the same id).
    if let Some(builtin) = schemas::credential_schema::CredentialSchema::builtin_by_id(&id) {
        return Ok((
            [(header::CONTENT_TYPE, "application/schema+json")],
            builtin.json().to_owned(),
        )
            .into_response());
    }
    let proven: Proven<SchemaRecord> = read(&s, state_keys::schema(&id)).await?;
    let record = proven.value.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no schema {id:?} is published"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/schema+json")], record.json).into_response())
}

async fn issuer(State(s): State<SharedState>, Path(did): Path<String>) -> ApiResult<Proven<IssuerRecord>> {
    found(&s, state_keys::issuer(&parse_did(&did)?)).await
}

async fn verifier(
    State(s): State<SharedState>,
    Path(did): Path<String>,
) -> ApiResult<Proven<VerifierRecord>> {
    found(&s, state_keys::verifier(&parse_did(&did)?)).await
}

async fn schema(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult<Proven<SchemaRecord>> {
    if id.len() > 256 {
        return Err(ApiError::bad("schema id longer than 256 characters"));
    }
    found(&s, state_keys::schema(&id)).await
}

async fn anchor(
    State(s): State<SharedState>,
    Path((issuer, root)): Path<(String, String)>,
) -> ApiResult<Proven<AnchorRecord>> {
    found(&s, state_keys::anchor(&parse_did(&issuer)?, &parse_hash(&root)?)).await
}

async fn status_chunk(
    State(s): State<SharedState>,
    Path((issuer, list, chunk)): Path<(String, String, String)>,
) -> ApiResult<Proven<StatusListChunk>> {
    let key = state_keys::status_chunk(
        &parse_did(&issuer)?,
        parse_u32("list", &list)?,
        parse_u32("chunk", &chunk)?,
    );
    found(&s, key).await
}

async fn revoked(
    State(s): State<SharedState>,
    Path((issuer, list)): Path<(String, String)>,
) -> ApiResult<Proven<RevocationRoot>> {
    found(
        &s,
        state_keys::revoked(&parse_did(&issuer)?, parse_u32("list", &list)?),
    )
    .await
}

async fn revoked_ids(
    State(s): State<SharedState>,
    Path((issuer, list)): Path<(String, String)>,
) -> ApiResult<RevokedIndexes> {
    let (issuer, list) = (parse_did(&issuer)?, parse_u32("list", &list)?);
    // Up to 2 MiB of chunks read and a few MB answered per request: a few at a time.
    let _permit = LIST_READS
        .try_acquire()
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", format!(
            "{MAX_CONCURRENT_LIST_READS} revoked-index reads are running (MAX_CONCURRENT_LIST_READS); retry shortly"
        )))?;
    let keys: Vec<Vec<u8>> = (0..STATUS_CHUNKS_PER_LIST)
        .map(|c| state_keys::status_chunk(&issuer, list, c))
        .collect();
    let store = s.store.clone();
    let (height, values) = tokio::task::spawn_blocking(move || store.values(&keys))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))?;
    let mut ids = Vec::new();
    for v in values.iter().flatten() {
        let chunk: StatusListChunk = schemas::codec::decode(v).map_err(ApiError::internal)?;
        ids.extend(chunk.revoked());
    }
    Ok(axum::Json(RevokedIndexes { height, ids }))
}

/// Most `/v1/revoked/{issuer}/{list}/ids` reads a node serves at once (others get 503 busy).
pub const MAX_CONCURRENT_LIST_READS: usize = 4;

static LIST_READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_LIST_READS);

async fn verifying_key(
    State(s): State<SharedState>,
    Path((circuit, version)): Path<(String, String)>,
) -> ApiResult<Proven<VerifyingKeyRecord>> {
    if circuit.len() > 64 {
        return Err(ApiError::bad("circuit id longer than 64 characters"));
    }
    found(
        &s,
        state_keys::verifying_key(&circuit, parse_u32("version", &version)?),
    )
    .await
}

async fn proposal(
    State(s): State<SharedState>,
    Path(hash): Path<String>,
) -> ApiResult<Proven<ProposalRecord>> {
    found(&s, state_keys::proposal(&parse_hash(&hash)?)).await
}

async fn council(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult<Proven<CouncilRecord>> {
    if id.len() > crate::rules::council::MAX_COUNCIL_ID {
        return Err(ApiError::bad(format!(
            "council id longer than {} characters",
            crate::rules::council::MAX_COUNCIL_ID
        )));
    }
    found(&s, state_keys::council(&id)).await
}

async fn opening(State(s): State<SharedState>, Path(hash): Path<String>) -> ApiResult<Proven<OpeningRecord>> {
    found(&s, state_keys::opening(&parse_hash(&hash)?)).await
}

#[derive(serde::Deserialize)]
struct ProofQuery {
    keys: String,
}

async fn proofs(
    State(s): State<SharedState>,
    query: Result<axum::extract::Query<ProofQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<LedgerProof> {
    let axum::extract::Query(q) =
        query.map_err(|_| ApiError::bad("give the state keys as ?keys=HEX,HEX,... (raw keys, hex)"))?;
    let keys = q
        .keys
        .split(',')
        .map(|k| hex::decode(k).map_err(|_| ApiError::bad(format!("{k:?} is not a hex state key"))))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() || keys.len() > MAX_PROOF_KEYS {
        return Err(ApiError::bad(format!(
            "{} keys; a read covers 1 to {MAX_PROOF_KEYS}",
            keys.len()
        )));
    }
    let store = s.store.clone();
    let proof = tokio::task::spawn_blocking(move || store.read(&keys))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))?;
    Ok(axum::Json(proof))
}

async fn status(State(s): State<SharedState>) -> axum::Json<ledger_api::NodeStatus> {
    axum::Json(s.status.read().unwrap_or_else(|p| p.into_inner()).clone())
}

async fn metrics(State(s): State<SharedState>) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    s.metrics.set_verifications(
        s.verified.transaction_verifications.load(Relaxed),
        s.verified.consensus_verifications.load(Relaxed),
    );
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

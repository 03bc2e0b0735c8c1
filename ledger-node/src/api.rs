//! The HTTP API (axum). Every read of ledger state answers with the value (or `null`), the
//! state proof, the header and its commit certificate: a client that trusts only the validator
//! set checks the answer with `schemas::light_client::verify_ledger_proof`, whatever node it
//! asked.
//!
//! Invariants:
//! - every error is an RFC 9457 problem (`ledger_api::Problem`, `application/problem+json`) with a
//!   4xx/5xx status; no input makes a handler panic;
//! - request bodies are capped at [`MAX_BODY_BYTES`];
//! - the router and `/openapi.json` come from the same handlers (`utoipa_axum::routes!`): every
//!   route served is documented with its parameters, body and answers, typed from the Rust
//!   types the handler reads and writes.

use crate::shared::{Shared, Submission, SubmitError};
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_api::{MAX_BODY_BYTES, MAX_PROOF_KEYS, Problem, Proven, RevokedIndexes};
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
        problem(self.status, self.code, self.message)
    }
}

/// An RFC 9457 problem answer (`ledger_api::Problem`), the one error shape of every route.
pub fn problem(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, ledger_api::PROBLEM_MEDIA_TYPE)],
        axum::Json(ledger_api::Problem::new(status.as_u16(), code, detail)),
    )
        .into_response()
}

type ApiResult<T> = Result<axum::Json<T>, ApiError>;

/// The OpenAPI document's fixed parts; the paths and the schemas come from the handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Credence ledger node",
        description = "Reads return the value with an SM3 sparse-Merkle proof, the block header and its SM2 commit certificate; verify them against the validator set alone. Every error is an RFC 9457 problem (application/problem+json).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "The node serving this document")),
    components(schemas(ledger_api::Problem)),
)]
struct ApiDoc;

/// The errors every read can answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum ReadErrors {
    /// Malformed request: the problem's detail says what to fix.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ledger_api::Problem),
    /// The node cannot read its state now: retry, or ask another node.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ledger_api::Problem),
}

/// What a missing record answers.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum NotFound {
    /// Nothing there.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ledger_api::Problem),
}

/// The routes, and the OpenAPI document generated from their handlers.
fn routes() -> (Router<SharedState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::router::UtoipaMethodRouterExt as _;
    use utoipa_axum::routes;
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(submit))
        .routes(routes!(upload_ceremony_file).layer(DefaultBodyLimit::max(zk::ceremony::MAX_FILE_BYTES)))
        .routes(routes!(receipt))
        .routes(routes!(latest_block))
        .routes(routes!(block))
        .routes(routes!(validators))
        .routes(routes!(set_changes))
        .routes(routes!(governance))
        .routes(routes!(genesis))
        .routes(routes!(account))
        .routes(routes!(did_document))
        .routes(routes!(issuer))
        .routes(routes!(verifier))
        .routes(routes!(schema))
        .routes(routes!(schema_document))
        .routes(routes!(context))
        .routes(routes!(anchor))
        .routes(routes!(status_chunk))
        .routes(routes!(status_list_credential))
        .routes(routes!(revoked))
        .routes(routes!(revoked_ids))
        .routes(routes!(verifying_key))
        .routes(routes!(proposal))
        .routes(routes!(council))
        .routes(routes!(opening))
        .routes(routes!(proofs))
        .routes(routes!(ceremony_file))
        .routes(routes!(status))
        .routes(routes!(health))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .split_for_parts();
    // Public: every read is proven, every write signed; nothing is authorised by the API.
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::default()]);
    (router, doc)
}

/// The router.
pub fn router(shared: SharedState) -> Router {
    let (router, doc) = routes();
    documented(router, &doc)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

/// What the node and the verifier service share around their routes: `doc` served at
/// `/openapi.json` (written once), a problem for unknown routes, and every error a problem.
pub fn documented<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    doc: &utoipa::openapi::OpenApi,
) -> Router<S> {
    let served = OpenApiText(doc.to_json().unwrap_or_default().into());
    router
        .fallback(|| async {
            problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see /openapi.json",
            )
        })
        .layer(axum::Extension(served))
        .layer(axum::middleware::map_response(json_errors))
}

/// The node's OpenAPI 3.1 document, as `/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// Turns the plain-text rejections of axum's extractors (a path segment that is not UTF-8, a
/// wrong method, …) into the API's problem shape.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        // A DID Resolution result is JSON too, errors included (DID Resolution §9).
        let v = v.as_bytes();
        // Typed JSON answers with an error status pass too: the verifier service's 422 is its
        // report, checks and reasons.
        v.starts_with(ledger_api::PROBLEM_MEDIA_TYPE.as_bytes())
            || v.starts_with(b"application/json")
            || v.starts_with(b"application/did-resolution")
    });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&body).trim().to_string();
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        message
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let mut answer = problem(status, code, message);
    // A 405 still says which methods the route has (RFC 9110 §15.5.6).
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
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

/// Reads `keys` at one height under one certificate, in a blocking task (sled and the tree walk
/// block).
async fn read_keys(shared: &SharedState, keys: Vec<Vec<u8>>) -> Result<LedgerProof, ApiError> {
    let store = shared.store.clone();
    tokio::task::spawn_blocking(move || store.read(&keys))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))
}

/// Reads `key` with its proof.
async fn read<T: DeserializeOwned + Send + 'static>(
    shared: &SharedState,
    key: Vec<u8>,
) -> Result<Proven<T>, ApiError> {
    let proof = read_keys(shared, vec![key]).await?;
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

/// Submit a signed transaction.
///
/// Queued for consensus when 202; a problem naming the reason when it cannot take effect.
#[utoipa::path(post, path = "/v1/transactions", request_body = schemas::ledger::SignedTransaction, responses((status = 202, description = "Queued for consensus", body = ledger_api::Submitted), (status = 400, description = "Not a signed transaction, a bad signature, or over a limit", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over MAX_BODY_BYTES or the transaction over MAX_TX_BYTES", body = Problem, content_type = "application/problem+json"), (status = 415, description = "The body is not sent as application/json", body = Problem, content_type = "application/problem+json"), (status = 422, description = "The ledger would reject it; the detail says why", body = Problem, content_type = "application/problem+json"), (status = 503, description = "The mempool is full or the node is stopping: retry", body = Problem, content_type = "application/problem+json")))]
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
        // JSON of the wrong shape is as malformed as JSON that does not parse: 400.
        let (status, code) = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (status, "unsupported_media_type"),
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        ApiError::new(
            status,
            code,
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
            axum::Json(ledger_api::Submitted {
                tx_hash: hash,
                status: "pending".into(),
            }),
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

/// Upload a setup ceremony file.
///
/// Raw bytes in the format of docs/ceremony.md, at most 16 MiB. The node checks it point by point against the file it extends and keeps it.
#[utoipa::path(post, path = "/v1/ceremony/files", request_body(content = ledger_api::OctetStream, content_type = "application/octet-stream"), responses((status = 201, description = "Kept; its digest", body = ledger_api::StoredFile), (status = 400, description = "Not a valid ceremony file", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Over 16 MiB", body = Problem, content_type = "application/problem+json"), (status = 422, description = "It extends no file this node holds", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"), (status = 507, description = "The node holds as many ceremony files as it keeps", body = Problem, content_type = "application/problem+json")))]
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
        Ok(digest) => {
            Ok((StatusCode::CREATED, axum::Json(ledger_api::StoredFile { digest })).into_response())
        }
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

/// A setup ceremony file this node holds.
///
/// Raw bytes; the reader checks their digest.
#[utoipa::path(get, path = "/v1/ceremony/files/{digest}", params(("digest" = String, Path, description = "The file's SM3 digest, hex")), responses((status = 200, description = "The file", body = ledger_api::OctetStream, content_type = "application/octet-stream"), ReadErrors, NotFound))]
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

/// A transaction's receipt, with proof.
///
/// The value is null while the transaction is pending or unknown.
#[utoipa::path(get, path = "/v1/transactions/{hash}", params(("hash" = String, Path, description = "The transaction's hash, hex")), responses((status = 200, description = "The receipt (or null) and its proof", body = Proven<schemas::ledger::TxReceipt>), ReadErrors))]
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
            Ok(axum::Json(ledger_api::CertifiedBlock { block, certificate }).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no block at height {height} yet"),
        )),
    }
}

/// The latest committed block with its commit certificate.
#[utoipa::path(get, path = "/v1/blocks/latest", responses((status = 200, description = "The block and its certificate", body = ledger_api::CertifiedBlock), ReadErrors, NotFound))]
async fn latest_block(State(s): State<SharedState>) -> Result<Response, ApiError> {
    let h = s.store.height().map_err(ApiError::internal)?.map_or(0, |h| h.0);
    block_at(&s, h).await
}

/// A committed block with its commit certificate.
#[utoipa::path(get, path = "/v1/blocks/{height}", params(("height" = String, Path, description = "The block's height (genesis is 0)")), responses((status = 200, description = "The block and its certificate", body = ledger_api::CertifiedBlock), ReadErrors, NotFound))]
async fn block(State(s): State<SharedState>, Path(height): Path<String>) -> Result<Response, ApiError> {
    let h: u64 = height
        .parse()
        .map_err(|_| ApiError::bad(format!("height must be a non-negative integer, got {height:?}")))?;
    block_at(&s, h).await
}

/// The current validator set, with proof.
#[utoipa::path(get, path = "/v1/validators", responses((status = 200, description = "The set and its proof", body = Proven<schemas::ledger::ValidatorSet>), ReadErrors))]
async fn validators(State(s): State<SharedState>) -> ApiResult<Proven<ValidatorSet>> {
    found(&s, state_keys::VALIDATORS.to_vec()).await
}

#[derive(serde::Deserialize)]
struct ChangesQuery {
    after: Option<String>,
}

/// The validator-set changes after an epoch.
///
/// Oldest first, at most 32: for each, the last block the outgoing set certified, with a proof of the incoming set. A light client checks each against the set before it, from the genesis it pinned.
#[utoipa::path(get, path = "/v1/validators/changes", params(("after" = Option<u64>, Query, description = "The epoch the reader knows (0 when absent)")), responses((status = 200, description = "The changes", body = Vec<schemas::ledger::LedgerProof>), ReadErrors))]
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

/// Governance members and policies, with proof.
#[utoipa::path(get, path = "/v1/governance", responses((status = 200, description = "Governance and its proof", body = Proven<schemas::ledger::Governance>), ReadErrors))]
async fn governance(State(s): State<SharedState>) -> ApiResult<Proven<Governance>> {
    found(&s, state_keys::GOVERNANCE.to_vec()).await
}

/// The consortium genesis.
#[utoipa::path(get, path = "/v1/genesis", responses((status = 200, description = "The genesis", body = schemas::ledger::Genesis)))]
async fn genesis(State(s): State<SharedState>) -> axum::Json<schemas::ledger::Genesis> {
    axum::Json(s.genesis.clone())
}

/// An account's nonce window and next nonce, with proof.
#[utoipa::path(get, path = "/v1/accounts/{did}", params(("did" = String, Path, description = "A did:credence DID")), responses((status = 200, description = "The next nonce, the record (or null) and its proof", body = ledger_api::AccountAnswer), ReadErrors))]
async fn account(State(s): State<SharedState>, Path(did): Path<String>) -> Result<Response, ApiError> {
    let r: Proven<AccountRecord> = read(&s, state_keys::account(&parse_did(&did)?)).await?;
    Ok(axum::Json(ledger_api::AccountAnswer {
        next_nonce: r.value.as_ref().map_or(0, AccountRecord::next_nonce),
        value: r.value,
        proof: r.proof,
    })
    .into_response())
}

/// A W3C DID Resolution answer (`docs/did-method-credence.md`).
fn resolution(status: StatusCode, body: ledger_api::DidResolution) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/did-resolution")],
        axum::Json(body),
    )
        .into_response()
}

fn resolution_error(status: StatusCode, error: &str, detail: String, proof: Option<LedgerProof>) -> Response {
    resolution(
        status,
        ledger_api::DidResolution {
            did_document: None,
            did_resolution_metadata: ledger_api::DidResolutionMetadata {
                error: Some(error.to_owned()),
                error_message: Some(detail),
                ..Default::default()
            },
            did_document_metadata: Default::default(),
            ledger_proof: proof,
        },
    )
}

/// Resolve a DID.
///
/// A W3C DID Resolution result (docs/did-method-credence.md) with the DID document of an issuer, verifier or governance member and the ledger proof of its record.
#[utoipa::path(get, path = "/v1/dids/{did}", params(("did" = String, Path, description = "A did:credence DID")), responses((status = 200, description = "Resolved", body = ledger_api::DidResolution, content_type = "application/did-resolution"), (status = 400, description = "invalidDid", body = ledger_api::DidResolution, content_type = "application/did-resolution"), (status = 404, description = "notFound, with one proof that the DID is registered in none of the places it could be", body = ledger_api::DidResolution, content_type = "application/did-resolution"), (status = 410, description = "Deactivated (a suspended issuer): no document, deactivated metadata", body = ledger_api::DidResolution, content_type = "application/did-resolution"), (status = 503, description = "The node cannot read its state now", body = Problem, content_type = "application/problem+json")))]
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
        let metadata = ledger_api::DidDocumentMetadata {
            deactivated: Some(deactivated),
            version_id: Some(proof.header.height.0.to_string()),
            role: Some(role.to_owned()),
        };
        // DID Resolution: a deactivated DID resolves to no document, with HTTP 410.
        let (status, document) = if deactivated {
            (StatusCode::GONE, None)
        } else {
            (StatusCode::OK, Some(did.document(key)))
        };
        resolution(
            status,
            ledger_api::DidResolution {
                did_document: document,
                did_resolution_metadata: ledger_api::DidResolutionMetadata {
                    content_type: Some("application/did+ld+json".into()),
                    ..Default::default()
                },
                did_document_metadata: metadata,
                ledger_proof: Some(proof),
            },
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
    let keys = vec![
        state_keys::issuer(&did),
        state_keys::verifier(&did),
        state_keys::GOVERNANCE.to_vec(),
    ];
    let absence = read_keys(&s, keys).await?;
    Ok(resolution_error(
        StatusCode::NOT_FOUND,
        "notFound",
        format!(
            "{did} is not a registered issuer, verifier or governance member (a holder's DID resolves from the key it presents)"
        ),
        Some(absence),
    ))
}

/// The public base URL of the links this node serves: its configured `public_url`, else the
/// `Host` the request reached it at (`https://` when the node terminates TLS).
fn public_base(shared: &Shared, headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    if let Some(url) = &shared.public_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
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
    let scheme = if shared.https { "https" } else { "http" };
    Ok(format!("{scheme}://{host}"))
}

/// A status-list chunk as a W3C BitstringStatusListCredential.
///
/// 131,072 entries, GZIP, multibase base64url, index 0 the left-most bit; its credence-ledger-2026 proof is the ledger proof of the chunk (docs/cryptosuites.md). What a credential's statusListCredential names. Its id is under the node's public_url, or, on a node listening on loopback only, the request's Host (Vary: Host).
#[utoipa::path(get, path = "/v1/status-lists/{issuer}/{list}/{chunk}/credential", params(("issuer" = String, Path, description = "The issuer's DID"), ("list" = String, Path, description = "The status list's number (0 to 4294967295)"), ("chunk" = String, Path, description = "The chunk's number in its list")), responses((status = 200, description = "The status list credential", body = schemas::status_list::StatusListCredential, content_type = "application/vc"), ReadErrors))]
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
    let base = public_base(&s, &headers)?;
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

/// A credential schema's JSON Schema document.
///
/// What a credential's credentialSchema.id names: a built-in schema's text, or a published schema's text as published (its SM3 hash is in the proven record at /v1/schemas/{id}).
#[utoipa::path(get, path = "/v1/schemas/{id}/document", params(("id" = String, Path, description = "The schema id (at most 256 characters)")), responses((status = 200, description = "The JSON Schema (2020-12)", body = Object, content_type = "application/schema+json"), ReadErrors, NotFound))]
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

/// An issuer record, with proof.
#[utoipa::path(get, path = "/v1/issuers/{did}", params(("did" = String, Path, description = "A did:credence DID")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::IssuerRecord>), ReadErrors))]
async fn issuer(State(s): State<SharedState>, Path(did): Path<String>) -> ApiResult<Proven<IssuerRecord>> {
    found(&s, state_keys::issuer(&parse_did(&did)?)).await
}

/// A verifier record and scope, with proof.
#[utoipa::path(get, path = "/v1/verifiers/{did}", params(("did" = String, Path, description = "A did:credence DID")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::VerifierRecord>), ReadErrors))]
async fn verifier(
    State(s): State<SharedState>,
    Path(did): Path<String>,
) -> ApiResult<Proven<VerifierRecord>> {
    found(&s, state_keys::verifier(&parse_did(&did)?)).await
}

/// A published credential schema, with proof.
#[utoipa::path(get, path = "/v1/schemas/{id}", params(("id" = String, Path, description = "The schema id (at most 256 characters)")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::SchemaRecord>), ReadErrors))]
async fn schema(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult<Proven<SchemaRecord>> {
    if id.len() > 256 {
        return Err(ApiError::bad("schema id longer than 256 characters"));
    }
    found(&s, state_keys::schema(&id)).await
}

/// An anchored batch, with proof.
#[utoipa::path(get, path = "/v1/anchors/{issuer}/{root}", params(("issuer" = String, Path, description = "The issuer's DID"), ("root" = String, Path, description = "The batch's Merkle root, hex")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::AnchorRecord>), ReadErrors))]
async fn anchor(
    State(s): State<SharedState>,
    Path((issuer, root)): Path<(String, String)>,
) -> ApiResult<Proven<AnchorRecord>> {
    found(&s, state_keys::anchor(&parse_did(&issuer)?, &parse_hash(&root)?)).await
}

/// A status-list chunk (revocation bits), with proof.
#[utoipa::path(get, path = "/v1/status-lists/{issuer}/{list}/{chunk}", params(("issuer" = String, Path, description = "The issuer's DID"), ("list" = String, Path, description = "The status list's number (0 to 4294967295)"), ("chunk" = String, Path, description = "The chunk's number in its list")), responses((status = 200, description = "The chunk (or null: nothing revoked in it) and its proof", body = Proven<schemas::ledger::StatusListChunk>), ReadErrors))]
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

/// How many indexes a status list revoked and its revocation-tree root, with proof.
#[utoipa::path(get, path = "/v1/revoked/{issuer}/{list}", params(("issuer" = String, Path, description = "The issuer's DID"), ("list" = String, Path, description = "The status list's number (0 to 4294967295)")), responses((status = 200, description = "The root (or null) and its proof", body = Proven<schemas::ledger::RevocationRoot>), ReadErrors))]
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

/// The revoked indexes of a status list at one height, without proof.
///
/// The set bits of its chunks: rebuild the revocation tree from them and compare its root with the proven one.
#[utoipa::path(get, path = "/v1/revoked/{issuer}/{list}/ids", params(("issuer" = String, Path, description = "The issuer's DID"), ("list" = String, Path, description = "The status list's number (0 to 4294967295)")), responses((status = 200, description = "The indexes and the height read", body = RevokedIndexes), ReadErrors))]
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

/// A registered Groth16 verifying key, with proof.
#[utoipa::path(get, path = "/v1/verifying-keys/{circuit}/{version}", params(("circuit" = String, Path, description = "The circuit id (at most 64 characters)"), ("version" = String, Path, description = "The key's version")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::VerifyingKeyRecord>), ReadErrors))]
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

/// A governance proposal and its approvals, with proof.
#[utoipa::path(get, path = "/v1/proposals/{hash}", params(("hash" = String, Path, description = "The proposal's transaction hash, hex")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::ProposalRecord>), ReadErrors))]
async fn proposal(
    State(s): State<SharedState>,
    Path(hash): Path<String>,
) -> ApiResult<Proven<ProposalRecord>> {
    found(&s, state_keys::proposal(&parse_hash(&hash)?)).await
}

/// A regulator council, with proof.
///
/// Its plan, the key generation's transcript (receiving keys, dealings, disqualified dealers, readiness) and, once in force, its key and verification keys.
#[utoipa::path(get, path = "/v1/councils/{id}", params(("id" = String, Path, description = "The council id")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::CouncilRecord>), ReadErrors))]
async fn council(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult<Proven<CouncilRecord>> {
    if id.len() > crate::rules::council::MAX_COUNCIL_ID {
        return Err(ApiError::bad(format!(
            "council id longer than {} characters",
            crate::rules::council::MAX_COUNCIL_ID
        )));
    }
    found(&s, state_keys::council(&id)).await
}

/// An approved opening, with proof.
///
/// By its proposal's hash: the ciphertext, verifier, request and legal basis, the decryption shares published and, with enough of them, the opened handle (a proposal not yet approved is at /v1/proposals/{hash}).
#[utoipa::path(get, path = "/v1/openings/{hash}", params(("hash" = String, Path, description = "The opening proposal's hash, hex")), responses((status = 200, description = "The record (or null) and its proof", body = Proven<schemas::ledger::OpeningRecord>), ReadErrors))]
async fn opening(State(s): State<SharedState>, Path(hash): Path<String>) -> ApiResult<Proven<OpeningRecord>> {
    found(&s, state_keys::opening(&parse_hash(&hash)?)).await
}

#[derive(serde::Deserialize)]
struct ProofQuery {
    keys: String,
}

/// Several state keys read at one height under one certificate.
///
/// Answers a ledger proof whose state proofs show each key's value or its absence.
#[utoipa::path(get, path = "/v1/proofs", params(("keys" = String, Query, description = "Raw state keys, hex, comma-separated (1 to 32)")), responses((status = 200, description = "The ledger proof", body = schemas::ledger::LedgerProof), ReadErrors))]
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
    Ok(axum::Json(read_keys(&s, keys).await?))
}

/// The Credence JSON-LD context.
///
/// https://credence.dev/ns/credentials/v1 as shipped in the repository (schemas/contexts/credentials-v1.jsonld).
#[utoipa::path(get, path = "/v1/contexts/credentials/v1", responses((status = 200, description = "The context", body = Object, content_type = "application/ld+json")))]
async fn context() -> Response {
    (
        [(header::CONTENT_TYPE, "application/ld+json")],
        schemas::credential::CREDENCE_CONTEXT_JSON,
    )
        .into_response()
}

/// Liveness: 200 when the server runs.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "Running", body = ledger_api::Health)))]
pub async fn health() -> axum::Json<ledger_api::Health> {
    axum::Json(ledger_api::Health { status: "ok".into() })
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The document", body = Object)))]
pub async fn openapi_json(axum::Extension(doc): axum::Extension<OpenApiText>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc.0).into_response()
}

/// The OpenAPI document as served, written once ([`documented`] installs it).
#[derive(Clone)]
pub struct OpenApiText(axum::body::Bytes);

/// Node status: height, view, role, peers.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, description = "The status", body = ledger_api::NodeStatus)))]
async fn status(State(s): State<SharedState>) -> axum::Json<ledger_api::NodeStatus> {
    axum::Json(s.status.read().unwrap_or_else(|p| p.into_inner()).clone())
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "The metrics", body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
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

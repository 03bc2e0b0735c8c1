//! The verifier service's OpenID4VP 1.0 endpoints (`docs/openid4vp.md`): a staff client starts
//! an exchange and gets an `openid4vp://` link; the wallet fetches the signed request object by
//! reference (`request_uri`) and posts its answer (`direct_post`, bound to `state` and the
//! request's nonce) to the response URI; the staff client reads the result.
//!
//! Exchanges live in memory, at most [`MAX_OPEN_EXCHANGES`], each until its request expired
//! [`wallet::verifier::CLOCK_SKEW_SECS`] ago (a restarted service forgets them; the replay memory
//! of answered nonces is on disk as before). An exchange closes with the first answer that passes
//! every check; an answer that fails (anyone with the link can post one) leaves it open for the
//! holder's, and is kept as its latest refusal; one answer is verified at a time.

use super::{Service, problem, report_answer, staff_token, unauthorized, verify_presentation};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_api::Problem;
use rand_core::{OsRng, RngCore};
use schemas::openid4vp::{
    Answer, AuthorizationRequest, CREDENTIAL_QUERY_ID, DirectPost, request_object as sign_object,
};
use schemas::presentation::Presentation;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wallet::verifier::{Report, RequestSpec};

/// Most exchanges a service keeps open at once (a staff client starting more gets 503).
pub const MAX_OPEN_EXCHANGES: usize = 4096;

/// Longest `direct_post` body read (a presentation with its proofs, form-encoded).
pub const MAX_RESPONSE_BODY_BYTES: usize = 2 << 20;

/// One exchange: its request object, the nonce its answer must carry, who started it, and what
/// came of it.
struct Exchange {
    object: String,
    /// The `openid4vp://` link to it.
    link: String,
    nonce: schemas::Hash,
    expires_at: i64,
    /// The digest of the staff client's token that started it: only it reads the result.
    staff: schemas::Hash,
    /// An answer is being verified.
    busy: bool,
    /// The answer that passed every check.
    passed: Option<Report>,
    /// The latest answer that did not pass, or the latest refusal a wallet sent.
    latest: Option<ExchangeResult>,
}

/// Longest problem detail quoting a parser's error about a wallet's answer.
const MAX_DETAIL_CHARS: usize = 300;

fn bounded(text: String) -> String {
    if text.chars().count() <= MAX_DETAIL_CHARS {
        return text;
    }
    let mut out: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    out.push('…');
    out
}

/// The exchanges in progress, by `state`.
#[derive(Default)]
pub(super) struct Exchanges(Mutex<HashMap<String, Exchange>>);

impl Exchanges {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Exchange>) -> T) -> T {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = wallet::now();
        map.retain(|_, e| e.expires_at >= now - wallet::verifier::CLOCK_SKEW_SECS);
        f(&mut map)
    }

    /// The link of an open exchange.
    pub(super) fn link(&self, state: &str) -> Option<String> {
        self.with(|map| map.get(state).map(|e| e.link.clone()))
    }
}

/// What a staff client gets for a new exchange.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The exchange's `state`: read its result at `/v1/oid4vp/results/{state}`.
    pub state: String,
    /// Where the wallet fetches the signed request object.
    pub request_uri: String,
    /// The link to show (as text or a QR code): `openid4vp://?client_id=…&request_uri=…`.
    pub link: String,
    /// The value the staff client shows beside the link; the holder's wallet shows the same.
    pub session: String,
}

/// An OpenID4VP wallet's answer (`direct_post`, form-encoded; read by
/// [`schemas::openid4vp::DirectPost::parse`]).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only documents the form.
pub struct DirectPostForm {
    /// JSON: `{"credential": [<presentation>]}` (the DCQL credential query's id). Absent when
    /// `error` is given.
    vp_token: Option<String>,
    /// Why the wallet sends no presentation (`access_denied`, …; RFC 6749 §4.1.2.1).
    error: Option<String>,
    /// What the wallet says about the error (at most 300 printable ASCII characters).
    error_description: Option<String>,
    /// The exchange's `state`.
    state: String,
}

/// What came of an exchange, for the staff client that started it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ExchangeResult {
    /// No answer yet.
    Waiting,
    /// An answer passed every check (final).
    Passed {
        /// Its report.
        report: Report,
    },
    /// The latest answer did not pass; the exchange stays open for another.
    Refused {
        /// Its report.
        report: Report,
    },
    /// The latest word from a wallet: it will not answer (anyone with the link can send this;
    /// the exchange stays open).
    Declined {
        /// Its error code (`access_denied`, …).
        error: String,
        /// What it said.
        error_description: Option<String>,
    },
}

/// Start an OpenID4VP exchange for a staff client.
///
/// Signs a request (answered at this service's `/v1/oid4vp/responses`) and its request object,
/// and answers the link a holder's wallet opens.
#[utoipa::path(
    post,
    path = "/v1/oid4vp/requests",
    request_body = RequestSpec,
    security(("staffToken" = [])),
    responses(
        (status = 200, description = "The exchange", body = Started),
        (status = 400, description = "Not a request spec, or one that cannot be signed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No staff client's token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many open exchanges (MAX_OPEN_EXCHANGES), or the replay memory cannot be written", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn start(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    body: Result<axum::Json<RequestSpec>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(who) = staff_token(&svc, &headers) else {
        return unauthorized(&svc);
    };
    let spec = match body {
        Ok(axum::Json(s)) => s,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not a request spec (see /openapi.json): {e}"),
            );
        }
    };
    if let Err(e) = spec.check() {
        return problem(StatusCode::BAD_REQUEST, "bad_request", e);
    }
    let channel =
        wallet::verifier::new_channel(format!("{}/v1/oid4vp/responses", svc.public_url), &mut OsRng);
    let session = channel.session.clone();
    let signed =
        wallet::verifier::make_request_on(svc.id.key(), &spec, Some(channel), wallet::now(), &mut OsRng);
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let state = hex::encode(bytes);
    let object = match AuthorizationRequest::new(&signed, &state).and_then(|r| sign_object(&r, svc.id.key()))
    {
        Ok(o) => o,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
    };
    let request_uri = format!("{}/v1/oid4vp/requests/{state}", svc.public_url);
    let client_id = format!(
        "{}{}",
        schemas::openid4vp::CLIENT_ID_PREFIX,
        signed.request.verifier
    );
    let link = schemas::openid4vp::Link {
        client_id,
        request_uri: request_uri.clone(),
    }
    .to_text();
    let full = svc.exchanges.with(|map| {
        if map.len() >= MAX_OPEN_EXCHANGES {
            return true;
        }
        map.insert(
            state.clone(),
            Exchange {
                object,
                link: link.clone(),
                nonce: signed.request.nonce,
                expires_at: signed.request.expires_at,
                staff: who,
                busy: false,
                passed: None,
                latest: None,
            },
        );
        false
    });
    if full {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "{MAX_OPEN_EXCHANGES} exchanges are open (MAX_OPEN_EXCHANGES); retry when some have expired"
            ),
        );
    }
    if let Err(e) = svc.guard.remember(&signed) {
        svc.exchanges.with(|map| map.remove(&state));
        return problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string());
    }
    axum::Json(Started {
        state,
        request_uri,
        link,
        session,
    })
    .into_response()
}

/// The signed request object of an exchange (what its `request_uri` names).
#[utoipa::path(
    get,
    path = "/v1/oid4vp/requests/{state}",
    params(("state" = String, Path, description = "The exchange's state")),
    responses(
        (status = 200, description = "The request object (compact JWS)", body = String, content_type = "application/oauth-authz-req+jwt"),
        (status = 404, description = "No such exchange, or it expired", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn request_object(State(svc): State<Arc<Service>>, Path(state): Path<String>) -> Response {
    match svc
        .exchanges
        .with(|map| map.get(&state).map(|e| e.object.clone()))
    {
        Some(object) => (
            [(header::CONTENT_TYPE, "application/oauth-authz-req+jwt")],
            object,
        )
            .into_response(),
        None => not_found(&state),
    }
}

pub(super) fn not_found(state: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no exchange {:?} is open here (it expired, or the service restarted)",
            state.chars().take(64).collect::<String>()
        ),
    )
}

/// Receive a wallet's answer (`direct_post`).
///
/// The body is form-encoded `state` and either `vp_token` — the presentation, which must answer
/// this exchange's request (its nonce) — or `error` (with `error_description`): the wallet will
/// not answer. A presentation's answer is the verification report, as `/v1/verify` gives it; an
/// error's is `{}`. The staff client reads what came of it at `/v1/oid4vp/results/{state}`.
#[utoipa::path(
    post,
    path = "/v1/oid4vp/responses",
    request_body(content = DirectPostForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Every check passed (a presentation), or the wallet's error was recorded (`{}`)", body = Report),
        (status = 400, description = "Not a form with state and vp_token or error, or its vp_token holds no presentation answering this exchange", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exchange, or it expired", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An answer passed already, or one is being verified", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over MAX_RESPONSE_BODY_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A check refused: the report says which and why", body = Report),
        (status = 502, description = "The ledger could not be read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn response(State(svc): State<Arc<Service>>, body: axum::body::Bytes) -> Response {
    let DirectPost { state, answer } = match DirectPost::parse(&body) {
        Ok(post) => post,
        Err(why) => return problem(StatusCode::BAD_REQUEST, "bad_request", bounded(why)),
    };
    let vp_token = match answer {
        Answer::VpToken(t) => t,
        Answer::Error { error, description } => {
            let found = svc.exchanges.with(|map| {
                let e = map.get_mut(&state)?;
                if e.passed.is_none() {
                    e.latest = Some(ExchangeResult::Declined {
                        error,
                        error_description: description,
                    });
                }
                Some(e.passed.is_some())
            });
            return match found {
                None => not_found(&state),
                Some(true) => answered(),
                Some(false) => axum::Json(serde_json::json!({})).into_response(),
            };
        }
    };
    // Claim the exchange: one answer verified at a time, none after one passed.
    let claimed = svc.exchanges.with(|map| {
        let e = map.get_mut(&state)?;
        if e.passed.is_some() || e.busy {
            return Some(Err(e.passed.is_some()));
        }
        e.busy = true;
        Some(Ok(e.nonce))
    });
    let nonce = match claimed {
        None => return not_found(&state),
        Some(Err(true)) => return answered(),
        Some(Err(false)) => {
            return problem(
                StatusCode::CONFLICT,
                "busy",
                "an answer to this exchange is being verified; retry if it is refused",
            );
        }
        Some(Ok(nonce)) => nonce,
    };
    // Released however this ends, a dropped connection included: otherwise one abandoned
    // answer would keep the exchange "being verified" until it expired.
    let claim = Claim {
        exchanges: &svc.exchanges,
        state: &state,
    };
    let outcome = answer_exchange(&svc, &vp_token, nonce).await;
    drop(claim);
    svc.exchanges.with(|map| {
        if let Some(e) = map.get_mut(&state) {
            match &outcome {
                Ok(r) if r.passed() => e.passed = Some(r.clone()),
                Ok(r) => e.latest = Some(ExchangeResult::Refused { report: r.clone() }),
                Err(_) => {}
            }
        }
    });
    match outcome {
        Ok(report) => report_answer(report),
        Err(e) => e,
    }
}

/// An exchange claimed for one answer's verification; dropping it releases the exchange.
struct Claim<'a> {
    exchanges: &'a Exchanges,
    state: &'a str,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.exchanges.with(|map| {
            if let Some(e) = map.get_mut(self.state) {
                e.busy = false;
            }
        });
    }
}

fn answered() -> Response {
    problem(
        StatusCode::CONFLICT,
        "answered",
        "this exchange was answered already",
    )
}

/// Verifies the presentation a `vp_token` carries for an exchange whose request has `nonce`.
async fn answer_exchange(
    svc: &Arc<Service>,
    vp_token: &str,
    nonce: schemas::Hash,
) -> Result<Report, Response> {
    let p = presentation_in(vp_token)
        .map_err(|why| problem(StatusCode::BAD_REQUEST, "bad_request", bounded(why)))?;
    if p.request.request.nonce != nonce {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the presentation answers another request than this exchange's",
        ));
    }
    verify_presentation(svc, p).await
}

/// The one presentation a `vp_token` carries for the credential query.
fn presentation_in(vp_token: &str) -> Result<Presentation, String> {
    // Duplicate members anywhere are refused before anything is read (a JSON value keeps only
    // the last of them, as other readers may not).
    schemas::codec::refuse_duplicate_keys(vp_token).map_err(|e| format!("vp_token: {e}"))?;
    let token: serde_json::Value =
        serde_json::from_str(vp_token).map_err(|e| format!("vp_token is not JSON: {e}"))?;
    let answers = token
        .get(CREDENTIAL_QUERY_ID)
        .and_then(|v| v.as_array())
        .ok_or_else(|| format!("vp_token has no list of presentations under {CREDENTIAL_QUERY_ID:?}"))?;
    let [one] = answers.as_slice() else {
        return Err(format!(
            "vp_token carries {} presentations for {CREDENTIAL_QUERY_ID:?}; this exchange takes one",
            answers.len()
        ));
    };
    Presentation::from_json(&one.to_string()).map_err(|e| format!("vp_token's presentation: {e}"))
}

/// What came of an exchange, for the staff client that started it.
#[utoipa::path(
    get,
    path = "/v1/oid4vp/results/{state}",
    params(("state" = String, Path, description = "The exchange's state")),
    security(("staffToken" = [])),
    responses(
        (status = 200, description = "Waiting, passed (final), refused or declined (the latest answer; the exchange stays open)", body = ExchangeResult),
        (status = 401, description = "No staff client's token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exchange (or another staff client's), or it expired", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn result(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Path(state): Path<String>,
) -> Response {
    let Some(who) = staff_token(&svc, &headers) else {
        return unauthorized(&svc);
    };
    let found = svc.exchanges.with(|map| {
        map.get(&state)
            .filter(|e| e.staff == who)
            .map(|e| match &e.passed {
                Some(report) => ExchangeResult::Passed {
                    report: report.clone(),
                },
                None => e.latest.clone().unwrap_or(ExchangeResult::Waiting),
            })
    });
    match found {
        Some(r) => axum::Json(r).into_response(),
        // Another staff client's exchange reads as none.
        None => not_found(&state),
    }
}

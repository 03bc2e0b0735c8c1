//! The verifier as an HTTP service (`credctl verifier serve`): banks post presentations and
//! get the report back.
//!
//! - `POST /v1/requests` with a [`RequestSpec`] → a signed request (its nonce remembered);
//! - `POST /v1/verify` with a presentation → the [`crate::verifier::Report`], 200 when every
//!   check passed, 422 when one refused, 400 for a body that is not a presentation.
//!
//! Verification runs on the blocking pool; certificates already checked are cached.

use crate::ledger::{CertificateCache, Ledger, Trust};
use crate::roles::Identity;
use crate::verifier::{
    Context, DEFAULT_MAX_STATUS_AGE_SECS, ReplayGuard, RequestSpec, Source, fetch_facts, make_request,
};
use rand_core::OsRng;
use schemas::presentation::Presentation;
use std::sync::Arc;

/// Where the service's ledger facts come from.
pub enum ServeSource {
    /// The proofs inside each presentation, checked against what the service trusts.
    Offline(Trust),
    /// Fresh reads from a node.
    Online(Ledger),
}

/// The service's state.
pub struct Service {
    id: Identity,
    guard: ReplayGuard,
    source: ServeSource,
    cache: CertificateCache,
}

/// The service's routes.
pub fn router(id: Identity, guard: ReplayGuard, source: ServeSource) -> axum::Router {
    use axum::routing::{get, post};
    let svc = Arc::new(Service {
        id,
        guard,
        source,
        cache: CertificateCache::default(),
    });
    axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/v1/requests", post(new_request))
        .route("/v1/verify", post(verify_http))
        .layer(axum::extract::DefaultBodyLimit::max(4 << 20))
        .with_state(svc)
}

type HttpResult = (axum::http::StatusCode, axum::Json<serde_json::Value>);

fn http_error(status: axum::http::StatusCode, message: String) -> HttpResult {
    (status, axum::Json(serde_json::json!({ "error": message })))
}

async fn new_request(
    axum::extract::State(svc): axum::extract::State<Arc<Service>>,
    body: Result<axum::Json<RequestSpec>, axum::extract::rejection::JsonRejection>,
) -> HttpResult {
    let axum::Json(spec) = match body {
        Ok(b) => b,
        Err(e) => return http_error(e.status(), format!("the body is not a request spec: {e}")),
    };
    let r = make_request(svc.id.key(), &spec, crate::now(), &mut OsRng);
    if let Err(e) = svc.guard.remember(&r) {
        return http_error(axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    }
    match serde_json::to_value(&r) {
        Ok(v) => (axum::http::StatusCode::OK, axum::Json(v)),
        Err(e) => http_error(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn verify_http(
    axum::extract::State(svc): axum::extract::State<Arc<Service>>,
    body: axum::body::Bytes,
) -> HttpResult {
    let text = String::from_utf8_lossy(&body);
    let p = match Presentation::from_json(&text) {
        Ok(p) => p,
        Err(e) => {
            return http_error(
                axum::http::StatusCode::BAD_REQUEST,
                format!("the body is not a presentation: {e}"),
            );
        }
    };
    let online = match &svc.source {
        ServeSource::Online(l) => match fetch_facts(l, &p).await {
            Ok(f) => Some(f),
            Err(e) => return http_error(axum::http::StatusCode::BAD_GATEWAY, e.to_string()),
        },
        ServeSource::Offline(_) => None,
    };
    let svc2 = svc.clone();
    let report = tokio::task::spawn_blocking(move || {
        let me = svc2.id.did();
        let source = match (&svc2.source, online) {
            (_, Some(f)) => Source::Online(f),
            (ServeSource::Offline(trust), None) => Source::Offline {
                trust,
                max_status_age_secs: DEFAULT_MAX_STATUS_AGE_SECS,
            },
            (ServeSource::Online(_), None) => unreachable!("online facts were fetched above"),
        };
        crate::verifier::verify(
            &p,
            &Context {
                source,
                now: crate::now(),
                verifier: Some(&me),
                guard: Some(&svc2.guard),
                cache: Some(&svc2.cache),
            },
        )
    })
    .await;
    match report {
        Ok(r) => {
            let status = if r.passed() {
                axum::http::StatusCode::OK
            } else {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, axum::Json(serde_json::to_value(&r).unwrap_or_default()))
        }
        Err(e) => http_error(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

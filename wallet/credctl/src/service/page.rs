//! The employer's page (`/`): a staff member enters the staff client's token, picks one of the
//! service's request templates (each names a purpose the verifier registered), and gets an
//! OpenID4VP link with its QR code and session value; the result arrives check by check, as
//! `credctl verify` prints them.
//!
//! The page is three static files compiled in (no CDN, nothing fetched elsewhere) and talks to
//! the service's documented API only: `GET /v1/templates`, `POST /v1/oid4vp/requests`,
//! `GET /v1/oid4vp/requests/{state}/qr`, `GET /v1/oid4vp/results/{state}`. Its token stays in the
//! tab's `sessionStorage`. It puts other parties' text on screen as text only (never as HTML),
//! under a content security policy that allows this service's own scripts, styles and images
//! and nothing else.

use super::{Service, problem, staff_token, unauthorized};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_api::Problem;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use wallet::verifier::RequestSpec;

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/style.css");

/// Most templates a service offers.
pub const MAX_TEMPLATES: usize = 64;

/// Longest template title.
pub const MAX_TITLE_CHARS: usize = 120;

/// Longest templates file read.
pub const MAX_TEMPLATES_FILE_BYTES: usize = 256 * 1024;

/// A request the staff may make: a title for the page and what it asks (its `purpose` one of
/// the verifier's registered purposes).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    /// What the staff see, e.g. "Graduate hiring: degree and GPA ≥ 3.0".
    pub title: String,
    /// The request it makes.
    pub request: RequestSpec,
}

/// Reads a templates file: a JSON array of [`Template`]s, at most [`MAX_TEMPLATES`], each
/// with a title of 1 to [`MAX_TITLE_CHARS`] characters and a request that can be signed.
pub fn read_templates(text: &str) -> Result<Vec<Template>, String> {
    if text.len() > MAX_TEMPLATES_FILE_BYTES {
        return Err(format!(
            "it is longer than {MAX_TEMPLATES_FILE_BYTES} bytes (MAX_TEMPLATES_FILE_BYTES)"
        ));
    }
    let list: Vec<Template> = serde_json::from_str(text).map_err(|e| {
        format!("it is not a JSON array of {{\"title\": …, \"request\": {{…a request spec…}}}}: {e}")
    })?;
    if list.len() > MAX_TEMPLATES {
        return Err(format!(
            "it holds {} templates; a service offers at most {MAX_TEMPLATES} (MAX_TEMPLATES)",
            list.len()
        ));
    }
    for (i, t) in list.iter().enumerate() {
        let n = t.title.chars().count();
        if n == 0 || n > MAX_TITLE_CHARS || t.title.chars().any(char::is_control) {
            return Err(format!(
                "template {}: a title is 1 to {MAX_TITLE_CHARS} characters on one line",
                i + 1
            ));
        }
        t.request
            .check()
            .map_err(|e| format!("template {} ({:?}): {e}", i + 1, t.title))?;
    }
    Ok(list)
}

fn asset(media: &'static str, body: &'static str) -> Response {
    let mut r = ([(header::CONTENT_TYPE, media)], body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The page's routes (not API: outside the OpenAPI document).
pub(super) fn routes() -> axum::Router<Arc<Service>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}

/// The request templates the staff may use.
#[utoipa::path(
    get,
    path = "/v1/templates",
    security(("staffToken" = [])),
    responses(
        (status = 200, description = "The templates (from the service's --templates file)", body = Vec<Template>),
        (status = 401, description = "No staff client's token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn templates(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if staff_token(&svc, &headers).is_none() {
        return unauthorized(&svc);
    }
    axum::Json(svc.templates.clone()).into_response()
}

/// An exchange's link as a QR code (SVG), for a phone's wallet to scan.
#[utoipa::path(
    get,
    path = "/v1/oid4vp/requests/{state}/qr",
    params(("state" = String, Path, description = "The exchange's state")),
    responses(
        (status = 200, description = "The link as a QR code", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such exchange, or it expired", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn qr(State(svc): State<Arc<Service>>, Path(state): Path<String>) -> Response {
    let Some(link) = svc.exchanges.link(&state) else {
        return super::openid4vp::not_found(&state);
    };
    match qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .build();
            let mut r = ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response();
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'"),
            );
            r
        }
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the link does not fit a QR code: {e}"),
        ),
    }
}

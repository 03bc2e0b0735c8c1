//! The verifier as an HTTP service (`credctl verifier serve`): banks post presentations and
//! get the report back.
//!
//! - `POST /v1/requests` with a [`RequestSpec`] → a signed request (its nonce remembered), for
//!   staff clients only: `Authorization: Bearer TOKEN` with a token from the service's token
//!   file (one per client; without one the endpoint refuses everyone), lifetime bounded. The
//!   request names its channel: this service's `/v1/verify` as the response address and a fresh
//!   session value for the staff client to show beside it (the holder's wallet shows both);
//! - `POST /v1/verify` with a presentation → the [`wallet::verifier::Report`], 200 when every
//!   check passed, 422 when one refused (or its request is answered at another address), 400
//!   for a body that is not a presentation.
//!
//! - OpenID4VP 1.0 ([`openid4vp`], `docs/openid4vp.md`): `POST /v1/oid4vp/requests` (staff) →
//!   an `openid4vp://` link; `GET /v1/oid4vp/requests/{state}` → the signed request object;
//!   `POST /v1/oid4vp/responses` (`direct_post`) → the report; `GET /v1/oid4vp/results/{state}`
//!   (staff) → the report once answered;
//! - the employer's page ([`page`]) at `/`, with `GET /v1/templates` (staff) and
//!   `GET /v1/oid4vp/requests/{state}/qr`;
//! - `/openapi.json`: this service's OpenAPI 3.1 document, generated from the handlers; every
//!   error is an RFC 9457 problem (`docs/http-errors.md`).
//!
//! Verification runs on the blocking pool; certificates already checked are cached.

use rand_core::OsRng;
use schemas::presentation::Presentation;
use std::sync::Arc;
use wallet::ledger::{CertificateCache, Ledger, Trust};
use wallet::roles::Identity;
use wallet::verifier::{
    Context, DEFAULT_MAX_STATUS_AGE_SECS, ReplayGuard, Report, RequestSpec, Source, fetch_facts,
    make_request_on, new_channel,
};

pub mod openid4vp;
pub mod page;

pub use page::{Template, read_templates};

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
    /// SM3 digests of the staff clients' tokens.
    tokens: Vec<schemas::Hash>,
    /// This service's `/v1/verify` as holders reach it.
    response_uri: String,
    /// This service's address as holders reach it, without a trailing `/`.
    public_url: String,
    /// OpenID4VP exchanges in progress.
    exchanges: openid4vp::Exchanges,
    /// The requests the staff may make from the page.
    templates: Vec<Template>,
}

/// Staff-client tokens from a file: one per line (`NAME TOKEN`, or the token alone); blank
/// lines and `#` comments are skipped. Each token must be at least [`MIN_TOKEN_CHARS`] long.
pub fn read_tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let token = line.rsplit(char::is_whitespace).next().unwrap_or(line);
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "line {}: a token has at least {MIN_TOKEN_CHARS} characters (e.g. 32 random bytes in hex)",
                i + 1
            ));
        }
        out.push(token.to_owned());
    }
    Ok(out)
}

/// Shortest staff-client token accepted.
pub const MIN_TOKEN_CHARS: usize = 32;

/// The OpenAPI document's fixed parts; the paths and the schemas come from the handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Credence verifier service",
        description = "A verifier's service: staff clients get signed presentation requests; holders post their answers and get the verification report. Every error is an RFC 9457 problem (application/problem+json).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "The service serving this document")),
    components(schemas(ledger_api::Problem)),
    modifiers(&StaffToken),
)]
struct ApiDoc;

/// The staff clients' bearer token, required by `POST /v1/requests`.
struct StaffToken;

impl utoipa::Modify for StaffToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "staffToken",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "A staff client's token, from the service's token file (--tokens)",
                        ))
                        .build(),
                ),
            );
    }
}

/// The routes and the OpenAPI document generated from their handlers.
fn routes() -> (axum::Router<Arc<Service>>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    use utoipa_axum::router::UtoipaMethodRouterExt as _;
    use utoipa_axum::routes;
    let (router, mut doc) = utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ledger_node::api::health))
        .routes(routes!(new_request))
        .routes(routes!(verify_http))
        .routes(routes!(openid4vp::start))
        .routes(routes!(openid4vp::request_object))
        .routes(
            routes!(openid4vp::response).layer(axum::extract::DefaultBodyLimit::max(
                openid4vp::MAX_RESPONSE_BODY_BYTES,
            )),
        )
        .routes(routes!(openid4vp::result))
        .routes(routes!(page::qr))
        .routes(routes!(page::templates))
        .routes(routes!(ledger_node::api::openapi_json))
        .split_for_parts();
    // Holders and health checks need no credentials; `POST /v1/requests` names its own.
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::default()]);
    (router, doc)
}

/// The service's OpenAPI 3.1 document, as `/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// Largest body the service reads (a presentation is at most a few hundred KiB).
pub const MAX_SERVICE_BODY_BYTES: usize = 4 << 20;

/// The service's routes; `tokens` are the staff clients' tokens for `POST /v1/requests`;
/// `public_url` is the service's address as holders reach it (`https://verify.bank.cn`), without
/// a trailing `/`; `templates` the requests the staff may make from the page.
pub fn router(
    id: Identity,
    guard: ReplayGuard,
    source: ServeSource,
    tokens: &[String],
    public_url: &str,
    templates: Vec<Template>,
) -> axum::Router {
    let svc = Arc::new(Service {
        id,
        guard,
        source,
        cache: CertificateCache::default(),
        tokens: tokens.iter().map(|t| schemas::hash::sm3(t.as_bytes())).collect(),
        response_uri: format!("{}/v1/verify", public_url.trim_end_matches('/')),
        public_url: public_url.trim_end_matches('/').to_owned(),
        exchanges: openid4vp::Exchanges::default(),
        templates,
    });
    let (router, doc) = routes();
    ledger_node::api::documented(router.merge(page::routes()), &doc)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_SERVICE_BODY_BYTES))
        .with_state(svc)
}

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger_api::Problem;
use ledger_node::api::problem;

/// The SM3 digest of the staff client's token the request carries, if it is one of this
/// service's (compared as digests: the comparison's timing tells nothing about a token).
fn staff_token(svc: &Service, headers: &axum::http::HeaderMap) -> Option<schemas::Hash> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| schemas::hash::sm3(t.trim().as_bytes()))
        .filter(|g| svc.tokens.contains(g))
}

/// The 401 answer to a request without a staff client's token.
fn unauthorized(svc: &Service) -> Response {
    let mut refused = problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        if svc.tokens.is_empty() {
            "this service makes requests for staff clients only, and none is configured: start it with --tokens FILE"
        } else {
            "a staff client's token is needed: send Authorization: Bearer TOKEN"
        },
    );
    // RFC 6750 §3: how to authenticate.
    refused.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"credence-verifier\""),
    );
    refused
}

/// Sign a presentation request for a staff client.
///
/// The request names this service's `/v1/verify` as its response address and a fresh session
/// value for the staff client to show beside it; its nonce is remembered until it expires.
#[utoipa::path(
    post,
    path = "/v1/requests",
    request_body = RequestSpec,
    security(("staffToken" = [])),
    responses(
        (status = 200, description = "The signed request", body = schemas::presentation::SignedRequest),
        (status = 400, description = "Not a request spec, or one that cannot be signed (lifetime, list lengths)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No staff client's token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over MAX_SERVICE_BODY_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not sent as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The replay memory cannot be written", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn new_request(
    axum::extract::State(svc): axum::extract::State<Arc<Service>>,
    headers: axum::http::HeaderMap,
    body: Result<axum::Json<RequestSpec>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if staff_token(&svc, &headers).is_none() {
        return unauthorized(&svc);
    }
    let axum::Json(spec) = match body {
        Ok(b) => b,
        Err(e) => {
            // JSON of the wrong shape is as malformed as JSON that does not parse.
            let status = match e.status() {
                StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                s => s,
            };
            return problem(
                status,
                "bad_request",
                format!("the body is not a request spec (see /openapi.json): {e}"),
            );
        }
    };
    if let Err(e) = spec.check() {
        return problem(StatusCode::BAD_REQUEST, "bad_request", e);
    }
    let channel = new_channel(svc.response_uri.clone(), &mut OsRng);
    let r = make_request_on(svc.id.key(), &spec, Some(channel), wallet::now(), &mut OsRng);
    if let Err(e) = svc.guard.remember(&r) {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string());
    }
    axum::Json(r).into_response()
}

/// Verify a holder's answer to a request this service made.
///
/// The report lists every check (`credctl verify` prints the same). A presentation whose request
/// names another response address, or none, is refused before any check.
#[utoipa::path(
    post,
    path = "/v1/verify",
    request_body = schemas::presentation::Presentation,
    responses(
        (status = 200, description = "Every check passed", body = wallet::verifier::Report),
        (status = 400, description = "Not a presentation (the detail says why)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over MAX_SERVICE_BODY_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A check refused (the report says which and why), or the request is answered at another address (a problem, code wrong_channel)", content(
            (wallet::verifier::Report = "application/json"),
            (Problem = "application/problem+json"),
        )),
        (status = 502, description = "The ledger could not be read", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn verify_http(
    axum::extract::State(svc): axum::extract::State<Arc<Service>>,
    body: axum::body::Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body);
    let p = match Presentation::from_json(&text) {
        Ok(p) => p,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not a presentation: {e}"),
            );
        }
    };
    // This service answers the requests it made, which name it as their channel.
    let elsewhere = match &p.request.request.channel {
        Some(c) if c.response_uri == svc.response_uri => None,
        Some(c) => Some(format!(
            "its request is answered at {}, not here ({}): send it there",
            c.response_uri, svc.response_uri
        )),
        None => Some(
            "its request names no channel: this service answers the requests it makes (POST /v1/requests)"
                .to_owned(),
        ),
    };
    if let Some(why) = elsewhere {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "wrong_channel", why);
    }
    match verify_presentation(&svc, p).await {
        Ok(r) => report_answer(r),
        Err(e) => e,
    }
}

/// A report as an answer: 200 when every check passed, 422 when one refused.
fn report_answer(r: Report) -> Response {
    let status = if r.passed() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, axum::Json(r)).into_response()
}

/// Verifies a presentation: reads the ledger (online) and runs every check on the blocking pool.
async fn verify_presentation(svc: &Arc<Service>, p: Presentation) -> Result<Report, Response> {
    // Online, cheap checks come before any ledger read: a request this service did not sign, or
    // did not make, costs one signature check and is then refused by `verify` without reading
    // anything. Offline nothing is read, and `verify` checks the request first anyway (checking
    // it here too was a sixth of the service's CPU).
    let online = match &svc.source {
        ServeSource::Online(_)
            if !(p.request.verify().is_ok() && svc.guard.made_by_me(&p.request.request)) =>
        {
            None
        }
        ServeSource::Online(l) => match fetch_facts(l, &p).await {
            Ok(f) => Some(f),
            Err(e) => {
                return Err(problem(
                    StatusCode::BAD_GATEWAY,
                    "ledger_unreachable",
                    e.to_string(),
                ));
            }
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
            // Not read: the request checks fail first and no ledger check runs.
            (ServeSource::Online(_), None) => Source::Online(wallet::ledger::Facts::default()),
        };
        wallet::verifier::verify(
            &p,
            &Context {
                source,
                now: wallet::now(),
                verifier: Some(&me),
                guard: Some(&svc2.guard),
                cache: Some(&svc2.cache),
            },
        )
    })
    .await;
    report.map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::ledger::{Genesis, Governance, Policies, ValidatorSet};

    const COST: schemas::seal::Cost = schemas::seal::Cost {
        memory_kib: 1024,
        iterations: 1,
    };

    fn trust() -> Trust {
        Trust::new(Genesis {
            chain_id: "service-test".into(),
            timestamp_ms: 0,
            validators: ValidatorSet {
                epoch: 0,
                validators: vec![],
            },
            observers: vec![],
            governance: Governance {
                members: vec![],
                policies: Policies {
                    approvals_needed: 1,
                    credential_types: vec![],
                },
            },
            schemas: vec![],
        })
    }

    /// Security finding 13: only staff clients with a token get signed requests, lifetimes are
    /// bounded, and a presentation whose request this service never made reads no ledger.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_need_a_staff_token_and_a_bounded_lifetime() {
        let dir = tempfile::tempdir().expect("dir");
        let (id, _) = Identity::create(dir.path(), "Bank", "a long test passphrase", COST).expect("identity");
        let guard = ReplayGuard::open(dir.path()).expect("guard");
        let token = "0123456789abcdef0123456789abcdef".to_owned();
        let tokens = read_tokens(&format!("# staff\nfront-desk {token}\n")).expect("tokens");
        assert!(read_tokens("short").is_err());
        // A request of this verifier that names another answer address (made before the identity
        // moves into the service).
        let relayed = wallet::verifier::make_request_on(
            id.key(),
            &RequestSpec {
                credential_type: "KycAttestation".into(),
                accepted_issuers: vec![],
                disclose: vec![],
                predicates: vec![],
                purpose: "account opening".into(),
                ttl_secs: 600,
                tier: schemas::presentation::Tier::Unlinkable,
            },
            Some(schemas::presentation::Channel {
                response_uri: "https://attacker.example/v1/verify".into(),
                session: "000-000".into(),
            }),
            wallet::now(),
            &mut OsRng,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let url = format!("{base}/v1/requests");
        let app = router(
            id,
            guard,
            ServeSource::Offline(trust()),
            &tokens,
            &base,
            Vec::new(),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let spec = |ttl: i64| {
            serde_json::json!({"credentialType": "KycAttestation", "purpose": "account opening",
                "ttlSecs": ttl, "tier": "selective"})
        };
        let post = |body: serde_json::Value, auth: Option<&str>| {
            let mut r = http.post(&url).json(&body);
            if let Some(t) = auth {
                r = r.bearer_auth(t);
            }
            r.send()
        };
        let status = |r: reqwest::Response| r.status().as_u16();
        assert_eq!(status(post(spec(600), None).await.expect("sent")), 401);
        assert_eq!(
            status(post(spec(600), Some("not-a-token")).await.expect("sent")),
            401
        );
        assert_eq!(
            status(
                post(spec(9_000_000_000_000_000_000), Some(&token))
                    .await
                    .expect("sent")
            ),
            400
        );
        let r = post(spec(600), Some(&token)).await.expect("sent");
        assert_eq!(r.status().as_u16(), 200);
        let signed: schemas::presentation::SignedRequest = r.json().await.expect("a request");
        assert_eq!(signed.request.expires_at - signed.request.created_at, 600);

        // Finding 26: the request names this service's answer address and a fresh session value
        // for the staff client to show; an answer to a request naming another address is refused.
        let channel = signed.request.channel.clone().expect("a channel");
        assert_eq!(channel.response_uri, format!("{base}/v1/verify"));
        assert!(
            channel.session.len() == 7 && channel.session.as_bytes()[3] == b'-',
            "{}",
            channel.session
        );
        channel.check().expect("a well-formed channel");
        let p = Presentation::new(
            relayed,
            schemas::presentation::PresentationProof::Unlinkable {
                proof: schemas::presentation::UnlinkableProof {
                    circuit: "unlinkable-a4-p2-d20-r32".into(),
                    circuit_version: 2,
                    issuer: signed.request.verifier.clone(),
                    poseidon_root: schemas::Hash([0; 32]),
                    revocation_root: schemas::Hash([0; 32]),
                    nullifier: schemas::Hash([0; 32]),
                    proof: vec![0; 128],
                    escrow: None,
                },
            },
            vec![],
        );
        let r = http
            .post(format!("{base}/v1/verify"))
            .body(serde_json::to_string(&p).expect("json"))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status().as_u16(), 422);
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["code"], "wrong_channel", "{body}");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|e| e.contains("attacker.example")),
            "{body}"
        );
    }

    /// Issue 20, the employer's page: served under a policy that runs this service's scripts
    /// only; its templates for staff only; an exchange's QR code is the link's; a wallet's
    /// refusal reaches the staff client that started the exchange as "declined", and a
    /// malformed or oversized templates file is refused naming why.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_staff_page_offers_templates_and_shows_what_came_of_an_exchange() {
        let dir = tempfile::tempdir().expect("dir");
        let (id, _) = Identity::create(dir.path(), "Bank", "a long test passphrase", COST).expect("identity");
        let guard = ReplayGuard::open(dir.path()).expect("guard");
        let token = "0123456789abcdef0123456789abcdef".to_owned();
        let templates = read_templates(
            r#"[{"title": "Account opening", "request": {"credentialType": "KycAttestation",
                "purpose": "account opening", "disclose": ["name"], "tier": "selective"}}]"#,
        )
        .expect("templates");
        for (bad, why) in [
            ("{}", "JSON array"),
            (
                r#"[{"title": "", "request": {"credentialType": "K", "purpose": "p", "tier": "selective"}}]"#,
                "title",
            ),
            (
                r#"[{"title": "T", "request": {"credentialType": "K", "purpose": "p", "tier": "selective", "ttlSecs": 0}}]"#,
                "ttlSecs",
            ),
            (
                r#"[{"title": "T", "extra": 1, "request": {"credentialType": "K", "purpose": "p", "tier": "selective"}}]"#,
                "unknown field",
            ),
        ] {
            let e = read_templates(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        let many = format!(
            "[{}]",
            vec![
                r#"{"title": "T", "request": {"credentialType": "K", "purpose": "p", "tier": "selective"}}"#;
                page::MAX_TEMPLATES + 1
            ]
            .join(",")
        );
        assert!(
            read_templates(&many)
                .expect_err("too many")
                .contains("MAX_TEMPLATES")
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let app = router(
            id,
            guard,
            ServeSource::Offline(trust()),
            std::slice::from_ref(&token),
            &base,
            templates,
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let page = http.get(format!("{base}/")).send().await.expect("page");
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(page.text().await.expect("html").contains("/app.js"));
        for asset in ["/app.js", "/style.css"] {
            assert_eq!(
                http.get(format!("{base}{asset}"))
                    .send()
                    .await
                    .expect("asset")
                    .status(),
                200
            );
        }
        let staff = |r: reqwest::RequestBuilder| r.bearer_auth(&token).send();
        assert_eq!(
            http.get(format!("{base}/v1/templates"))
                .send()
                .await
                .expect("sent")
                .status(),
            401
        );
        let listed: Vec<Template> = staff(http.get(format!("{base}/v1/templates")))
            .await
            .expect("sent")
            .json()
            .await
            .expect("templates");
        assert_eq!(listed[0].title, "Account opening");
        let started: openid4vp::Started = staff(
            http.post(format!("{base}/v1/oid4vp/requests"))
                .json(&listed[0].request),
        )
        .await
        .expect("sent")
        .json()
        .await
        .expect("started");
        let qr = http
            .get(format!("{base}/v1/oid4vp/requests/{}/qr", started.state))
            .send()
            .await
            .expect("qr");
        assert_eq!(qr.headers()["content-type"], "image/svg+xml");
        assert!(qr.text().await.expect("svg").starts_with("<?xml"));
        let none = http
            .get(format!("{base}/v1/oid4vp/requests/nope/qr"))
            .send()
            .await
            .expect("qr");
        assert_eq!(none.status(), 404);
        let result = || async {
            staff(http.get(format!("{base}/v1/oid4vp/results/{}", started.state)))
                .await
                .expect("sent")
                .json::<openid4vp::ExchangeResult>()
                .await
                .expect("a result")
        };
        assert!(matches!(result().await, openid4vp::ExchangeResult::Waiting));
        let refusal = schemas::openid4vp::DirectPost {
            state: started.state.clone(),
            answer: schemas::openid4vp::Answer::Error {
                error: "access_denied".into(),
                description: Some("the holder declined".into()),
            },
        };
        let r = http
            .post(format!("{base}/v1/oid4vp/responses"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(refusal.to_form())
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
        match result().await {
            openid4vp::ExchangeResult::Declined {
                error,
                error_description,
            } => {
                assert_eq!(error, "access_denied");
                assert_eq!(error_description.as_deref(), Some("the holder declined"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Issue 19, the wire: given a certificate, the service speaks HTTPS (rustls) and nothing
    /// else; a certificate and key that do not belong together are refused before it listens.
    /// The certificate comes from OpenSSL, not from the library under test.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_service_speaks_tls_when_given_a_certificate() {
        let dir = tempfile::tempdir().expect("dir");
        // A test CA and, signed by it, a leaf certificate for 127.0.0.1.
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl runs (.ci/setup installs it)");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-days",
                    "1",
                    "-subj",
                    "/CN=Credence test CA",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.path().join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .expect("write");
        let make = |name: &str| {
            let (key, csr, cert) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
            );
            openssl(
                &[
                    &["req"][..],
                    &ec,
                    &["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr],
                ]
                .concat(),
            );
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "leaf.ext",
                "-out",
                &cert,
            ]);
            ledger_node::tls::TlsFiles {
                cert: dir.path().join(cert),
                key: dir.path().join(key),
            }
        };
        let files = make("service");
        let other = make("other");
        let mismatched = ledger_node::tls::TlsFiles {
            cert: files.cert.clone(),
            key: other.key.clone(),
        };
        let e = mismatched
            .load()
            .await
            .err()
            .expect("a key of another certificate");
        assert!(format!("{e:#}").contains("other.key"), "{e:#}");
        assert!(ledger_node::tls::pair(Some(&files.cert), None).is_err());
        let tls = files.load().await.expect("a certificate and its key");

        let (id, _) = Identity::create(dir.path(), "Bank", "a long test passphrase", COST).expect("identity");
        let guard = ReplayGuard::open(dir.path()).expect("guard");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = router(
            id,
            guard,
            ServeSource::Offline(trust()),
            &[],
            &format!("https://{addr}"),
            Vec::new(),
        );
        tokio::spawn(ledger_node::tls::serve(
            listener,
            app,
            Some(tls),
            std::future::pending(),
        ));
        let pem = std::fs::read(dir.path().join("ca.pem")).expect("CA certificate");
        let https = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
            .build()
            .expect("client");
        let r = https
            .get(format!("https://{addr}/health"))
            .send()
            .await
            .expect("an HTTPS answer");
        assert_eq!(r.status().as_u16(), 200);
        let health: ledger_api::Health = r.json().await.expect("JSON");
        assert_eq!(health.status, "ok");
        // A client that does not trust the certificate gets no answer; neither does plain HTTP.
        assert!(reqwest::get(format!("https://{addr}/health")).await.is_err());
        let plain = reqwest::get(format!("http://{addr}/health")).await;
        assert!(plain.map_or(true, |r| !r.status().is_success()));
    }

    /// The replay memory forgets requests once they expired (with their answered nonces).
    #[test]
    fn the_replay_memory_forgets_expired_requests() {
        let dir = tempfile::tempdir().expect("dir");
        let guard = ReplayGuard::open(dir.path()).expect("guard");
        let key = schemas::sm2::SecretKey::generate(&mut OsRng);
        let spec = RequestSpec {
            credential_type: "KycAttestation".into(),
            accepted_issuers: vec![],
            disclose: vec![],
            predicates: vec![],
            purpose: "account opening".into(),
            ttl_secs: 1,
            tier: schemas::presentation::Tier::Selective,
        };
        let long_ago = wallet::now() - 10 * wallet::verifier::MAX_REQUEST_TTL_SECS;
        for _ in 0..40 {
            guard
                .remember(&wallet::verifier::make_request(&key, &spec, long_ago, &mut OsRng))
                .expect("remembered");
        }
        // Each new request forgets up to 16 expired ones.
        assert!(guard.remembered() < 40, "{}", guard.remembered());
        for _ in 0..3 {
            guard
                .remember(&wallet::verifier::make_request(
                    &key,
                    &spec,
                    wallet::now(),
                    &mut OsRng,
                ))
                .expect("remembered");
        }
        assert_eq!(guard.remembered(), 3, "only the live requests are kept");
    }
}

//! OpenID4VP 1.0 from the holder's side (`docs/openid4vp.md` §6): open an `openid4vp://` link,
//! fetch the verifier's signed request object and check it, and send the answer — a
//! presentation, or the holder's refusal — to the verifier's `response_uri` by `direct_post`.
//!
//! What the request asks is then prepared and consented to like any request
//! ([`crate::holder::Holder::prepare`]: the verifier's registration and scope on the ledger);
//! this module only moves bytes, and reads every one of them as hostile: bounded bodies, no
//! redirects followed (a verifier's address is the one it signed), `https://` only (`http://` to
//! this machine).

use crate::verifier::Report;
use schemas::openid4vp::{
    ACCESS_DENIED, AuthorizationRequest, DirectPost, Link, MAX_REQUEST_OBJECT_BYTES, REQUEST_OBJECT_TYP,
    open_request_object,
};
use schemas::presentation::Presentation;
use std::time::Duration;

/// Longest answer read from a verifier after posting (its report).
pub const MAX_VERIFIER_ANSWER_BYTES: usize = 1 << 20;

/// How long a fetch or a post may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What the wallet tells a verifier when its holder declines.
pub const DECLINED: &str = "the holder declined";

/// What the wallet tells a verifier whose request goes beyond its registered scope.
pub const OUT_OF_SCOPE: &str = "the request goes beyond the verifier's registered scope on the ledger";

/// Why an exchange could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The link is not one this wallet opens.
    #[error(transparent)]
    Link(#[from] schemas::openid4vp::LinkError),
    /// The verifier could not be reached.
    #[error("cannot reach the verifier at {url}: {reason}")]
    Unreachable {
        /// The address.
        url: String,
        /// Why.
        reason: String,
    },
    /// The verifier answered something other than OpenID4VP says.
    #[error("the verifier at {url} answered unexpectedly: {reason}")]
    Unexpected {
        /// The address.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request object is not the verifier's, or says one thing and signs another.
    #[error(transparent)]
    Object(#[from] schemas::openid4vp::RequestObjectError),
    /// The answer could not be encoded.
    #[error("the answer cannot be sent: {0}")]
    Answer(String),
}

fn http() -> Result<reqwest::Client, ExchangeError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ExchangeError::Answer(format!("no HTTP client: {e}")))
}

fn unreachable(url: &str, e: reqwest::Error) -> ExchangeError {
    ExchangeError::Unreachable {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

/// Reads a body of at most `max` bytes, refusing a longer one before holding it.
async fn bounded(url: &str, mut r: reqwest::Response, max: usize) -> Result<Vec<u8>, ExchangeError> {
    let too_long = || ExchangeError::Unexpected {
        url: url.to_owned(),
        reason: format!("its answer is longer than {max} bytes"),
    };
    if r.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| unreachable(url, e))? {
        if body.len() + chunk.len() > max {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Opens a link: reads it, fetches its request object (GET, at most
/// [`MAX_REQUEST_OBJECT_BYTES`]) and checks it ([`open_request_object`]: both signatures, every
/// parameter, the link's `client_id`).
pub async fn open(link_text: &str) -> Result<AuthorizationRequest, ExchangeError> {
    let link = Link::parse(link_text)?;
    let url = link.request_uri.as_str();
    let r = http()?
        .get(url)
        .header(
            reqwest::header::ACCEPT,
            format!("application/{REQUEST_OBJECT_TYP}"),
        )
        .send()
        .await
        .map_err(|e| unreachable(url, e))?;
    let status = r.status();
    let media = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let body = bounded(url, r, MAX_REQUEST_OBJECT_BYTES).await?;
    if !status.is_success() {
        return Err(ExchangeError::Unexpected {
            url: url.to_owned(),
            reason: format!(
                "{status} instead of the request object (it may have expired: ask the verifier for a new link)"
            ),
        });
    }
    if media.as_deref() != Some(&format!("application/{REQUEST_OBJECT_TYP}")) {
        return Err(ExchangeError::Unexpected {
            url: url.to_owned(),
            reason: format!(
                "its answer is {} rather than application/{REQUEST_OBJECT_TYP}",
                media.as_deref().unwrap_or("untyped")
            ),
        });
    }
    let text = String::from_utf8(body).map_err(|_| ExchangeError::Unexpected {
        url: url.to_owned(),
        reason: "the request object is not UTF-8 text".into(),
    })?;
    Ok(open_request_object(&text, &link.client_id)?)
}

/// What the verifier said to an answer.
#[derive(Debug)]
pub struct Delivered {
    /// Its HTTP status.
    pub status: u16,
    /// Its report, when it sent one (a Credence verifier service does, for a presentation).
    pub report: Option<Report>,
    /// A problem's detail or the start of another answer (at most 300 characters).
    pub detail: String,
}

impl Delivered {
    /// Whether the verifier took the answer (a presentation passed its checks, or it recorded
    /// the refusal).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status) && self.report.as_ref().is_none_or(Report::passed)
    }

    /// One line for the holder: the verifier's words are its own, shown as printable ASCII
    /// (no control, bidi or zero-width characters that could fake a line), at most 300
    /// characters.
    pub fn line(&self) -> String {
        let line = match (&self.report, self.accepted()) {
            (Some(_), true) => "the verifier checked the answer: every check passed".into(),
            (Some(r), false) => match r.failure() {
                Some((check, why)) => format!("the verifier refused the answer: {check:?}: {why}"),
                None => format!("the verifier refused the answer ({})", self.status),
            },
            (None, true) => "the verifier received the answer".into(),
            (None, false) => format!(
                "the verifier refused the answer ({}): {}",
                self.status, self.detail
            ),
        };
        printable(&line)
    }
}

/// Sends the holder's presentation for `request`.
pub async fn send(
    request: &AuthorizationRequest,
    presentation: &Presentation,
) -> Result<Delivered, ExchangeError> {
    if presentation.request.request.nonce != request.credence_request.request.nonce {
        return Err(ExchangeError::Answer(
            "the presentation answers another request than this one".into(),
        ));
    }
    let json = serde_json::to_string(presentation).map_err(|e| ExchangeError::Answer(e.to_string()))?;
    post(request, DirectPost::presentation(&request.state, &json)).await
}

/// Tells the verifier the holder will not answer `request` ([`ACCESS_DENIED`], with `why`:
/// [`DECLINED`], [`OUT_OF_SCOPE`], or another printable ASCII line).
pub async fn refuse(request: &AuthorizationRequest, why: &str) -> Result<Delivered, ExchangeError> {
    schemas::openid4vp::check_error(ACCESS_DENIED, Some(why)).map_err(ExchangeError::Answer)?;
    post(
        request,
        DirectPost {
            state: request.state.clone(),
            answer: schemas::openid4vp::Answer::Error {
                error: ACCESS_DENIED.into(),
                description: Some(why.to_owned()),
            },
        },
    )
    .await
}

async fn post(request: &AuthorizationRequest, answer: DirectPost) -> Result<Delivered, ExchangeError> {
    let url = request.response_uri.as_str();
    // Checked when the request object was opened (it is the signed request's channel address);
    // checked again here, where it is used.
    schemas::presentation::check_address(url)
        .map_err(|why| ExchangeError::Answer(format!("its response_uri {why}")))?;
    let r = http()?
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(answer.to_form())
        .send()
        .await
        .map_err(|e| unreachable(url, e))?;
    let status = r.status().as_u16();
    let body = bounded(url, r, MAX_VERIFIER_ANSWER_BYTES).await?;
    let report = serde_json::from_slice::<Report>(&body).ok();
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    Ok(Delivered {
        status,
        report,
        detail: printable(&detail),
    })
}

/// Text from another party, as printable ASCII (anything else becomes `?`), at most 300
/// characters.
fn printable(text: &str) -> String {
    text.chars()
        .take(300)
        .map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

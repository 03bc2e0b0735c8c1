//! The holder's side of the OpenID exchanges. OpenID4VP 1.0 (`docs/openid4vp.md` §6): open an
//! `openid4vp://` link, fetch the verifier's signed request object and check it, and send the
//! answer — a presentation, or the holder's refusal — to the verifier's `response_uri` by
//! `direct_post`. OpenID4VCI 1.0 (`docs/openid4vci.md` §4, [`accept_offer`]): redeem an
//! `openid-credential-offer://` link for the credential it offers, and import it.
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

/// What the wallet tells a verifier when its holder declines — always these words, whatever
/// the reason (no credential of the kind asked, a request beyond the verifier's scope, or the
/// holder's choice): a reason would tell the verifier whether the holder has a credential that
/// satisfies its request.
pub const DECLINED: &str = "the holder declined";

/// Why an exchange could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The link is not one this wallet opens.
    #[error(transparent)]
    Link(#[from] schemas::openid4vp::LinkError),
    /// The verifier or issuer could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The address.
        url: String,
        /// Why.
        reason: String,
    },
    /// The verifier or issuer answered something other than OpenID4VP or OpenID4VCI says.
    #[error("{url} answered unexpectedly: {reason}")]
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
    /// The issuer's offer, metadata or answers are not what OpenID4VCI and this profile say.
    #[error("the credential offer cannot be accepted: {0}")]
    Offer(String),
    /// The issuer refused (an OAuth error: `invalid_grant`, `invalid_proof`, …).
    #[error("the issuer refused ({error}): {description}")]
    IssuerRefused {
        /// Its error code.
        error: String,
        /// What it said (printable ASCII, at most 300 characters).
        description: String,
    },
    /// The credential arrived but did not import.
    #[error("the issued credential does not import: {0}")]
    Import(#[from] crate::holder::HolderError),
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
    if status != reqwest::StatusCode::OK {
        return Err(ExchangeError::Unexpected {
            url: url.to_owned(),
            reason: format!(
                "{status} instead of the request object (it may have expired: ask the verifier for a new link)"
            ),
        });
    }
    let media = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let body = bounded(url, r, MAX_REQUEST_OBJECT_BYTES).await?;
    if media.as_deref() != Some(&format!("application/{REQUEST_OBJECT_TYP}")) {
        return Err(ExchangeError::Unexpected {
            url: url.to_owned(),
            reason: format!(
                "its answer is {} rather than application/{REQUEST_OBJECT_TYP}",
                printable(media.as_deref().unwrap_or("untyped"))
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

/// Tells the verifier the holder will not answer `request` ([`ACCESS_DENIED`], [`DECLINED`]).
/// Only on the holder's word: a wallet that refused by itself after looking at its credentials
/// would tell the verifier it has one that fits.
pub async fn refuse(request: &AuthorizationRequest) -> Result<Delivered, ExchangeError> {
    post(
        request,
        DirectPost {
            state: request.state.clone(),
            answer: schemas::openid4vp::Answer::Error {
                error: ACCESS_DENIED.into(),
                description: Some(DECLINED.into()),
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

/// Posts or gets `url`, and reads a JSON answer of at most
/// [`schemas::openid4vci::MAX_METADATA_BYTES`] (more for a credential); an OAuth error answer
/// becomes [`ExchangeError::IssuerRefused`].
async fn issuer_json<T: serde::de::DeserializeOwned>(
    r: reqwest::RequestBuilder,
    url: &str,
    max: usize,
) -> Result<T, ExchangeError> {
    let r = r.send().await.map_err(|e| unreachable(url, e))?;
    let status = r.status();
    let body = bounded(url, r, max).await?;
    if !status.is_success() {
        let e: Option<schemas::openid4vci::ErrorResponse> = serde_json::from_slice(&body).ok();
        return Err(ExchangeError::IssuerRefused {
            error: printable(e.as_ref().map_or("", |e| e.error.as_str())),
            description: printable(
                &e.and_then(|e| e.error_description)
                    .unwrap_or_else(|| format!("{status}")),
            ),
        });
    }
    let unexpected = |reason: String| ExchangeError::Unexpected {
        url: url.to_owned(),
        reason,
    };
    // Duplicate members are refused in the text as it came (a parsed value keeps one of them).
    let text = std::str::from_utf8(&body).map_err(|_| unexpected("its answer is not UTF-8".into()))?;
    schemas::codec::refuse_duplicate_keys(text).map_err(|e| unexpected(format!("its answer: {e}")))?;
    serde_json::from_str(text).map_err(|e| unexpected(format!("its answer is not what OpenID4VCI says: {e}")))
}

/// Longest credential an issuer's answer may carry.
pub const MAX_CREDENTIAL_BYTES: usize = 1 << 20;

/// What an offer link asks before it is redeemed: who offers what, and whether a transaction
/// code is needed.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The offer.
    pub offer: schemas::openid4vci::CredentialOffer,
    /// The issuer's name as its metadata gives it (its own words; the ledger's registration
    /// is checked at import).
    pub issuer_name: Option<String>,
    metadata: schemas::openid4vci::IssuerMetadata,
    token_endpoint: String,
}

impl Offer {
    /// Whether the holder must type the transaction code the issuer sent another way.
    pub fn needs_tx_code(&self) -> bool {
        self.offer.grants.pre_authorized.tx_code.is_some()
    }
}

/// Reads an offer link: the offer (fetched when passed by reference) and the issuer's metadata,
/// every endpoint of which must lie under the issuer's URL.
pub async fn read_offer(link: &str) -> Result<Offer, ExchangeError> {
    use schemas::openid4vci::{
        AS_METADATA_PATH, AuthorizationServerMetadata, FORMAT, ISSUER_METADATA_PATH, IssuerMetadata,
        MAX_METADATA_BYTES, MAX_OFFER_BYTES, OfferLink, check_metadata,
    };
    let offer = match OfferLink::parse(link).map_err(|e| ExchangeError::Offer(e.0))? {
        OfferLink::ByValue(o) => o,
        OfferLink::ByReference(url) => {
            let text: serde_json::Value = issuer_json(http()?.get(&url), &url, MAX_OFFER_BYTES).await?;
            schemas::openid4vci::read_offer(&text.to_string()).map_err(|e| ExchangeError::Offer(e.0))?
        }
    };
    let base = offer.credential_issuer.trim_end_matches('/');
    let url = format!("{base}{ISSUER_METADATA_PATH}");
    let metadata: IssuerMetadata = issuer_json(http()?.get(&url), &url, MAX_METADATA_BYTES).await?;
    let url = format!("{base}{AS_METADATA_PATH}");
    let server: AuthorizationServerMetadata =
        issuer_json(http()?.get(&url), &url, MAX_METADATA_BYTES).await?;
    check_metadata(&metadata, &server, &offer.credential_issuer).map_err(|e| ExchangeError::Offer(e.0))?;
    for id in &offer.credential_configuration_ids {
        match metadata.credential_configurations_supported.get(id) {
            Some(c) if c.format == FORMAT => {}
            Some(c) => {
                return Err(ExchangeError::Offer(format!(
                    "it offers {id} in the format {:?}; this wallet holds {FORMAT} credentials",
                    printable(&c.format)
                )));
            }
            None => {
                return Err(ExchangeError::Offer(format!(
                    "it offers {:?}, which the issuer's metadata does not describe",
                    printable(id)
                )));
            }
        }
    }
    Ok(Offer {
        issuer_name: metadata.display.first().map(|d| printable(&d.name)),
        token_endpoint: server.token_endpoint.clone(),
        offer,
        metadata,
    })
}

/// What a redeemed offer gives: the access token and the nonce a proof must carry.
pub struct Redeemed {
    token: zeroize::Zeroizing<String>,
    /// The nonce to sign over ([`crate::holder::Holder::proof_of_possession`]).
    pub nonce: String,
}

/// Redeems an offer read by [`read_offer`] (with the transaction code the holder typed, when
/// it needs one): the access token, and a fresh nonce. Needs no key: a front end holds nothing
/// while the issuer answers.
pub async fn redeem_offer(offer: &Offer, tx_code: Option<&str>) -> Result<Redeemed, ExchangeError> {
    use schemas::openid4vci::{
        MAX_CODE_CHARS, MAX_METADATA_BYTES, NonceResponse, PRE_AUTHORIZED_GRANT, TokenResponse,
    };
    let tx_code = tx_code.map(str::trim).filter(|t| !t.is_empty());
    if offer.needs_tx_code() && tx_code.is_none() {
        return Err(ExchangeError::Offer(
            "it needs the transaction code the issuer sent you another way".into(),
        ));
    }
    // Encoded before any await: the serializer is not Send.
    let form = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", PRE_AUTHORIZED_GRANT)
            .append_pair("pre-authorized_code", &offer.offer.grants.pre_authorized.code);
        if let Some(t) = tx_code {
            form.append_pair("tx_code", t);
        }
        form.finish()
    };
    let url = &offer.token_endpoint;
    let token: TokenResponse = issuer_json(
        http()?
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form),
        url,
        MAX_METADATA_BYTES,
    )
    .await?;
    let url = &offer.metadata.nonce_endpoint;
    let nonce: NonceResponse = issuer_json(http()?.post(url), url, MAX_METADATA_BYTES).await?;
    let fits =
        |s: &str| !s.is_empty() && s.len() <= MAX_CODE_CHARS && s.bytes().all(|b| b.is_ascii_graphic());
    if !fits(&token.access_token) || !fits(&nonce.c_nonce) {
        return Err(ExchangeError::Offer(format!(
            "its access token or nonce is not 1 to {MAX_CODE_CHARS} printable ASCII characters"
        )));
    }
    Ok(Redeemed {
        token: zeroize::Zeroizing::new(token.access_token),
        nonce: nonce.c_nonce,
    })
}

/// Fetches the credential of a redeemed offer with the holder's `proof` (made over
/// `redeemed.nonce` for the offer's issuer); returns its JSON text, as the issuer sent it, for
/// [`crate::holder::Holder::import`].
pub async fn fetch_credential(
    offer: &Offer,
    redeemed: &Redeemed,
    proof: String,
) -> Result<String, ExchangeError> {
    use schemas::openid4vci::{CredentialRequest, CredentialResponse, Proofs};
    let id = offer
        .offer
        .credential_configuration_ids
        .first()
        .cloned()
        .unwrap_or_default();
    let request = CredentialRequest {
        credential_configuration_id: id,
        proofs: Proofs { jwt: vec![proof] },
    };
    let url = &offer.metadata.credential_endpoint;
    let answer: CredentialResponse = issuer_json(
        http()?
            .post(url)
            .bearer_auth(redeemed.token.as_str())
            .json(&request),
        url,
        MAX_CREDENTIAL_BYTES,
    )
    .await?;
    let [one] = answer.credentials.as_slice() else {
        return Err(ExchangeError::Offer(format!(
            "the issuer sent {} credentials for one offer",
            answer.credentials.len()
        )));
    };
    Ok(one.credential.to_string())
}

/// All of it for a front end that may hold the holder throughout (`credctl`): redeem, prove
/// possession of the holder key, fetch, and import with the usual ledger checks.
pub async fn accept_offer(
    holder: &crate::holder::Holder,
    offer: &Offer,
    tx_code: Option<&str>,
    ledger: &impl crate::ledger::ReadLedger,
    now: i64,
) -> Result<crate::holder::CredentialSummary, ExchangeError> {
    let redeemed = redeem_offer(offer, tx_code).await?;
    let proof = holder.proof_of_possession(&offer.offer.credential_issuer, &redeemed.nonce, now);
    let text = fetch_credential(offer, &redeemed, proof).await?;
    Ok(holder.import(&text, ledger, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every connection with `answer` (raw HTTP/1.1).
    async fn serve(answer: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    let _ = socket.write_all(&answer).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        format!("http://{addr}/request")
    }

    fn link(request_uri: &str) -> String {
        let key = schemas::sm2::SecretKey::from_bytes(&[7; 32]).expect("key");
        Link {
            client_id: format!(
                "{}{}",
                schemas::openid4vp::CLIENT_ID_PREFIX,
                schemas::Did::from_public_key(key.public_key())
            ),
            request_uri: request_uri.to_owned(),
        }
        .to_text()
    }

    /// A hostile or broken verifier: a redirect is not followed, an answer too long is not
    /// read, another media type or status is refused, junk is not a request object; each says
    /// what was wrong.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hostile_request_uri_gets_nothing_out_of_the_wallet() {
        let big = MAX_REQUEST_OBJECT_BYTES + 1;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n".to_vec(),
                "302",
            ),
            (
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/oauth-authz-req+jwt\r\nContent-Length: {big}\r\n\r\n")
                    .into_bytes(),
                "longer than",
            ),
            (
                [
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/oauth-authz-req+jwt\r\n\r\n".to_vec(),
                    vec![b'a'; big],
                ]
                .concat(),
                "longer than",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\xe2\x80\xae\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
                "rather than",
            ),
            (
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                "404",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/oauth-authz-req+jwt\r\nContent-Length: 5\r\n\r\na.b.c".to_vec(),
                "request object is refused",
            ),
        ];
        for (answer, why) in cases {
            let uri = serve(answer).await;
            let e = open(&link(&uri)).await.expect_err("refused");
            let text = e.to_string();
            assert!(text.contains(why), "{why}: {text}");
            assert!(
                text.chars()
                    .all(|c| c == ' ' || !c.is_control() && c != '\u{202e}'),
                "{text}"
            );
        }
    }

    /// An issuer whose answer names a member twice (readers differ on which one counts) is
    /// refused by name, in the token, the nonce and the credential answer alike: also where
    /// the member is one this wallet does not read, or lies inside the credential.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_issuer_answer_naming_a_member_twice_is_refused() {
        use schemas::openid4vci::{CredentialOffer, Grants, IssuerMetadata, PreAuthorized};
        let json = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        let token = r#"{"access_token":"a","token_type":"Bearer","expires_in":300}"#;
        let nonce = r#"{"c_nonce":"n"}"#;
        let credential = r#"{"credentials":[{"credential":{"id":"urn:x"}}]}"#;
        let cases = [
            (token, nonce, credential, None),
            (
                r#"{"access_token":"a","access_token":"b","token_type":"Bearer","expires_in":300}"#,
                nonce,
                credential,
                Some("access_token"),
            ),
            (
                r#"{"access_token":"a","token_type":"Bearer","expires_in":300,"scope":"x","scope":"y"}"#,
                nonce,
                credential,
                Some("scope"),
            ),
            (
                token,
                r#"{"c_nonce":"n","c_nonce":"m"}"#,
                credential,
                Some("c_nonce"),
            ),
            (
                token,
                nonce,
                r#"{"credentials":[{"credential":{"id":"urn:x","id":"urn:y"}}]}"#,
                Some("id"),
            ),
        ];
        for (token, nonce, credential, twice) in cases {
            let issuer = serve(json(token)).await;
            let metadata = IssuerMetadata {
                credential_issuer: issuer.clone(),
                credential_endpoint: serve(json(credential)).await,
                nonce_endpoint: serve(json(nonce)).await,
                credential_configurations_supported: Default::default(),
                display: vec![],
            };
            let offer = Offer {
                offer: CredentialOffer {
                    credential_issuer: issuer.clone(),
                    credential_configuration_ids: vec!["UniversityDiploma".into()],
                    grants: Grants {
                        pre_authorized: PreAuthorized {
                            code: "code".into(),
                            tx_code: None,
                        },
                    },
                },
                issuer_name: None,
                metadata,
                token_endpoint: issuer,
            };
            let got = match redeem_offer(&offer, None).await {
                Ok(redeemed) => fetch_credential(&offer, &redeemed, "proof".into()).await,
                Err(e) => Err(e),
            };
            match (twice, got) {
                (None, got) => assert_eq!(got.expect("a well-formed exchange"), r#"{"id":"urn:x"}"#),
                (Some(member), Ok(text)) => panic!("{member} twice, and accepted: {text}"),
                (Some(member), Err(e)) => {
                    let text = e.to_string();
                    assert!(
                        matches!(e, ExchangeError::Unexpected { .. })
                            && text.contains(&format!("{member:?} appears twice")),
                        "{member}: {text}"
                    );
                }
            }
        }
    }
}

//! OpenID for Verifiable Presentations 1.0, Credence's profile (`docs/openid4vp.md`): the
//! authorization request a verifier serves at its `request_uri` as a signed request object, with
//! its DCQL query.
//!
//! The request object carries Credence's own [`SignedRequest`] (`credence_request`). A Credence
//! wallet verifies that exactly as it verifies any request (SM2 over the request's canonical
//! digest, by the key of the verifier it names) and refuses a request object whose standard
//! parameters — what other OpenID4VP software reads — say anything else: a verifier cannot show
//! one thing in the parameters and sign another.
//!
//! Invariants:
//! - [`open_request_object`] reads at most [`MAX_REQUEST_OBJECT_BYTES`] and returns a request
//!   only if the JWS signature, the signed request's own signature, and every standard parameter
//!   agree;
//! - the JWS signature is SM2 with SM3 over the JWS signing input (what OpenSSL's
//!   `pkeyutl -sign -rawin -digest sm3` computes), under the private algorithm name
//!   [`JWS_ALG`]: no registered JOSE algorithm is SM2;
//! - a wallet reads a link ([`Link::parse`]) of at most [`MAX_LINK_BYTES`] that passes a request
//!   by reference and nothing else, and a verifier reads a `direct_post` answer
//!   ([`DirectPost::parse`]) that is either a `vp_token` or an error, bound to a `state`.

use crate::did::Did;
use crate::presentation::{Channel, SignedRequest};
use crate::sm2::SecretKey;
use serde::{Deserialize, Serialize};

/// The client identifier prefix of a verifier identified by its DID (OpenID4VP 1.0 §5.9.3).
pub const CLIENT_ID_PREFIX: &str = "decentralized_identifier:";

/// The JWS `alg` of a request object: SM2 with SM3 over the signing input (private name).
pub const JWS_ALG: &str = crate::jose::ALG;

/// The JWS `typ` of a request object (RFC 9101).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// The DCQL credential format identifier of a Credence presentation (profile-defined).
pub const VP_FORMAT: &str = "credence_vp";

/// The audience of a request object a wallet reads without discovery (OpenID4VP 1.0 §5.8).
pub const AUDIENCE: &str = "https://self-issued.me/v2";

/// `response_type`: a VP Token.
pub const RESPONSE_TYPE: &str = "vp_token";

/// `response_mode`: the wallet posts the answer to `response_uri`.
pub const RESPONSE_MODE: &str = "direct_post";

/// The id of the one credential query a Credence request makes.
pub const CREDENTIAL_QUERY_ID: &str = "credential";

/// Longest request object read.
pub const MAX_REQUEST_OBJECT_BYTES: usize = 64 * 1024;

/// Longest `state` value.
pub const MAX_STATE_CHARS: usize = 128;

/// An authorization request (OpenID4VP 1.0 §5), as the request object's payload carries it.
/// Nothing else is read: a member this profile does not define (`transaction_data`,
/// `client_metadata`, `verifier_info`, …) would be something other software shows that the
/// signed request does not say, so it is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationRequest {
    /// `decentralized_identifier:` + the verifier's DID.
    pub client_id: String,
    /// [`AUDIENCE`].
    pub aud: String,
    /// [`RESPONSE_TYPE`].
    pub response_type: String,
    /// [`RESPONSE_MODE`].
    pub response_mode: String,
    /// Where the wallet posts its answer: the request's channel address.
    pub response_uri: String,
    /// The request's nonce, lowercase hex.
    pub nonce: String,
    /// The verifier's value binding the answer to this exchange (`[A-Za-z0-9_-]`, 1 to
    /// [`MAX_STATE_CHARS`]).
    pub state: String,
    /// When made and until when answerable, seconds since the Unix epoch (the request's).
    pub iat: i64,
    /// See `iat`.
    pub exp: i64,
    /// What is asked, in DCQL.
    pub dcql_query: DcqlQuery,
    /// The Credence extension: the request as Credence signs and verifies it, with what DCQL
    /// cannot say (predicates, tier, purpose, accepted issuers).
    pub credence_request: SignedRequest,
}

/// A DCQL query (OpenID4VP 1.0 §6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcqlQuery {
    /// The credentials asked for (a Credence request asks for one).
    pub credentials: Vec<CredentialQuery>,
}

/// A DCQL credential query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialQuery {
    /// [`CREDENTIAL_QUERY_ID`].
    pub id: String,
    /// [`VP_FORMAT`].
    pub format: String,
    /// The credential type.
    pub meta: CredentialMeta,
    /// The claims to disclose (none: only predicates, or the unlinkable tier).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimQuery>,
}

/// A credential query's `meta`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialMeta {
    /// `[[credential type]]`.
    pub type_values: Vec<Vec<String>>,
}

/// A DCQL claims query: the claim's path in the credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimQuery {
    /// `["credentialSubject", attribute]`.
    pub path: Vec<String>,
}

/// Why a request object was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the OpenID4VP request object is refused: {0}")]
pub struct RequestObjectError(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, RequestObjectError> {
    Err(RequestObjectError(why.into()))
}

/// The JWS header of a request object.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

impl AuthorizationRequest {
    /// The authorization request of `signed` (which must name its channel: the answer's
    /// address), with the verifier's `state`.
    pub fn new(signed: &SignedRequest, state: &str) -> Result<Self, RequestObjectError> {
        let r = &signed.request;
        let Some(channel) = &r.channel else {
            return refuse("the request names no channel: an OpenID4VP request needs its response address");
        };
        let out = AuthorizationRequest {
            client_id: format!("{CLIENT_ID_PREFIX}{}", r.verifier),
            aud: AUDIENCE.into(),
            response_type: RESPONSE_TYPE.into(),
            response_mode: RESPONSE_MODE.into(),
            response_uri: channel.response_uri.clone(),
            nonce: crate::bytes::to_hex(&r.nonce.0),
            state: state.to_owned(),
            iat: r.created_at,
            exp: r.expires_at,
            dcql_query: DcqlQuery {
                credentials: vec![CredentialQuery {
                    id: CREDENTIAL_QUERY_ID.into(),
                    format: VP_FORMAT.into(),
                    meta: CredentialMeta {
                        type_values: vec![vec![r.credential_type.clone()]],
                    },
                    claims: r
                        .disclose
                        .iter()
                        .map(|a| ClaimQuery {
                            path: vec!["credentialSubject".into(), a.clone()],
                        })
                        .collect(),
                }],
            },
            credence_request: signed.clone(),
        };
        out.check()?;
        Ok(out)
    }

    /// Checks that every standard parameter says what the signed request says, and the state's
    /// shape. (The signed request's own signature is checked by [`open_request_object`].)
    pub fn check(&self) -> Result<(), RequestObjectError> {
        let r = &self.credence_request.request;
        let same = |what: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                refuse(format!("its {what} is not the signed request's"))
            }
        };
        same(
            "client_id",
            self.client_id == format!("{CLIENT_ID_PREFIX}{}", r.verifier),
        )?;
        if self.aud != AUDIENCE || self.response_type != RESPONSE_TYPE || self.response_mode != RESPONSE_MODE
        {
            return refuse(format!(
                "this profile answers aud {AUDIENCE}, response_type {RESPONSE_TYPE} and response_mode {RESPONSE_MODE} only"
            ));
        }
        let Some(channel): Option<&Channel> = r.channel.as_ref() else {
            return refuse("the signed request names no channel (response address)");
        };
        channel
            .check()
            .map_err(|e| RequestObjectError(format!("its channel: {e}")))?;
        same("response_uri", self.response_uri == channel.response_uri)?;
        same("nonce", self.nonce == crate::bytes::to_hex(&r.nonce.0))?;
        same("iat", self.iat == r.created_at)?;
        same("exp", self.exp == r.expires_at)?;
        let [q] = self.dcql_query.credentials.as_slice() else {
            return refuse("its DCQL query must ask for exactly one credential");
        };
        same("DCQL credential query id", q.id == CREDENTIAL_QUERY_ID)?;
        same("DCQL format", q.format == VP_FORMAT)?;
        same(
            "DCQL type_values",
            q.meta.type_values == [vec![r.credential_type.clone()]],
        )?;
        let claims: Vec<&[String]> = q.claims.iter().map(|c| c.path.as_slice()).collect();
        let asked: Vec<[String; 2]> = r
            .disclose
            .iter()
            .map(|a| ["credentialSubject".to_owned(), a.clone()])
            .collect();
        same(
            "DCQL claims",
            claims.len() == asked.len() && claims.iter().zip(&asked).all(|(c, a)| *c == a.as_slice()),
        )?;
        let state_ok = !self.state.is_empty()
            && self.state.len() <= MAX_STATE_CHARS
            && self
                .state
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !state_ok {
            return refuse(format!(
                "its state must be 1 to {MAX_STATE_CHARS} characters of A-Z, a-z, 0-9, - and _"
            ));
        }
        Ok(())
    }
}

/// The `kid` of a verifier's request objects: its DID and its key's Multikey.
pub fn key_id(verifier: &Did, key: &crate::sm2::PublicKey) -> String {
    crate::jose::key_id(verifier, key)
}

/// The request object (a compact JWS) of `request`, signed with `key`, the key of the verifier
/// the request names.
pub fn request_object(request: &AuthorizationRequest, key: &SecretKey) -> Result<String, RequestObjectError> {
    request.check()?;
    if key.public_key() != &request.credence_request.verifier_key {
        return refuse("the signing key is not the key the signed request carries");
    }
    let header = Header {
        alg: JWS_ALG.into(),
        typ: REQUEST_OBJECT_TYP.into(),
        kid: key_id(&request.credence_request.request.verifier, key.public_key()),
    };
    crate::jose::sign(&header, request, key).map_err(RequestObjectError)
}

/// Reads a request object fetched for a link whose `client_id` is `client_id`: its JWS signature
/// under the key the signed request carries (named by `kid`), the signed request's own
/// signature, the agreement of every standard parameter, and the link's `client_id` (RFC 9101
/// §6.3). The caller still checks the verifier's registration, as for any request.
pub fn open_request_object(text: &str, client_id: &str) -> Result<AuthorizationRequest, RequestObjectError> {
    if text.len() > MAX_REQUEST_OBJECT_BYTES {
        return refuse(format!(
            "it is longer than {MAX_REQUEST_OBJECT_BYTES} bytes (MAX_REQUEST_OBJECT_BYTES)"
        ));
    }
    let jws = crate::jose::split(text).map_err(RequestObjectError)?;
    let header: Header =
        serde_json::from_slice(&jws.header).map_err(|e| RequestObjectError(format!("its header: {e}")))?;
    if header.alg != JWS_ALG {
        return refuse(format!(
            "its alg is {:?}; this profile signs with {JWS_ALG}",
            header.alg.chars().take(32).collect::<String>()
        ));
    }
    if header.typ != REQUEST_OBJECT_TYP {
        return refuse(format!(
            "its typ is {:?}, not {REQUEST_OBJECT_TYP}",
            header.typ.chars().take(32).collect::<String>()
        ));
    }
    let request: AuthorizationRequest =
        serde_json::from_slice(&jws.payload).map_err(|e| RequestObjectError(format!("its payload: {e}")))?;
    let signed = &request.credence_request;
    if header.kid != key_id(&signed.request.verifier, &signed.verifier_key) {
        return refuse("its kid does not name the key of the verifier the signed request names");
    }
    if !jws.verify(&signed.verifier_key) {
        return refuse("its JWS signature does not verify");
    }
    signed
        .verify()
        .map_err(|e| RequestObjectError(format!("the signed request inside: {e}")))?;
    request.check()?;
    if request.client_id != client_id {
        return refuse("its client_id is not the one the link names");
    }
    Ok(request)
}

/// The scheme of the links a verifier shows (OpenID4VP 1.0 §13.1).
pub const LINK_SCHEME: &str = "openid4vp://";

/// What follows `scheme` (such as [`LINK_SCHEME`]) at the start of `text`, the scheme compared
/// without regard to case; `None` when `text` does not start with it.
pub fn after_scheme<'a>(text: &'a str, scheme: &str) -> Option<&'a str> {
    text.get(..scheme.len())
        .filter(|s| s.eq_ignore_ascii_case(scheme))
        .map(|_| &text[scheme.len()..])
}

/// Whether `text` (leading space aside) is an `openid4vp://` link rather than, say, a request's
/// JSON.
pub fn is_link(text: &str) -> bool {
    after_scheme(text.trim_start(), LINK_SCHEME).is_some()
}

/// Longest link a wallet reads.
pub const MAX_LINK_BYTES: usize = 4096;

/// Why a link is not one a Credence wallet opens.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an OpenID4VP link this wallet opens: {0}")]
pub struct LinkError(pub String);

/// An `openid4vp://` link: which verifier (`client_id`) and where its signed request object is
/// (`request_uri`). Credence takes requests by reference only (RFC 9101): every other parameter
/// would be unsigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `decentralized_identifier:did:credence:…`.
    pub client_id: String,
    /// An `https://` URL (`http://` only to this machine).
    pub request_uri: String,
}

impl Link {
    /// The link's text: `openid4vp://?client_id=…&request_uri=…`.
    pub fn to_text(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &self.client_id)
            .append_pair("request_uri", &self.request_uri);
        format!("{LINK_SCHEME}?{}", q.finish())
    }

    /// Reads a link a holder pasted, scanned or opened: `openid4vp://` (optionally with the
    /// host `authorize`), then `client_id` and `request_uri`, each once, and optionally
    /// `request_uri_method=get`. Anything else is refused, naming it.
    pub fn parse(text: &str) -> Result<Link, LinkError> {
        let bad = |why: String| Err(LinkError(why));
        let text = text.trim();
        if text.len() > MAX_LINK_BYTES {
            return bad(format!(
                "it is longer than {MAX_LINK_BYTES} bytes (MAX_LINK_BYTES)"
            ));
        }
        let Some(rest) = after_scheme(text, LINK_SCHEME) else {
            return bad(format!("it does not start with {LINK_SCHEME}"));
        };
        let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !matches!(host, "" | "/" | "authorize" | "authorize/") {
            return bad(format!(
                "it names {:?} before its parameters; a link is {LINK_SCHEME}?client_id=…&request_uri=…",
                host.chars().take(64).collect::<String>()
            ));
        }
        let (mut client_id, mut request_uri) = (None, None);
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "client_id" => &mut client_id,
                "request_uri" => &mut request_uri,
                "request_uri_method" if v == "get" => continue,
                "request_uri_method" => {
                    return bad(
                        "its request_uri_method is not get (this wallet fetches request objects with GET)"
                            .into(),
                    );
                }
                "request"
                | "response_type"
                | "response_mode"
                | "response_uri"
                | "nonce"
                | "dcql_query"
                | "presentation_definition"
                | "scope"
                | "client_metadata"
                | "transaction_data"
                | "redirect_uri"
                | "state" => {
                    return bad(format!(
                        "it carries {k} outside the signed request object; this wallet takes requests by reference only (client_id and request_uri)"
                    ));
                }
                _ => {
                    return bad(format!(
                        "it carries the unknown parameter {:?}",
                        k.chars().take(64).collect::<String>()
                    ));
                }
            };
            if slot.replace(v.into_owned()).is_some() {
                return bad(format!("it gives {k} twice"));
            }
        }
        let (Some(client_id), Some(request_uri)) = (client_id, request_uri) else {
            return bad("it lacks client_id or request_uri".into());
        };
        let Some(did) = client_id.strip_prefix(CLIENT_ID_PREFIX) else {
            return bad(format!(
                "its client_id does not start with {CLIENT_ID_PREFIX}: this wallet answers verifiers identified by their did:credence"
            ));
        };
        if did.parse::<Did>().is_err() {
            return bad("its client_id does not name a did:credence".into());
        }
        if request_uri.len() > crate::limits::MAX_TEXT || !request_uri.bytes().all(|b| b.is_ascii_graphic()) {
            return bad(format!(
                "its request_uri must be printable ASCII without spaces, at most {} bytes",
                crate::limits::MAX_TEXT
            ));
        }
        crate::presentation::check_address(&request_uri)
            .map_err(|why| LinkError(format!("its request_uri {why}")))?;
        Ok(Link {
            client_id,
            request_uri,
        })
    }
}

/// The error a wallet answers with when its holder declines, or when it refuses a request on
/// the holder's behalf (OpenID4VP 1.0 §8.5; RFC 6749 §4.1.2.1).
pub const ACCESS_DENIED: &str = "access_denied";

/// Longest `error` code read from a wallet.
pub const MAX_ERROR_CHARS: usize = 64;

/// Longest `error_description` read from a wallet.
pub const MAX_ERROR_DESCRIPTION_CHARS: usize = 300;

/// What a wallet posts to a verifier's `response_uri` (`direct_post`, form-encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectPost {
    /// The exchange's `state`, from the request object.
    pub state: String,
    /// The presentation, or why there is none.
    pub answer: Answer,
}

/// A wallet's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// JSON: `{"credential": [<presentation>]}` (keyed by the DCQL credential query's id).
    VpToken(String),
    /// An error (RFC 6749 §4.1.2.1): a code of `a-z` and `_`, and optionally a description of
    /// printable ASCII without `"` and `\`.
    Error {
        /// E.g. [`ACCESS_DENIED`].
        error: String,
        /// Why, for the verifier's staff.
        description: Option<String>,
    },
}

impl DirectPost {
    /// The answer for `presentation_json` (one presentation, as JSON).
    pub fn presentation(state: &str, presentation_json: &str) -> Self {
        DirectPost {
            state: state.to_owned(),
            answer: Answer::VpToken(format!(
                "{{{}:[{presentation_json}]}}",
                serde_json::Value::from(CREDENTIAL_QUERY_ID)
            )),
        }
    }

    /// The form body.
    pub fn to_form(&self) -> String {
        let mut f = form_urlencoded::Serializer::new(String::new());
        match &self.answer {
            Answer::VpToken(t) => {
                f.append_pair("vp_token", t);
            }
            Answer::Error { error, description } => {
                f.append_pair("error", error);
                if let Some(d) = description {
                    f.append_pair("error_description", d);
                }
            }
        }
        f.append_pair("state", &self.state);
        f.finish()
    }

    /// Reads a form body: `state`, and `vp_token` or `error` (with `error_description`); other
    /// fields are ignored, a repeated one is refused.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let (mut vp_token, mut state, mut error, mut description) = (None, None, None, None);
        for (k, v) in form_urlencoded::parse(body) {
            let slot = match k.as_ref() {
                "vp_token" => &mut vp_token,
                "state" => &mut state,
                "error" => &mut error,
                "error_description" => &mut description,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(format!("{k} is given twice"));
            }
        }
        let Some(state) = state else {
            return Err(
                "post state, and vp_token or error, form-encoded (application/x-www-form-urlencoded)".into(),
            );
        };
        let answer = match (vp_token, error) {
            (Some(t), None) => Answer::VpToken(t),
            (None, Some(error)) => {
                check_error(&error, description.as_deref())?;
                Answer::Error { error, description }
            }
            (Some(_), Some(_)) => return Err("post vp_token or error, not both".into()),
            (None, None) => {
                return Err("post vp_token (the presentation) or error, form-encoded (application/x-www-form-urlencoded)".into());
            }
        };
        Ok(DirectPost { state, answer })
    }
}

/// Checks an error answer's code and description (RFC 6749 §4.1.2.1's characters, this
/// profile's bounds).
pub fn check_error(error: &str, description: Option<&str>) -> Result<(), String> {
    if error.is_empty()
        || error.len() > MAX_ERROR_CHARS
        || !error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(format!(
            "error must be 1 to {MAX_ERROR_CHARS} characters of a-z and _ (such as {ACCESS_DENIED})"
        ));
    }
    if let Some(d) = description
        && (d.chars().count() > MAX_ERROR_DESCRIPTION_CHARS
            || !d
                .bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'))
    {
        return Err(format!(
            "error_description must be at most {MAX_ERROR_DESCRIPTION_CHARS} printable ASCII characters without \" and \\"
        ));
    }
    Ok(())
}

//! OpenID for Verifiable Credential Issuance 1.0, Credence's profile (`docs/openid4vci.md`): the
//! pre-authorized code flow. An issuer hands each holder a credential offer link (with a
//! transaction code sent another way); the holder's wallet reads the issuer's metadata, redeems
//! the code for an access token, proves possession of the holder key the credential is bound to
//! (a proof JWT over a fresh nonce, signed with SM2), and receives the credential, which it then
//! imports with the usual ledger checks.
//!
//! Invariants:
//! - every reader bounds its input ([`MAX_OFFER_BYTES`], [`MAX_METADATA_BYTES`]) and refuses
//!   addresses a wallet must not be sent to (`https://`, `http://` only to this machine);
//! - an issuer's endpoints lie under its `credential_issuer` URL: metadata cannot send the
//!   holder's code or token to another server;
//! - [`open_proof`] returns the holder key only for a proof JWT signed by that key, for this
//!   issuer (`aud`), over the nonce the issuer gave, made within [`PROOF_MAX_AGE_SECS`].

use crate::jose;
use crate::sm2::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The scheme of credential offer links (OpenID4VCI 1.0 §4.1).
pub const OFFER_SCHEME: &str = "openid-credential-offer://";

/// The pre-authorized code grant type.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// The credential format of this profile: a Credence credential's W3C VC JSON
/// (`docs/cryptosuites.md`), as `credctl issue` writes it.
pub const FORMAT: &str = "credence_vc";

/// The `typ` of a proof JWT (OpenID4VCI 1.0 Appendix F.1).
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Where an issuer's metadata is, under its `credential_issuer` URL.
pub const ISSUER_METADATA_PATH: &str = "/.well-known/openid-credential-issuer";

/// Where its authorization server's metadata is (RFC 8414; the issuer is its own).
pub const AS_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// Longest offer link, or offer fetched by reference.
pub const MAX_OFFER_BYTES: usize = 16 * 1024;

/// Longest metadata document, token or nonce answer read.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Longest pre-authorized code, access token, nonce or transaction code.
pub const MAX_CODE_CHARS: usize = 256;

/// Oldest proof JWT an issuer accepts (its `iat`), and how far in the future.
pub const PROOF_MAX_AGE_SECS: i64 = 300;

/// Why something from the other side is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VciError(pub String);

fn bad<T>(why: impl Into<String>) -> Result<T, VciError> {
    Err(VciError(why.into()))
}

fn token_like(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_CODE_CHARS && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A credential offer (§4.1.1), pre-authorized code flow only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// The issuer's URL; its metadata is at [`ISSUER_METADATA_PATH`] under it.
    pub credential_issuer: String,
    /// Which of its credential configurations are offered.
    pub credential_configuration_ids: Vec<String>,
    /// The grants: a pre-authorized code.
    pub grants: Grants,
}

/// An offer's grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// The pre-authorized code grant.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code")]
    pub pre_authorized: PreAuthorized,
}

/// A pre-authorized code and whether a transaction code must come with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorized {
    /// The code.
    #[serde(rename = "pre-authorized_code")]
    pub code: String,
    /// The transaction code the holder received another way, if one is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
}

/// How a transaction code looks (§4.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCode {
    /// `numeric` or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<String>,
    /// Its length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Where the holder finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CredentialOffer {
    /// Checks an offer from another party: the issuer's address, one to eight configuration
    /// ids, a code, and a transaction code description of printable text.
    pub fn check(&self) -> Result<(), VciError> {
        check_url(&self.credential_issuer, "its credential_issuer")?;
        if self.credential_configuration_ids.is_empty() || self.credential_configuration_ids.len() > 8 {
            return bad("it offers 1 to 8 credential configurations");
        }
        if !self.credential_configuration_ids.iter().all(|c| token_like(c)) {
            return bad("its credential configuration ids are printable ASCII without spaces");
        }
        if !token_like(&self.grants.pre_authorized.code) {
            return bad(format!(
                "its pre-authorized code is 1 to {MAX_CODE_CHARS} printable ASCII characters"
            ));
        }
        if let Some(t) = &self.grants.pre_authorized.tx_code {
            if t.length.is_some_and(|n| n == 0 || n as usize > MAX_CODE_CHARS) {
                return bad("its transaction code length is out of range");
            }
            if t.description
                .as_deref()
                .is_some_and(|d| d.chars().count() > 300 || d.chars().any(|c| c.is_control()))
            {
                return bad("its transaction code description is at most 300 characters on one line");
            }
        }
        Ok(())
    }
}

/// An address an issuer gives: `https://` (`http://` only to this machine), printable ASCII,
/// without user information.
fn check_url(url: &str, what: &str) -> Result<(), VciError> {
    if url.len() > crate::limits::MAX_TEXT || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return bad(format!(
            "{what} is not printable ASCII of at most {} bytes",
            crate::limits::MAX_TEXT
        ));
    }
    crate::presentation::check_address(url).map_err(|why| VciError(format!("{what} {why}")))
}

/// What an offer link carries: the offer, or where to fetch it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferLink {
    /// `credential_offer=` (the offer's JSON).
    ByValue(CredentialOffer),
    /// `credential_offer_uri=`.
    ByReference(String),
}

impl OfferLink {
    /// Reads `openid-credential-offer://?credential_offer=…` or `…?credential_offer_uri=…`.
    pub fn parse(text: &str) -> Result<OfferLink, VciError> {
        let text = text.trim();
        if text.len() > MAX_OFFER_BYTES {
            return bad(format!(
                "the offer link is longer than {MAX_OFFER_BYTES} bytes (MAX_OFFER_BYTES)"
            ));
        }
        let rest = crate::openid4vp::after_scheme(text, OFFER_SCHEME)
            .ok_or_else(|| VciError(format!("the offer link does not start with {OFFER_SCHEME}")))?;
        let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !matches!(host, "" | "/") {
            return bad("the offer link names something before its parameters");
        }
        let mut found = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let this = match k.as_ref() {
                "credential_offer" => {
                    crate::codec::refuse_duplicate_keys(&v)
                        .map_err(|e| VciError(format!("its offer: {e}")))?;
                    let offer: CredentialOffer = serde_json::from_str(&v)
                        .map_err(|e| VciError(format!("its offer is not an offer: {e}")))?;
                    offer.check()?;
                    OfferLink::ByValue(offer)
                }
                "credential_offer_uri" => {
                    check_url(&v, "its credential_offer_uri")?;
                    OfferLink::ByReference(v.into_owned())
                }
                _ => {
                    return bad(format!(
                        "the offer link carries the unknown parameter {:?}",
                        k.chars().take(64).collect::<String>()
                    ));
                }
            };
            if found.replace(this).is_some() {
                return bad("the offer link carries more than one offer");
            }
        }
        found.ok_or_else(|| {
            VciError("the offer link carries no credential_offer or credential_offer_uri".into())
        })
    }

    /// The link of an offer passed by value.
    pub fn by_value(offer: &CredentialOffer) -> String {
        let json = serde_json::to_string(offer).unwrap_or_default();
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("credential_offer", &json);
        format!("{OFFER_SCHEME}?{}", q.finish())
    }
}

/// Reads an offer fetched by reference.
pub fn read_offer(text: &str) -> Result<CredentialOffer, VciError> {
    if text.len() > MAX_OFFER_BYTES {
        return bad(format!(
            "the offer is longer than {MAX_OFFER_BYTES} bytes (MAX_OFFER_BYTES)"
        ));
    }
    crate::codec::refuse_duplicate_keys(text).map_err(|e| VciError(format!("the offer: {e}")))?;
    let offer: CredentialOffer =
        serde_json::from_str(text).map_err(|e| VciError(format!("the offer is not an offer: {e}")))?;
    offer.check()?;
    Ok(offer)
}

/// The credential issuer's metadata (§12.2), what this profile reads of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerMetadata {
    /// Its URL (the offer's `credential_issuer`).
    pub credential_issuer: String,
    /// Where credentials are requested.
    pub credential_endpoint: String,
    /// Where fresh nonces for proofs come from.
    pub nonce_endpoint: String,
    /// What it issues, by configuration id.
    pub credential_configurations_supported: BTreeMap<String, CredentialConfiguration>,
    /// How it names itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Display>,
}

/// One kind of credential an issuer issues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialConfiguration {
    /// [`FORMAT`].
    pub format: String,
    /// Its W3C types.
    pub credential_definition: CredentialDefinition,
    /// `did:credence`: the credential is bound to a holder key.
    pub cryptographic_binding_methods_supported: Vec<String>,
    /// How possession of that key is proven: `{"jwt": {"proof_signing_alg_values_supported": ["SM2SM3"]}}`.
    pub proof_types_supported: BTreeMap<String, ProofType>,
}

/// A credential configuration's types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDefinition {
    /// `["VerifiableCredential", "UniversityDiploma"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
}

/// A proof type's algorithms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofType {
    /// `["SM2SM3"]`.
    pub proof_signing_alg_values_supported: Vec<String>,
}

/// A display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Display {
    /// The name.
    pub name: String,
    /// Its language (`en`, `zh-CN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// The authorization server's metadata (RFC 8414), what this profile reads of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// Its identifier: the credential issuer's URL.
    pub issuer: String,
    /// Where codes are exchanged for tokens.
    pub token_endpoint: String,
    /// `true`: the pre-authorized code alone authorizes (no client authentication).
    #[serde(rename = "pre-authorized_grant_anonymous_access_supported", default)]
    pub anonymous: bool,
}

/// Checks the issuer's metadata (and its authorization server's) fetched for an offer from
/// `issuer`: the same issuer, and every endpoint an `https://` URL under it.
pub fn check_metadata(
    metadata: &IssuerMetadata,
    server: &AuthorizationServerMetadata,
    issuer: &str,
) -> Result<(), VciError> {
    if metadata.credential_issuer != issuer || server.issuer != issuer {
        return bad("its metadata names another credential issuer than the offer");
    }
    let base = issuer.trim_end_matches('/');
    for (what, url) in [
        ("credential_endpoint", &metadata.credential_endpoint),
        ("nonce_endpoint", &metadata.nonce_endpoint),
        ("token_endpoint", &server.token_endpoint),
    ] {
        check_url(url, &format!("its {what}"))?;
        // Compared as text: no dot segments or escapes that a server would read as another path.
        let path = url.split_once("://").map_or("", |(_, rest)| rest);
        if path.split(['/', '?', '#']).any(|seg| seg == "." || seg == "..") || path.contains('%') {
            return bad(format!(
                "its {what} {url:?} has dot segments or escapes in its path"
            ));
        }
        let under = url
            .strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if !under {
            return bad(format!(
                "its {what} {url:?} is not under the issuer's URL {issuer:?}: the code and token go nowhere else"
            ));
        }
    }
    Ok(())
}

/// A token answer (RFC 6749 §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token for the credential endpoint.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds it lives.
    pub expires_in: u64,
}

/// A nonce answer (§7.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    /// The nonce a proof must carry.
    pub c_nonce: String,
}

/// A credential request (§8.2) with one proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// Which configuration.
    pub credential_configuration_id: String,
    /// The proofs of possession: one JWT.
    pub proofs: Proofs,
}

/// A credential request's proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proofs {
    /// Proof JWTs ([`proof_jwt`]).
    pub jwt: Vec<String>,
}

/// A credential answer (§8.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialResponse {
    /// The credentials issued.
    pub credentials: Vec<IssuedCredential>,
}

/// One issued credential.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// The credential (for [`FORMAT`]: its W3C VC JSON).
    pub credential: serde_json::Value,
}

/// An OAuth error answer (RFC 6749 §5.2; OpenID4VCI §8.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// `invalid_grant`, `invalid_proof`, `invalid_nonce`, …
    pub error: String,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofHeader {
    alg: String,
    typ: String,
    kid: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofClaims {
    aud: String,
    iat: i64,
    nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
}

/// A proof of possession of `holder`'s key for `issuer` over `nonce`, made at `now` (Appendix
/// F.1): `kid` names the holder's own `did:credence` and key.
pub fn proof_jwt(holder: &SecretKey, issuer: &str, nonce: &str, now: i64) -> String {
    let key = holder.public_key();
    let header = ProofHeader {
        alg: jose::ALG.into(),
        typ: PROOF_TYP.into(),
        kid: jose::key_id(&crate::did::Did::from_public_key(key), key),
    };
    let claims = ProofClaims {
        aud: issuer.to_owned(),
        iat: now,
        nonce: nonce.to_owned(),
        iss: None,
    };
    jose::sign(&header, &claims, holder).unwrap_or_default()
}

/// Opens a proof JWT an issuer received: returns the key that signed it and the nonce it
/// carries, when it is signed by the key its `kid` names, for `issuer`, made within
/// [`PROOF_MAX_AGE_SECS`] of `now`. The caller checks the nonce is one it gave and unused, and
/// the key is the one the credential is bound to.
pub fn open_proof(text: &str, issuer: &str, now: i64) -> Result<(PublicKey, String), VciError> {
    if text.len() > MAX_METADATA_BYTES {
        return bad("the proof is too long");
    }
    let jws = jose::split(text).map_err(|e| VciError(format!("the proof: {e}")))?;
    let header: ProofHeader =
        serde_json::from_slice(&jws.header).map_err(|e| VciError(format!("the proof's header: {e}")))?;
    if header.alg != jose::ALG || header.typ != PROOF_TYP {
        return bad(format!(
            "the proof's alg and typ must be {} and {PROOF_TYP}",
            jose::ALG
        ));
    }
    let key = jose::own_key(&header.kid).map_err(|e| VciError(format!("the proof: {e}")))?;
    if !jws.verify(&key) {
        return bad("the proof's signature does not verify under the key its kid names");
    }
    let claims: ProofClaims =
        serde_json::from_slice(&jws.payload).map_err(|e| VciError(format!("the proof's claims: {e}")))?;
    if claims.aud != issuer {
        return bad("the proof is for another issuer (aud)");
    }
    if claims.iat.abs_diff(now) > PROOF_MAX_AGE_SECS.unsigned_abs() {
        return bad(format!(
            "the proof was made more than {PROOF_MAX_AGE_SECS} s from now (iat): make a new one"
        ));
    }
    Ok((key, claims.nonce))
}

//! The issuer's OpenID4VCI 1.0 service (`credctl issuer offer` and `credctl issuer serve`,
//! `docs/openid4vci.md`): the pre-authorized code flow for an issued batch.
//!
//! `offer` gives each credential of a batch a pre-authorized code and a 6-digit transaction
//! code, and writes `offers.csv` (credential id, offer link, transaction code: for the registrar
//! to send, the link one way and the code another) and `offers.json` (what the service keeps:
//! the codes' SM3 digests, never the codes) into the batch folder, both readable by their owner
//! only. `serve` answers the issuer's metadata, `POST /token` (the code and transaction code for
//! a short-lived access token; [`MAX_TX_CODE_TRIES`] wrong transaction codes lock the offer),
//! `POST /nonce`, and `POST /credential` (the token and a proof JWT signed by the very holder key
//! the credential is bound to, over a nonce this service gave and has not seen used): the
//! credential goes only to the holder who can sign with its key. An offer is spent when its
//! credential is delivered; the book of offers is rewritten (atomically) on every change.

// A handler's refusal is its HTTP answer, made once per request: returned as is, not boxed.
#![allow(clippy::result_large_err)]

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand_core::{OsRng, RngCore};
use schemas::hash::{Hash, sm3};
use schemas::openid4vci::{
    AS_METADATA_PATH, AuthorizationServerMetadata, CredentialConfiguration, CredentialDefinition,
    CredentialOffer, CredentialRequest, CredentialResponse, Display, ErrorResponse, FORMAT, Grants,
    ISSUER_METADATA_PATH, IssuedCredential, IssuerMetadata, NonceResponse, OfferLink, PRE_AUTHORIZED_GRANT,
    PreAuthorized, ProofType, TokenResponse, TxCode,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Wrong transaction codes after which an offer is locked (the registrar makes a new one).
pub const MAX_TX_CODE_TRIES: u32 = 5;

/// Seconds an access token lives.
pub const ACCESS_TOKEN_SECS: i64 = 300;

/// Seconds a nonce lives.
pub const NONCE_SECS: i64 = 300;

/// Most nonces remembered as used at once (each until it expires; only nonces of proofs that
/// came with a valid access token are remembered, so strangers cannot fill it).
pub const MAX_USED_NONCES: usize = 65_536;

/// Largest request body the service reads.
pub const MAX_ISSUER_BODY_BYTES: usize = 64 * 1024;

/// Largest batch an issuer serves offers for (`credentials.jsonl` lines): the book of offers is
/// rewritten on every change, about 250 bytes an offer.
pub const MAX_OFFERED: usize = 100_000;

/// One offer as the service keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferRecord {
    /// The credential's id.
    pub credential_id: Hash,
    /// SM3 of the pre-authorized code.
    pub code_digest: Hash,
    /// SM3 of the credential id and the transaction code (salted by the id: two offers with
    /// the same code do not look alike).
    pub tx_code_digest: Hash,
    /// When the offer expires (Unix seconds).
    pub expires_at: i64,
    /// Wrong transaction codes so far.
    #[serde(default)]
    pub failed_tries: u32,
    /// The credential was delivered.
    #[serde(default)]
    pub redeemed: bool,
}

/// `offers.json`: the service's book of offers for one batch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferBook {
    /// The issuer's URL as holders reach it.
    pub credential_issuer: String,
    /// The offers.
    pub offers: Vec<OfferRecord>,
}

fn tx_digest(id: &Hash, tx_code: &str) -> Hash {
    let mut bytes = id.0.to_vec();
    bytes.extend_from_slice(tx_code.as_bytes());
    sm3(&bytes)
}

/// A batch's credentials by id: the credential's JSON, its holder key and type.
struct Issued {
    json: String,
    holder: schemas::sm2::PublicKey,
    credential_type: String,
}

fn read_batch(dir: &Path) -> anyhow::Result<HashMap<Hash, Issued>> {
    use anyhow::Context as _;
    let path = dir.join("credentials.jsonl");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (the folder `credctl issue --out` wrote)",
            path.display()
        )
    })?;
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        if out.len() >= MAX_OFFERED {
            anyhow::bail!(
                "{} holds more than {MAX_OFFERED} credentials (MAX_OFFERED)",
                path.display()
            );
        }
        let doc = schemas::credential::CredentialDocument::parse(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        let e = doc.envelope();
        out.insert(
            e.id,
            Issued {
                json: line.to_owned(),
                holder: e.holder.clone(),
                credential_type: e.credential_type.clone(),
            },
        );
    }
    Ok(out)
}

/// Makes an offer for each credential in the batch folder `dir`, valid for `ttl_secs`, for the
/// issuer service at `public_url`; writes `offers.json` and `offers.csv` there. Returns how many.
pub fn make_offers(
    dir: &Path,
    public_url: &str,
    ttl_secs: i64,
    now: i64,
    replace: bool,
) -> anyhow::Result<usize> {
    if dir.join("offers.json").exists() && !replace {
        anyhow::bail!(
            "{} has offers already; --replace makes new ones for every credential (the links and codes sent before stop working; stop `issuer serve` first)",
            dir.display()
        );
    }
    let public_url = public_url.trim_end_matches('/');
    schemas::presentation::check_address(public_url).map_err(|why| anyhow::anyhow!("--public-url {why}"))?;
    let batch = read_batch(dir)?;
    let mut ids: Vec<&Hash> = batch.keys().collect();
    ids.sort();
    let mut book = OfferBook {
        credential_issuer: public_url.to_owned(),
        offers: Vec::new(),
    };
    let mut csv = String::from("credential_id,offer_link,tx_code\n");
    for id in ids {
        let mut code = [0u8; 16];
        OsRng.fill_bytes(&mut code);
        let code = hex::encode(code);
        let tx_code = format!("{:06}", OsRng.next_u32() % 1_000_000);
        let offer = CredentialOffer {
            credential_issuer: book.credential_issuer.clone(),
            credential_configuration_ids: vec![batch[id].credential_type.clone()],
            grants: Grants {
                pre_authorized: PreAuthorized {
                    code: code.clone(),
                    tx_code: Some(TxCode {
                        input_mode: Some("numeric".into()),
                        length: Some(6),
                        description: Some("The 6-digit code your registrar sent you separately".into()),
                    }),
                },
            },
        };
        csv.push_str(&format!("{id},{},{tx_code}\n", OfferLink::by_value(&offer)));
        book.offers.push(OfferRecord {
            credential_id: *id,
            code_digest: sm3(code.as_bytes()),
            tx_code_digest: tx_digest(id, &tx_code),
            expires_at: now + ttl_secs,
            failed_tries: 0,
            redeemed: false,
        });
    }
    schemas::file::write_private(&dir.join("offers.csv"), csv.as_bytes())?;
    schemas::file::write_private(&dir.join("offers.json"), &serde_json::to_vec_pretty(&book)?)?;
    Ok(book.offers.len())
}

struct Live {
    book: OfferBook,
    /// Offer index by the digest of its pre-authorized code.
    by_code: HashMap<Hash, usize>,
    /// Access token digest → (offer index, expiry); one per offer (a new one replaces it).
    tokens: HashMap<Hash, (usize, i64)>,
    /// The token of each offer that has one.
    token_of: HashMap<usize, Hash>,
    /// Nonces used in a proof that came with a valid token → their expiry.
    used_nonces: HashMap<String, i64>,
}

/// The issuer service's state.
pub struct Issuer {
    dir: PathBuf,
    batch: HashMap<Hash, Issued>,
    metadata: IssuerMetadata,
    /// Keys the nonces: a nonce is `random ‖ expiry ‖ tag`, checked without remembering it.
    nonce_key: zeroize::Zeroizing<[u8; 32]>,
    live: Mutex<Live>,
}

impl Issuer {
    /// The service for the batch folder `dir` (after `make_offers`), naming itself `name`.
    pub fn open(dir: &Path, name: &str) -> anyhow::Result<Issuer> {
        use anyhow::Context as _;
        let batch = read_batch(dir)?;
        let path = dir.join("offers.json");
        let book: OfferBook =
            serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| {
                format!("reading {} (make it with `credctl issuer offer`)", path.display())
            })?)
            .with_context(|| format!("{} is not a book of offers", path.display()))?;
        if let Some(o) = book.offers.iter().find(|o| !batch.contains_key(&o.credential_id)) {
            anyhow::bail!(
                "{} offers credential {} that {}/credentials.jsonl does not hold",
                path.display(),
                o.credential_id,
                dir.display()
            );
        }
        let by_code = book
            .offers
            .iter()
            .enumerate()
            .map(|(i, o)| (o.code_digest, i))
            .collect();
        let mut nonce_key = zeroize::Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(nonce_key.as_mut());
        let metadata = metadata(&batch, &book.credential_issuer, name);
        Ok(Issuer {
            dir: dir.to_owned(),
            batch,
            metadata,
            nonce_key,
            live: Mutex::new(Live {
                book,
                by_code,
                tokens: HashMap::new(),
                token_of: HashMap::new(),
                used_nonces: HashMap::new(),
            }),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Live) -> T) -> T {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = wallet::now();
        live.tokens.retain(|_, (_, exp)| *exp >= now);
        let Live { tokens, token_of, .. } = &mut *live;
        token_of.retain(|_, t| tokens.contains_key(t));
        live.used_nonces.retain(|_, exp| *exp >= now);
        f(&mut live)
    }

    /// A fresh nonce: 16 random bytes, its expiry, and a tag under the service's key.
    fn new_nonce(&self, now: i64) -> String {
        let mut random = [0u8; 16];
        OsRng.fill_bytes(&mut random);
        let expiry = (now + NONCE_SECS).to_be_bytes();
        let tag = self.nonce_tag(&random, &expiry);
        hex::encode([&random[..], &expiry[..], &tag[..16]].concat())
    }

    fn nonce_tag(&self, random: &[u8], expiry: &[u8]) -> [u8; 32] {
        sm3(&[&self.nonce_key[..], random, expiry].concat()).0
    }

    /// Whether `nonce` is one this service made and has not expired.
    fn nonce_valid(&self, nonce: &str, now: i64) -> bool {
        let Ok(bytes) = hex::decode(nonce) else {
            return false;
        };
        if bytes.len() != 40 {
            return false;
        }
        let (random, rest) = bytes.split_at(16);
        let (expiry, tag) = rest.split_at(8);
        let Ok(expiry_bytes) = <[u8; 8]>::try_from(expiry) else {
            return false;
        };
        i64::from_be_bytes(expiry_bytes) >= now && self.nonce_tag(random, expiry)[..16] == *tag
    }

    /// Writes the book; called with the state locked, so no older book can overwrite a newer.
    fn save(&self, book: &OfferBook) -> Result<(), Response> {
        let bytes = serde_json::to_vec_pretty(book)
            .map_err(|e| oauth(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()))?;
        schemas::file::write_private(&self.dir.join("offers.json"), &bytes).map_err(|e| {
            oauth(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                &format!("the book of offers cannot be written: {e}"),
            )
        })
    }
}

/// The issuer metadata of a batch, made once when the service starts.
fn metadata(batch: &HashMap<Hash, Issued>, url: &str, name: &str) -> IssuerMetadata {
    let mut configs = BTreeMap::new();
    for c in batch.values() {
        configs
            .entry(c.credential_type.clone())
            .or_insert_with(|| CredentialConfiguration {
                format: FORMAT.into(),
                credential_definition: CredentialDefinition {
                    types: vec!["VerifiableCredential".into(), c.credential_type.clone()],
                },
                cryptographic_binding_methods_supported: vec!["did:credence".into()],
                proof_types_supported: BTreeMap::from([(
                    "jwt".to_owned(),
                    ProofType {
                        proof_signing_alg_values_supported: vec![schemas::jose::ALG.into()],
                    },
                )]),
            });
    }
    IssuerMetadata {
        credential_issuer: url.to_owned(),
        credential_endpoint: format!("{url}/credential"),
        nonce_endpoint: format!("{url}/nonce"),
        credential_configurations_supported: configs,
        display: vec![Display {
            name: name.to_owned(),
            locale: None,
        }],
    }
}

/// An OAuth error answer, never cached.
fn oauth(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (
        status,
        axum::Json(ErrorResponse {
            error: error.into(),
            error_description: Some(description.into()),
        }),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn no_store<T: Serialize>(body: T) -> Response {
    let mut r = axum::Json(body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

async fn issuer_metadata(State(svc): State<Arc<Issuer>>) -> Response {
    axum::Json(&svc.metadata).into_response()
}

async fn server_metadata(State(svc): State<Arc<Issuer>>) -> Response {
    let url = svc.with(|l| l.book.credential_issuer.clone());
    axum::Json(AuthorizationServerMetadata {
        token_endpoint: format!("{url}/token"),
        issuer: url,
        anonymous: true,
    })
    .into_response()
}

/// `POST /token`: a pre-authorized code and its transaction code for an access token.
async fn token(State(svc): State<Arc<Issuer>>, body: axum::body::Bytes) -> Response {
    let mut form: HashMap<String, String> = HashMap::new();
    for (k, v) in form_urlencoded::parse(&body) {
        if form.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("{k} is given twice"),
            );
        }
    }
    if form.get("grant_type").map(String::as_str) != Some(PRE_AUTHORIZED_GRANT) {
        return oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("this issuer takes grant_type {PRE_AUTHORIZED_GRANT}"),
        );
    }
    let Some(code) = form.get("pre-authorized_code") else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "pre-authorized_code is missing",
        );
    };
    let tx_code = form.get("tx_code").map(String::as_str).unwrap_or("");
    if tx_code.len() > schemas::openid4vci::MAX_CODE_CHARS {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the transaction code is too long",
        );
    }
    let digest = sm3(code.as_bytes());
    let now = wallet::now();
    let outcome = svc.with(|live| {
        let Some(&i) = live.by_code.get(&digest) else {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "no such offer: ask the issuer for a new one",
            ));
        };
        let o = &mut live.book.offers[i];
        if o.redeemed {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "this offer's credential was delivered already",
            ));
        }
        if o.expires_at < now {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "this offer expired: ask the issuer for a new one",
            ));
        }
        if o.failed_tries >= MAX_TX_CODE_TRIES {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "this offer is locked after too many wrong transaction codes: ask the issuer for a new one",
            ));
        }
        if tx_digest(&o.credential_id, tx_code) != o.tx_code_digest {
            o.failed_tries += 1;
            let left = MAX_TX_CODE_TRIES - o.failed_tries;
            let book = live.book.clone();
            return Err(svc.save(&book).err().unwrap_or_else(|| {
                oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    &format!("the transaction code is wrong ({left} tries left)"),
                )
            }));
        }
        // One token per offer: a new one replaces the old (tokens stay bounded by the offers).
        if let Some(old) = live.token_of.remove(&i) {
            live.tokens.remove(&old);
        }
        let token = random_token();
        live.token_of.insert(i, sm3(token.as_bytes()));
        live.tokens
            .insert(sm3(token.as_bytes()), (i, now + ACCESS_TOKEN_SECS));
        Ok(token)
    });
    match outcome {
        Ok(access_token) => no_store(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ACCESS_TOKEN_SECS as u64,
        }),
        Err(r) => r,
    }
}

/// `POST /nonce`: a fresh nonce for a proof.
async fn nonce(State(svc): State<Arc<Issuer>>) -> Response {
    // Stateless: checked by its tag when a proof brings it back, so asking costs no memory.
    no_store(NonceResponse {
        c_nonce: svc.new_nonce(wallet::now()),
    })
}

/// `POST /credential`: the access token, and a proof of possession of the holder key.
async fn credential(State(svc): State<Arc<Issuer>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        let mut r = oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "send Authorization: Bearer ACCESS_TOKEN from /token",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    let request: CredentialRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "invalid_credential_request",
                &format!("not a credential request: {e}"),
            );
        }
    };
    let now = wallet::now();
    let (offer, issuer) = match svc.with(|live| {
        let (i, _) = *live.tokens.get(&sm3(token.trim().as_bytes()))?;
        Some((live.book.offers[i].clone(), live.book.credential_issuer.clone()))
    }) {
        Some(found) => found,
        None => {
            let mut r = oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is unknown or expired: redeem the offer again",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return r;
        }
    };
    let Some(issued) = svc.batch.get(&offer.credential_id) else {
        return oauth(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the offered credential is missing",
        );
    };
    if request.credential_configuration_id != issued.credential_type {
        return oauth(
            StatusCode::BAD_REQUEST,
            "unknown_credential_configuration",
            &format!("this offer is for {}", issued.credential_type),
        );
    }
    let [proof] = request.proofs.jwt.as_slice() else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_proof",
            "send exactly one proof JWT",
        );
    };
    let (key, nonce) = match schemas::openid4vci::open_proof(proof, &issuer, now) {
        Ok(k) => k,
        Err(e) => return oauth(StatusCode::BAD_REQUEST, "invalid_proof", &e.0),
    };
    let fresh = svc.nonce_valid(&nonce, now)
        && svc.with(|live| {
            if live.used_nonces.len() >= MAX_USED_NONCES || live.used_nonces.contains_key(&nonce) {
                return false;
            }
            live.used_nonces.insert(nonce.clone(), now + NONCE_SECS);
            true
        });
    if !fresh {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_nonce",
            "the proof's nonce is not one this issuer gave, or it was used or expired: get a new one at the nonce endpoint",
        );
    }
    if key != issued.holder {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_proof",
            "the proof is signed by another key than the one the credential is bound to",
        );
    }
    let value: serde_json::Value = match serde_json::from_str(&issued.json) {
        Ok(v) => v,
        Err(e) => return oauth(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    };
    // Spend the offer and the token before the credential leaves; the book is written under the
    // lock (no older book overwrites it), and the offer is unspent again if it cannot be written.
    let spent = svc.with(|live| {
        let digest = sm3(token.trim().as_bytes());
        let i = live.tokens.remove(&digest).map(|(i, _)| i)?;
        live.token_of.remove(&i);
        let o = &mut live.book.offers[i];
        if o.redeemed {
            return Some(Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "this offer's credential was delivered already",
            )));
        }
        o.redeemed = true;
        let book = live.book.clone();
        if let Err(r) = svc.save(&book) {
            live.book.offers[i].redeemed = false;
            return Some(Err(r));
        }
        Some(Ok(()))
    });
    match spent {
        Some(Ok(())) => {}
        Some(Err(r)) => return r,
        None => {
            return oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token was used or expired: redeem the offer again",
            );
        }
    }
    no_store(CredentialResponse {
        credentials: vec![IssuedCredential { credential: value }],
    })
}

/// The issuer service's routes. Errors are OAuth error objects (RFC 6749 §5.2), as OpenID4VCI
/// wallets expect, not the problems of Credence's other APIs.
pub fn router(issuer: Issuer) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(ISSUER_METADATA_PATH, get(issuer_metadata))
        .route(AS_METADATA_PATH, get(server_metadata))
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .route("/health", get(ledger_node::api::health))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_ISSUER_BODY_BYTES))
        .with_state(Arc::new(issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(dir: &Path) -> Issuer {
        let mut nonce_key = zeroize::Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(nonce_key.as_mut());
        let book = OfferBook {
            credential_issuer: "https://issuer.example".into(),
            offers: Vec::new(),
        };
        Issuer {
            dir: dir.to_owned(),
            batch: HashMap::new(),
            metadata: metadata(&HashMap::new(), &book.credential_issuer, "Test"),
            nonce_key,
            live: Mutex::new(Live {
                book,
                by_code: HashMap::new(),
                tokens: HashMap::new(),
                token_of: HashMap::new(),
                used_nonces: HashMap::new(),
            }),
        }
    }

    /// The nonce endpoint keeps nothing: a nonce is valid by its tag, until it expires, and
    /// only for the service that made it; one changed hex digit is not a nonce.
    #[test]
    fn nonces_are_checked_by_their_tag_without_memory() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (issuer(dir.path()), issuer(dir.path()));
        let now = 1_790_000_000;
        let n = a.new_nonce(now);
        assert!(a.nonce_valid(&n, now + NONCE_SECS));
        assert!(!a.nonce_valid(&n, now + NONCE_SECS + 1), "expired");
        assert!(!b.nonce_valid(&n, now), "another service's");
        let mut tampered = n.clone().into_bytes();
        tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
        assert!(!a.nonce_valid(&String::from_utf8(tampered).expect("hex"), now));
        assert!(!a.nonce_valid("zz", now) && !a.nonce_valid("", now));
        assert!(
            a.with(|live| live.used_nonces.is_empty()),
            "asking for nonces keeps nothing"
        );
    }

    /// Making offers again would reset every lockout and void the links sent: refused unless
    /// asked for by name.
    #[test]
    fn offers_are_not_remade_without_replace() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("offers.json"), "{}").expect("write");
        let e = make_offers(dir.path(), "https://issuer.example", 86_400, 1_790_000_000, false)
            .expect_err("refused");
        assert!(e.to_string().contains("--replace"), "{e}");
    }

    const URL: &str = "https://issuer.example";

    /// A batch of `n` diplomas bound to `holder` in `dir`, offered: each offer's pre-authorized
    /// code and transaction code, as `offers.csv` gives them.
    fn offered(dir: &Path, holder: &schemas::sm2::SecretKey, n: usize) -> Vec<(String, String)> {
        use wallet::issuer::{BatchPlan, HolderBinding, Row, issue_batch, write_batch};
        let schema =
            schemas::credential_schema::CredentialSchema::builtin("university-diploma").expect("schema");
        let university = schemas::sm2::SecretKey::generate(&mut OsRng);
        let plan = BatchPlan {
            schema: &schema,
            issuer: schemas::Did::from_public_key(university.public_key()),
            valid_from: wallet::now() - 60,
            valid_until: None,
            list_id: 0,
            first_index: 0,
            unlinkable: false,
            public_url: "http://127.0.0.1:1",
        };
        let rows = (0..n)
            .map(|i| {
                Row::new(
                    i + 2,
                    serde_json::json!({"name": format!("Graduate {i}"), "student_id": format!("{}", 2022010001 + i),
                        "degree": "Bachelor of Engineering", "major": "Computer Science", "gpa": 3.62,
                        "graduation_date": "2026-07-01"}),
                    HolderBinding {
                        holder_key: holder.public_key().clone(),
                        holder_commitment: None,
                    },
                )
            })
            .collect();
        let batch = issue_batch(&plan, rows, &|_| {}).expect("issued");
        assert_eq!(batch.credentials.len(), n, "{:?}", batch.rejected);
        write_batch(dir, &batch, false).expect("written");
        assert_eq!(
            make_offers(dir, URL, 3_600, wallet::now(), false).expect("offered"),
            n
        );
        let csv = std::fs::read_to_string(dir.join("offers.csv")).expect("offers.csv");
        csv.lines()
            .skip(1)
            .map(|row| {
                let [_, link, tx_code] = row.split(',').collect::<Vec<_>>()[..] else {
                    panic!("a row of three: {row}");
                };
                let Ok(schemas::openid4vci::OfferLink::ByValue(offer)) =
                    schemas::openid4vci::OfferLink::parse(link)
                else {
                    panic!("an offer by value: {link}");
                };
                (offer.grants.pre_authorized.code, tx_code.to_owned())
            })
            .collect()
    }

    fn open(dir: &Path) -> Arc<Issuer> {
        Arc::new(Issuer::open(dir, "Test").expect("the issuer opens"))
    }

    fn book(dir: &Path) -> OfferBook {
        serde_json::from_slice(&std::fs::read(dir.join("offers.json")).expect("offers.json")).expect("a book")
    }

    async fn answer(r: Response) -> (StatusCode, serde_json::Value) {
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    async fn redeem(svc: &Arc<Issuer>, code: &str, tx_code: &str) -> (StatusCode, serde_json::Value) {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", PRE_AUTHORIZED_GRANT)
            .append_pair("pre-authorized_code", code)
            .append_pair("tx_code", tx_code)
            .finish();
        answer(token(State(svc.clone()), form.into()).await).await
    }

    async fn access_token(svc: &Arc<Issuer>, code: &str, tx_code: &str) -> String {
        let (status, body) = redeem(svc, code, tx_code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    async fn fresh_nonce(svc: &Arc<Issuer>) -> String {
        let (_, body) = answer(nonce(State(svc.clone())).await).await;
        body["c_nonce"].as_str().expect("a nonce").to_owned()
    }

    /// Asks for the credential with `token` and a proof by `holder` over `nonce`.
    async fn deliver(
        svc: &Arc<Issuer>,
        token: &str,
        holder: &schemas::sm2::SecretKey,
        nonce: &str,
    ) -> (StatusCode, serde_json::Value) {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        let request = CredentialRequest {
            credential_configuration_id: "UniversityDiploma".into(),
            proofs: schemas::openid4vci::Proofs {
                jwt: vec![schemas::openid4vci::proof_jwt(holder, URL, nonce, wallet::now())],
            },
        };
        let body = serde_json::to_vec(&request).expect("request");
        answer(credential(State(svc.clone()), headers, body.into()).await).await
    }

    fn delivered(status: StatusCode, body: &serde_json::Value) -> bool {
        status == StatusCode::OK && body["credentials"][0]["credential"].is_object()
    }

    /// [`MAX_TX_CODE_TRIES`] wrong transaction codes lock the offer, the right code included;
    /// each count is on disk before its answer, so the lock survives a restart.
    #[tokio::test]
    async fn wrong_transaction_codes_lock_the_offer_across_restarts() {
        let dir = tempfile::tempdir().expect("dir");
        let holder = schemas::sm2::SecretKey::generate(&mut OsRng);
        let [(code, tx_code)] = &offered(dir.path(), &holder, 1)[..] else {
            panic!("one offer");
        };
        let wrong = if tx_code == "000000" { "000001" } else { "000000" };
        let svc = open(dir.path());
        for tries in 1..=MAX_TX_CODE_TRIES {
            let (status, body) = redeem(&svc, code, wrong).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.contains("wrong")),
                "{body}"
            );
            assert_eq!(
                book(dir.path()).offers[0].failed_tries,
                tries,
                "written before the answer"
            );
        }
        let locked = |body: &serde_json::Value| {
            body["error"] == "invalid_grant"
                && body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.contains("locked"))
        };
        let (status, body) = redeem(&svc, code, tx_code).await;
        assert!(status == StatusCode::BAD_REQUEST && locked(&body), "{body}");
        drop(svc);
        let (status, body) = redeem(&open(dir.path()), code, tx_code).await;
        assert!(
            status == StatusCode::BAD_REQUEST && locked(&body),
            "after a restart: {body}"
        );
    }

    /// An offer has one access token: redeeming it again voids the token given before.
    #[tokio::test]
    async fn a_new_access_token_voids_the_one_before() {
        let dir = tempfile::tempdir().expect("dir");
        let holder = schemas::sm2::SecretKey::generate(&mut OsRng);
        let [(code, tx_code)] = &offered(dir.path(), &holder, 1)[..] else {
            panic!("one offer");
        };
        let svc = open(dir.path());
        let first = access_token(&svc, code, tx_code).await;
        let second = access_token(&svc, code, tx_code).await;
        assert_ne!(first, second);
        let (status, body) = deliver(&svc, &first, &holder, &fresh_nonce(&svc).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_token");
        let (status, body) = deliver(&svc, &second, &holder, &fresh_nonce(&svc).await).await;
        assert!(delivered(status, &body), "{body}");
    }

    /// A nonce serves one credential request, even with another offer's valid token; an
    /// expired one serves none.
    #[tokio::test]
    async fn a_nonce_is_used_once_and_not_after_it_expires() {
        let dir = tempfile::tempdir().expect("dir");
        let holder = schemas::sm2::SecretKey::generate(&mut OsRng);
        let [(code_a, tx_a), (code_b, tx_b)] = &offered(dir.path(), &holder, 2)[..] else {
            panic!("two offers");
        };
        let svc = open(dir.path());
        let (a, b) = (
            access_token(&svc, code_a, tx_a).await,
            access_token(&svc, code_b, tx_b).await,
        );
        let once = fresh_nonce(&svc).await;
        let (status, body) = deliver(&svc, &a, &holder, &once).await;
        assert!(delivered(status, &body), "{body}");
        let (status, body) = deliver(&svc, &b, &holder, &once).await;
        assert!(
            status == StatusCode::BAD_REQUEST && body["error"] == "invalid_nonce",
            "replayed: {body}"
        );
        let expired = svc.new_nonce(wallet::now() - NONCE_SECS - 1);
        let (status, body) = deliver(&svc, &b, &holder, &expired).await;
        assert!(
            status == StatusCode::BAD_REQUEST && body["error"] == "invalid_nonce",
            "expired: {body}"
        );
        let (status, body) = deliver(&svc, &b, &holder, &fresh_nonce(&svc).await).await;
        assert!(delivered(status, &body), "{body}");
    }

    /// When the book of offers cannot be written the credential does not leave, and the offer
    /// stays unspent: once the book can be written, it is redeemed and delivered.
    #[tokio::test]
    async fn an_unwritable_book_delivers_nothing_and_spends_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let holder = schemas::sm2::SecretKey::generate(&mut OsRng);
        let [(code, tx_code)] = &offered(dir.path(), &holder, 1)[..] else {
            panic!("one offer");
        };
        let svc = open(dir.path());
        let token = access_token(&svc, code, tx_code).await;
        // A folder where the book goes: the rename onto it fails, as root too.
        let path = dir.path().join("offers.json");
        std::fs::remove_file(&path).expect("remove");
        std::fs::create_dir(&path).expect("a folder in its place");
        let (status, body) = deliver(&svc, &token, &holder, &fresh_nonce(&svc).await).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            body["error"] == "temporarily_unavailable" && body.get("credentials").is_none(),
            "{body}"
        );
        std::fs::remove_dir(&path).expect("the folder goes");
        let token = access_token(&svc, code, tx_code).await;
        let (status, body) = deliver(&svc, &token, &holder, &fresh_nonce(&svc).await).await;
        assert!(delivered(status, &body), "{body}");
        assert!(book(dir.path()).offers[0].redeemed);
    }
}

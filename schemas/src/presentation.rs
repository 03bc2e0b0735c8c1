//! Presentation requests (what a verifier asks) and presentations (what a holder answers).
//!
//! A request names the credential type, accepted issuers, attributes to disclose, predicates to
//! prove, a fresh nonce, the verifier and its purpose, an expiry and the tier; the verifier
//! signs its digest. The presentation answers with proof material that `zk` fills
//! (typed byte fields here) and the ledger proofs a verifier checks offline.
//!
//! Invariant: every proof in a presentation is bound to the request's digest (the holder's
//! signature covers it; `zk` binds predicate proofs and nullifiers to it), so an answer to one
//! request is worthless for any other.

use crate::codec::{Canonical, CodecError};
use crate::credential::{Envelope, Opening};
use crate::did::Did;
use crate::hash::{Domain, Hash, domains};
use crate::ledger::LedgerProof;
use crate::merkle::InclusionProof;
use crate::sm2::{KeyError, PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};

/// A predicate on a numeric attribute's integer encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum PredicateKind {
    /// `x >= bound`.
    #[schema(rename_all = "camelCase")]
    AtLeast {
        /// The bound.
        bound: i64,
    },
    /// `x <= bound`.
    #[schema(rename_all = "camelCase")]
    AtMost {
        /// The bound.
        bound: i64,
    },
    /// `low <= x <= high`.
    #[schema(rename_all = "camelCase")]
    Between {
        /// Lower bound.
        low: i64,
        /// Upper bound.
        high: i64,
    },
}

/// A predicate on one attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Predicate {
    /// Attribute name.
    pub attribute: String,
    /// What must hold.
    pub kind: PredicateKind,
}

impl Predicate {
    /// Whether `x` satisfies the predicate.
    pub fn holds(&self, x: i64) -> bool {
        match self.kind {
            PredicateKind::AtLeast { bound } => x >= bound,
            PredicateKind::AtMost { bound } => x <= bound,
            PredicateKind::Between { low, high } => low <= x && x <= high,
        }
    }
}

impl core::fmt::Display for Predicate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let a = &self.attribute;
        match self.kind {
            PredicateKind::AtLeast { bound } => write!(f, "{a} >= {bound}"),
            PredicateKind::AtMost { bound } => write!(f, "{a} <= {bound}"),
            PredicateKind::Between { low, high } => write!(f, "{low} <= {a} <= {high}"),
        }
    }
}

/// Which kind of presentation is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Tier {
    /// Envelope shown; chosen attributes disclosed; predicates by Bulletproofs.
    Selective,
    /// Nothing linkable shown: Groth16 proof with a verifier-scoped nullifier.
    Unlinkable,
}

/// A verifier's request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresentationRequest {
    /// The verifier's DID.
    pub verifier: Did,
    /// Credential type wanted.
    pub credential_type: String,
    /// Issuers accepted (empty: any issuer registered for the type).
    pub accepted_issuers: Vec<Did>,
    /// Attributes to disclose.
    pub disclose: Vec<String>,
    /// Predicates to prove.
    pub predicates: Vec<Predicate>,
    /// Fresh random nonce.
    pub nonce: Hash,
    /// Why the verifier asks (must be one of its registered purposes).
    pub purpose: String,
    /// When made, seconds since the Unix epoch.
    pub created_at: i64,
    /// When it stops being answerable.
    pub expires_at: i64,
    /// Tier.
    pub tier: Tier,
    /// Where and in which session it is answered (`None`: a request handed over by other means,
    /// such as a file).
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// Where and in which session a request is answered, so that a request relayed to someone else
/// shows itself for what it is (security review, finding 26). The wallet shows both at consent;
/// both are signed with the rest of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// The address the answer goes to (a verifier service's `/v1/verify`); a service refuses an
    /// answer to a request that names another address.
    pub response_uri: String,
    /// A short value the verifier's screen shows beside the request (`482-913`): the holder
    /// answers only if its wallet shows the same one, so a request someone else started and
    /// forwarded is recognised.
    pub session: String,
}

impl Channel {
    /// Checks the bounds and shape of a channel from another party: printable ASCII only (no
    /// control, bidi or zero-width characters that could fake lines on a consent screen), an
    /// `https://` address (`http://` only to this machine: `127.0.0.1`, `[::1]`, `localhost`),
    /// and a session value of 1 to 32 characters.
    pub fn check(&self) -> Result<(), String> {
        let max = crate::limits::MAX_TEXT;
        if self.response_uri.len() > max || self.session.len() > 32 {
            return Err(format!(
                "its response address has at most {max} bytes and its session value at most 32"
            ));
        }
        let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !printable(&self.response_uri) || !printable(&self.session) {
            return Err(
                "its response address and session value must be printable ASCII without spaces".into(),
            );
        }
        check_address(&self.response_uri).map_err(|why| format!("its response address {why}"))
    }
}

/// Checks an address a wallet is asked to send to or read from (a channel's response address, an
/// OpenID4VP `request_uri`): an `https://` URL (`http://` only to this machine: `127.0.0.1`,
/// `[::1]`, `localhost`), without user information or a backslash in its host part.
pub fn check_address(url: &str) -> Result<(), String> {
    let local = ["http://127.0.0.1", "http://[::1]", "http://localhost"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if !(url.starts_with("https://") || local) {
        return Err(format!(
            "{:?} is not an https:// URL (http:// only to this machine)",
            url
        ));
    }
    // No user information: `http://localhost:@evil.example/` is a request to evil.example.
    let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains(['@', '\\']) {
        return Err(format!(
            "{:?} carries user information or a backslash in its host part",
            url
        ));
    }
    Ok(())
}

impl Canonical for PresentationRequest {
    const DOMAIN: Domain = domains::REQUEST;
}

/// A request signed by its verifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedRequest {
    /// The request.
    pub request: PresentationRequest,
    /// The verifier's key (checked against its registration by the wallet).
    pub verifier_key: PublicKey,
    /// Signature over the request digest.
    pub signature: Signature,
}

/// Why a signed request is not the verifier's.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestSignatureError {
    /// The signature does not verify under the key it carries.
    #[error("its signature does not verify: {0}")]
    Signature(KeyError),
    /// It verifies, but under a key that is not the named verifier's.
    #[error("it is signed by a key that is not its verifier's")]
    NotTheVerifiersKey,
}

impl SignedRequest {
    /// Signs a request.
    pub fn sign(request: PresentationRequest, key: &SecretKey) -> Self {
        let signature = key.sign(domains::REQUEST, &request.digest().0);
        SignedRequest {
            request,
            verifier_key: key.public_key().clone(),
            signature,
        }
    }

    /// Checks the signature and that the signing key is the key of the verifier the request
    /// names (its DID is derived from the key): the one rule holder and verifier both apply.
    pub fn verify(&self) -> Result<(), RequestSignatureError> {
        self.verifier_key
            .verify(domains::REQUEST, &self.request.digest().0, &self.signature)
            .map_err(RequestSignatureError::Signature)?;
        if crate::did::Did::from_public_key(&self.verifier_key) != self.request.verifier {
            return Err(RequestSignatureError::NotTheVerifiersKey);
        }
        Ok(())
    }

    /// Parses request JSON (no signature check: call [`SignedRequest::verify`]).
    pub fn from_json(text: &str) -> Result<Self, CodecError> {
        crate::codec::refuse_duplicate_keys(text)?;
        Ok(serde_json::from_str(text)?)
    }
}

/// Aggregated Bulletproofs range proof for all predicates (bytes written by `zk`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredicateProof {
    /// Range bit size (32 or 64).
    pub bits: u8,
    /// The proof bytes.
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub proof: Vec<u8>,
}

/// The selective-disclosure answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelectiveDisclosure {
    /// The credential's envelope.
    pub envelope: Envelope,
    /// Openings of the disclosed attributes only.
    pub disclosed: Vec<Opening>,
    /// Proof of the request's predicates, if it has any.
    pub predicate_proof: Option<PredicateProof>,
    /// The anchored batch root.
    pub batch_root: Hash,
    /// The envelope's path to it.
    pub inclusion: InclusionProof,
}

/// What the holder signs: everything shown, bound to the request.
#[derive(Serialize)]
struct HolderTranscript<'a> {
    request: Hash,
    disclosure: &'a SelectiveDisclosure,
}

/// The unlinkable answer (Groth16, bytes written by `zk`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnlinkableProof {
    /// Circuit shape id.
    pub circuit: String,
    /// Key version.
    pub circuit_version: u32,
    /// Issuer whose tree is used.
    pub issuer: Did,
    /// The anchored Poseidon root.
    pub poseidon_root: Hash,
    /// The revocation-tree root proven against.
    pub revocation_root: Hash,
    /// Verifier-scoped nullifier.
    pub nullifier: Hash,
    /// The Groth16 proof.
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub proof: Vec<u8>,
    /// The holder's identity handle encrypted to a regulator council, when the verifier's
    /// registered scope requires it (an escrow circuit shape proves it; `docs/escrow.md`).
    #[serde(default)]
    pub escrow: Option<EscrowAnswer>,
}

/// The escrow an unlinkable answer carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscrowAnswer {
    /// The council's id (its key is read from the ledger).
    pub council: String,
    /// The ciphertext (64 bytes).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub ciphertext: Vec<u8>,
}

/// The tier-specific content of a presentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum PresentationProof {
    /// Selective disclosure with the holder's key-binding signature.
    #[schema(rename_all = "camelCase")]
    Selective {
        /// What is shown.
        disclosure: Box<SelectiveDisclosure>,
        /// Holder's signature over the transcript.
        holder_signature: Signature,
    },
    /// Unlinkable.
    #[schema(rename_all = "camelCase")]
    Unlinkable {
        /// The proof.
        proof: UnlinkableProof,
    },
}

/// JSON-LD contexts of every Credence presentation.
pub const PRESENTATION_CONTEXT: [&str; 2] = [
    "https://www.w3.org/ns/credentials/v2",
    "https://credence.dev/ns/credentials/v1",
];

/// A holder's answer, in the W3C Verifiable Presentation shape. Its JSON (format of December
/// 2026) carries the tier's proof as a Data Integrity proof (`docs/cryptosuites.md`); a
/// presentation in the earlier shape is refused as the old format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PresentationJson", into = "PresentationJson")]
pub struct Presentation {
    /// JSON-LD contexts.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// `["VerifiablePresentation", "CredencePresentation"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// The signed request answered.
    pub request: SignedRequest,
    /// Proof content.
    pub proof: PresentationProof,
    /// Ledger proofs (anchor, status chunk, issuer record) for offline verification.
    pub ledger_proofs: Vec<LedgerProof>,
}

impl Presentation {
    /// A selective-disclosure presentation, signed by the holder.
    pub fn selective(
        request: SignedRequest,
        disclosure: SelectiveDisclosure,
        holder: &SecretKey,
        ledger_proofs: Vec<LedgerProof>,
    ) -> Self {
        let holder_signature =
            holder.sign(domains::PRESENTATION, &transcript_digest(&request, &disclosure).0);
        Self::new(
            request,
            PresentationProof::Selective {
                disclosure: Box::new(disclosure),
                holder_signature,
            },
            ledger_proofs,
        )
    }

    /// Wraps proof content.
    pub fn new(request: SignedRequest, proof: PresentationProof, ledger_proofs: Vec<LedgerProof>) -> Self {
        Presentation {
            context: PRESENTATION_CONTEXT.iter().map(|s| (*s).to_owned()).collect(),
            types: vec!["VerifiablePresentation".into(), "CredencePresentation".into()],
            request,
            proof,
            ledger_proofs,
        }
    }

    /// Checks the holder's key-binding signature (selective tier).
    pub fn verify_holder_binding(&self) -> Result<(), KeyError> {
        match &self.proof {
            PresentationProof::Selective {
                disclosure,
                holder_signature,
            } => disclosure.envelope.holder.verify(
                domains::PRESENTATION,
                &transcript_digest(&self.request, disclosure).0,
                holder_signature,
            ),
            PresentationProof::Unlinkable { .. } => Ok(()),
        }
    }

    /// Parses presentation JSON, checking its W3C shape (no proof is checked here).
    pub fn from_json(text: &str) -> Result<Self, CodecError> {
        crate::codec::refuse_duplicate_keys(text)?;
        Ok(serde_json::from_str(text)?)
    }
}

fn transcript_digest(request: &SignedRequest, disclosure: &SelectiveDisclosure) -> Hash {
    crate::hash::hash_domain(
        domains::PRESENTATION,
        &crate::codec::encode(&HolderTranscript {
            request: request.request.digest(),
            disclosure,
        }),
    )
}

/// The Data Integrity cryptosuite of a selective-disclosure answer.
pub const SELECTIVE_CRYPTOSUITE: &str = "credence-sd-sm2-2026";

/// The Data Integrity cryptosuite of an unlinkable answer.
pub const UNLINKABLE_CRYPTOSUITE: &str = "credence-unlinkable-groth16-2026";

/// Longest Groth16 proof text an unlinkable answer may carry.
const MAX_GROTH16_PROOF_TEXT: usize = 4096;

/// Longest base58btc text of a 64-byte signature.
const MAX_SIGNATURE_BASE58: usize = 88;

/// A holder's answer to a signed request: a W3C Verifiable Presentation whose proof is a Data
/// Integrity proof of cryptosuite `credence-sd-sm2-2026` or `credence-unlinkable-groth16-2026`
/// (docs/cryptosuites.md).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Presentation)]
struct PresentationJson {
    /// JSON-LD contexts: the W3C credentials v2 context, then Credence's.
    #[serde(rename = "@context")]
    context: Vec<String>,
    /// `["VerifiablePresentation", "CredencePresentation"]`.
    #[serde(rename = "type")]
    types: Vec<String>,
    /// The holder's DID (selective disclosure only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<Did>,
    /// The verifier's signed request this answers.
    request: SignedRequest,
    /// Ledger proofs the verifier checks offline.
    ledger_proofs: Vec<LedgerProof>,
    /// The Data Integrity proof.
    #[schema(value_type = ProofJson)]
    proof: serde_json::Value,
}

/// A presentation's Data Integrity proof.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = PresentationProofJson)]
struct ProofJson {
    /// `DataIntegrityProof`.
    #[serde(rename = "type")]
    kind: String,
    /// `credence-sd-sm2-2026` or `credence-unlinkable-groth16-2026`.
    cryptosuite: String,
    /// `authentication`.
    proof_purpose: String,
    /// The holder's DID and Multikey (selective disclosure only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verification_method: Option<String>,
    /// The request's nonce.
    challenge: String,
    /// The verifier's DID.
    domain: String,
    /// What a selective-disclosure answer discloses and proves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disclosure: Option<Box<SelectiveDisclosure>>,
    /// An unlinkable answer's public inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unlinkable: Option<UnlinkableJson>,
    /// `z` + base58btc of the holder's SM2 signature, or `u` + base64url of the Groth16 proof.
    proof_value: String,
}

impl utoipa::PartialSchema for Presentation {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <PresentationJson as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Presentation {
    fn name() -> std::borrow::Cow<'static, str> {
        <PresentationJson as utoipa::ToSchema>::name()
    }

    fn schemas(out: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <PresentationJson as utoipa::ToSchema>::schemas(out);
    }
}

/// An unlinkable answer's public part (its proof bytes are the `proofValue`).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UnlinkableAnswer)]
struct UnlinkableJson {
    circuit: String,
    circuit_version: u32,
    issuer: Did,
    poseidon_root: Hash,
    revocation_root: Hash,
    nullifier: Hash,
    #[serde(default)]
    escrow: Option<EscrowAnswer>,
}

impl From<Presentation> for PresentationJson {
    fn from(p: Presentation) -> Self {
        let r = &p.request.request;
        let (holder, proof) = match p.proof {
            PresentationProof::Selective {
                disclosure,
                holder_signature,
            } => {
                let did = Did::from_public_key(&disclosure.envelope.holder);
                let method = format!("{did}#{}", crate::did::multikey(&disclosure.envelope.holder));
                (
                    Some(did),
                    ProofJson {
                        kind: "DataIntegrityProof".into(),
                        cryptosuite: SELECTIVE_CRYPTOSUITE.into(),
                        proof_purpose: "authentication".into(),
                        verification_method: Some(method),
                        challenge: r.nonce.to_string(),
                        domain: r.verifier.to_string(),
                        disclosure: Some(disclosure),
                        unlinkable: None,
                        proof_value: format!("z{}", bs58::encode(holder_signature.0).into_string()),
                    },
                )
            }
            PresentationProof::Unlinkable { proof } => (
                None,
                ProofJson {
                    kind: "DataIntegrityProof".into(),
                    cryptosuite: UNLINKABLE_CRYPTOSUITE.into(),
                    proof_purpose: "authentication".into(),
                    verification_method: None,
                    challenge: r.nonce.to_string(),
                    domain: r.verifier.to_string(),
                    disclosure: None,
                    proof_value: crate::credential::multibase_base64url(&proof.proof),
                    unlinkable: Some(UnlinkableJson {
                        circuit: proof.circuit,
                        circuit_version: proof.circuit_version,
                        issuer: proof.issuer,
                        poseidon_root: proof.poseidon_root,
                        revocation_root: proof.revocation_root,
                        nullifier: proof.nullifier,
                        escrow: proof.escrow,
                    }),
                },
            ),
        };
        PresentationJson {
            context: p.context,
            types: p.types,
            holder,
            proof: serde_json::to_value(proof).expect("a proof always serialises"),
            request: p.request,
            ledger_proofs: p.ledger_proofs,
        }
    }
}

impl TryFrom<PresentationJson> for Presentation {
    type Error = String;

    fn try_from(j: PresentationJson) -> Result<Self, String> {
        // Contexts define what the terms mean: a presentation with other contexts would say
        // something else to a JSON-LD reader than what was checked.
        if j.context != PRESENTATION_CONTEXT {
            return Err(format!("@context must be [{}]", PRESENTATION_CONTEXT.join(", ")));
        }
        if j.types != ["VerifiablePresentation", "CredencePresentation"] {
            return Err("type must be [VerifiablePresentation, CredencePresentation]".into());
        }
        if j.proof.get("type").is_none()
            && (j.proof.get("selective").is_some() || j.proof.get("unlinkable").is_some())
        {
            return Err("this presentation is in the old format (before December 2026: its proof is not a Data Integrity proof); ask the holder to answer the request again with an updated wallet".into());
        }
        let p: ProofJson = serde_json::from_value(j.proof).map_err(|e| format!("proof: {e}"))?;
        if p.kind != "DataIntegrityProof" {
            return Err("proof.type must be DataIntegrityProof".into());
        }
        if p.proof_purpose != "authentication" {
            return Err("proof.proofPurpose must be authentication".into());
        }
        let r = &j.request.request;
        if p.challenge != r.nonce.to_string() {
            return Err("proof.challenge must be the request's nonce".into());
        }
        if p.domain != r.verifier.as_str() {
            return Err("proof.domain must be the requesting verifier's DID".into());
        }
        let proof = match (p.cryptosuite.as_str(), p.disclosure, p.unlinkable) {
            (SELECTIVE_CRYPTOSUITE, Some(disclosure), None) => {
                let did = Did::from_public_key(&disclosure.envelope.holder);
                let method = format!("{did}#{}", crate::did::multikey(&disclosure.envelope.holder));
                if j.holder.as_ref() != Some(&did)
                    || p.verification_method.as_deref() != Some(method.as_str())
                {
                    return Err(
                        "holder and proof.verificationMethod must name the credential's holder key".into(),
                    );
                }
                let sig = p
                    .proof_value
                    .strip_prefix('z')
                    // 64 bytes are at most 88 base58 digits: longer text is refused before
                    // decoding (base58 decoding is quadratic in its length).
                    .filter(|b| b.len() <= MAX_SIGNATURE_BASE58)
                    .and_then(|b| bs58::decode(b).into_vec().ok())
                    .and_then(|b| <[u8; 64]>::try_from(b).ok())
                    .ok_or("proof.proofValue must be z + base58btc of a 64-byte SM2 signature (r || s)")?;
                PresentationProof::Selective {
                    disclosure,
                    holder_signature: Signature(sig),
                }
            }
            (UNLINKABLE_CRYPTOSUITE, None, Some(u)) => {
                if j.holder.is_some() || p.verification_method.is_some() {
                    return Err("an unlinkable answer names no holder and no verification method".into());
                }
                let bytes =
                    crate::credential::from_multibase_base64url(&p.proof_value, MAX_GROTH16_PROOF_TEXT)
                        .map_err(|e| format!("proof.proofValue: {e}"))?;
                PresentationProof::Unlinkable {
                    proof: UnlinkableProof {
                        circuit: u.circuit,
                        circuit_version: u.circuit_version,
                        issuer: u.issuer,
                        poseidon_root: u.poseidon_root,
                        revocation_root: u.revocation_root,
                        nullifier: u.nullifier,
                        proof: bytes,
                        escrow: u.escrow,
                    },
                }
            }
            _ => {
                return Err(format!(
                    "proof.cryptosuite must be {SELECTIVE_CRYPTOSUITE} (with `disclosure`) or {UNLINKABLE_CRYPTOSUITE} (with `unlinkable`)"
                ));
            }
        };
        Ok(Presentation {
            context: j.context,
            types: j.types,
            request: j.request,
            proof,
            ledger_proofs: j.ledger_proofs,
        })
    }
}

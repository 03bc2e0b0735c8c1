//! Credentials: the envelope the issuer anchors, the openings the holder keeps, and the
//! W3C Verifiable Credentials Data Model 2.0 JSON they travel in.
//!
//! The *envelope* holds a commitment per attribute — a salted SM3 digest for text, a Pedersen
//! commitment (filled by `zk`) for numbers — and never a value. Its digest
//! (`SM3(tag || BCS(envelope))`) is the credential's identity and the leaf data of the batch
//! tree the issuer anchors. The *openings* (values with their salts or blindings) go to the
//! holder only, who later discloses some of them.
//!
//! Invariants:
//! - an envelope's attributes are sorted by name, without duplicates ([`Envelope::check`]);
//! - [`Credential::from_json`] accepts a document only if every readable field agrees with the
//!   canonical envelope inside its proof, every opening opens its commitment, and the
//!   inclusion proof leads to the anchored root: the JSON view can never say something the
//!   signed bytes do not.

use crate::codec::{Canonical, CodecError, encode};
use crate::credential_schema::{
    AttributeEncoding, AttributeValue, CredentialSchema, decode_value, encode_value,
};
use crate::did::Did;
use crate::hash::{Domain, Hash, domains, hash_domain};
use crate::merkle::{InclusionProof, MerkleError, leaf_hash};
use crate::sm2::{PublicKey, Signature};
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zeroize::Zeroize;

/// A Pedersen commitment: a compressed Ristretto point (computed and checked by `zk`).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = crate::bytes::Bytes)]
pub struct PedersenCommitment(#[serde(with = "crate::bytes::fixed")] pub [u8; 32]);

impl fmt::Debug for PedersenCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PedersenCommitment({})", hex::encode(self.0))
    }
}

/// How one attribute is committed in the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AttributeCommitment {
    /// `SM3(tag || BCS(name, value, salt))` of a text attribute.
    Digest(Hash),
    /// Pedersen commitment to a numeric attribute's integer encoding.
    Pedersen(PedersenCommitment),
}

/// A named attribute commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommittedAttribute {
    /// Attribute name as in the schema.
    pub name: String,
    /// Its commitment.
    pub commitment: AttributeCommitment,
}

/// Where the credential's revocation bit lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusEntry {
    /// The issuer's status list number.
    pub list_id: u32,
    /// Bit index within the list.
    pub index: u32,
}

impl StatusEntry {
    /// The state key of the status-list chunk that holds this entry's bit, in `issuer`'s lists.
    pub fn chunk_key(&self, issuer: &Did) -> Vec<u8> {
        crate::ledger::state_keys::status_chunk(
            issuer,
            self.list_id,
            self.index / crate::ledger::STATUS_CHUNK_BITS,
        )
    }
}

/// What the issuer commits to for one credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Random credential id.
    pub id: Hash,
    /// Credential type, e.g. `UniversityDiploma`.
    pub credential_type: String,
    /// Schema id.
    pub schema_id: String,
    /// Issuer DID.
    pub issuer: Did,
    /// Holder's key: presentations must be signed by it.
    pub holder: PublicKey,
    /// Valid from, seconds since the Unix epoch.
    pub valid_from: i64,
    /// Valid until, seconds since the Unix epoch.
    pub valid_until: Option<i64>,
    /// Revocation status entry.
    pub status: StatusEntry,
    /// Attribute commitments, sorted by name.
    pub attributes: Vec<CommittedAttribute>,
    /// Poseidon leaf of the unlinkable tier (BN254 field element, little endian), if any.
    pub poseidon_leaf: Option<Hash>,
}

impl Canonical for Envelope {
    const DOMAIN: Domain = domains::ENVELOPE;
}

impl Envelope {
    /// Checks structural rules no signature can vouch for.
    pub fn check(&self) -> Result<(), CredentialError> {
        if self.attributes.windows(2).any(|w| w[0].name >= w[1].name) {
            return Err(CredentialError::Malformed {
                reason: "envelope attributes must be sorted by name without duplicates".into(),
            });
        }
        if let Some(until) = self.valid_until
            && until <= self.valid_from
        {
            return Err(CredentialError::Malformed {
                reason: "validUntil must be after validFrom".into(),
            });
        }
        // Times must be expressible in RFC 3339 (years 0000-9999) so the JSON view shows them.
        if rfc3339(self.valid_from).is_none() || self.valid_until.is_some_and(|t| rfc3339(t).is_none()) {
            return Err(CredentialError::Malformed {
                reason: "validity times must lie in the years 0000-9999".into(),
            });
        }
        Ok(())
    }

    /// The leaf hash of this credential in its batch tree: `SM3(0x00 || digest)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.digest().0)
    }

    /// The commitment of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&AttributeCommitment> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.commitment)
    }
}

/// An attribute value with the randomness that opens its commitment: a 32-byte salt for a
/// digest, the Pedersen blinding scalar (little endian) for a commitment.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Opening {
    /// Attribute name.
    pub name: String,
    /// The value.
    pub value: AttributeValue,
    /// Salt or blinding.
    #[serde(with = "crate::bytes::fixed")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub randomness: [u8; 32],
}

impl Drop for Opening {
    fn drop(&mut self) {
        self.randomness.zeroize();
        if let AttributeValue::Text(s) = &mut self.value {
            s.zeroize();
        }
    }
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are the holder's personal data and randomness is what hides them: neither is
        // ever printed.
        f.debug_struct("Opening")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The salted digest of a text attribute.
pub fn attribute_digest(name: &str, value: &AttributeValue, salt: &[u8; 32]) -> Hash {
    hash_domain(domains::ATTRIBUTE, &encode(&(name, value, salt)))
}

impl Opening {
    /// Checks this opening against a digest commitment. Pedersen commitments are checked by
    /// `zk`; this returns `Ok` for them only if asked about the matching kind.
    pub fn check_digest(&self, commitment: &AttributeCommitment) -> Result<(), CredentialError> {
        match commitment {
            AttributeCommitment::Digest(d)
                if *d == attribute_digest(&self.name, &self.value, &self.randomness) =>
            {
                Ok(())
            }
            AttributeCommitment::Digest(_) => Err(CredentialError::OpeningMismatch {
                attribute: self.name.clone(),
            }),
            AttributeCommitment::Pedersen(_) => match self.value {
                AttributeValue::Integer(_) => Ok(()),
                AttributeValue::Text(_) => Err(CredentialError::OpeningMismatch {
                    attribute: self.name.clone(),
                }),
            },
        }
    }
}

/// How the credential was issued: its place in an anchored batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Issuance {
    /// The anchored batch root.
    pub batch_root: Hash,
    /// The envelope's path to it.
    pub inclusion: InclusionProof,
    /// Optional per-credential issuer signature over the envelope digest, for a credential
    /// that must stand alone before its batch is anchored.
    pub issuer_signature: Option<Signature>,
    /// The unlinkable tier's part, when the envelope carries a Poseidon leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlinkable: Option<UnlinkableIssuance>,
}

/// What the holder needs from the issuer to prove in the unlinkable tier: the leaf's salt and
/// the leaf's path in the batch's Poseidon tree (BN254 field elements, 32 bytes little endian).
/// The holder checks both against the envelope's leaf and the anchored Poseidon root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnlinkableIssuance {
    /// The leaf salt.
    pub salt: Hash,
    /// The leaf's index in the batch's Poseidon tree.
    pub index: u64,
    /// Sibling hashes from the leaf up.
    pub siblings: Vec<Hash>,
}

/// What a holder keeps: the envelope, every opening, and the proof of issuance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The envelope.
    pub envelope: Envelope,
    /// One opening per attribute, in the envelope's order.
    pub openings: Vec<Opening>,
    /// Batch membership.
    pub issuance: Issuance,
    /// How it shows in JSON.
    pub view: View,
}

/// What was wrong with a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// JSON that is not a credential.
    #[error("not a Credence credential: {0}")]
    Json(#[from] CodecError),
    /// Structurally wrong.
    #[error("malformed credential: {reason}")]
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// A readable field disagrees with the envelope.
    #[error("field `{field}` disagrees with the signed envelope")]
    FieldMismatch {
        /// The field.
        field: &'static str,
    },
    /// An opening does not open its commitment.
    #[error("attribute `{attribute}`: value and salt do not match the envelope's commitment")]
    OpeningMismatch {
        /// Attribute name.
        attribute: String,
    },
    /// The inclusion proof fails.
    #[error("inclusion in the anchored batch fails: {0}")]
    Inclusion(#[from] MerkleError),
}

/// JSON-LD contexts of every Credence credential, presentation and status list credential.
/// The second is the file `schemas/contexts/credentials-v1.jsonld`, served by every node at
/// `/v1/contexts/credentials/v1`.
pub const CREDENTIAL_CONTEXT: [&str; 2] = [
    "https://www.w3.org/ns/credentials/v2",
    "https://credence.dev/ns/credentials/v1",
];

/// The Credence JSON-LD context (`https://credence.dev/ns/credentials/v1`), as shipped; JSON-LD
/// readers load it from this file (every node serves it at `/v1/contexts/credentials/v1`),
/// never from the network.
pub const CREDENCE_CONTEXT_JSON: &str = include_str!("../contexts/credentials-v1.jsonld");

/// The Data Integrity cryptosuite of an issuer's credential proof (`docs/cryptosuites.md`).
pub const ANCHOR_CRYPTOSUITE: &str = "credence-anchor-2026";

/// The proof type credentials carried before December 2026 (values as their encodings, the
/// envelope in hex): still read, never written.
pub const LEGACY_PROOF_TYPE: &str = "CredenceBatchAnchor2026";

/// Longest public base URL a credential's links may start with.
pub const MAX_BASE_URL: usize = 200;

/// Longest `proofValue` text a credential may carry (the envelope, its openings and the
/// inclusion path take a few KiB).
pub const MAX_PROOF_VALUE: usize = 256 * 1024;

/// Checks a public base URL for credential links: `http(s)://…`, no query, fragment, space or
/// trailing slash, at most [`MAX_BASE_URL`] bytes.
pub fn check_base_url(base: &str) -> Result<(), String> {
    let rest = match base.strip_prefix("https://") {
        Some(rest) => rest,
        // Plain HTTP only on this machine (a devnet): anywhere else it would tell every network
        // in between which credential is being checked.
        None => base
            .strip_prefix("http://")
            .filter(|r| {
                ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| {
                    r.strip_prefix(h)
                        .is_some_and(|t| t.is_empty() || t.starts_with(':') || t.starts_with('/'))
                })
            })
            .ok_or_else(|| {
                format!(
                    "{:?} must start with https:// (http:// only for 127.0.0.1, localhost or [::1])",
                    truncate(base)
                )
            })?,
    };
    if base.len() > MAX_BASE_URL {
        return Err(format!("a base URL has at most {MAX_BASE_URL} bytes"));
    }
    // No user information (`https://ledger.example.edu@elsewhere`), no escapes, no query,
    // fragment or trailing slash: what a reader sees is the host it reaches.
    if rest.is_empty()
        || base.ends_with('/')
        || !base
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"?#@%\"<>\\^`{|}".contains(&b))
    {
        return Err(format!(
            "{:?} must be a host with an optional path, without a query, a fragment or a trailing slash",
            truncate(base)
        ));
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// How a credential shows in JSON: the schema encoding of each envelope attribute (so the
/// subject shows `3.72`, not the committed `372`) and the public API base URL its links name
/// (`None` for a credential issued before December 2026, whose links were URNs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// Public base URL of a consortium node's API, e.g. `https://ledger.example.edu`.
    pub base_url: Option<String>,
    /// One encoding per envelope attribute, in the envelope's order.
    pub encodings: Vec<AttributeEncoding>,
}

impl View {
    /// The view of `envelope` under `schema`, linking to `base_url`.
    pub fn new(
        schema: &CredentialSchema,
        envelope: &Envelope,
        base_url: Option<&str>,
    ) -> Result<View, CredentialError> {
        if schema.id() != envelope.schema_id {
            return Err(CredentialError::Malformed {
                reason: format!(
                    "the envelope names schema {}, not {}",
                    envelope.schema_id,
                    schema.id()
                ),
            });
        }
        if let Some(b) = base_url {
            check_base_url(b).map_err(|reason| CredentialError::Malformed { reason })?;
        }
        if let Some(a) = envelope
            .attributes
            .iter()
            .find(|a| ["id", "type"].contains(&a.name.as_str()) || a.name.starts_with('@'))
        {
            // The subject's `id` is the holder's DID; `type` and `@…` are JSON-LD's.
            return Err(CredentialError::Malformed {
                reason: format!("an attribute may not be called {:?}", a.name),
            });
        }
        let encodings = envelope
            .attributes
            .iter()
            .map(|a| {
                schema
                    .attribute(&a.name)
                    .map(|s| s.encoding)
                    .ok_or_else(|| CredentialError::Malformed {
                        reason: format!("attribute `{}` is not in schema {}", a.name, schema.id()),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(View {
            base_url: base_url.map(str::to_owned),
            encodings,
        })
    }
}

/// URL of the status list credential holding `status`'s bit, under `base`.
pub fn status_list_url(base: &str, issuer: &Did, status: &StatusEntry) -> String {
    format!(
        "{base}/v1/status-lists/{issuer}/{}/{}/credential",
        status.list_id,
        status.index / crate::ledger::STATUS_CHUNK_BITS
    )
}

/// URL of a schema's JSON Schema document under `base`.
pub fn schema_url(base: &str, schema_id: &str) -> String {
    format!("{base}/v1/schemas/{}/document", path_segment(schema_id))
}

/// Percent-encodes everything but RFC 3986 `pchar`s other than `%`.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn legacy_status_url(issuer: &Did, list_id: u32) -> String {
    format!("urn:credence:status:{issuer}:{list_id}")
}

/// RFC 3339 UTC text of a Unix time.
pub fn rfc3339(secs: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    t.format(&time::format_description::well_known::Rfc3339).ok()
}

/// The `proofValue` of a `credence-anchor-2026` proof: `u` + base64url (no padding) of
/// `CODEC_VERSION || BCS(this)`.
#[derive(Serialize, Deserialize)]
struct AnchorProofValue {
    envelope: Envelope,
    randomness: Vec<[u8; 32]>,
    batch_root: Hash,
    inclusion: InclusionProof,
    issuer_signature: Option<Signature>,
    unlinkable: Option<UnlinkableIssuance>,
}

impl Drop for AnchorProofValue {
    fn drop(&mut self) {
        self.randomness.zeroize();
    }
}

/// Multibase base64url (no padding) text: `u…`.
pub fn multibase_base64url(bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("u{}", base64::Engine::encode(&b64, bytes))
}

/// Decodes multibase base64url text (`u…`) of at most `max` characters.
pub fn from_multibase_base64url(text: &str, max: usize) -> Result<Vec<u8>, CodecError> {
    if text.len() > max {
        return Err(CodecError::TooLarge { len: text.len(), max });
    }
    let body = text.strip_prefix('u').ok_or_else(|| CodecError::Json {
        reason: "a multibase base64url value starts with `u`".into(),
    })?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    base64::Engine::decode(&b64, body).map_err(|e| CodecError::Json {
        reason: format!("not base64url without padding: {e}"),
    })
}

/// A credential document with its proof decoded but not yet read against its schema (which
/// the caller finds by [`CredentialDocument::schema_id`]: built in, or on the ledger).
pub struct CredentialDocument {
    doc: Value,
    envelope: Envelope,
    randomness: Vec<[u8; 32]>,
    issuance: Issuance,
    legacy: bool,
}

impl fmt::Debug for CredentialDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialDocument")
            .field("id", &self.envelope.id)
            .finish_non_exhaustive()
    }
}

impl Drop for CredentialDocument {
    fn drop(&mut self) {
        self.randomness.zeroize();
    }
}

/// The legacy proof (before December 2026).
#[derive(Deserialize)]
struct LegacyProof {
    envelope: String,
    openings: Vec<LegacyOpening>,
    issuance: Issuance,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyOpening {
    name: String,
    #[serde(with = "crate::bytes::fixed")]
    randomness: [u8; 32],
}

impl Drop for LegacyOpening {
    fn drop(&mut self) {
        self.randomness.zeroize();
    }
}

fn malformed(reason: impl Into<String>) -> CredentialError {
    CredentialError::Malformed {
        reason: reason.into(),
    }
}

impl CredentialDocument {
    /// Parses a credential document and decodes its proof.
    pub fn parse(text: &str) -> Result<Self, CredentialError> {
        crate::codec::refuse_duplicate_keys(text)?;
        let doc: Value = serde_json::from_str(text).map_err(CodecError::from)?;
        let proof = doc
            .get("proof")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("no `proof` object"))?;
        match proof.get("type").and_then(Value::as_str) {
            Some("DataIntegrityProof") => {}
            Some(LEGACY_PROOF_TYPE) => return Self::parse_legacy(doc),
            _ => return Err(malformed("`proof.type` must be DataIntegrityProof")),
        }
        if proof.get("cryptosuite").and_then(Value::as_str) != Some(ANCHOR_CRYPTOSUITE) {
            return Err(malformed(format!(
                "`proof.cryptosuite` must be {ANCHOR_CRYPTOSUITE}"
            )));
        }
        let value = proof
            .get("proofValue")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("no `proof.proofValue`"))?;
        let mut v: AnchorProofValue =
            crate::codec::decode(&from_multibase_base64url(value, MAX_PROOF_VALUE)?)?;
        let issuance = Issuance {
            batch_root: v.batch_root,
            inclusion: v.inclusion.clone(),
            issuer_signature: v.issuer_signature,
            unlinkable: v.unlinkable.take(),
        };
        Ok(CredentialDocument {
            envelope: v.envelope.clone(),
            randomness: core::mem::take(&mut v.randomness),
            issuance,
            doc,
            legacy: false,
        })
    }

    fn parse_legacy(doc: Value) -> Result<Self, CredentialError> {
        let proof: LegacyProof = serde_json::from_value(doc["proof"].clone()).map_err(CodecError::from)?;
        if proof.envelope.len() > MAX_PROOF_VALUE {
            return Err(CodecError::TooLarge {
                len: proof.envelope.len(),
                max: MAX_PROOF_VALUE,
            }
            .into());
        }
        let bytes = hex::decode(&proof.envelope).map_err(|e| CodecError::Hex {
            reason: e.to_string(),
        })?;
        let envelope = Envelope::from_canonical(&bytes)?;
        if proof.openings.len() != envelope.attributes.len()
            || proof
                .openings
                .iter()
                .zip(&envelope.attributes)
                .any(|(o, a)| o.name != a.name)
        {
            return Err(CredentialError::FieldMismatch {
                field: "proof.openings",
            });
        }
        Ok(CredentialDocument {
            randomness: proof.openings.iter().map(|o| o.randomness).collect(),
            issuance: proof.issuance.clone(),
            envelope,
            doc,
            legacy: true,
        })
    }

    /// The envelope (decoded from the proof; nothing is checked yet).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The issuance (decoded from the proof; nothing is checked yet).
    pub fn issuance(&self) -> &Issuance {
        &self.issuance
    }

    /// The schema id the (signed) envelope names.
    pub fn schema_id(&self) -> &str {
        &self.envelope.schema_id
    }

    /// Whether this is a document from before December 2026 (values as their encodings).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// Reads the document under its schema and checks it fully: the subject's values encode
    /// under the schema, the credential validates against the schema (VC JSON Schema), every
    /// other field is exactly what the envelope says, every text opening opens its digest and
    /// the inclusion proof leads to the batch root.
    pub fn read(self, schema: &CredentialSchema) -> Result<Credential, CredentialError> {
        let e = &self.envelope;
        let subject = self
            .doc
            .get("credentialSubject")
            .and_then(Value::as_object)
            .ok_or(CredentialError::FieldMismatch {
                field: "credentialSubject",
            })?;
        let base_url = self.base_url()?;
        let view = View::new(schema, e, base_url.as_deref())?;
        let mut openings = Vec::with_capacity(e.attributes.len());
        for ((attr, encoding), randomness) in e.attributes.iter().zip(&view.encodings).zip(&self.randomness) {
            let shown = subject.get(&attr.name).ok_or(CredentialError::FieldMismatch {
                field: "credentialSubject",
            })?;
            let value = if self.legacy {
                match shown {
                    Value::String(s) => AttributeValue::Text(s.clone()),
                    v => AttributeValue::Integer(v.as_i64().ok_or(CredentialError::FieldMismatch {
                        field: "credentialSubject",
                    })?),
                }
            } else {
                encode_value(*encoding, shown)
                    .map_err(|why| malformed(format!("credentialSubject.{}: {why}", attr.name)))?
            };
            openings.push(Opening {
                name: attr.name.clone(),
                value,
                randomness: *randomness,
            });
        }
        if self.randomness.len() != e.attributes.len() {
            return Err(malformed(format!(
                "{} openings for {} attributes",
                self.randomness.len(),
                e.attributes.len()
            )));
        }
        let credential = Credential {
            envelope: self.envelope.clone(),
            openings,
            issuance: self.issuance.clone(),
            view,
        };
        credential.check()?;
        // Everything the document says must be what the credential says: re-derive it and
        // compare (the subject's values as given: 3.7 and 3.70 are the same number).
        let mut derived = if self.legacy {
            credential.legacy_json()
        } else {
            credential.to_json()
        };
        if let Some(d) = derived
            .get_mut("credentialSubject")
            .and_then(Value::as_object_mut)
        {
            for a in &e.attributes {
                if let (Some(slot), Some(v)) = (d.get_mut(&a.name), subject.get(&a.name)) {
                    // The same number however written (4 and 4.0, 3.7 and 3.70), nothing else:
                    // 3.7200000001 encodes to 372 too, but is not what the credential says.
                    let same = match (slot.as_f64(), v.as_f64()) {
                        (Some(x), Some(y)) => x == y,
                        _ => slot == v,
                    };
                    if !self.legacy && !same {
                        return Err(CredentialError::FieldMismatch {
                            field: "credentialSubject",
                        });
                    }
                    *slot = v.clone();
                }
            }
        }
        if let Some(field) = first_difference(&derived, &self.doc) {
            return Err(CredentialError::FieldMismatch { field });
        }
        // A credential issued before December 2026 (legacy, or written again with its URN
        // links) was validated as a subject when issued; its JSON need not meet the schema's
        // whole-credential shape.
        if credential.view.base_url.is_some() {
            schema
                .validate_credential(&self.doc)
                .map_err(|e| malformed(e.to_string()))?;
        }
        Ok(credential)
    }

    /// The base URL the document's status link starts with (`None` for a legacy URN).
    fn base_url(&self) -> Result<Option<String>, CredentialError> {
        let e = &self.envelope;
        let link = self
            .doc
            .get("credentialStatus")
            .and_then(|s| s.get("statusListCredential"))
            .and_then(Value::as_str)
            .ok_or(CredentialError::FieldMismatch {
                field: "credentialStatus",
            })?;
        if link == legacy_status_url(&e.issuer, e.status.list_id) {
            return Ok(None);
        }
        let suffix = status_list_url("", &e.issuer, &e.status);
        let base = link.strip_suffix(&suffix).ok_or(CredentialError::FieldMismatch {
            field: "credentialStatus",
        })?;
        check_base_url(base)
            .map_err(|why| malformed(format!("credentialStatus.statusListCredential: {why}")))?;
        Ok(Some(base.to_owned()))
    }
}

/// The top-level member where two documents first differ, if any.
fn first_difference(a: &Value, b: &Value) -> Option<&'static str> {
    const FIELDS: [&str; 12] = [
        "@context",
        "id",
        "type",
        "issuer",
        "validFrom",
        "validUntil",
        "credentialSchema",
        "credentialStatus",
        "credentialSubject",
        "proof",
        "name",
        "description",
    ];
    if a == b {
        return None;
    }
    let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) else {
        return Some("(document)");
    };
    for f in FIELDS {
        if ao.get(f) != bo.get(f) {
            return Some(f);
        }
    }
    Some("(a member Credence does not write)")
}

impl Credential {
    /// Checks the envelope's rules, that the openings match its commitments one for one, and
    /// that the inclusion proof leads to `issuance.batch_root`.
    pub fn check(&self) -> Result<(), CredentialError> {
        self.envelope.check()?;
        if self.openings.len() != self.envelope.attributes.len()
            || self.view.encodings.len() != self.envelope.attributes.len()
        {
            return Err(CredentialError::Malformed {
                reason: format!(
                    "{} openings for {} attributes",
                    self.openings.len(),
                    self.envelope.attributes.len()
                ),
            });
        }
        for (o, a) in self.openings.iter().zip(&self.envelope.attributes) {
            if o.name != a.name {
                return Err(CredentialError::Malformed {
                    reason: format!("opening `{}` where attribute `{}` was expected", o.name, a.name),
                });
            }
            o.check_digest(&a.commitment)?;
        }
        for (o, encoding) in self.openings.iter().zip(&self.view.encodings) {
            decode_value(*encoding, &o.value).map_err(|why| CredentialError::Malformed {
                reason: format!("attribute `{}`: {why}", o.name),
            })?;
        }
        self.issuance
            .inclusion
            .verify(&self.envelope.leaf_hash(), &self.issuance.batch_root)?;
        Ok(())
    }

    /// The W3C VC 2.0 JSON document (format of December 2026: values as the schema describes
    /// them, a `credence-anchor-2026` Data Integrity proof; `docs/cryptosuites.md`).
    pub fn to_json(&self) -> Value {
        let e = &self.envelope;
        let mut subject = Map::new();
        subject.insert(
            "id".into(),
            Value::String(Did::from_public_key(&e.holder).to_string()),
        );
        for (o, encoding) in self.openings.iter().zip(&self.view.encodings) {
            // `check` proved every value decodes; a credential built around it shows the
            // committed integer rather than nothing.
            let shown = decode_value(*encoding, &o.value).unwrap_or_else(|_| legacy_value(&o.value));
            subject.insert(o.name.clone(), shown);
        }
        let (schema, status) = match &self.view.base_url {
            Some(base) => {
                let list = status_list_url(base, &e.issuer, &e.status);
                let offset = e.status.index % crate::ledger::STATUS_CHUNK_BITS;
                (
                    schema_url(base, &e.schema_id),
                    status_json(format!("{list}#{offset}"), offset, list),
                )
            }
            None => {
                let list = legacy_status_url(&e.issuer, e.status.list_id);
                (
                    e.schema_id.clone(),
                    status_json(format!("{list}#{}", e.status.index), e.status.index, list),
                )
            }
        };
        let proof_value = AnchorProofValue {
            envelope: e.clone(),
            randomness: self.openings.iter().map(|o| o.randomness).collect(),
            batch_root: self.issuance.batch_root,
            inclusion: self.issuance.inclusion.clone(),
            issuer_signature: self.issuance.issuer_signature,
            unlinkable: self.issuance.unlinkable.clone(),
        };
        let mut doc = self.common_json(schema, status, subject);
        doc.insert(
            "proof".into(),
            json!({
                "type": "DataIntegrityProof",
                "cryptosuite": ANCHOR_CRYPTOSUITE,
                "proofPurpose": "assertionMethod",
                "verificationMethod": e.issuer.as_str(),
                "proofValue": multibase_base64url(&crate::codec::encode(&proof_value)),
            }),
        );
        Value::Object(doc)
    }

    fn common_json(&self, schema: String, status: Value, subject: Map<String, Value>) -> Map<String, Value> {
        let e = &self.envelope;
        let mut doc = Map::new();
        doc.insert("@context".into(), json!(CREDENTIAL_CONTEXT));
        doc.insert("id".into(), json!(format!("urn:credence:credential:{}", e.id)));
        doc.insert("type".into(), json!(["VerifiableCredential", e.credential_type]));
        doc.insert("issuer".into(), json!(e.issuer.as_str()));
        doc.insert(
            "validFrom".into(),
            json!(rfc3339(e.valid_from).unwrap_or_default()),
        );
        if let Some(until) = e.valid_until.and_then(rfc3339) {
            doc.insert("validUntil".into(), json!(until));
        }
        doc.insert(
            "credentialSchema".into(),
            json!({ "id": schema, "type": "JsonSchema" }),
        );
        doc.insert("credentialStatus".into(), status);
        doc.insert("credentialSubject".into(), Value::Object(subject));
        doc
    }

    /// The document in the format before December 2026, to compare a legacy document with.
    fn legacy_json(&self) -> Value {
        let e = &self.envelope;
        let mut subject = Map::new();
        subject.insert(
            "id".into(),
            Value::String(Did::from_public_key(&e.holder).to_string()),
        );
        for o in &self.openings {
            subject.insert(o.name.clone(), legacy_value(&o.value));
        }
        let list = legacy_status_url(&e.issuer, e.status.list_id);
        let status = status_json(format!("{list}#{}", e.status.index), e.status.index, list);
        let mut doc = self.common_json(e.schema_id.clone(), status, subject);
        let openings: Vec<Value> = self
            .openings
            .iter()
            .map(|o| json!({ "name": o.name, "randomness": crate::bytes::to_hex(&o.randomness) }))
            .collect();
        doc.insert(
            "proof".into(),
            json!({
                "type": LEGACY_PROOF_TYPE,
                "envelope": crate::bytes::to_hex(&e.to_canonical()),
                "openings": openings,
                "issuance": self.issuance,
            }),
        );
        Value::Object(doc)
    }

    /// Parses and fully checks a credential document whose schema is built in (one published
    /// on the ledger: [`CredentialDocument::parse`], resolve [`CredentialDocument::schema_id`],
    /// then [`CredentialDocument::read`]).
    pub fn from_json(text: &str) -> Result<Self, CredentialError> {
        let doc = CredentialDocument::parse(text)?;
        let schema = CredentialSchema::builtin_by_id(doc.schema_id()).ok_or_else(|| {
            malformed(format!(
                "schema {} is not built in: read it from the ledger",
                doc.schema_id()
            ))
        })?;
        doc.read(schema)
    }
}

fn status_json(id: String, index: u32, list: String) -> Value {
    json!({
        "id": id,
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": index.to_string(),
        "statusListCredential": list,
    })
}

fn legacy_value(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::Text(s) => Value::String(s.clone()),
        AttributeValue::Integer(i) => Value::from(*i),
    }
}

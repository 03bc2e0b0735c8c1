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
use crate::credential_schema::AttributeValue;
use crate::did::Did;
use crate::hash::{Domain, Hash, domains, hash_domain};
use crate::merkle::{InclusionProof, MerkleError, leaf_hash};
use crate::sm2::{PublicKey, Signature};
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroize;

/// A Pedersen commitment: a compressed Ristretto point (computed and checked by `zk`).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PedersenCommitment(#[serde(with = "crate::bytes::fixed")] pub [u8; 32]);

impl fmt::Debug for PedersenCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PedersenCommitment({})", hex::encode(self.0))
    }
}

/// How one attribute is committed in the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributeCommitment {
    /// `SM3(tag || BCS(name, value, salt))` of a text attribute.
    Digest(Hash),
    /// Pedersen commitment to a numeric attribute's integer encoding.
    Pedersen(PedersenCommitment),
}

/// A named attribute commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommittedAttribute {
    /// Attribute name as in the schema.
    pub name: String,
    /// Its commitment.
    pub commitment: AttributeCommitment,
}

/// Where the credential's revocation bit lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Opening {
    /// Attribute name.
    pub name: String,
    /// The value.
    pub value: AttributeValue,
    /// Salt or blinding.
    #[serde(with = "crate::bytes::fixed")]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// JSON-LD contexts of every Credence credential.
pub const CREDENTIAL_CONTEXT: [&str; 2] = [
    "https://www.w3.org/ns/credentials/v2",
    "https://credence.dev/ns/credentials/v1",
];

/// The W3C VC 2.0 JSON shape.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VcJson {
    #[serde(rename = "@context")]
    context: Vec<String>,
    id: String,
    #[serde(rename = "type")]
    types: Vec<String>,
    issuer: Did,
    valid_from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
    credential_schema: SchemaRef,
    credential_status: StatusJson,
    credential_subject: Map<String, Value>,
    proof: VcProof,
}

#[derive(Serialize, Deserialize)]
struct SchemaRef {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusJson {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    status_purpose: String,
    status_list_index: String,
    status_list_credential: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VcProof {
    #[serde(rename = "type")]
    kind: String,
    /// Canonical envelope bytes, hex: the authoritative content.
    envelope: String,
    openings: Vec<OpeningJson>,
    issuance: Issuance,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpeningJson {
    name: String,
    #[serde(with = "crate::bytes::fixed")]
    randomness: [u8; 32],
}

impl Drop for OpeningJson {
    fn drop(&mut self) {
        self.randomness.zeroize();
    }
}

/// The proof type name in credential JSON.
pub const CREDENTIAL_PROOF_TYPE: &str = "CredenceBatchAnchor2026";

/// The status list URL of an issuer's list.
pub fn status_list_url(issuer: &Did, list_id: u32) -> String {
    format!("urn:credence:status:{issuer}:{list_id}")
}

/// RFC 3339 UTC text of a Unix time.
pub fn rfc3339(secs: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    t.format(&time::format_description::well_known::Rfc3339).ok()
}

fn parse_rfc3339(s: &str) -> Result<i64, CredentialError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| CredentialError::Malformed {
            reason: format!("{s:?} is not an RFC 3339 time: {e}"),
        })
}

fn value_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::Text(s) => Value::String(s.clone()),
        AttributeValue::Integer(i) => Value::from(*i),
    }
}

impl Credential {
    /// Checks the envelope's rules, that the openings match its commitments one for one, and
    /// that the inclusion proof leads to `issuance.batch_root`.
    pub fn check(&self) -> Result<(), CredentialError> {
        self.envelope.check()?;
        if self.openings.len() != self.envelope.attributes.len() {
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
        self.issuance
            .inclusion
            .verify(&self.envelope.leaf_hash(), &self.issuance.batch_root)?;
        Ok(())
    }

    /// The W3C VC 2.0 JSON document.
    pub fn to_json(&self) -> Value {
        let e = &self.envelope;
        let mut subject = Map::new();
        subject.insert(
            "id".into(),
            Value::String(Did::from_public_key(&e.holder).to_string()),
        );
        for o in &self.openings {
            subject.insert(o.name.clone(), value_json(&o.value));
        }
        let list = status_list_url(&e.issuer, e.status.list_id);
        let doc = VcJson {
            context: CREDENTIAL_CONTEXT.iter().map(|s| (*s).to_owned()).collect(),
            id: format!("urn:credence:credential:{}", e.id),
            types: vec!["VerifiableCredential".into(), e.credential_type.clone()],
            issuer: e.issuer.clone(),
            valid_from: rfc3339(e.valid_from).unwrap_or_default(),
            valid_until: e.valid_until.and_then(rfc3339),
            credential_schema: SchemaRef {
                id: e.schema_id.clone(),
                kind: "JsonSchema".into(),
            },
            credential_status: StatusJson {
                id: format!("{list}#{}", e.status.index),
                kind: "BitstringStatusListEntry".into(),
                status_purpose: "revocation".into(),
                status_list_index: e.status.index.to_string(),
                status_list_credential: list,
            },
            credential_subject: subject,
            proof: VcProof {
                kind: CREDENTIAL_PROOF_TYPE.into(),
                envelope: crate::bytes::to_hex(&e.to_canonical()),
                openings: self
                    .openings
                    .iter()
                    .map(|o| OpeningJson {
                        name: o.name.clone(),
                        randomness: o.randomness,
                    })
                    .collect(),
                issuance: self.issuance.clone(),
            },
        };
        serde_json::to_value(doc).expect("credential JSON always serialises")
    }

    /// Parses and fully checks a credential JSON document (see the module invariants).
    pub fn from_json(text: &str) -> Result<Self, CredentialError> {
        let doc: VcJson = serde_json::from_str(text).map_err(CodecError::from)?;
        let bytes = hex::decode(&doc.proof.envelope).map_err(|e| CodecError::Hex {
            reason: e.to_string(),
        })?;
        let envelope = Envelope::from_canonical(&bytes)?;
        let mismatch = |field| Err(CredentialError::FieldMismatch { field });
        if doc.context.first().map(String::as_str) != Some(CREDENTIAL_CONTEXT[0]) {
            return mismatch("@context");
        }
        if doc.proof.kind != CREDENTIAL_PROOF_TYPE {
            return mismatch("proof.type");
        }
        if doc.id != format!("urn:credence:credential:{}", envelope.id) {
            return mismatch("id");
        }
        if doc.types != ["VerifiableCredential", envelope.credential_type.as_str()] {
            return mismatch("type");
        }
        if doc.issuer != envelope.issuer {
            return mismatch("issuer");
        }
        if parse_rfc3339(&doc.valid_from)? != envelope.valid_from {
            return mismatch("validFrom");
        }
        if doc.valid_until.as_deref().map(parse_rfc3339).transpose()? != envelope.valid_until {
            return mismatch("validUntil");
        }
        if doc.credential_schema.id != envelope.schema_id {
            return mismatch("credentialSchema");
        }
        let list = status_list_url(&envelope.issuer, envelope.status.list_id);
        if doc.credential_status.status_list_credential != list
            || doc.credential_status.status_list_index != envelope.status.index.to_string()
        {
            return mismatch("credentialStatus");
        }
        let mut subject = doc.credential_subject;
        let holder = Did::from_public_key(&envelope.holder).to_string();
        if subject.remove("id").as_ref().and_then(Value::as_str) != Some(holder.as_str()) {
            return mismatch("credentialSubject.id");
        }
        if subject.len() != envelope.attributes.len() || doc.proof.openings.len() != envelope.attributes.len()
        {
            return mismatch("credentialSubject");
        }
        let mut openings = Vec::with_capacity(envelope.attributes.len());
        for (attr, o) in envelope.attributes.iter().zip(&doc.proof.openings) {
            if o.name != attr.name {
                return mismatch("proof.openings");
            }
            let value = match subject.get(&attr.name) {
                Some(Value::String(s)) => AttributeValue::Text(s.clone()),
                Some(v) => AttributeValue::Integer(v.as_i64().ok_or(CredentialError::FieldMismatch {
                    field: "credentialSubject",
                })?),
                None => return mismatch("credentialSubject"),
            };
            openings.push(Opening {
                name: attr.name.clone(),
                value,
                randomness: o.randomness,
            });
        }
        let credential = Credential {
            envelope,
            openings,
            issuance: doc.proof.issuance,
        };
        credential.check()?;
        Ok(credential)
    }
}

//! The holder's wallet: keys, credentials, consent, presentations and the disclosure history.
//!
//! This is the API the desktop app wraps. Secrets (the SM2 key, the unlinkable-tier secret,
//! the openings) stay inside: callers get summaries, a [`Consent`] to show, and finished
//! presentations.
//!
//! Answering is two steps so a person can decide in between: [`Holder::prepare`] checks the
//! request, reads the verifier's registration and every ledger record the answer needs (one
//! read, one certificate), and returns the consent screen's content; [`Holder::present`] builds
//! the presentation from exactly that and records the disclosure.

use crate::issuer::{HolderBinding, leaf_data};
use crate::keystore::{Keystore, KeystoreError, RecoveryPhrase};
use crate::ledger::{Facts, LedgerError, ReadLedger};
use crate::plan;
use crate::tier;
use crate::verifier::{ScopeViolation, join, scope_violations};
use rand_core::OsRng;
use schemas::codec::Canonical;
use schemas::credential::{
    AttributeCommitment, Credential, CredentialDocument, CredentialError, StatusEntry,
};
use schemas::credential_schema::{AttributeValue, CredentialSchema};
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{
    AnchorRecord, CouncilRecord, IssuerRecord, LedgerProof, RevocationRoot, StatusListChunk, VerifierRecord,
    VerifyingKeyRecord, state_keys,
};
use schemas::presentation::{
    Channel, EscrowAnswer, Presentation, PresentationProof, SelectiveDisclosure, SignedRequest, Tier,
    UnlinkableProof,
};
use schemas::seal::Cost;
use schemas::sm2::SecretKey;
use serde::{Deserialize, Serialize};
use std::path::Path;
use zk::ZkError;
use zk::predicates::{PredicateWitness, ProofBinding};
use zk::tree::{MerklePath, RevocationTree};
use zk::unlinkable::{HolderSecret, ProvingKey, UnlinkableStatement, UnlinkableWitness};

const SM2_KEY: &str = "holder/sm2";
const SECRET: &str = "holder/unlinkable-secret";
const CREDENTIAL: &str = "credential/";
const HISTORY: &str = "history/";

/// What went wrong in the wallet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HolderError {
    /// The encrypted store.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// A credential that does not hold together.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The ledger.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A credential issued to someone else.
    #[error("this credential is bound to another holder's key; import it into the wallet it was issued to")]
    NotMine,
    /// The ledger does not back the credential.
    #[error("the credential is not backed by the ledger: {0}")]
    NotAnchored(String),
    /// No such credential.
    #[error("no credential {0} in this wallet")]
    Unknown(String),
    /// The request itself is unacceptable.
    #[error("the request cannot be answered: {0}")]
    BadRequest(String),
    /// The request goes beyond the verifier's registered scope.
    #[error("the request goes beyond what the verifier registered: {}", .0.join("; "))]
    OutOfScope(Vec<String>),
    /// Nothing in the wallet fits the request.
    #[error("no credential in this wallet fits the request ({0})")]
    NoMatch(String),
    /// The credential does not satisfy what is asked.
    #[error("your credential cannot satisfy the request: {0}")]
    Unsatisfied(String),
    /// The unlinkable tier was asked for without the circuit's proving key.
    #[error("the unlinkable tier needs the circuit's proving key")]
    ProvingKeyNeeded,
    /// The credential's schema is neither built in nor usable from the ledger.
    #[error(transparent)]
    Schema(#[from] plan::SchemaUnresolved),
    /// Proving failed.
    #[error("proving failed: {0}")]
    Zk(#[from] ZkError),
    /// Stored data that is not what it should be.
    #[error("the wallet data is damaged: {0}")]
    Damaged(String),
    /// A credential whose disclosed value is not the one its commitment holds.
    #[error("the credential is refused: {0} (ask the issuer for a new copy)")]
    BadOpening(String),
}

/// A credential as lists and cards show it (no openings, no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSummary {
    /// Credential id.
    pub id: Hash,
    /// Type.
    pub credential_type: String,
    /// Issuer DID.
    pub issuer: Did,
    /// Issuer name as registered on the ledger.
    pub issuer_name: String,
    /// Valid from (Unix seconds).
    pub valid_from: i64,
    /// Valid until.
    pub valid_until: Option<i64>,
    /// Block height where its batch's anchor was proven at import.
    pub anchored_at: u64,
    /// Status list entry.
    pub status: StatusEntry,
    /// Whether the unlinkable tier is available for it.
    pub unlinkable: bool,
    /// When imported (Unix seconds).
    pub imported_at: i64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    summary: CredentialSummary,
    json: String,
    /// The published schema's JSON as proven at import; absent for a built-in schema (and in
    /// records imported before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
}

/// What the consent screen shows before anything leaves the wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    /// The verifier's DID.
    pub verifier: Did,
    /// Its registered name (`None`: not registered).
    pub verifier_name: Option<String>,
    /// Stated purpose.
    pub purpose: String,
    /// Tier.
    pub tier: Tier,
    /// The credential that would answer.
    pub credential: CredentialSummary,
    /// Attributes that will be shown, with their values.
    pub disclosed: Vec<(String, String)>,
    /// Statements proven without showing the values.
    pub proven: Vec<tier::Statement>,
    /// Attributes that stay hidden.
    pub hidden: Vec<String>,
    /// Where the request goes beyond the verifier's registered scope (empty: inside).
    pub scope_violations: Vec<ScopeViolation>,
    /// Set when the ledger shows the credential revoked: the verifier will refuse it.
    pub revoked: bool,
    /// Request expiry (Unix seconds).
    pub expires_at: i64,
    /// Where the answer goes and the session value the verifier's screen should show (`None`:
    /// the request came by other means, such as a file).
    pub channel: Option<Channel>,
    /// Unlinkable tier: the verifier's registered nullifier scope. Its answers from this wallet
    /// carry one pseudonym it can recognise; no other verifier can link them.
    pub nullifier_scope: Option<String>,
    /// Unlinkable tier: the regulator council the verifier requires the identity handle
    /// escrowed to (`None`: no escrow).
    #[serde(default)]
    pub escrow: Option<EscrowConsent>,
}

/// What a credential's schema says of one attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeNote {
    /// The attribute's name.
    pub name: String,
    /// The schema's title for it.
    pub title: Option<String>,
    /// The schema's description of it.
    pub description: Option<String>,
    /// Both in other languages, as the schema gives them.
    pub translations: Vec<schemas::credential_schema::Translation>,
}

/// Who could open an escrowed answer, as the consent screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscrowConsent {
    /// The council's id.
    pub council: String,
    /// Its name.
    pub name: String,
    /// Members who must act together to open.
    pub threshold: u16,
    /// Its members (governance members' DIDs).
    pub members: Vec<Did>,
    /// The attribute escrowed.
    pub handle: String,
}

impl EscrowConsent {
    /// The consent screen's line.
    pub fn line(&self) -> String {
        format!(
            "Opening:   your `{}` goes in this answer encrypted to the regulator council {:?} ({}); any {} of its {} members ({}) can open it, and only after a public governance vote on the ledger, where every opening stays visible",
            self.handle,
            self.name,
            self.council,
            self.threshold,
            self.members.len(),
            self.members
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn escrow_consent(facts: &Facts, id: &str, handle: &str) -> Result<EscrowConsent, HolderError> {
    let record: CouncilRecord = facts
        .get(&state_keys::council(id), "the council")?
        .ok_or_else(|| {
            HolderError::Unsatisfied(format!(
                "the verifier requires escrow to council {id}, which the ledger does not have"
            ))
        })?;
    if record.key.is_none() {
        return Err(HolderError::Unsatisfied(format!(
            "the verifier requires escrow to council {id}, whose key generation has not finished"
        )));
    }
    Ok(EscrowConsent {
        council: id.to_owned(),
        name: record.plan.name.clone(),
        threshold: record.plan.threshold,
        members: record.plan.members.clone(),
        handle: handle.to_owned(),
    })
}

impl Consent {
    /// Whether the request stays inside the verifier's registered scope.
    pub fn in_scope(&self) -> bool {
        self.scope_violations.is_empty()
    }

    /// The consent screen as text lines.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "Verifier: {} ({})",
            self.verifier_name.as_deref().unwrap_or("NOT REGISTERED"),
            self.verifier
        )];
        out.push(format!("Purpose:  {}", self.purpose));
        out.push(format!(
            "Answer with: {} from {} ({} tier)",
            self.credential.credential_type,
            self.credential.issuer_name,
            match self.tier {
                Tier::Selective => "selective-disclosure",
                Tier::Unlinkable => "unlinkable",
            }
        ));
        let list = |v: Vec<String>| {
            if v.is_empty() {
                "(nothing)".to_owned()
            } else {
                v.join(", ")
            }
        };
        out.push(format!(
            "Disclosed: {}",
            list(self.disclosed.iter().map(|(n, v)| format!("{n} = {v}")).collect())
        ));
        out.push(format!(
            "Proven:    {}",
            list(self.proven.iter().map(ToString::to_string).collect())
        ));
        out.push(format!("Hidden:    {}", list(self.hidden.clone())));
        if self.in_scope() {
            out.push("Scope:     inside the verifier's registered scope".into());
        } else {
            out.push(format!(
                "Scope:     OUTSIDE the verifier's registered scope: {}",
                join(&self.scope_violations)
            ));
        }
        if let Some(e) = &self.escrow {
            out.push(e.line());
        }
        if let Some(scope) = &self.nullifier_scope {
            out.push(format!(
                "Pseudonym: this verifier recognises your unlinkable answers to it as one person's (its scope {scope:?}); no other verifier can link them"
            ));
        }
        match &self.channel {
            Some(c) => {
                out.push(format!(
                    "Answer to: {} (where the verifier asks it to be sent)",
                    c.response_uri
                ));
                out.push(format!(
                    "Session:   {} (answer only if the verifier's screen shows the same value: a request someone else forwarded shows theirs)",
                    c.session
                ));
            }
            None => out
                .push("Session:   none (answer only a request you asked this verifier for yourself)".into()),
        }
        if self.revoked {
            out.push("WARNING:   the issuer has revoked this credential; the verifier will refuse it".into());
        }
        out
    }
}

/// A request ready to answer: what the consent shows and the ledger proofs the answer carries.
pub struct Pending {
    /// The request.
    pub request: SignedRequest,
    /// The consent screen's content.
    pub consent: Consent,
    proof: LedgerProof,
    facts: Facts,
    /// The issuer list's revocation tree, checked against the proven root (unlinkable tier).
    revocation: Option<RevocationTree>,
    /// The circuit the answer needs (unlinkable tier).
    shape: Option<zk::unlinkable::CircuitShape>,
}

/// One entry of the disclosure history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disclosure {
    /// When (Unix seconds).
    pub at: i64,
    /// To whom.
    pub verifier: Did,
    /// Its registered name.
    pub verifier_name: Option<String>,
    /// Purpose stated.
    pub purpose: String,
    /// Credential used.
    pub credential: Hash,
    /// Its type.
    pub credential_type: String,
    /// Tier.
    pub tier: Tier,
    /// What was revealed.
    pub disclosed: Vec<(String, String)>,
    /// What was proven, as text (`gpa ≥ 3.00`).
    pub proven: Vec<String>,
    /// The same in parts, for screens to word (absent in entries written before December 2026).
    #[serde(default)]
    pub statements: Vec<tier::Statement>,
    /// The request's digest.
    pub request: Hash,
    /// The escrow the answer carried (unlinkable tier, when the verifier required it).
    #[serde(default)]
    pub escrow: Option<EscrowAnswer>,
}

/// An opening proposal on the ledger that names one of this wallet's escrowed answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpeningSeen {
    /// The answer it concerns.
    pub disclosure: Disclosure,
    /// The proposal (a transaction hash).
    pub proposal: Hash,
    /// The governance member that proposed it.
    pub proposer: Did,
    /// The legal basis it states.
    pub legal_basis: String,
    /// Governance approvals so far.
    pub approvals: usize,
    /// Whether governance approved it (members may then publish shares).
    pub approved: bool,
    /// Decryption shares published.
    pub shares: usize,
    /// Whether enough shares were published to open it.
    pub opened: bool,
}

impl OpeningSeen {
    /// One line for a list.
    pub fn line(&self) -> String {
        format!(
            "opening {} of your answer to {} ({}): proposed by {}, legal basis {:?}; {}",
            self.proposal,
            self.disclosure
                .verifier_name
                .as_deref()
                .unwrap_or("an unregistered verifier"),
            self.disclosure.purpose,
            self.proposer,
            self.legal_basis,
            match (self.approved, self.opened) {
                (false, _) => format!(
                    "not approved ({} approval(s)); nothing can be opened",
                    self.approvals
                ),
                (true, false) => format!("approved; {} share(s) published, not opened", self.shares),
                (true, true) =>
                    "approved and OPENED: the council knows which customer gave this answer".into(),
            }
        )
    }
}

/// The holder's wallet.
pub struct Holder {
    store: Keystore,
    key: SecretKey,
    secret: HolderSecret,
}

impl Stored {
    /// The schema `id` as known without the ledger: built in, or the published one kept at
    /// import (a record kept before this was stored has none).
    fn schema(&self, id: &str) -> Option<plan::KnownSchema> {
        plan::KnownSchema::builtin(id).or_else(|| {
            let kept = CredentialSchema::from_json(self.schema.as_deref()?).ok()?;
            (kept.id() == id).then(|| plan::KnownSchema::Published(Box::new(kept)))
        })
    }

    /// The credential and its schema, read without the ledger.
    fn open(&self) -> Result<(Credential, plan::KnownSchema), HolderError> {
        let doc = CredentialDocument::parse(&self.json)?;
        let known = self.schema(doc.schema_id()).ok_or_else(|| {
            HolderError::Damaged(format!(
                "the wallet does not keep schema {} of credential {}: answer a request with it once while the ledger is reachable",
                doc.schema_id(),
                self.summary.id
            ))
        })?;
        Ok((doc.read(&known)?, known))
    }
}

fn damaged(what: &str) -> HolderError {
    HolderError::Damaged(format!("{what} is unreadable"))
}

impl Holder {
    /// Creates a wallet in `dir` with fresh keys; returns it and the recovery phrase.
    pub fn create(dir: &Path, password: &str, cost: Cost) -> Result<(Holder, RecoveryPhrase), HolderError> {
        let (store, phrase) = Keystore::create(dir, password, cost, &mut OsRng)?;
        let key = SecretKey::generate(&mut OsRng);
        let secret = HolderSecret::random(&mut OsRng);
        store.put_all(
            &[
                (SM2_KEY, key.to_bytes().as_ref()),
                (SECRET, secret.to_bytes().as_ref()),
            ],
            &mut OsRng,
        )?;
        Ok((Holder { store, key, secret }, phrase))
    }

    /// Opens the wallet in `dir`.
    pub fn open(dir: &Path, password: &str) -> Result<Holder, HolderError> {
        Self::from_store(Keystore::open(dir, password)?)
    }

    /// Wraps an opened keystore (after a restore, say).
    pub fn from_store(store: Keystore) -> Result<Holder, HolderError> {
        let key = store.get_secret(SM2_KEY, "holder key", |b| SecretKey::from_bytes(b).ok())?;
        let secret = store.get_secret(SECRET, "holder secret", |b| HolderSecret::from_bytes(b).ok())?;
        Ok(Holder { store, key, secret })
    }

    /// The keystore (password change, backup).
    pub fn store(&self) -> &Keystore {
        &self.store
    }

    /// The keystore, for a password change.
    pub fn store_mut(&mut self) -> &mut Keystore {
        &mut self.store
    }

    /// The holder's DID.
    pub fn did(&self) -> Did {
        Did::from_public_key(self.key.public_key())
    }

    /// What to give an issuer so credentials are bound to this wallet.
    pub fn binding(&self) -> HolderBinding {
        HolderBinding::new(self.key.public_key().clone(), &self.secret)
    }

    /// An OpenID4VCI proof of possession of this wallet's holder key, for the credential issuer
    /// `issuer` over its nonce (`schemas::openid4vci::proof_jwt`): what an issuer asks before it
    /// hands over a credential bound to this key.
    pub fn proof_of_possession(&self, issuer: &str, nonce: &str, now: i64) -> String {
        schemas::openid4vci::proof_jwt(&self.key, issuer, nonce, now)
    }

    /// Imports a credential JSON document after checking it, that it is bound to this wallet,
    /// and that its batch is anchored by a registered issuer on the ledger.
    pub async fn import(
        &self,
        text: &str,
        ledger: &impl ReadLedger,
        now: i64,
    ) -> Result<CredentialSummary, HolderError> {
        let doc = CredentialDocument::parse(text)?;
        let envelope = doc.envelope().clone();
        let e = &envelope;
        if e.holder != *self.key.public_key() {
            return Err(HolderError::NotMine);
        }
        // What needs no ledger first: a forged file costs no read and tells no node anything.
        e.check()?;
        doc.issuance()
            .inclusion
            .verify(&e.leaf_hash(), &doc.issuance().batch_root)
            .map_err(schemas::credential::CredentialError::from)?;
        schemas::limits::text("schemaId", &e.schema_id)
            .map_err(|err| HolderError::BadOpening(err.to_string()))?;
        let anchor_key = state_keys::anchor(&e.issuer, &doc.issuance().batch_root);
        let (_, facts) = ledger
            .read(vec![
                anchor_key.clone(),
                state_keys::issuer(&e.issuer),
                state_keys::schema(&e.schema_id),
            ])
            .await?;
        let anchor: AnchorRecord = facts
            .get(&anchor_key, "the anchor")?
            .ok_or_else(|| HolderError::NotAnchored("its batch root is not anchored by its issuer".into()))?;
        let issuer: IssuerRecord = facts
            .get(&state_keys::issuer(&e.issuer), "the issuer")?
            .ok_or_else(|| HolderError::NotAnchored("its issuer is not registered".into()))?;
        // Its schema, as the ledger has it (the ledger anchors only batches of a published
        // schema of their type): kept, so the credential shows as its schema describes it.
        let schema = plan::resolve_schema(&facts, &e.schema_id)?;
        // Read under its schema: the values the subject shows must encode to what was
        // committed, and the credential must validate against the schema.
        let c = doc.read(&schema)?;
        let e = &c.envelope;
        // The parser checks text openings; numbers need the Pedersen check (finding 21): the
        // wallet must not show or reason about a value the commitment does not hold.
        for o in &c.openings {
            let commitment = e
                .attribute(&o.name)
                .ok_or_else(|| HolderError::BadOpening(format!("`{}` is not in the envelope", o.name)))?;
            crate::verifier::check_opening(commitment, o).map_err(HolderError::BadOpening)?;
        }
        anchor
            .matches(e, c.issuance.inclusion.tree_size)
            .map_err(|m| HolderError::NotAnchored(m.to_string()))?;
        if schema.credential_type() != e.credential_type {
            return Err(HolderError::NotAnchored(format!(
                "its schema {} defines {}, not {}",
                e.schema_id,
                schema.credential_type(),
                e.credential_type
            )));
        }
        let unlinkable = match (&e.poseidon_leaf, &c.issuance.unlinkable, &anchor.poseidon_root) {
            (None, None, _) => false,
            (Some(leaf), Some(u), Some(root)) => {
                self.check_unlinkable(&c, &schema, leaf, u, root)?;
                true
            }
            _ => {
                return Err(HolderError::NotAnchored(
                    "its unlinkable-tier data does not match the anchored batch".into(),
                ));
            }
        };
        let summary = CredentialSummary {
            id: e.id,
            credential_type: e.credential_type.clone(),
            issuer: e.issuer.clone(),
            issuer_name: issuer.name,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
            anchored_at: facts.height_of(&anchor_key).unwrap_or_default(),
            status: e.status,
            unlinkable,
            imported_at: now,
        };
        let stored = Stored {
            summary: summary.clone(),
            json: c.to_json().to_string(),
            schema: match &schema {
                plan::KnownSchema::BuiltIn(_) => None,
                plan::KnownSchema::Published(s) => Some(s.json().to_owned()),
            },
        };
        let bytes = serde_json::to_vec(&stored).map_err(|e| HolderError::Damaged(e.to_string()))?;
        self.store
            .put(&format!("{CREDENTIAL}{}", e.id), &bytes, &mut OsRng)?;
        Ok(summary)
    }

    fn check_unlinkable(
        &self,
        c: &Credential,
        schema: &CredentialSchema,
        leaf: &Hash,
        u: &schemas::credential::UnlinkableIssuance,
        root: &Hash,
    ) -> Result<(), HolderError> {
        let bad = |why: &str| HolderError::NotAnchored(why.into());
        let width =
            tier::leaf_width(schema).ok_or_else(|| bad("the schema has too many numeric attributes"))?;
        let data = leaf_data(schema, &c.envelope, &c.openings, width);
        let expected = zk::unlinkable::credential_leaf_hash(&data, &u.salt, &self.secret.commitment_hash())
            .ok_or_else(|| bad("its leaf salt is not a field element"))?;
        if expected != *leaf {
            return Err(bad(
                "its Poseidon leaf is not built from its values and this wallet's secret",
            ));
        }
        let path = unlinkable_path(u).ok_or_else(|| bad("its Poseidon path is malformed"))?;
        if path.root_hash_from(&expected) != Some(*root) {
            return Err(bad("its Poseidon path does not lead to the anchored root"));
        }
        Ok(())
    }

    /// Every credential, newest import first.
    pub fn list(&self) -> Result<Vec<CredentialSummary>, HolderError> {
        let mut out = Vec::new();
        for name in self.store.names(CREDENTIAL)? {
            out.push(self.stored(&name)?.summary);
        }
        out.sort_by(|a, b| b.imported_at.cmp(&a.imported_at).then(a.id.0.cmp(&b.id.0)));
        Ok(out)
    }

    fn stored(&self, name: &str) -> Result<Stored, HolderError> {
        let bytes = self
            .store
            .get(name)?
            .ok_or_else(|| HolderError::Unknown(name.trim_start_matches(CREDENTIAL).into()))?;
        serde_json::from_slice(&bytes).map_err(|_| damaged(name))
    }

    /// Finds a credential by id or unique id prefix (hex).
    fn find(&self, id: &str) -> Result<(CredentialSummary, Credential), HolderError> {
        let s = self.find_stored(id)?;
        let (c, _) = s.open()?;
        Ok((s.summary, c))
    }

    /// The stored record of a credential by id or unique id prefix (hex).
    fn find_stored(&self, id: &str) -> Result<Stored, HolderError> {
        let names: Vec<String> = self
            .store
            .names(CREDENTIAL)?
            .into_iter()
            .filter(|n| n[CREDENTIAL.len()..].starts_with(id))
            .collect();
        match names.as_slice() {
            [one] => self.stored(one),
            [] => Err(HolderError::Unknown(id.into())),
            _ => Err(HolderError::Unknown(format!(
                "{id} (ambiguous: give more digits)"
            ))),
        }
    }

    /// A credential's summary and attributes as text (what the detail screen shows), as its
    /// schema describes them: a built-in one, or the published one kept at import (this reads
    /// no ledger).
    pub fn show(&self, id: &str) -> Result<(CredentialSummary, Vec<(String, String)>), HolderError> {
        let stored = self.find_stored(id)?;
        let (c, known) = stored.open()?;
        let schema = Some(&*known);
        let attrs = c
            .openings
            .iter()
            .map(|o| (o.name.clone(), value_text(schema, &o.name, &o.value)))
            .collect();
        Ok((stored.summary, attrs))
    }

    /// What a credential's schema says of its attributes (title and description), for screens
    /// to name them by; read from the schema kept with the credential, no ledger needed.
    pub fn attribute_notes(&self, id: &str) -> Result<Vec<AttributeNote>, HolderError> {
        let stored = self.find_stored(id)?;
        let (_, known) = stored.open()?;
        Ok(known
            .attributes()
            .iter()
            .map(|a| AttributeNote {
                name: a.name.clone(),
                title: a.title.clone(),
                description: a.description.clone(),
                translations: a.translations.clone(),
            })
            .collect())
    }

    /// Removes a credential.
    pub fn remove(&self, id: &str) -> Result<(), HolderError> {
        let s = self.find_stored(id)?;
        Ok(self.store.remove(&format!("{CREDENTIAL}{}", s.summary.id))?)
    }

    /// Checks a request and reads what answering it needs; returns what to show for consent.
    /// `credential` picks one (id or prefix); otherwise the newest that fits is used.
    pub async fn prepare(
        &self,
        request: SignedRequest,
        credential: Option<&str>,
        ledger: &impl ReadLedger,
        now: i64,
    ) -> Result<Pending, HolderError> {
        let r = &request.request;
        request
            .verify()
            .map_err(|e| HolderError::BadRequest(e.to_string()))?;
        crate::verifier::check_request_times(r, now)
            .map_err(|why| HolderError::BadRequest(format!("{why}; ask the verifier for a new one")))?;
        if r.tier == Tier::Unlinkable && !r.disclose.is_empty() {
            return Err(HolderError::BadRequest(
                "it asks to see attributes in the unlinkable tier, which shows none".into(),
            ));
        }
        if let Some(c) = &r.channel {
            c.check().map_err(HolderError::BadRequest)?;
        }
        let stored = match credential {
            Some(id) => self.find_stored(id)?,
            None => self.best_match(r, now)?,
        };
        let doc = CredentialDocument::parse(&stored.json)?;
        // Kept at import; a record from before that is read from the ledger, and kept now.
        let known = match stored.schema(doc.schema_id()) {
            Some(k) => k,
            None => {
                let id = doc.schema_id().to_owned();
                let (_, facts) = ledger.read(vec![state_keys::schema(&id)]).await?;
                let known = plan::resolve_schema(&facts, &id)?;
                let kept = Stored {
                    schema: Some(known.json().to_owned()),
                    ..stored.clone()
                };
                let bytes = serde_json::to_vec(&kept).map_err(|e| HolderError::Damaged(e.to_string()))?;
                self.store
                    .put(&format!("{CREDENTIAL}{}", kept.summary.id), &bytes, &mut OsRng)?;
                known
            }
        };
        let c = doc.read(&known)?;
        let e = &c.envelope;
        if e.credential_type != r.credential_type {
            return Err(HolderError::NoMatch(format!(
                "credential {} is a {}, the request asks for {}",
                e.id, e.credential_type, r.credential_type
            )));
        }
        let schema = Some(&*known);
        tier::check_handle_untouched(&known, &r.disclose, &r.predicates).map_err(HolderError::BadRequest)?;
        let mut disclosed = Vec::new();
        for name in &r.disclose {
            let o = c
                .openings
                .iter()
                .find(|o| o.name == *name)
                .ok_or_else(|| HolderError::Unsatisfied(format!("it has no `{name}`")))?;
            disclosed.push((name.clone(), value_text(schema, name, &o.value)));
        }
        for p in &r.predicates {
            let x = c
                .openings
                .iter()
                .find(|o| o.name == p.attribute)
                .and_then(|o| match o.value {
                    AttributeValue::Integer(x) => Some(x),
                    AttributeValue::Text(_) => None,
                })
                .ok_or_else(|| {
                    HolderError::Unsatisfied(format!("`{}` is not a number in it", p.attribute))
                })?;
            if !p.holds(x) {
                return Err(HolderError::Unsatisfied(format!(
                    "{} does not hold",
                    tier::display_predicate(schema, p)
                )));
            }
        }
        let hidden = c
            .openings
            .iter()
            .map(|o| o.name.clone())
            .filter(|n| !r.disclose.contains(n))
            .collect::<Vec<_>>();
        let status_key = e.status.chunk_key(&e.issuer);
        // An unlinkable answer escrows the identity handle when the verifier's registered scope
        // for this type names a council: read first, since it decides the circuit and what the
        // answer's ledger proof must carry (the council's key).
        let escrow_council = if r.tier == Tier::Unlinkable {
            let (_, facts) = ledger.read(vec![state_keys::verifier(&r.verifier)]).await?;
            let v: Option<VerifierRecord> = facts.get(&state_keys::verifier(&r.verifier), "the verifier")?;
            v.as_ref()
                .and_then(|v| v.escrow_for(&r.credential_type))
                .map(str::to_owned)
        } else {
            None
        };
        let mut shape = None;
        let keys = if r.tier == Tier::Selective {
            plan::ledger_keys(
                &r.verifier,
                &plan::Subject::Selective {
                    issuer: &e.issuer,
                    batch_root: &c.issuance.batch_root,
                    status: &e.status,
                    schema_id: &e.schema_id,
                },
            )
        } else {
            let width = tier::leaf_width(&known).unwrap_or(0);
            let circuit_predicates =
                tier::circuit_predicates(&known, &r.predicates).map_err(HolderError::Unsatisfied)?;
            let fits = tier::shape_for(width, circuit_predicates.len(), escrow_council.is_some())
                .ok_or_else(|| HolderError::Unsatisfied("no registered circuit fits this request".into()))?;
            if escrow_council.is_some() && tier::handle_attribute(&known).is_none() {
                return Err(HolderError::Unsatisfied(format!(
                    "the verifier requires the identity handle escrowed, and {} names none",
                    known.id()
                )));
            }
            shape = Some(fits);
            let mut keys = plan::ledger_keys(
                &r.verifier,
                &plan::Subject::Unlinkable {
                    issuer: &e.issuer,
                    circuit: &fits.id(),
                    version: zk::unlinkable::KEY_VERSION,
                    batch: Some((&c.issuance.batch_root, &e.schema_id)),
                },
            );
            if let Some(id) = &escrow_council {
                keys.push(state_keys::council(id));
            }
            keys
        };
        let (proof, facts, revocation) = if r.tier == Tier::Unlinkable {
            let (proof, facts, tree) =
                read_with_revocation(ledger, keys, &e.issuer, plan::UNLINKABLE_STATUS_LIST).await?;
            (proof, facts, Some(tree))
        } else {
            let (proof, facts) = ledger.read(keys).await?;
            (proof, facts, None)
        };
        let verifier: Option<VerifierRecord> =
            facts.get(&state_keys::verifier(&r.verifier), "the verifier")?;
        // The record as proven now decides; it must still name the council read above.
        let escrow = match verifier
            .as_ref()
            .filter(|_| r.tier == Tier::Unlinkable)
            .and_then(|v| v.escrow_for(&r.credential_type))
        {
            None if escrow_council.is_none() => None,
            Some(id) if Some(id) == escrow_council.as_deref() => Some(escrow_consent(
                &facts,
                id,
                known.identity_handle().unwrap_or_default(),
            )?),
            _ => {
                return Err(HolderError::BadRequest(
                    "the verifier's escrow requirement changed while the request was read; try again".into(),
                ));
            }
        };
        let revoked = match &revocation {
            Some(tree) => tree.is_revoked(e.status.index),
            None => {
                let chunk: Option<StatusListChunk> = facts.get(&status_key, "the status list")?;
                crate::ledger::is_revoked(chunk.as_ref(), e.status.index)
            }
        };
        let consent = Consent {
            verifier: r.verifier.clone(),
            verifier_name: verifier.as_ref().map(|v| v.name.clone()),
            purpose: r.purpose.clone(),
            tier: r.tier,
            credential: stored.summary.clone(),
            disclosed,
            proven: r.predicates.iter().map(|p| tier::statement(schema, p)).collect(),
            hidden,
            scope_violations: scope_violations(&request, verifier.as_ref()),
            revoked,
            expires_at: r.expires_at,
            channel: r.channel.clone(),
            nullifier_scope: verifier
                .as_ref()
                .filter(|_| r.tier == Tier::Unlinkable)
                .map(|v| v.nullifier_scope.clone()),
            escrow,
        };
        Ok(Pending {
            request,
            consent,
            proof,
            facts,
            revocation,
            shape,
        })
    }

    fn best_match(
        &self,
        r: &schemas::presentation::PresentationRequest,
        now: i64,
    ) -> Result<Stored, HolderError> {
        let fits = |s: &CredentialSummary| {
            s.credential_type == r.credential_type
                && (r.accepted_issuers.is_empty() || r.accepted_issuers.contains(&s.issuer))
                && s.valid_until.is_none_or(|u| u >= now)
                && (r.tier == Tier::Selective || s.unlinkable)
        };
        let s = self.list()?.into_iter().find(fits).ok_or_else(|| {
            HolderError::NoMatch(format!("a {} from an accepted issuer", r.credential_type))
        })?;
        self.find_stored(&s.id.to_string())
    }

    /// Builds the presentation the consent described and records the disclosure. Requests
    /// beyond the verifier's registered scope are refused.
    pub fn present(
        &self,
        pending: &Pending,
        proving_key: Option<&ProvingKey>,
        now: i64,
    ) -> Result<Presentation, HolderError> {
        if !pending.consent.in_scope() {
            return Err(HolderError::OutOfScope(
                pending
                    .consent
                    .scope_violations
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            ));
        }
        let (_, c) = self.find(&pending.consent.credential.id.to_string())?;
        let presentation = match pending.request.request.tier {
            Tier::Selective => self.selective(pending, &c)?,
            Tier::Unlinkable => self.unlinkable(pending, &c, proving_key)?,
        };
        let consent = &pending.consent;
        let entry = Disclosure {
            at: now,
            verifier: consent.verifier.clone(),
            verifier_name: consent.verifier_name.clone(),
            purpose: consent.purpose.clone(),
            credential: consent.credential.id,
            credential_type: consent.credential.credential_type.clone(),
            tier: consent.tier,
            disclosed: consent.disclosed.clone(),
            proven: consent.proven.iter().map(ToString::to_string).collect(),
            statements: consent.proven.clone(),
            request: pending.request.request.digest(),
            escrow: match &presentation.proof {
                PresentationProof::Unlinkable { proof } => proof.escrow.clone(),
                PresentationProof::Selective { .. } => None,
            },
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| HolderError::Damaged(e.to_string()))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        self.store
            .put(&format!("{HISTORY}{nanos:024}"), &bytes, &mut OsRng)?;
        Ok(presentation)
    }

    fn selective(&self, pending: &Pending, c: &Credential) -> Result<Presentation, HolderError> {
        let r = &pending.request.request;
        let e = &c.envelope;
        let disclosed = c
            .openings
            .iter()
            .filter(|o| r.disclose.contains(&o.name))
            .cloned()
            .collect();
        let predicate_proof = if r.predicates.is_empty() {
            None
        } else {
            let mut blindings = Vec::new();
            let mut parts = Vec::new();
            for p in &r.predicates {
                let (o, a) = c
                    .openings
                    .iter()
                    .zip(&e.attributes)
                    .find(|(o, _)| o.name == p.attribute)
                    .ok_or_else(|| HolderError::Unsatisfied(format!("it has no `{}`", p.attribute)))?;
                let (AttributeCommitment::Pedersen(commitment), AttributeValue::Integer(value)) =
                    (&a.commitment, &o.value)
                else {
                    return Err(HolderError::Unsatisfied(format!(
                        "`{}` is not a number",
                        p.attribute
                    )));
                };
                blindings.push(zk::pedersen::Blinding::from_bytes(&o.randomness)?);
                parts.push((p, *commitment, *value));
            }
            let witnesses: Vec<PredicateWitness<'_>> = parts
                .iter()
                .zip(&blindings)
                .map(|((p, commitment, value), blinding)| PredicateWitness {
                    predicate: p,
                    commitment: *commitment,
                    value: *value,
                    blinding,
                })
                .collect();
            Some(zk::predicates::prove_predicates(
                &ProofBinding {
                    request: r.digest(),
                    envelope: e.digest(),
                },
                &witnesses,
                &mut OsRng,
            )?)
        };
        let disclosure = SelectiveDisclosure {
            envelope: e.clone(),
            disclosed,
            predicate_proof,
            batch_root: c.issuance.batch_root,
            inclusion: c.issuance.inclusion.clone(),
        };
        Ok(Presentation::selective(
            pending.request.clone(),
            disclosure,
            &self.key,
            vec![pending.proof.clone()],
        ))
    }

    fn unlinkable(
        &self,
        pending: &Pending,
        c: &Credential,
        proving_key: Option<&ProvingKey>,
    ) -> Result<Presentation, HolderError> {
        let r = &pending.request.request;
        let e = &c.envelope;
        let facts = &pending.facts;
        let pk = proving_key.ok_or(HolderError::ProvingKeyNeeded)?;
        if let Some(shape) = pending.shape
            && shape != pk.shape()
        {
            return Err(HolderError::Unsatisfied(format!(
                "this answer needs the proving key of {}; the one given is {}'s",
                shape.id(),
                pk.shape().id()
            )));
        }
        let u = c.issuance.unlinkable.as_ref().ok_or_else(|| {
            HolderError::Unsatisfied("this credential was issued without the unlinkable tier".into())
        })?;
        let schema = plan::resolve_schema(facts, &e.schema_id)?;
        let schema = &*schema;
        let vk_rec: VerifyingKeyRecord = facts
            .get(
                &state_keys::verifying_key(&pk.shape().id(), zk::unlinkable::KEY_VERSION),
                "the verifying key",
            )?
            .ok_or_else(|| {
                HolderError::Unsatisfied(format!("no verifying key for {} is registered", pk.shape().id()))
            })?;
        if plan::key_retired(facts, &vk_rec.circuit, vk_rec.version)? {
            return Err(HolderError::Unsatisfied(format!(
                "the circuit key {} version {} is retired by governance; no answer can be made under it",
                vk_rec.circuit, vk_rec.version
            )));
        }
        let vk = zk::unlinkable::VerifyingKey::from_bytes(&vk_rec.circuit, vk_rec.version, &vk_rec.key)?;
        if !pk.matches(&vk) {
            return Err(HolderError::Unsatisfied(
                "the proving key is not the one whose verifying key governance registered".into(),
            ));
        }
        let verifier: VerifierRecord = facts
            .get(&state_keys::verifier(&r.verifier), "the verifier")?
            .ok_or_else(|| HolderError::OutOfScope(vec!["the verifier is not registered".into()]))?;
        let anchor: AnchorRecord = facts
            .get(
                &state_keys::anchor(&e.issuer, &c.issuance.batch_root),
                "the anchor",
            )?
            .ok_or_else(|| HolderError::NotAnchored("the batch is not anchored".into()))?;
        let root = anchor
            .poseidon_root
            .ok_or_else(|| HolderError::NotAnchored("the batch has no Poseidon root".into()))?;
        let tree = pending
            .revocation
            .as_ref()
            .ok_or_else(|| damaged("the revocation tree was not read for this request"))?;
        let width = pk.shape().attributes;
        let data = leaf_data(schema, e, &c.openings, width);
        let now = zk::unlinkable::circuit_time(r.created_at).ok_or_else(|| {
            HolderError::Unsatisfied("the request's time is outside what the circuit can take".into())
        })?;
        let credential_path = unlinkable_path(u).ok_or_else(|| damaged("the Poseidon path"))?;
        let revocation_path = tree.path(e.status.index);
        let statement = UnlinkableStatement {
            issuer_root: root,
            revocation_root: tree.root_hash(),
            binding: data.binding,
            now,
            predicates: tier::circuit_predicates(schema, &r.predicates).map_err(HolderError::Unsatisfied)?,
            scope: verifier.nullifier_domain(),
            request: r.digest(),
        };
        let witness = UnlinkableWitness {
            leaf: &data,
            salt: u.salt,
            secret: &self.secret,
            credential_path: &credential_path,
            revocation_path: &revocation_path,
        };
        // The proof is checked against the ledger's verifying key before it leaves: a proving
        // key whose query or delta elements were altered (only its embedded key is compared
        // above) makes proofs that fail, or worse; it is refused here (finding 25).
        let (proof, nullifier, escrow) = match &pending.consent.escrow {
            None => {
                let (proof, nullifier) =
                    zk::unlinkable::prove_unlinkable(pk, &statement, &witness, &mut OsRng)?;
                zk::unlinkable::verify_unlinkable(&vk, &statement, &nullifier, &proof)?;
                (proof, nullifier, None)
            }
            Some(consent) => {
                let council = plan::council_key(facts, &consent.council).map_err(HolderError::Unsatisfied)?;
                let handle_attribute = tier::handle_attribute(schema).ok_or_else(|| {
                    HolderError::Unsatisfied(format!("{} names no identity handle", schema.id()))
                })?;
                let (proof, nullifier, ciphertext) = zk::unlinkable::prove_escrowed(
                    pk,
                    &statement,
                    handle_attribute,
                    &council,
                    &witness,
                    &mut OsRng,
                )?;
                let escrow = zk::unlinkable::EscrowStatement {
                    handle_attribute,
                    council,
                    ciphertext,
                };
                zk::unlinkable::verify_escrowed(&vk, &statement, &escrow, &nullifier, &proof)?;
                let answer = schemas::presentation::EscrowAnswer {
                    council: consent.council.clone(),
                    ciphertext: ciphertext.to_bytes().to_vec(),
                };
                (proof, nullifier, Some(answer))
            }
        };
        // The answer carries only what links to nothing personal: the verifier's record, the
        // issuer's, the batch anchor, the revocation root, the verifying key and the schema.
        let proof_carried = pending.proof.clone();
        Ok(Presentation::new(
            pending.request.clone(),
            PresentationProof::Unlinkable {
                proof: UnlinkableProof {
                    circuit: pk.shape().id(),
                    circuit_version: vk.version(),
                    issuer: e.issuer.clone(),
                    poseidon_root: root,
                    revocation_root: tree.root_hash(),
                    nullifier,
                    proof: proof.to_vec(),
                    escrow,
                },
            },
            vec![proof_carried],
        ))
    }

    /// The opening proposals on the ledger that name an answer this wallet gave with escrow,
    /// approved or not (read with proofs; the ledger indexes proposals by ciphertext).
    pub async fn openings(&self, ledger: &impl ReadLedger) -> Result<Vec<OpeningSeen>, HolderError> {
        let escrowed: Vec<(Disclosure, Vec<u8>)> = self
            .history()?
            .into_iter()
            .filter_map(|d| {
                let ct = d.escrow.as_ref()?.ciphertext.clone();
                Some((d, ct))
            })
            .collect();
        let mut out = Vec::new();
        for chunk in escrowed.chunks(ledger_api::MAX_PROOF_KEYS) {
            let keys: Vec<Vec<u8>> = chunk
                .iter()
                .map(|(_, ct)| state_keys::openings_of(&schemas::hash::sm3(ct)))
                .collect();
            let (_, facts) = ledger.read(keys.clone()).await?;
            for ((d, ct), key) in chunk.iter().zip(&keys) {
                let proposals: Vec<Hash> = facts.get(key, "the openings of an answer")?.unwrap_or_default();
                for batch in proposals.chunks(ledger_api::MAX_PROOF_KEYS / 2) {
                    let keys: Vec<Vec<u8>> = batch
                        .iter()
                        .flat_map(|h| [state_keys::proposal(h), state_keys::opening(h)])
                        .collect();
                    let (_, facts) = ledger.read(keys).await?;
                    for h in batch {
                        let Some(p): Option<schemas::ledger::ProposalRecord> =
                            facts.get(&state_keys::proposal(h), "an opening proposal")?
                        else {
                            continue;
                        };
                        let schemas::ledger::TxPayload::ProposeOpening { opening } = &p.tx.tx.payload else {
                            continue;
                        };
                        if opening.ciphertext != *ct {
                            continue;
                        }
                        let record: Option<schemas::ledger::OpeningRecord> =
                            facts.get(&state_keys::opening(h), "an opening")?;
                        out.push(OpeningSeen {
                            disclosure: d.clone(),
                            proposal: *h,
                            proposer: p.tx.tx.sender.clone(),
                            legal_basis: opening.legal_basis.clone(),
                            approvals: p.approvals.len(),
                            approved: record.is_some(),
                            shares: record.as_ref().map_or(0, |r| r.shares.len()),
                            opened: record.as_ref().is_some_and(|r| r.handle.is_some()),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The disclosure history, newest first.
    pub fn history(&self) -> Result<Vec<Disclosure>, HolderError> {
        let mut out = Vec::new();
        for name in self.store.names(HISTORY)?.into_iter().rev() {
            let bytes = self.store.get(&name)?.ok_or_else(|| damaged(&name))?;
            out.push(serde_json::from_slice(&bytes).map_err(|_| damaged(&name))?);
        }
        Ok(out)
    }
}

fn unlinkable_path(u: &schemas::credential::UnlinkableIssuance) -> Option<MerklePath> {
    MerklePath::from_hashes(u.index, &u.siblings, zk::tree::CREDENTIAL_TREE_DEPTH)
}

fn value_text(schema: Option<&CredentialSchema>, name: &str, v: &AttributeValue) -> String {
    match v {
        AttributeValue::Text(s) => s.clone(),
        AttributeValue::Integer(x) => tier::display_value(schema, name, *x),
    }
}

/// How many times the holder reads a list's revoked indexes before giving up on a node whose
/// indexes never rebuild the proven root.
const REVOCATION_READS: usize = 3;

/// Reads `keys` (which include the list's revocation root) under one certificate, then the
/// list's revoked indexes from the same node, and accepts them only if they rebuild the proven
/// root. The indexes are not proven themselves: the Poseidon root is what binds them. A
/// revocation committed between the two reads makes them disagree; they are read again.
async fn read_with_revocation(
    ledger: &impl ReadLedger,
    keys: Vec<Vec<u8>>,
    issuer: &Did,
    list: u32,
) -> Result<(LedgerProof, Facts, RevocationTree), HolderError> {
    for _ in 0..REVOCATION_READS {
        let (proof, facts) = ledger.read(keys.clone()).await?;
        let root: Option<RevocationRoot> =
            facts.get(&state_keys::revoked(issuer, list), "the revocation root")?;
        let Some(root) = root.filter(|r| r.count > 0) else {
            return Ok((proof, facts, RevocationTree::new()));
        };
        let served = ledger.revoked_ids(issuer, list).await?;
        if let Some(tree) = revocation_tree(&root, served) {
            return Ok((proof, facts, tree));
        }
    }
    Err(HolderError::NotAnchored(format!(
        "the node's revoked indexes for list {list} did not rebuild the ledger's revocation root in {REVOCATION_READS} reads; it may be serving a wrong list: use another node"
    )))
}

/// The revocation tree of `ids` if they are the list `root` proves: as many as it counts,
/// ascending and unique, and rebuilding its root. What cannot be the list is refused before any
/// hashing, so a node cannot make a holder hash more than the list's bound.
fn revocation_tree(root: &RevocationRoot, ids: Vec<u32>) -> Option<RevocationTree> {
    if ids.len() != root.count as usize
        || ids.len() > schemas::limits::MAX_REVOKED_PER_LIST
        || ids.windows(2).any(|w| w[0] >= w[1])
    {
        return None;
    }
    let tree = RevocationTree::from_revoked(ids);
    (tree.root_hash() == root.root).then_some(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_of(ids: &[u32]) -> RevocationRoot {
        RevocationRoot {
            issuer: Did::from_public_key(SecretKey::from_bytes(&[7; 32]).expect("key").public_key()),
            list_id: 0,
            count: ids.len() as u32,
            root: RevocationTree::from_revoked(ids.iter().copied()).root_hash(),
        }
    }

    /// A node serves the revoked indexes unproven: only the list the proven root describes is
    /// accepted; one hiding a revocation, adding one, or repeating one to fake the count is not.
    #[test]
    fn only_the_revoked_indexes_that_rebuild_the_proven_root_are_accepted() {
        let root = root_of(&[3, 40, 131_072]);
        let tree = revocation_tree(&root, vec![3, 40, 131_072]).expect("the list itself");
        assert!(tree.is_revoked(40));
        for hostile in [
            vec![3, 131_072],
            vec![3, 40, 41, 131_072],
            vec![3, 41, 131_072],
            vec![3, 3, 131_072],
            vec![40, 3, 131_072],
        ] {
            assert!(revocation_tree(&root, hostile.clone()).is_none(), "{hostile:?}");
        }
        assert!(revocation_tree(&root_of(&[]), vec![]).is_some());
    }
}

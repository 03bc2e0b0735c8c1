//! The ledger state machine: what each transaction does to the authenticated state.
//!
//! [`execute`] applies a block's transactions on top of the committed state and returns the
//! writes, the receipts and the new state root, without writing anything: the node calls it to
//! answer consensus's `Execute` (a speculative root) and commits the same result when the block
//! commits.
//!
//! Invariants:
//! - deterministic: the outcome depends only on the committed state and the transactions (no
//!   clock, no randomness, no iteration over hash maps);
//! - signatures were verified by consensus before a transaction reaches a block (each once per
//!   replica); here only *who* signed is checked (public keys compared, never re-verified);
//! - a rejected transaction changes nothing but its receipt, whose reason the submitter reads;
//! - a transaction already in the chain (a receipt exists) is a no-op: consensus may order a
//!   repeat that a lagging replica did not know was committed;
//! - every list a transaction brings is bounded ([`MAX_REVOKE_PER_TX`], …).

use schemas::codec::{Canonical, decode, encode};
use schemas::credential_schema::CredentialSchema;
use schemas::did::Did;
use schemas::hash::{Hash, sm3};
use schemas::ledger::{
    AccountRecord, AnchorRecord, BlockBody, BlockHeader, Genesis, Governance, Height, IssuerRecord,
    IssuerStatus, ProposalRecord, RevokedIds, STATUS_CHUNK_BITS, SchemaRecord, SignedTransaction,
    StatusListChunk, TxOutcome, TxPayload, TxReceipt, ValidatorSet, VerifierRecord, VerifyingKeyRecord,
    state_keys,
};
use schemas::sm2::PublicKey;
use schemas::state::{StateError, StateTree, store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// Most status indexes one transaction revokes.
pub const MAX_REVOKE_PER_TX: usize = 4_096;
/// Status indexes per list (2^24: 128 chunks).
pub const MAX_STATUS_INDEX: u32 = 1 << 24;
/// Most characters in a name, reason or purpose.
pub const MAX_TEXT: usize = 256;
/// Most entries in an officer list, type list or scope.
pub const MAX_LIST: usize = 64;
/// Most bytes of a published schema's JSON.
pub const MAX_SCHEMA_JSON: usize = 64 * 1024;
/// Most bytes of a verifying key.
pub const MAX_VERIFYING_KEY: usize = 16 * 1024;

const _: () = assert!(MAX_STATUS_INDEX.is_multiple_of(STATUS_CHUNK_BITS));

/// One state write: the new value (`None` deletes).
pub type Write = Option<Vec<u8>>;

/// State writes of one block: key → new value (`None` deletes).
pub type Updates = BTreeMap<Vec<u8>, Write>;

/// The result of executing a block.
pub struct Execution {
    /// Receipts in block order (transactions already in the chain have none).
    pub receipts: Vec<(Hash, TxReceipt)>,
    /// The state root after the block.
    pub root: Hash,
    /// The tree nodes to write (none when nothing changed).
    pub tree: Option<store::TreeUpdateBatch>,
    /// Revocation trees changed by the block, to cache once it commits.
    revocation: Vec<((Did, u32), zk::tree::RevocationTree)>,
}

/// Keeps each issuer list's Poseidon revocation tree in memory, so a revocation costs one
/// path of hashes instead of rebuilding the tree; rebuilt from the ids on first use.
#[derive(Clone, Default)]
pub struct RevocationCache(Arc<Mutex<HashMap<(Did, u32), zk::tree::RevocationTree>>>);

impl RevocationCache {
    fn get(&self, key: &(Did, u32), ids: &[u32]) -> zk::tree::RevocationTree {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.clone())
            .or_insert_with(|| zk::tree::RevocationTree::from_revoked(ids.iter().copied()))
            .clone()
    }

    /// Keeps the trees of a committed block.
    pub fn commit(&self, execution: &mut Execution) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (k, t) in execution.revocation.drain(..) {
            map.insert(k, t);
        }
    }
}

/// Reads the committed state at a version.
struct View<'a, R> {
    reader: &'a R,
    version: Option<u64>,
    overlay: Updates,
    /// What each write of the current transaction replaced in the overlay (`None`: the key was
    /// not in it), so a rejected transaction is undone without copying the overlay.
    journal: Vec<(Vec<u8>, Option<Write>)>,
}

impl<R: store::TreeReader> View<'_, R> {
    fn raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(v) = self.overlay.get(key) {
            return Ok(v.clone());
        }
        let Some(version) = self.version else {
            return Ok(None);
        };
        self.reader
            .get_value_option(version, schemas::state::state_key_hash(key))
            .map_err(|e| StateError::Store {
                reason: e.to_string(),
            })
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StateError> {
        match self.raw(key)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).map_err(|e| StateError::Store {
                reason: format!("undecodable state value at {}: {e}", String::from_utf8_lossy(key)),
            }),
        }
    }

    fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        let previous = self.overlay.insert(key.clone(), Some(encode(value)));
        self.journal.push((key, previous));
    }

    /// Undoes the writes journaled since the last [`View::keep`].
    fn undo(&mut self) {
        while let Some((key, previous)) = self.journal.pop() {
            match previous {
                Some(v) => self.overlay.insert(key, v),
                None => self.overlay.remove(&key),
            };
        }
    }

    /// Keeps the journaled writes.
    fn keep(&mut self) {
        self.journal.clear();
    }
}

/// A transaction's rejection reason.
type Rejection = String;

/// The genesis state's writes.
pub fn genesis_updates(genesis: &Genesis) -> Updates {
    let mut u = Updates::new();
    u.insert(state_keys::GOVERNANCE.to_vec(), Some(encode(&genesis.governance)));
    u.insert(state_keys::VALIDATORS.to_vec(), Some(encode(&genesis.validators)));
    for s in &genesis.schemas {
        u.insert(state_keys::schema(&s.id), Some(encode(s)));
    }
    u
}

/// The genesis state as version 0 of the tree in `reader` (an empty store).
pub fn execute_genesis<R: store::TreeReader>(reader: &R, updates: Updates) -> Result<Execution, StateError> {
    let (root, batch) = StateTree::new(reader).update(0, updates)?;
    Ok(Execution {
        receipts: vec![],
        root,
        tree: Some(batch),
        revocation: vec![],
    })
}

/// The genesis header for a genesis whose state root is `state_root`.
pub fn genesis_header(genesis: &Genesis, state_root: Hash) -> BlockHeader {
    BlockHeader {
        chain_id: genesis.chain_id.clone(),
        height: Height(0),
        prev_hash: Hash::ZERO,
        tx_root: BlockBody { transactions: vec![] }.tx_root(),
        state_root,
        validator_set_hash: genesis.validators.digest(),
        timestamp_ms: genesis.timestamp_ms,
        view: 0,
    }
}

/// Checks a genesis: bindings, keys, policies, schemas.
pub fn validate_genesis(g: &Genesis) -> Result<(), String> {
    if g.chain_id.is_empty() || g.chain_id.len() > 64 {
        return Err("chain id must be 1 to 64 characters".into());
    }
    let n = g.validators.len();
    if n == 0 || n > schemas::ledger::MAX_VALIDATORS {
        return Err(format!(
            "{n} validators; a consortium needs 1 to {}",
            schemas::ledger::MAX_VALIDATORS
        ));
    }
    let mut peers = BTreeSet::new();
    for (i, v) in g.validators.validators.iter().enumerate() {
        v.verify_binding()
            .map_err(|e| format!("validator {i}: its peer id is not signed by its key: {e}"))?;
        if !peers.insert(v.peer_id.clone()) {
            return Err(format!("validator {i}: peer id {} appears twice", v.peer_id));
        }
    }
    for o in &g.observers {
        o.verify_binding()
            .map_err(|e| format!("observer {:?}: its peer id is not signed by its key: {e}", o.name))?;
        if !peers.insert(o.peer_id.clone()) {
            return Err(format!(
                "observer {:?}: peer id {} appears twice",
                o.name, o.peer_id
            ));
        }
    }
    let gov = &g.governance;
    for m in &gov.members {
        if Did::from_public_key(&m.public_key) != m.did {
            return Err(format!(
                "governance member {:?}: DID does not match its key",
                m.name
            ));
        }
    }
    let needed = usize::from(gov.policies.approvals_needed);
    if needed == 0 || needed > gov.members.len() {
        return Err(format!(
            "approvalsNeeded is {needed} with {} governance members; it must be between 1 and the member count",
            gov.members.len()
        ));
    }
    for s in &g.schemas {
        check_schema(s)?;
    }
    Ok(())
}

fn check_schema(s: &SchemaRecord) -> Result<(), Rejection> {
    if s.json.len() > MAX_SCHEMA_JSON {
        return Err(format!(
            "schema JSON is {} bytes; the limit is {MAX_SCHEMA_JSON}",
            s.json.len()
        ));
    }
    if sm3(s.json.as_bytes()) != s.schema_hash {
        return Err("schemaHash is not the SM3 hash of the schema JSON".into());
    }
    let parsed = CredentialSchema::from_json(&s.json).map_err(|e| format!("schema JSON: {e}"))?;
    if parsed.id() != s.id || parsed.credential_type() != s.credential_type {
        return Err(format!(
            "record says id {:?} type {:?} but the JSON says id {:?} type {:?}",
            s.id,
            s.credential_type,
            parsed.id(),
            parsed.credential_type()
        ));
    }
    Ok(())
}

/// Executes `txs` as block `height` on the state at `version` (`None`: empty state).
pub fn execute<R: store::TreeReader>(
    reader: &R,
    version: Option<u64>,
    parent_root: Hash,
    height: Height,
    txs: &[SignedTransaction],
    revocations: &RevocationCache,
) -> Result<Execution, StateError> {
    let mut view = View {
        reader,
        version,
        overlay: Updates::new(),
        journal: Vec::new(),
    };
    let mut receipts = Vec::with_capacity(txs.len());
    let mut revocation = BTreeMap::new();
    for (index, tx) in txs.iter().enumerate() {
        let digest = tx.digest();
        let key = state_keys::receipt(&digest);
        if view.raw(&key)?.is_some() {
            continue;
        }
        view.keep();
        let mut ctx = Ctx {
            view: &mut view,
            revocation: &mut revocation,
            revocations,
        };
        let outcome = match ctx.apply(tx, &digest)? {
            Ok(()) => TxOutcome::Applied,
            Err(reason) => {
                view.undo();
                TxOutcome::Rejected { reason }
            }
        };
        let receipt = TxReceipt {
            height,
            index: index as u32,
            outcome,
        };
        view.put(key, &receipt);
        receipts.push((digest, receipt));
    }
    let updates = view.overlay;
    let (root, tree) = if updates.is_empty() {
        (parent_root, None)
    } else {
        let (root, batch) = StateTree::new(reader).update(height.0, updates)?;
        (root, Some(batch))
    };
    Ok(Execution {
        receipts,
        root,
        tree,
        revocation: revocation.into_iter().collect(),
    })
}

/// Checks a transaction against the committed state without executing it (the API's early
/// answer; the final word is the receipt).
pub fn precheck<R: store::TreeReader>(
    reader: &R,
    version: Option<u64>,
    tx: &SignedTransaction,
) -> Result<Result<(), Rejection>, StateError> {
    let mut view = View {
        reader,
        version,
        overlay: Updates::new(),
        journal: Vec::new(),
    };
    let mut revocation = BTreeMap::new();
    let cache = RevocationCache::default();
    let mut ctx = Ctx {
        view: &mut view,
        revocation: &mut revocation,
        revocations: &cache,
    };
    // Revocation-root work is skipped: only the rules matter here.
    ctx.apply_rules(tx, &tx.tx.digest(), false)
}

struct Ctx<'v, 'a, R> {
    view: &'v mut View<'a, R>,
    revocation: &'v mut BTreeMap<(Did, u32), zk::tree::RevocationTree>,
    revocations: &'v RevocationCache,
}

fn signed_by(tx: &SignedTransaction, key: &PublicKey) -> bool {
    tx.signatures.iter().any(|s| &s.public_key == key)
}

/// A registration's identity: its DID is the sender, derives from its key, and the key signed.
fn new_identity(tx: &SignedTransaction, did: &Did, key: &PublicKey, what: &str) -> Result<(), Rejection> {
    if did != &tx.tx.sender || &Did::from_public_key(key) != did {
        return Err(format!(
            "the {what}'s DID must be the sender and derive from its public key"
        ));
    }
    if !signed_by(tx, key) {
        return Err(format!("a registration must be signed by the {what}'s key"));
    }
    Ok(())
}

fn text(what: &str, s: &str) -> Result<(), Rejection> {
    if s.trim().is_empty() || s.chars().count() > MAX_TEXT {
        return Err(format!("{what} must be 1 to {MAX_TEXT} characters"));
    }
    Ok(())
}

fn list<T>(what: &str, l: &[T]) -> Result<(), Rejection> {
    if l.len() > MAX_LIST {
        return Err(format!("{what} has {} entries; the limit is {MAX_LIST}", l.len()));
    }
    Ok(())
}

impl<R: store::TreeReader> Ctx<'_, '_, R> {
    fn apply(&mut self, tx: &SignedTransaction, digest: &Hash) -> Result<Result<(), Rejection>, StateError> {
        self.apply_rules(tx, digest, true)
    }

    fn governance(&self) -> Result<Governance, StateError> {
        self.view
            .get(state_keys::GOVERNANCE)?
            .ok_or_else(|| StateError::Store {
                reason: "the state has no governance record (not initialised from a genesis)".into(),
            })
    }

    fn issuer(&self, did: &Did) -> Result<Result<IssuerRecord, Rejection>, StateError> {
        Ok(self
            .view
            .get(&state_keys::issuer(did))?
            .ok_or_else(|| format!("issuer {did} is not registered")))
    }

    /// The governance member that sent and signed `tx`.
    fn member(&self, tx: &SignedTransaction) -> Result<Result<(), Rejection>, StateError> {
        let gov = self.governance()?;
        Ok(match gov.members.iter().find(|m| m.did == tx.tx.sender) {
            None => Err(format!("{} is not a governance member", tx.tx.sender)),
            Some(m) if !signed_by(tx, &m.public_key) => {
                Err("not signed by the governance member's key".into())
            }
            Some(_) => Ok(()),
        })
    }

    fn apply_rules(
        &mut self,
        tx: &SignedTransaction,
        digest: &Hash,
        full: bool,
    ) -> Result<Result<(), Rejection>, StateError> {
        let sender = tx.tx.sender.clone();
        let account_key = state_keys::account(&sender);
        let mut account: AccountRecord = self.view.get(&account_key)?.unwrap_or_default();
        if let Err(e) = account.check(tx.tx.nonce) {
            return Ok(Err(e));
        }
        let result = self.payload(tx, digest, full)?;
        if result.is_ok() {
            account.use_nonce(tx.tx.nonce);
            self.view.put(account_key, &account);
        }
        Ok(result)
    }

    fn payload(
        &mut self,
        tx: &SignedTransaction,
        digest: &Hash,
        full: bool,
    ) -> Result<Result<(), Rejection>, StateError> {
        macro_rules! check {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(reason) => return Ok(Err(reason)),
                }
            };
        }
        let sender = &tx.tx.sender;
        match &tx.tx.payload {
            TxPayload::RegisterIssuer { record } => {
                check!(self.check_new_issuer(tx, record)?);
                check!(self.propose(tx, digest, false)?);
            }
            TxPayload::RegisterVerifier { record } => {
                check!(self.check_new_verifier(tx, record)?);
                check!(self.propose(tx, digest, false)?);
            }
            TxPayload::SuspendIssuer { issuer, reason } => {
                check!(self.member(tx)?);
                check!(text("reason", reason));
                let rec = check!(self.issuer(issuer)?);
                if rec.status == IssuerStatus::Suspended {
                    return Ok(Err(format!("issuer {issuer} is already suspended")));
                }
                check!(self.propose(tx, digest, true)?);
            }
            TxPayload::RegisterVerifyingKey { record } => {
                check!(self.member(tx)?);
                check!(check_verifying_key(record));
                check!(self.propose(tx, digest, true)?);
            }
            TxPayload::Approve { proposal } => {
                check!(self.member(tx)?);
                check!(self.approve(sender, proposal)?);
            }
            TxPayload::RotateIssuerKey { issuer, new_key } => {
                let mut rec = check!(self.issuer(issuer)?);
                if sender != issuer || !signed_by(tx, &rec.public_key) {
                    return Ok(Err(
                        "a key rotation must be sent by the issuer and signed by its current key".into(),
                    ));
                }
                if &rec.public_key == new_key {
                    return Ok(Err("the new key is the current key".into()));
                }
                rec.public_key = new_key.clone();
                self.view.put(state_keys::issuer(issuer), &rec);
            }
            TxPayload::PublishSchema { record } => {
                if &record.publisher != sender {
                    return Ok(Err("publisher must be the sender".into()));
                }
                let is_member = self.member(tx)?.is_ok();
                if !is_member {
                    let rec = check!(self.issuer(sender)?);
                    if rec.status != IssuerStatus::Active || !signed_by(tx, &rec.public_key) {
                        return Ok(Err(
                            "a schema is published by a governance member or an active issuer, signed by its key"
                                .into(),
                        ));
                    }
                }
                check!(check_schema(record));
                let key = state_keys::schema(&record.id);
                if self.view.raw(&key)?.is_some() {
                    return Ok(Err(format!(
                        "schema {} is already published; publish a new version id",
                        record.id
                    )));
                }
                self.view.put(key, record);
            }
            TxPayload::AnchorBatch { anchor } => check!(self.anchor(tx, anchor)?),
            TxPayload::UpdateStatusList {
                issuer,
                list_id,
                revoke,
            } => {
                check!(self.update_status(tx, issuer, *list_id, revoke, full)?)
            }
            TxPayload::ChangeValidatorSet { set } => check!(self.change_validators(tx, set)?),
            _ => return Ok(Err("unknown transaction kind for this ledger version".into())),
        }
        Ok(Ok(()))
    }

    fn check_new_issuer(
        &self,
        tx: &SignedTransaction,
        r: &IssuerRecord,
    ) -> Result<Result<(), Rejection>, StateError> {
        let gov = self.governance()?;
        let check = || -> Result<(), Rejection> {
            new_identity(tx, &r.did, &r.public_key, "issuer")?;
            text("name", &r.name)?;
            list("officers", &r.officers)?;
            list("allowedTypes", &r.allowed_types)?;
            let threshold = usize::from(r.threshold);
            if (r.officers.is_empty() && threshold != 1)
                || (!r.officers.is_empty() && !(1..=r.officers.len()).contains(&threshold))
            {
                return Err(format!(
                    "threshold {threshold} with {} officers: use 1 without officers, else 1 to the officer count",
                    r.officers.len()
                ));
            }
            if r.allowed_types.is_empty() {
                return Err("allowedTypes is empty".into());
            }
            if let Some(t) = r
                .allowed_types
                .iter()
                .find(|t| !gov.policies.credential_types.contains(t))
            {
                return Err(format!(
                    "credential type {t:?} is not one the consortium's policy allows ({})",
                    gov.policies.credential_types.join(", ")
                ));
            }
            if r.status != IssuerStatus::Active {
                return Err("a new issuer must be registered active".into());
            }
            Ok(())
        };
        if let Err(e) = check() {
            return Ok(Err(e));
        }
        if self.view.raw(&state_keys::issuer(&r.did))?.is_some() {
            return Ok(Err(format!("issuer {} is already registered", r.did)));
        }
        Ok(Ok(()))
    }

    fn check_new_verifier(
        &self,
        tx: &SignedTransaction,
        r: &VerifierRecord,
    ) -> Result<Result<(), Rejection>, StateError> {
        let gov = self.governance()?;
        let check = || -> Result<(), Rejection> {
            new_identity(tx, &r.did, &r.public_key, "verifier")?;
            text("name", &r.name)?;
            text("nullifierScope", &r.nullifier_scope)?;
            list("scope", &r.scope)?;
            list("purposes", &r.purposes)?;
            if r.scope.is_empty() || r.purposes.is_empty() {
                return Err("a verifier needs at least one scope item and one purpose".into());
            }
            for p in &r.purposes {
                text("purpose", p)?;
            }
            for item in &r.scope {
                if !gov.policies.credential_types.contains(&item.credential_type) {
                    return Err(format!(
                        "scope names unknown credential type {:?}",
                        item.credential_type
                    ));
                }
                list("disclose", &item.disclose)?;
                list("predicates", &item.predicates)?;
            }
            Ok(())
        };
        if let Err(e) = check() {
            return Ok(Err(e));
        }
        if self.view.raw(&state_keys::verifier(&r.did))?.is_some() {
            return Ok(Err(format!("verifier {} is already registered", r.did)));
        }
        Ok(Ok(()))
    }

    /// Records a proposal; a member's own proposal counts as its approval.
    fn propose(
        &mut self,
        tx: &SignedTransaction,
        digest: &Hash,
        by_member: bool,
    ) -> Result<Result<(), Rejection>, StateError> {
        let mut record = ProposalRecord {
            tx: tx.clone(),
            approvals: vec![],
            executed: false,
        };
        if by_member {
            record.approvals.push(tx.tx.sender.clone());
        }
        self.view.put(state_keys::proposal(digest), &record);
        if self.enough(&record)? {
            return self.enact(digest, record);
        }
        Ok(Ok(()))
    }

    fn enough(&self, p: &ProposalRecord) -> Result<bool, StateError> {
        Ok(p.approvals.len() >= usize::from(self.governance()?.policies.approvals_needed))
    }

    fn approve(&mut self, member: &Did, proposal: &Hash) -> Result<Result<(), Rejection>, StateError> {
        let key = state_keys::proposal(proposal);
        let Some(mut p): Option<ProposalRecord> = self.view.get(&key)? else {
            return Ok(Err(format!("no proposal {proposal}")));
        };
        if p.executed {
            return Ok(Err(format!("proposal {proposal} has already taken effect")));
        }
        if p.approvals.contains(member) {
            return Ok(Err(format!("{member} already approved proposal {proposal}")));
        }
        p.approvals.push(member.clone());
        p.approvals.sort();
        self.view.put(key, &p);
        if self.enough(&p)? {
            return self.enact(proposal, p);
        }
        Ok(Ok(()))
    }

    /// Carries out an approved proposal, re-checking what may have changed since.
    fn enact(&mut self, digest: &Hash, mut p: ProposalRecord) -> Result<Result<(), Rejection>, StateError> {
        match &p.tx.tx.payload {
            TxPayload::RegisterIssuer { record } => {
                let key = state_keys::issuer(&record.did);
                if self.view.raw(&key)?.is_some() {
                    return Ok(Err(format!("issuer {} was registered meanwhile", record.did)));
                }
                self.view.put(key, record);
            }
            TxPayload::RegisterVerifier { record } => {
                let key = state_keys::verifier(&record.did);
                if self.view.raw(&key)?.is_some() {
                    return Ok(Err(format!("verifier {} was registered meanwhile", record.did)));
                }
                self.view.put(key, record);
            }
            TxPayload::SuspendIssuer { issuer, .. } => {
                let mut rec = match self.issuer(issuer)? {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                rec.status = IssuerStatus::Suspended;
                self.view.put(state_keys::issuer(issuer), &rec);
            }
            TxPayload::RegisterVerifyingKey { record } => {
                self.view
                    .put(state_keys::verifying_key(&record.circuit, record.version), record);
            }
            _ => return Ok(Err("this transaction kind is not a proposal".into())),
        }
        p.executed = true;
        self.view.put(state_keys::proposal(digest), &p);
        Ok(Ok(()))
    }

    fn anchor(
        &mut self,
        tx: &SignedTransaction,
        a: &AnchorRecord,
    ) -> Result<Result<(), Rejection>, StateError> {
        let rec = match self.issuer(&a.issuer)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        if a.issuer != tx.tx.sender {
            return Ok(Err("an anchor must be sent by its issuer".into()));
        }
        if rec.status != IssuerStatus::Active {
            return Ok(Err(format!(
                "issuer {} is suspended and may not anchor",
                a.issuer
            )));
        }
        if !signed_by(tx, &rec.public_key) {
            return Ok(Err("not signed by the issuer's current key".into()));
        }
        if !rec.officers.is_empty() {
            let officers = rec
                .officers
                .iter()
                .filter(|o| signed_by(tx, o))
                .collect::<BTreeSet<_>>()
                .len();
            if officers < usize::from(rec.threshold) {
                return Ok(Err(format!(
                    "{officers} officer signatures; the issuer's policy needs {} of {}",
                    rec.threshold,
                    rec.officers.len()
                )));
            }
        }
        if !rec.allowed_types.contains(&a.credential_type) {
            return Ok(Err(format!(
                "issuer {} is not allowed to issue {:?} (allowed: {})",
                a.issuer,
                a.credential_type,
                rec.allowed_types.join(", ")
            )));
        }
        let schema: Option<SchemaRecord> = self.view.get(&state_keys::schema(&a.schema_id))?;
        match schema {
            None => return Ok(Err(format!("schema {} is not published", a.schema_id))),
            Some(s) if s.credential_type != a.credential_type => {
                return Ok(Err(format!(
                    "schema {} defines {:?}, not {:?}",
                    a.schema_id, s.credential_type, a.credential_type
                )));
            }
            Some(_) => {}
        }
        if a.count == 0 {
            return Ok(Err("an anchored batch has at least one credential".into()));
        }
        let key = state_keys::anchor(&a.issuer, &a.root);
        if self.view.raw(&key)?.is_some() {
            return Ok(Err(format!("batch root {} is already anchored", a.root)));
        }
        self.view.put(key, a);
        Ok(Ok(()))
    }

    fn update_status(
        &mut self,
        tx: &SignedTransaction,
        issuer: &Did,
        list_id: u32,
        revoke: &[u32],
        full: bool,
    ) -> Result<Result<(), Rejection>, StateError> {
        let rec = match self.issuer(issuer)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        if issuer != &tx.tx.sender || !signed_by(tx, &rec.public_key) {
            return Ok(Err(
                "a status update must be sent by the issuer and signed by its current key".into(),
            ));
        }
        if revoke.is_empty() || revoke.len() > MAX_REVOKE_PER_TX {
            return Ok(Err(format!(
                "revoke 1 to {MAX_REVOKE_PER_TX} indexes per transaction"
            )));
        }
        if let Some(i) = revoke.iter().find(|i| **i >= MAX_STATUS_INDEX) {
            return Ok(Err(format!(
                "status index {i} is beyond the list size {MAX_STATUS_INDEX}"
            )));
        }
        let mut chunks: BTreeMap<u32, StatusListChunk> = BTreeMap::new();
        for i in revoke {
            let c = i / STATUS_CHUNK_BITS;
            if let std::collections::btree_map::Entry::Vacant(e) = chunks.entry(c) {
                let existing = self.view.get(&state_keys::status_chunk(issuer, list_id, c))?;
                e.insert(existing.unwrap_or_else(|| StatusListChunk {
                    issuer: issuer.clone(),
                    list_id,
                    chunk: c,
                    bits: vec![0; (STATUS_CHUNK_BITS / 8) as usize],
                }));
            }
            let bit = i % STATUS_CHUNK_BITS;
            if let Some(chunk) = chunks.get_mut(&c) {
                chunk.bits[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        for (c, chunk) in chunks {
            self.view
                .put(state_keys::status_chunk(issuer, list_id, c), &chunk);
        }
        let key = state_keys::revoked(issuer, list_id);
        let mut ids: RevokedIds = self.view.get(&key)?.unwrap_or_else(|| RevokedIds {
            issuer: issuer.clone(),
            list_id,
            ids: vec![],
            root: Hash(zk::poseidon::fr_to_bytes(&zk::tree::RevocationTree::new().root())),
        });
        let tree_key = (issuer.clone(), list_id);
        let mut tree = if !full {
            None
        } else if let Some(t) = self.revocation.get(&tree_key) {
            Some(t.clone())
        } else {
            Some(self.revocations.get(&tree_key, &ids.ids))
        };
        let mut set: BTreeSet<u32> = ids.ids.iter().copied().collect();
        for i in revoke {
            if set.insert(*i)
                && let Some(t) = tree.as_mut()
            {
                t.revoke(*i);
            }
        }
        ids.ids = set.into_iter().collect();
        if let Some(t) = tree {
            ids.root = Hash(zk::poseidon::fr_to_bytes(&t.root()));
            self.revocation.insert(tree_key, t);
        }
        self.view.put(key, &ids);
        Ok(Ok(()))
    }

    fn change_validators(
        &mut self,
        tx: &SignedTransaction,
        set: &ValidatorSet,
    ) -> Result<Result<(), Rejection>, StateError> {
        let current: ValidatorSet =
            self.view
                .get(state_keys::VALIDATORS)?
                .ok_or_else(|| StateError::Store {
                    reason: "the state has no validator set".into(),
                })?;
        if set.epoch != current.epoch + 1 {
            return Ok(Err(format!("the new set's epoch must be {}", current.epoch + 1)));
        }
        if set.is_empty() || set.len() > schemas::ledger::MAX_VALIDATORS {
            return Ok(Err("the new set must have 1 to 256 validators".into()));
        }
        for (i, v) in set.validators.iter().enumerate() {
            if v.verify_binding().is_err() {
                return Ok(Err(format!("validator {i}: peer id not signed by its key")));
            }
        }
        let signers = current
            .validators
            .iter()
            .filter(|v| signed_by(tx, &v.public_key))
            .count();
        if signers < current.quorum() {
            return Ok(Err(format!(
                "{signers} current validators signed; a set change needs {}",
                current.quorum()
            )));
        }
        // Consensus switches to the new set at the next checkpoint; the state records it now.
        self.view.put(state_keys::VALIDATORS.to_vec(), set);
        Ok(Ok(()))
    }
}

fn check_verifying_key(r: &VerifyingKeyRecord) -> Result<(), Rejection> {
    if r.key.len() > MAX_VERIFYING_KEY {
        return Err(format!(
            "verifying key is {} bytes; the limit is {MAX_VERIFYING_KEY}",
            r.key.len()
        ));
    }
    zk::unlinkable::VerifyingKey::from_bytes(&r.circuit, r.version, &r.key)
        .map(|_| ())
        .map_err(|e| format!("verifying key: {e}"))
}

#[cfg(test)]
mod tests;

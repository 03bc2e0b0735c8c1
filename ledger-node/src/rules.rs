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
//! - a rejected transaction changes nothing but its receipt, which stores a [`RejectCode`]
//!   (stable encoding), and its sender's count of rejections; the English detail goes to the
//!   API's submitter and is never hashed, so rewording a message never changes a state root;
//! - a sender gets at most [`schemas::limits::MAX_REJECTED_RECEIPTS`] rejected receipts since
//!   its last applied transaction; past that a rejection writes nothing, so a key nobody
//!   registered holds a bounded share of the state;
//! - a transaction already in the chain (a receipt exists) is a no-op: consensus may order a
//!   repeat that a lagging replica did not know was committed;
//! - every transaction passes [`schemas::limits::check_transaction`] (size, signatures sorted
//!   and unique, this chain's id, every string and list bounded) before any rule, as it did at
//!   the API and in consensus; a block that carries one that fails gets a rejected receipt;
//! - a transaction's identity is its unsigned body ([`SignedTransaction::id`]): receipts and
//!   dedup key on it, so re-signing, duplicating or reordering signatures never replays one.

use schemas::codec::{Canonical, decode, encode};
use schemas::credential_schema::CredentialSchema;
use schemas::did::Did;
use schemas::hash::{Hash, sm3};
use schemas::ledger::{
    AccountRecord, AnchorRecord, BlockBody, BlockHeader, Genesis, Governance, Height, IssuerRecord,
    IssuerStatus, KeyRetirement, ProposalRecord, RejectCode, RevocationRoot, STATUS_CHUNK_BITS,
    STATUS_CHUNKS_PER_LIST, SchemaRecord, SignedTransaction, StatusListChunk, TxOutcome, TxPayload,
    TxReceipt, ValidatorSet, VerifierRecord, VerifyingKeyRecord, state_keys,
};
use schemas::sm2::PublicKey;
use schemas::state::{StateError, StateTree, store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub use schemas::ledger::MAX_STATUS_INDEX;
pub use schemas::limits::{MAX_LIST, MAX_REVOKE_PER_TX, MAX_SCHEMA_JSON, MAX_TEXT, MAX_VERIFYING_KEY};

/// One state write: the new value (`None` deletes).
pub type Write = Option<Vec<u8>>;

/// State writes of one block: key → new value (`None` deletes).
pub type Updates = BTreeMap<Vec<u8>, Write>;

/// The result of executing a block.
pub struct Execution {
    /// Receipts in block order (transactions already in the chain have none).
    pub receipts: Vec<(Hash, TxReceipt)>,
    /// The detail of each rejection, for logs (receipts store only the code).
    pub rejections: Vec<(Hash, Rejection)>,
    /// The state root after the block.
    pub root: Hash,
    /// The tree nodes to write (none when nothing changed).
    pub tree: Option<store::TreeUpdateBatch>,
    /// The state version the tree nodes are written at: the one after `version` (none when
    /// nothing changed). Versions count state changes, not heights: jmt builds a version on the
    /// one before it, and a block that changes nothing (a heartbeat) writes none.
    pub version: Option<u64>,
    /// Revocation trees changed by the block, to cache once it commits.
    revocation: Vec<((Did, u32), zk::tree::RevocationTree)>,
}

/// Keeps each issuer list's Poseidon revocation tree in memory, so a revocation costs one
/// path of hashes instead of rebuilding the tree; rebuilt from the list's status chunks on
/// first use (after a restart). Rebuilding costs 32 Poseidon hashes per revoked index, on the
/// executing thread (bounded by `MAX_REVOKED_PER_LIST`).
#[derive(Clone, Default)]
pub struct RevocationCache(Arc<Mutex<HashMap<(Did, u32), zk::tree::RevocationTree>>>);

impl RevocationCache {
    /// The list's committed tree; on a miss, built from `ids` (the committed revoked indexes).
    fn get(
        &self,
        key: &(Did, u32),
        ids: impl FnOnce() -> Result<Vec<u32>, StateError>,
    ) -> Result<zk::tree::RevocationTree, StateError> {
        if let Some(t) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Ok(t.clone());
        }
        // Built outside the lock: a large list takes a while, and other lists need not wait.
        let tree = zk::tree::RevocationTree::from_revoked(ids()?);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.entry(key.clone()).or_insert(tree).clone())
    }

    /// Keeps the trees of a committed block.
    pub fn commit(&self, execution: &mut Execution) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (k, t) in execution.revocation.drain(..) {
            map.insert(k, t);
        }
    }
}

/// The state as a transaction sees it: the committed state at a version, with the writes of
/// this block journaled over it (undone when a transaction is rejected).
struct Overlay<'a, R> {
    reader: &'a R,
    version: Option<u64>,
    overlay: Updates,
    /// What each write of the current transaction replaced in the overlay (`None`: the key was
    /// not in it), so a rejected transaction is undone without copying the overlay.
    journal: Vec<(Vec<u8>, Option<Write>)>,
}

impl<R: store::TreeReader> Overlay<'_, R> {
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

    /// Undoes the writes journaled since the last [`Overlay::keep`].
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

/// Why a transaction was rejected: the code its receipt stores (and the state root hashes),
/// and a detail for the submitter that is shown, never stored or hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The stable code.
    pub code: RejectCode,
    /// What exactly was wrong and how to fix it.
    pub detail: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

trait Because {
    fn because(self, detail: impl Into<String>) -> Rejection;
}

impl Because for RejectCode {
    fn because(self, detail: impl Into<String>) -> Rejection {
        Rejection {
            code: self,
            detail: detail.into(),
        }
    }
}

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
        rejections: vec![],
        root,
        tree: Some(batch),
        version: Some(0),
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

fn check_schema(s: &SchemaRecord) -> Result<(), String> {
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

/// Executes `txs` as block `height` of chain `chain_id` on the state at `version` (`None`:
/// empty state).
pub fn execute<R: store::TreeReader>(
    reader: &R,
    version: Option<u64>,
    parent_root: Hash,
    (chain_id, height): (&str, Height),
    txs: &[SignedTransaction],
    revocations: &RevocationCache,
) -> Result<Execution, StateError> {
    let mut view = Overlay {
        reader,
        version,
        overlay: Updates::new(),
        journal: Vec::new(),
    };
    let mut receipts = Vec::with_capacity(txs.len());
    let mut rejections = Vec::new();
    let mut revocation = BTreeMap::new();
    for (index, tx) in txs.iter().enumerate() {
        let digest = tx.id();
        let key = state_keys::receipt(&digest);
        if view.raw(&key)?.is_some() {
            continue;
        }
        view.keep();
        let mut ctx = Ctx {
            view: &mut view,
            height: Some(height),
            revocation: &mut revocation,
            revocations,
        };
        let outcome = match ctx.apply(tx, &digest, chain_id)? {
            Ok(()) => TxOutcome::Applied,
            Err(rejection) => {
                view.undo();
                let code = rejection.code;
                rejections.push((digest, rejection));
                // What a key that never gets anything applied can write is bounded: a receipt
                // per rejection up to the limit, then none (the transaction stays a no-op; a
                // repeat of it is judged again and changes nothing).
                let account_key = state_keys::account(&tx.tx.sender);
                let mut account: AccountRecord = view.get(&account_key)?.unwrap_or_default();
                if account.rejected >= schemas::limits::MAX_REJECTED_RECEIPTS {
                    continue;
                }
                account.rejected += 1;
                view.put(account_key, &account);
                TxOutcome::Rejected { code }
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
    let (root, tree, written) = if updates.is_empty() {
        (parent_root, None, None)
    } else {
        // The next version after the state's, never the height: jmt builds version `v` on the
        // root of `v − 1`, and a block that changed nothing (a heartbeat) left no root at its
        // height, so building on it would start from an empty tree and drop every older key
        // from the state root and its proofs.
        let next = version.map_or(0, |v| v + 1);
        let (root, batch) = StateTree::new(reader).update(next, updates)?;
        (root, Some(batch), Some(next))
    };
    Ok(Execution {
        receipts,
        rejections,
        root,
        tree,
        version: written,
        revocation: revocation.into_iter().collect(),
    })
}

/// Checks a transaction against the committed state without executing it (the API's early
/// answer; the final word is the receipt).
pub fn precheck<R: store::TreeReader>(
    reader: &R,
    version: Option<u64>,
    chain_id: &str,
    tx: &SignedTransaction,
) -> Result<Result<(), Rejection>, StateError> {
    let mut view = Overlay {
        reader,
        version,
        overlay: Updates::new(),
        journal: Vec::new(),
    };
    let mut revocation = BTreeMap::new();
    let cache = RevocationCache::default();
    let mut ctx = Ctx {
        view: &mut view,
        height: None,
        revocation: &mut revocation,
        revocations: &cache,
    };
    // A transaction already in the chain would be a no-op: say so instead of re-judging it.
    if ctx.view.raw(&state_keys::receipt(&tx.id()))?.is_some() {
        return Ok(Err(RejectCode::AlreadyInChain.because(format!(
            "transaction {} is already in the chain; read its receipt",
            tx.id()
        ))));
    }
    // Revocation-root work is skipped: only the rules matter here.
    ctx.apply_rules(tx, &tx.id(), chain_id, false)
}

struct Ctx<'v, 'a, R> {
    view: &'v mut Overlay<'a, R>,
    /// The height being executed (`None` in a pre-check).
    height: Option<Height>,
    revocation: &'v mut BTreeMap<(Did, u32), zk::tree::RevocationTree>,
    revocations: &'v RevocationCache,
}

fn signed_by(tx: &SignedTransaction, key: &PublicKey) -> bool {
    tx.signatures.iter().any(|s| &s.public_key == key)
}

/// Whether `tx` carries what an issuer's act needs: the issuer's current key and, when it
/// named officers, `threshold` distinct officers. Anchoring, revoking and rotating the key all
/// need it, so a stolen issuer key alone can do none of them (security finding 10). An issuer
/// without officers acts with its key alone.
fn issuer_signed(tx: &SignedTransaction, rec: &IssuerRecord) -> Result<(), Rejection> {
    if !signed_by(tx, &rec.public_key) {
        return Err(RejectCode::NotAuthorised.because("not signed by the issuer's current key"));
    }
    if rec.officers.is_empty() {
        return Ok(());
    }
    let officers = rec
        .officers
        .iter()
        .filter(|o| signed_by(tx, o))
        .collect::<BTreeSet<_>>()
        .len();
    if officers < usize::from(rec.threshold) {
        return Err(RejectCode::OfficerQuorum.because(format!(
            "{officers} officer signatures; the issuer's policy needs {} of {}",
            rec.threshold,
            rec.officers.len()
        )));
    }
    Ok(())
}

/// A registration's identity: its DID is the sender, derives from its key, and the key signed.
fn new_identity(tx: &SignedTransaction, did: &Did, key: &PublicKey, what: &str) -> Result<(), Rejection> {
    if did != &tx.tx.sender || &Did::from_public_key(key) != did {
        return Err(RejectCode::NotAuthorised.because(format!(
            "the {what}'s DID must be the sender and derive from its public key"
        )));
    }
    if !signed_by(tx, key) {
        return Err(
            RejectCode::NotAuthorised.because(format!("a registration must be signed by the {what}'s key"))
        );
    }
    Ok(())
}

/// A text field that must say something (its length bound is [`schemas::limits`]'s).
/// Whether `id` is a plan id (a ceremony's, a council's): 1 to `max` characters of a-z, 0-9 and
/// '-'. The refusal names `what` and the rule.
fn plan_id(what: &str, id: &str, max: usize) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= max
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} id {id:?}: 1 to {max} characters of a-z, 0-9 and '-'"
        ))
    }
}

fn text(what: &str, s: &str) -> Result<(), Rejection> {
    if s.trim().is_empty() {
        return Err(RejectCode::InvalidRecord.because(format!("{what} must be 1 to {MAX_TEXT} characters")));
    }
    Ok(())
}

impl<R: store::TreeReader> Ctx<'_, '_, R> {
    fn apply(
        &mut self,
        tx: &SignedTransaction,
        digest: &Hash,
        chain_id: &str,
    ) -> Result<Result<(), Rejection>, StateError> {
        self.apply_rules(tx, digest, chain_id, true)
    }

    fn governance(&self) -> Result<Governance, StateError> {
        self.view
            .get(state_keys::GOVERNANCE)?
            .ok_or_else(|| StateError::Store {
                reason: "the state has no governance record (not initialised from a genesis)".into(),
            })
    }

    fn issuer(&self, did: &Did) -> Result<Result<IssuerRecord, Rejection>, StateError> {
        Ok(self.view.get(&state_keys::issuer(did))?.ok_or_else(|| {
            RejectCode::IssuerNotRegistered.because(format!("issuer {did} is not registered"))
        }))
    }

    /// The governance member that sent and signed `tx`.
    fn member(&self, tx: &SignedTransaction) -> Result<Result<(), Rejection>, StateError> {
        let gov = self.governance()?;
        Ok(match gov.members.iter().find(|m| m.did == tx.tx.sender) {
            None => Err(RejectCode::NotGovernanceMember
                .because(format!("{} is not a governance member", tx.tx.sender))),
            Some(m) if !signed_by(tx, &m.public_key) => {
                Err(RejectCode::NotAuthorised.because("not signed by the governance member's key"))
            }
            Some(_) => Ok(()),
        })
    }

    fn apply_rules(
        &mut self,
        tx: &SignedTransaction,
        digest: &Hash,
        chain_id: &str,
        full: bool,
    ) -> Result<Result<(), Rejection>, StateError> {
        // The admission rule again: consensus applied it, but the state machine does not rely
        // on a Byzantine primary having done so (another chain's transaction, an oversized one).
        if let Err(e) = schemas::limits::check_transaction(tx, chain_id) {
            return Ok(Err(RejectCode::Limit.because(e.to_string())));
        }
        // A validator-set change is ordered by its epoch, not by an account's nonce: consensus
        // (which keeps no accounts) applies it on the same rule, so the ledger must too.
        if let TxPayload::ChangeValidatorSet { set } = &tx.tx.payload {
            return self.change_validators(tx, set);
        }
        let sender = tx.tx.sender.clone();
        let account_key = state_keys::account(&sender);
        let mut account: AccountRecord = self.view.get(&account_key)?.unwrap_or_default();
        if let Err(e) = account.check(tx.tx.nonce) {
            return Ok(Err(RejectCode::Nonce.because(e)));
        }
        let result = self.payload(tx, digest, full)?;
        if result.is_ok() {
            account.use_nonce(tx.tx.nonce);
            account.rejected = 0;
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
                    return Ok(Err(
                        RejectCode::AlreadySuspended.because(format!("issuer {issuer} is already suspended"))
                    ));
                }
                check!(self.propose(tx, digest, true)?);
            }
            TxPayload::RegisterVerifyingKey { .. } => {
                // Security review, finding 8 and issue 16: a key drawn by one party lets that
                // party forge proofs. Keys come only from a ceremony's transcript.
                return Ok(Err(RejectCode::InvalidVerifyingKey.because(
                    "a verifying key is registered only by finishing a setup ceremony (credctl governance ceremony)",
                )));
            }
            TxPayload::StartCeremony { plan } => {
                check!(self.member(tx)?);
                check!(self.check_plan(plan)?);
                check!(self.propose(tx, digest, true)?);
            }
            TxPayload::Contribute { contribution } => check!(self.contribute(tx, contribution, digest)?),
            TxPayload::FinishCeremony {
                ceremony,
                circuit,
                key,
            } => {
                check!(self.member(tx)?);
                check!(self.finishable(ceremony, circuit, key)?);
                check!(self.propose(tx, digest, true)?);
            }
            TxPayload::RetireVerifyingKey { circuit, version } => {
                check!(self.member(tx)?);
                check!(self.retirable(circuit, *version)?);
                check!(self.propose(tx, digest, true)?);
            }
            TxPayload::Approve { proposal } => {
                check!(self.member(tx)?);
                check!(self.approve(sender, proposal)?);
            }
            TxPayload::RotateIssuerKey { issuer, new_key } => {
                let mut rec = check!(self.issuer(issuer)?);
                if sender != issuer {
                    return Ok(Err(
                        RejectCode::NotAuthorised.because("a key rotation must be sent by the issuer")
                    ));
                }
                check!(issuer_signed(tx, &rec));
                if &rec.public_key == new_key {
                    return Ok(Err(
                        RejectCode::InvalidRecord.because("the new key is the current key")
                    ));
                }
                if !signed_by(tx, new_key) {
                    return Ok(Err(RejectCode::NotAuthorised
                        .because("the new key must co-sign its rotation (proof of possession)")));
                }
                rec.public_key = new_key.clone();
                self.view.put(state_keys::issuer(issuer), &rec);
            }
            TxPayload::PublishSchema { record } => {
                if &record.publisher != sender {
                    return Ok(Err(
                        RejectCode::NotAuthorised.because("publisher must be the sender")
                    ));
                }
                let is_member = self.member(tx)?.is_ok();
                if !is_member {
                    let rec = check!(self.issuer(sender)?);
                    if rec.status != IssuerStatus::Active || !signed_by(tx, &rec.public_key) {
                        return Ok(Err(RejectCode::NotAuthorised.because("a schema is published by a governance member or an active issuer, signed by its key"),
                        ));
                    }
                }
                check!(check_schema(record).map_err(|e| RejectCode::InvalidSchema.because(e)));
                let key = state_keys::schema(&record.id);
                if self.view.raw(&key)?.is_some() {
                    return Ok(Err(RejectCode::SchemaExists.because(format!(
                        "schema {} is already published; publish a new version id",
                        record.id
                    ))));
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
            TxPayload::StartCouncil { plan } => {
                check!(self.member(tx)?);
                check!(self.check_council_plan(plan)?);
                check!(self.propose(tx, digest, true)?);
            }
            TxPayload::CouncilStep { council, step } => {
                check!(self.member(tx)?);
                check!(self.council_step(tx, council, step)?);
            }
            TxPayload::ProposeOpening { opening } => {
                check!(self.member(tx)?);
                check!(self.check_opening(opening)?);
                check!(self.propose(tx, digest, true)?);
                check!(self.index_opening(tx, digest, opening)?);
            }
            TxPayload::PublishShare { opening, share } => {
                check!(self.member(tx)?);
                check!(self.publish_share(tx, opening, share)?);
            }
            TxPayload::AbortCouncil { council, reason } => {
                check!(self.member(tx)?);
                check!(text("reason", reason));
                check!(self.abortable(council)?);
                check!(self.propose(tx, digest, true)?);
            }
            _ => {
                return Ok(Err(
                    RejectCode::UnknownKind.because("unknown transaction kind for this ledger version")
                ));
            }
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
            let threshold = usize::from(r.threshold);
            if (r.officers.is_empty() && threshold != 1)
                || (!r.officers.is_empty() && !(1..=r.officers.len()).contains(&threshold))
            {
                return Err(RejectCode::InvalidRecord.because(format!(
                    "threshold {threshold} with {} officers: use 1 without officers, else 1 to the officer count",
                    r.officers.len()
                )));
            }
            if r.allowed_types.is_empty() {
                return Err(RejectCode::InvalidRecord.because("allowedTypes is empty"));
            }
            if let Some(t) = r
                .allowed_types
                .iter()
                .find(|t| !gov.policies.credential_types.contains(t))
            {
                return Err(RejectCode::TypeNotAllowed.because(format!(
                    "credential type {t:?} is not one the consortium's policy allows ({})",
                    gov.policies.credential_types.join(", ")
                )));
            }
            if r.status != IssuerStatus::Active {
                return Err(RejectCode::InvalidRecord.because("a new issuer must be registered active"));
            }
            Ok(())
        };
        if let Err(e) = check() {
            return Ok(Err(e));
        }
        if self.view.raw(&state_keys::issuer(&r.did))?.is_some() {
            return Ok(Err(
                RejectCode::AlreadyRegistered.because(format!("issuer {} is already registered", r.did))
            ));
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
            if r.scope.is_empty() || r.purposes.is_empty() {
                return Err(RejectCode::InvalidRecord
                    .because("a verifier needs at least one scope item and one purpose"));
            }
            for p in &r.purposes {
                text("purpose", p)?;
            }
            for (i, item) in r.scope.iter().enumerate() {
                // One item per type: a second would leave which rules apply (and whether escrow
                // is required) to whoever reads the first.
                if r.scope[..i]
                    .iter()
                    .any(|e| e.credential_type == item.credential_type)
                {
                    return Err(RejectCode::InvalidRecord.because(format!(
                        "scope names credential type {:?} twice",
                        item.credential_type
                    )));
                }
                if !gov.policies.credential_types.contains(&item.credential_type) {
                    return Err(RejectCode::TypeNotAllowed.because(format!(
                        "scope names unknown credential type {:?}",
                        item.credential_type
                    )));
                }
            }
            Ok(())
        };
        if let Err(e) = check() {
            return Ok(Err(e));
        }
        // A scope that requires escrow names a council in force: holders encrypt to its key.
        for council in r.scope.iter().filter_map(|i| i.escrow.as_ref()) {
            let record: Option<schemas::ledger::CouncilRecord> =
                self.view.get(&state_keys::council(council))?;
            if record.is_none_or(|c| c.key.is_none()) {
                return Ok(Err(RejectCode::InvalidRecord.because(format!(
                    "scope requires escrow to council {council:?}, which is not a council in force"
                ))));
            }
        }
        if self.view.raw(&state_keys::verifier(&r.did))?.is_some() {
            return Ok(Err(
                RejectCode::AlreadyRegistered.because(format!("verifier {} is already registered", r.did))
            ));
        }
        if let Some(owner) = self
            .view
            .get::<Did>(&state_keys::nullifier_scope(&r.nullifier_scope))?
        {
            return Ok(Err(RejectCode::AlreadyRegistered.because(format!(
                "nullifier scope {:?} is registered by {owner}; choose another",
                r.nullifier_scope
            ))));
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
        // Bounded per sender (security finding 12): counted while open, released by `enact`.
        let open_key = state_keys::open_proposals(&tx.tx.sender);
        let open: u32 = self.view.get(&open_key)?.unwrap_or(0);
        if open >= schemas::limits::MAX_OPEN_PROPOSALS {
            return Ok(Err(RejectCode::TooManyOpenProposals.because(format!(
                "{} has {open} proposals waiting for approvals; the limit is {} (MAX_OPEN_PROPOSALS)",
                tx.tx.sender,
                schemas::limits::MAX_OPEN_PROPOSALS
            ))));
        }
        self.view.put(open_key, &(open + 1));
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
            return Ok(Err(
                RejectCode::NoProposal.because(format!("no proposal {proposal}"))
            ));
        };
        if p.executed {
            return Ok(Err(
                RejectCode::ProposalDone.because(format!("proposal {proposal} has already taken effect"))
            ));
        }
        if p.approvals.contains(member) {
            return Ok(Err(
                RejectCode::AlreadyApproved.because(format!("{member} already approved proposal {proposal}"))
            ));
        }
        p.approvals.push(member.clone());
        p.approvals.sort();
        self.view.put(key, &p);
        if self.enough(&p)? {
            return self.enact(proposal, p);
        }
        Ok(Ok(()))
    }

    /// A circuit's key version is registered once and never replaced (security review,
    /// finding 8: a re-registration overwrote the key every verifier trusts); a new key is a new
    /// version. Checked when proposed and again when enacted (another proposal may have
    /// registered the version meanwhile).
    fn verifying_key_free(&self, record: &VerifyingKeyRecord) -> Result<Result<(), Rejection>, StateError> {
        let key = state_keys::verifying_key(&record.circuit, record.version);
        if self.view.raw(&key)?.is_none() {
            return Ok(Ok(()));
        }
        Ok(Err(RejectCode::AlreadyRegistered.because(format!(
            "a verifying key for {} version {} is registered already; keys are never replaced: register it as the next version",
            record.circuit, record.version
        ))))
    }

    /// A key version may be retired once it is registered and while it is not retired yet
    /// (checked when proposed and again when enacted).
    fn retirable(&self, circuit: &str, version: u32) -> Result<Result<(), Rejection>, StateError> {
        if self
            .view
            .raw(&state_keys::verifying_key(circuit, version))?
            .is_none()
        {
            return Ok(Err(RejectCode::InvalidVerifyingKey.because(format!(
                "no verifying key for {circuit} version {version} is registered, so none can be retired"
            ))));
        }
        if self
            .view
            .raw(&state_keys::retired_verifying_key(circuit, version))?
            .is_some()
        {
            return Ok(Err(RejectCode::InvalidVerifyingKey.because(format!(
                "the verifying key for {circuit} version {version} is retired already"
            ))));
        }
        Ok(Ok(()))
    }

    /// Carries out an approved proposal, re-checking what may have changed since.
    fn enact(&mut self, digest: &Hash, mut p: ProposalRecord) -> Result<Result<(), Rejection>, StateError> {
        match &p.tx.tx.payload {
            TxPayload::RegisterIssuer { record } => {
                let key = state_keys::issuer(&record.did);
                if self.view.raw(&key)?.is_some() {
                    return Ok(Err(RejectCode::AlreadyRegistered
                        .because(format!("issuer {} was registered meanwhile", record.did))));
                }
                self.view.put(key, record);
            }
            TxPayload::RegisterVerifier { record } => {
                let key = state_keys::verifier(&record.did);
                if self.view.raw(&key)?.is_some() {
                    return Ok(Err(RejectCode::AlreadyRegistered
                        .because(format!("verifier {} was registered meanwhile", record.did))));
                }
                let scope = state_keys::nullifier_scope(&record.nullifier_scope);
                if self.view.raw(&scope)?.is_some() {
                    return Ok(Err(RejectCode::AlreadyRegistered.because(format!(
                        "nullifier scope {:?} was registered meanwhile",
                        record.nullifier_scope
                    ))));
                }
                self.view.put(scope, &record.did);
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
            TxPayload::StartCeremony { plan } => {
                if let Err(e) = self.open_ceremony(plan)? {
                    return Ok(Err(e));
                }
            }
            TxPayload::FinishCeremony {
                ceremony,
                circuit,
                key,
            } => {
                if let Err(e) = self.finish_ceremony(ceremony, circuit, key)? {
                    return Ok(Err(e));
                }
            }
            TxPayload::StartCouncil { plan } => {
                if let Err(e) = self.open_council(plan)? {
                    return Ok(Err(e));
                }
            }
            TxPayload::ProposeOpening { opening } => {
                if let Err(e) = self.approve_opening(digest, opening)? {
                    return Ok(Err(e));
                }
            }
            TxPayload::AbortCouncil { council, reason } => {
                if let Err(e) = self.abort_council(council, reason)? {
                    return Ok(Err(e));
                }
            }
            TxPayload::RetireVerifyingKey { circuit, version } => {
                if let Err(e) = self.retirable(circuit, *version)? {
                    return Ok(Err(e));
                }
                self.view.put(
                    state_keys::retired_verifying_key(circuit, *version),
                    &KeyRetirement {
                        circuit: circuit.clone(),
                        version: *version,
                    },
                );
            }
            _ => {
                return Ok(Err(
                    RejectCode::NotAProposal.because("this transaction kind is not a proposal")
                ));
            }
        }
        p.executed = true;
        self.view.put(state_keys::proposal(digest), &p);
        let open_key = state_keys::open_proposals(&p.tx.tx.sender);
        let open: u32 = self.view.get(&open_key)?.unwrap_or(0);
        self.view.put(open_key, &open.saturating_sub(1));
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
            return Ok(Err(
                RejectCode::NotAuthorised.because("an anchor must be sent by its issuer")
            ));
        }
        if rec.status != IssuerStatus::Active {
            return Ok(Err(RejectCode::IssuerSuspended.because(format!(
                "issuer {} is suspended and may not anchor",
                a.issuer
            ))));
        }
        if let Err(e) = issuer_signed(tx, &rec) {
            return Ok(Err(e));
        }
        if !rec.allowed_types.contains(&a.credential_type) {
            return Ok(Err(RejectCode::TypeNotAllowed.because(format!(
                "issuer {} is not allowed to issue {:?} (allowed: {})",
                a.issuer,
                a.credential_type,
                rec.allowed_types.join(", ")
            ))));
        }
        let schema: Option<SchemaRecord> = self.view.get(&state_keys::schema(&a.schema_id))?;
        match schema {
            None => {
                return Ok(Err(RejectCode::SchemaNotPublished
                    .because(format!("schema {} is not published", a.schema_id))));
            }
            Some(s) if s.credential_type != a.credential_type => {
                return Ok(Err(RejectCode::SchemaMismatch.because(format!(
                    "schema {} defines {:?}, not {:?}",
                    a.schema_id, s.credential_type, a.credential_type
                ))));
            }
            Some(_) => {}
        }
        if a.count == 0 {
            return Ok(Err(
                RejectCode::InvalidRecord.because("an anchored batch has at least one credential")
            ));
        }
        if let Some(p) = &a.poseidon_root
            && zk::poseidon::fr_from_bytes(&p.0).is_none()
        {
            return Ok(Err(RejectCode::InvalidRecord.because(format!(
                "the batch's Poseidon root {p} is not a BN254 field element: no unlinkable proof could be made about it"
            ))));
        }
        let key = state_keys::anchor(&a.issuer, &a.root);
        if self.view.raw(&key)?.is_some() {
            return Ok(Err(
                RejectCode::AnchorExists.because(format!("batch root {} is already anchored", a.root))
            ));
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
        if issuer != &tx.tx.sender {
            return Ok(Err(
                RejectCode::NotAuthorised.because("a status update must be sent by the issuer")
            ));
        }
        if let Err(e) = issuer_signed(tx, &rec) {
            return Ok(Err(e));
        }
        if revoke.is_empty() || revoke.len() > MAX_REVOKE_PER_TX {
            return Ok(Err(RejectCode::InvalidRecord.because(format!(
                "revoke 1 to {MAX_REVOKE_PER_TX} indexes per transaction"
            ))));
        }
        if let Some(i) = revoke.iter().find(|i| **i >= MAX_STATUS_INDEX) {
            return Ok(Err(RejectCode::StatusIndexOutOfRange.because(format!(
                "status index {i} is beyond the list size {MAX_STATUS_INDEX}"
            ))));
        }
        let key = state_keys::revoked(issuer, list_id);
        let mut rec: RevocationRoot = self.view.get(&key)?.unwrap_or_else(|| RevocationRoot {
            issuer: issuer.clone(),
            list_id,
            count: 0,
            root: zk::tree::RevocationTree::empty_root_hash(),
        });
        let mut chunks: BTreeMap<u32, StatusListChunk> = BTreeMap::new();
        let mut fresh = Vec::new();
        for &i in revoke {
            let c = i / STATUS_CHUNK_BITS;
            let chunk = match chunks.entry(c) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let existing = self.view.get(&state_keys::status_chunk(issuer, list_id, c))?;
                    e.insert(existing.unwrap_or_else(|| StatusListChunk::empty(issuer.clone(), list_id, c)))
                }
            };
            if chunk.set(i) {
                fresh.push(i);
            }
        }
        let count = rec.count as usize + fresh.len();
        if count > schemas::limits::MAX_REVOKED_PER_LIST {
            return Ok(Err(RejectCode::RevokedListFull.because(format!(
                "list {list_id} has revoked {} indexes; {} more exceed the limit {} (MAX_REVOKED_PER_LIST); revoke in another list",
                rec.count,
                fresh.len(),
                schemas::limits::MAX_REVOKED_PER_LIST
            ))));
        }
        for (c, chunk) in chunks {
            self.view
                .put(state_keys::status_chunk(issuer, list_id, c), &chunk);
        }
        rec.count = count as u32;
        if full {
            let tree_key = (issuer.clone(), list_id);
            let mut tree = match self.revocation.get(&tree_key) {
                Some(t) => t.clone(),
                None => self
                    .revocations
                    .get(&tree_key, || self.revoked_before(issuer, list_id, &fresh))?,
            };
            for &i in &fresh {
                tree.revoke(i);
            }
            rec.root = tree.root_hash();
            self.revocation.insert(tree_key, tree);
        }
        self.view.put(key, &rec);
        Ok(Ok(()))
    }

    /// The indexes list `list_id` had revoked before this transaction's `fresh` ones: the set
    /// bits of its chunks as this transaction left them, less `fresh`.
    fn revoked_before(&self, issuer: &Did, list_id: u32, fresh: &[u32]) -> Result<Vec<u32>, StateError> {
        let fresh: BTreeSet<u32> = fresh.iter().copied().collect();
        let mut ids = Vec::new();
        for c in 0..STATUS_CHUNKS_PER_LIST {
            if let Some(chunk) = self
                .view
                .get::<StatusListChunk>(&state_keys::status_chunk(issuer, list_id, c))?
            {
                ids.extend(chunk.revoked().filter(|i| !fresh.contains(i)));
            }
        }
        Ok(ids)
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
        // Consensus takes the first valid change of a block and ignores others until it has
        // switched at the next checkpoint; the ledger refuses them, so the state's set is
        // always the one consensus certifies with (security finding 16).
        let switch: Option<u64> = self.view.get(state_keys::VALIDATORS_SWITCH)?;
        if let (Some(at), Some(h)) = (switch, self.height)
            && h.0 <= at
        {
            return Ok(Err(RejectCode::ValidatorSetChangePending.because(format!(
                "a validator-set change takes effect at checkpoint {at}; send the next one after it"
            ))));
        }
        if let Err(e) = current.check_successor(set) {
            return Ok(Err(RejectCode::InvalidValidatorSet.because(e)));
        }
        let signers = current
            .validators
            .iter()
            .filter(|v| signed_by(tx, &v.public_key))
            .count();
        if signers < current.quorum() {
            return Ok(Err(RejectCode::ValidatorQuorum.because(format!(
                "{signers} current validators signed; a set change needs {}",
                current.quorum()
            ))));
        }
        // Consensus switches to the new set at the next checkpoint; the state records it now.
        self.view.put(state_keys::VALIDATORS.to_vec(), set);
        if let Some(h) = self.height {
            let at = (h.0 / pbft::CHECKPOINT_INTERVAL + 1) * pbft::CHECKPOINT_INTERVAL;
            self.view.put(state_keys::VALIDATORS_SWITCH.to_vec(), &at);
        }
        Ok(Ok(()))
    }
}

mod ceremony;
pub mod council;
pub use ceremony::MAX_CEREMONY_ID;

#[cfg(test)]
mod tests;

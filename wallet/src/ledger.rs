//! The wallet's view of the ledger: verified reads and signed submissions.
//!
//! Nothing a node says is believed unless it verifies: every read is a [`LedgerProof`] checked
//! against the validator set ([`Facts::verify`]), and the same [`Facts`] serve a verifier that
//! only has the proofs a presentation carries (offline) and one that asks a node (online).

use ledger_api::{Client, ClientError};
use schemas::codec::{Canonical as _, decode, encode};
use schemas::did::Did;
use schemas::hash::{Hash, sm3};
use schemas::ledger::{
    AnchorRecord, BlockHeader, Genesis, LedgerProof, SignedTransaction, StatusListChunk, Transaction,
    TxOutcome, TxPayload, TxReceipt, ValidatorSet, state_keys,
};
use schemas::light_client::{LightClientError, verify_commit_certificate};
use schemas::sm2::SecretKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What went wrong talking to, or believing, the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The node could not be asked, or refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A proof does not verify against the validator set.
    #[error("the ledger proof does not verify against the validator set: {0}")]
    Proof(#[from] LightClientError),
    /// A record needed was not among the proofs.
    #[error("the ledger proofs do not cover {what}")]
    NotCovered {
        /// The record.
        what: String,
    },
    /// A proven value is not the record it should be.
    #[error("the ledger record {what} does not decode: {reason}")]
    Decode {
        /// The record.
        what: String,
        /// Why.
        reason: String,
    },
    /// The ledger rejected a transaction.
    #[error("the ledger rejected the transaction: {reason}")]
    Rejected {
        /// Its reason.
        reason: String,
    },
    /// A proof is certified for another chain than the trusted one.
    #[error("the ledger proof is for chain {found:?}, not the trusted chain {expected:?}")]
    OtherChain {
        /// The trusted chain id.
        expected: String,
        /// The chain id in the proof's header.
        found: String,
    },
    /// A certified validator-set change does not follow from the trusted set.
    #[error("the node's validator-set change to epoch {epoch} does not prove: {reason}")]
    SetChange {
        /// The epoch it claims.
        epoch: u64,
        /// Why it is refused.
        reason: String,
    },
    /// A read older than what this party accepts: an old certified answer, perhaps replayed.
    #[error("{0}")]
    Stale(String),
    /// The node serves another chain than the trusted genesis describes.
    #[error(
        "the node serves {found}, not the trusted genesis ({expected}): point at one of the \
         consortium's nodes, or change the trusted genesis file"
    )]
    UntrustedGenesis {
        /// What the trusted genesis file describes.
        expected: String,
        /// What the node served.
        found: String,
    },
}

/// Certificates already checked, by the digest of header and certificate: a verifier that sees
/// the same block in many presentations checks its signatures once.
#[derive(Default)]
pub struct CertificateCache {
    seen: Mutex<HashSet<Hash>>,
}

/// Most certificates a cache remembers before it starts over.
const CACHE_LIMIT: usize = 4_096;

/// Values proven by one or more ledger proofs, keyed by state key.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    values: HashMap<Vec<u8>, (u64, Option<Vec<u8>>)>,
    /// The oldest header time among the proofs (ms since the epoch).
    pub oldest_ms: u64,
    /// The newest header time among the proofs (ms since the epoch).
    pub newest_ms: u64,
    /// The newest height among the proofs.
    pub newest_height: u64,
}

impl Facts {
    /// Checks every proof's chain id and certificate against `trust` and every state proof
    /// against its header; a key proven at several heights keeps its newest value.
    pub fn verify(
        proofs: &[LedgerProof],
        trust: &Trust,
        cache: Option<&CertificateCache>,
    ) -> Result<Facts, LedgerError> {
        let validators = &trust.validators;
        let mut facts = Facts {
            oldest_ms: u64::MAX,
            ..Facts::default()
        };
        if proofs.is_empty() {
            return Err(LedgerError::NotCovered {
                what: "anything (the presentation carries no ledger proof)".into(),
            });
        }
        for proof in proofs {
            if proof.header.chain_id != trust.genesis.chain_id {
                return Err(LedgerError::OtherChain {
                    expected: trust.genesis.chain_id.clone(),
                    found: proof.header.chain_id.clone(),
                });
            }
            let id = sm3(&encode(&(&proof.header, &proof.certificate)));
            let known = cache.is_some_and(|c| c.seen.lock().unwrap_or_else(|p| p.into_inner()).contains(&id));
            if !known {
                verify_commit_certificate(&proof.header, &proof.certificate, validators)?;
                if let Some(c) = cache {
                    let mut seen = c.seen.lock().unwrap_or_else(|p| p.into_inner());
                    if seen.len() >= CACHE_LIMIT {
                        seen.clear();
                    }
                    seen.insert(id);
                }
            }
            for (index, p) in proof.state.iter().enumerate() {
                p.verify(&proof.header.state_root)
                    .map_err(|source| LightClientError::State { index, source })?;
                let height = proof.header.height.0;
                let value = p.value.as_ref().map(|v| v.0.clone());
                match facts.values.get(&p.key) {
                    Some((h, _)) if *h >= height => {}
                    _ => {
                        facts.values.insert(p.key.clone(), (height, value));
                    }
                }
            }
            facts.oldest_ms = facts.oldest_ms.min(proof.header.timestamp_ms);
            facts.newest_ms = facts.newest_ms.max(proof.header.timestamp_ms);
            facts.newest_height = facts.newest_height.max(proof.header.height.0);
        }
        Ok(facts)
    }

    /// Verifies one read of `keys` (as [`Facts::verify`]) and that it covers every key asked.
    pub fn verify_read(proof: &LedgerProof, keys: &[Vec<u8>], trust: &Trust) -> Result<Facts, LedgerError> {
        let facts = Facts::verify(std::slice::from_ref(proof), trust, None)?;
        if let Some(k) = keys.iter().find(|k| facts.height_of(k).is_none()) {
            return Err(LedgerError::NotCovered {
                what: format!("state key {}", hex::encode(k)),
            });
        }
        Ok(facts)
    }

    /// The proven record at `key`: `Ok(None)` when proven absent, an error when not covered.
    pub fn get<T: DeserializeOwned>(&self, key: &[u8], what: &str) -> Result<Option<T>, LedgerError> {
        let (_, value) = self
            .values
            .get(key)
            .ok_or_else(|| LedgerError::NotCovered { what: what.into() })?;
        value
            .as_deref()
            .map(|v| {
                decode(v).map_err(|e| LedgerError::Decode {
                    what: what.into(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// The height at which `key` was proven.
    pub fn height_of(&self, key: &[u8]) -> Option<u64> {
        self.values.get(key).map(|(h, _)| *h)
    }

    /// The proven anchor of `issuer` whose record satisfies `pick` (anchors are keyed by their
    /// SM3 root, which an unlinkable presentation does not name).
    pub fn find_anchor(&self, issuer: &Did, pick: impl Fn(&AnchorRecord) -> bool) -> Option<AnchorRecord> {
        self.values
            .iter()
            .filter(|(k, _)| k.starts_with(b"anchor/"))
            .filter_map(|(k, (_, v))| {
                let a: AnchorRecord = decode(v.as_deref()?).ok()?;
                // The record must sit under its own key: issuer and root as the key names them.
                (a.issuer == *issuer && *k == state_keys::anchor(&a.issuer, &a.root)).then_some(a)
            })
            .find(|a| pick(a))
    }
}

/// Whether the status-list bit of `index` is set in its chunk (absent chunk: nothing revoked).
pub fn is_revoked(chunk: Option<&StatusListChunk>, index: u32) -> bool {
    chunk.is_some_and(|c| c.is_set(index))
}

/// What a party trusts about the ledger: the consortium's genesis, pinned when the party was
/// set up (from a file the consortium published, or a fingerprint compared by a person), and
/// what it has since proven from it. Nothing a node says changes it unless it verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trust {
    /// The pinned genesis.
    pub genesis: Genesis,
    /// The newest validator set proven from the genesis set by certified changes.
    pub validators: ValidatorSet,
    /// The highest certified height this party has accepted: a lower one is refused.
    pub height: u64,
}

impl Trust {
    /// Trust in `genesis` alone.
    pub fn new(genesis: Genesis) -> Trust {
        Trust {
            validators: genesis.validators.clone(),
            genesis,
            height: 0,
        }
    }

    /// The genesis fingerprint people compare (SM3 of its canonical encoding).
    pub fn fingerprint(&self) -> Hash {
        self.genesis.digest()
    }

    /// Follows certified validator-set changes, oldest first: each must be certified by the
    /// set before it, for this chain, and prove a `validators` value that is that set's lawful
    /// successor (the one rule consensus and the ledger share).
    pub fn follow(&mut self, changes: &[LedgerProof]) -> Result<(), LedgerError> {
        for change in changes {
            let epoch = self.validators.epoch + 1;
            let refuse = |reason: String| LedgerError::SetChange { epoch, reason };
            let facts =
                Facts::verify(std::slice::from_ref(change), self, None).map_err(|e| refuse(e.to_string()))?;
            let next: ValidatorSet = facts
                .get(state_keys::VALIDATORS, "the validator set")
                .map_err(|e| refuse(e.to_string()))?
                .ok_or_else(|| refuse("the proof shows no validator set".into()))?;
            self.validators.check_successor(&next).map_err(refuse)?;
            self.validators = next;
            self.height = self.height.max(change.header.height.0);
        }
        Ok(())
    }
}

/// The oldest certified time an online read may carry, seconds: older answers are refused as
/// possibly replayed (a revocation or a suspension since would be hidden).
pub const DEFAULT_MAX_READ_AGE_SECS: u64 = 600;

/// How far a certified time may lie ahead of this party's clock, seconds (clocks differ; the
/// consortium's time rule bounds the validators' drift far below this).
pub const MAX_FUTURE_SECS: u64 = 300;

/// What holders and verifiers read from a ledger: state keys under one certificate, verified
/// against what the party trusts, and a status list's revoked indexes (not proven by
/// themselves: the caller rebuilds the proven revocation root from them). [`Ledger`] reads a
/// node over HTTP; the unit tests read an in-memory certified ledger.
pub trait ReadLedger: Sync {
    /// Reads `keys` at one height; the answer is verified and covers every key.
    fn read(
        &self,
        keys: Vec<Vec<u8>>,
    ) -> impl std::future::Future<Output = Result<(LedgerProof, Facts), LedgerError>> + Send;

    /// The revoked indexes of `issuer`'s status list `list`, unverified.
    fn revoked_ids(
        &self,
        issuer: &Did,
        list: u32,
    ) -> impl std::future::Future<Output = Result<Vec<u32>, LedgerError>> + Send;
}

impl ReadLedger for Ledger {
    async fn read(&self, keys: Vec<Vec<u8>>) -> Result<(LedgerProof, Facts), LedgerError> {
        Ledger::read(self, keys).await
    }

    async fn revoked_ids(&self, issuer: &Did, list: u32) -> Result<Vec<u32>, LedgerError> {
        Ok(self.client.revoked_ids(issuer, list).await?.ids)
    }
}

/// A connection to a ledger node, checked against what the party trusts.
#[derive(Clone)]
pub struct Ledger {
    /// The node's client.
    pub client: Client,
    /// The chain id transactions are signed for.
    pub chain_id: String,
    /// The oldest certified time a read may carry, seconds.
    pub max_read_age_secs: u64,
    /// The consortium's public API URL that issued credentials link to (status lists,
    /// schemas); `None`: the URL this ledger is read from.
    pub public_url: Option<String>,
    trust: Arc<Mutex<Trust>>,
}

impl Ledger {
    /// The URL issued credentials link to: the `public_url` field if set, else the node's.
    pub fn link_base(&self) -> &str {
        self.public_url
            .as_deref()
            .unwrap_or_else(|| self.client.base())
            .trim_end_matches('/')
    }

    /// Connects to the node at `url` for a party that trusts `trust`: the node must serve
    /// exactly the pinned genesis, and the validator-set changes it reports must each prove
    /// from the set before (a node that withholds them only makes later reads fail).
    pub async fn connect(url: &str, trust: Trust) -> Result<Ledger, LedgerError> {
        let client = Client::new(url);
        let served: Genesis = client.get("/v1/genesis").await?;
        if served != trust.genesis {
            let describe = |g: &Genesis| format!("chain {} (genesis fingerprint {})", g.chain_id, g.digest());
            return Err(LedgerError::UntrustedGenesis {
                expected: describe(&trust.genesis),
                found: describe(&served),
            });
        }
        let ledger = Ledger {
            client,
            chain_id: trust.genesis.chain_id.clone(),
            max_read_age_secs: DEFAULT_MAX_READ_AGE_SECS,
            public_url: None,
            trust: Arc::new(Mutex::new(trust)),
        };
        ledger.follow().await?;
        Ok(ledger)
    }

    /// The genesis the node at `url` serves, unverified: for a person to compare its
    /// fingerprint with the one the consortium published before pinning it.
    pub async fn served_genesis(url: &str) -> Result<Genesis, LedgerError> {
        Ok(Client::new(url).get("/v1/genesis").await?)
    }

    /// What the party trusts now (the pinned genesis, the set followed, the height seen):
    /// save it so the next session starts from here.
    pub fn trust(&self) -> Trust {
        self.trust.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The validator set reads are checked against.
    pub fn validators(&self) -> ValidatorSet {
        self.trust().validators
    }

    /// Asks the node for the validator-set changes after the trusted set and follows them.
    pub async fn follow(&self) -> Result<(), LedgerError> {
        // Each answer carries at most MAX_SET_CHANGES_PER_READ; a chain with more asks again.
        for _ in 0..MAX_FOLLOW_ROUNDS {
            let after = self.validators().epoch;
            let changes = self.client.set_changes(after).await?;
            if changes.is_empty() {
                return Ok(());
            }
            let mut next = self.trust();
            next.follow(&changes)?;
            let mut t = self.trust.lock().unwrap_or_else(|p| p.into_inner());
            // Another task may have followed meanwhile: keep whichever went further.
            if next.validators.epoch > t.validators.epoch {
                t.validators = next.validators;
            }
            t.height = t.height.max(next.height);
        }
        Ok(())
    }

    /// Reads `keys` at one height and verifies the answer: certified for the trusted chain by
    /// the trusted set, covering every key, no lower than any height this party accepted
    /// before, and no older than [`Ledger::max_read_age_secs`].
    pub async fn read(&self, keys: Vec<Vec<u8>>) -> Result<(LedgerProof, Facts), LedgerError> {
        let proof = self.client.proofs(&keys).await?;
        let facts = match Facts::verify_read(&proof, &keys, &self.trust()) {
            // The set may have changed since this connection followed it.
            Err(LedgerError::Proof(LightClientError::ValidatorSetMismatch { .. })) => {
                self.follow().await?;
                Facts::verify_read(&proof, &keys, &self.trust())?
            }
            other => other?,
        };
        self.accept(&proof.header, crate::now())?;
        Ok((proof, facts))
    }

    /// Checks that a verified header is fresh at `now` (Unix seconds) and raises the height
    /// this party has seen.
    pub fn accept(&self, header: &BlockHeader, now: i64) -> Result<(), LedgerError> {
        let mut t = self.trust.lock().unwrap_or_else(|p| p.into_inner());
        check_fresh(header, t.height, now, self.max_read_age_secs)?;
        t.height = t.height.max(header.height.0);
        Ok(())
    }

    /// Signs `payload` as `sender` (co-signed by `cosigners`), submits it and waits for its
    /// receipt; a rejection is an error carrying the ledger's reason.
    pub async fn submit(
        &self,
        sender: &SecretKey,
        cosigners: &[&SecretKey],
        payload: TxPayload,
    ) -> Result<(Hash, TxReceipt), LedgerError> {
        let did = Did::from_public_key(sender.public_key());
        let nonce = self.client.next_nonce(&did).await?;
        let tx = Transaction {
            chain_id: self.chain_id.clone(),
            sender: did,
            nonce,
            payload,
        };
        let mut keys = vec![sender];
        keys.extend_from_slice(cosigners);
        let signed = SignedTransaction::sign(tx, &keys);
        let hash = match self.client.submit(&signed).await {
            Ok(h) => h,
            // The node's pre-check already knows the ledger would refuse it, and why.
            Err(ClientError::Refused {
                status: 422, message, ..
            }) => return Err(LedgerError::Rejected { reason: message }),
            Err(e) => return Err(e.into()),
        };
        let receipt = self.client.wait(&hash, Duration::from_secs(60)).await?;
        match &receipt.outcome {
            TxOutcome::Applied => Ok((hash, receipt)),
            TxOutcome::Rejected { code } => Err(LedgerError::Rejected {
                reason: code.to_string(),
            }),
        }
    }
}

/// Rounds of `/v1/validators/changes` one connection follows (each carries up to
/// `MAX_SET_CHANGES_PER_READ`): a bound on what a node can make a client fetch.
const MAX_FOLLOW_ROUNDS: usize = 64;

/// Whether a certified header is fresh: at or above `seen`, no older than `max_age_secs`
/// before `now`, and not ahead of it by more than [`MAX_FUTURE_SECS`].
pub fn check_fresh(header: &BlockHeader, seen: u64, now: i64, max_age_secs: u64) -> Result<(), LedgerError> {
    let height = header.height.0;
    if height < seen {
        return Err(LedgerError::Stale(format!(
            "the node answered from block {height}, below block {seen} already seen: an old answer, \
             perhaps replayed; ask another of the consortium's nodes"
        )));
    }
    let at = i64::try_from(header.timestamp_ms / 1000).unwrap_or(i64::MAX);
    if at > now.saturating_add(MAX_FUTURE_SECS as i64) {
        return Err(LedgerError::Stale(format!(
            "block {height} is dated {} s ahead of this clock (at most {MAX_FUTURE_SECS} s): \
             check this computer's clock",
            at - now
        )));
    }
    let age = now.saturating_sub(at);
    if age > i64::try_from(max_age_secs).unwrap_or(i64::MAX) {
        return Err(LedgerError::Stale(format!(
            "the newest block the node shows (block {height}) is {age} s old; at most {max_age_secs} s \
             is accepted: the answer may be replayed, the node behind, or the chain idle; ask \
             another of the consortium's nodes"
        )));
    }
    Ok(())
}

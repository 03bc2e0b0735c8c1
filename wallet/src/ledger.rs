//! The wallet's view of the ledger: verified reads and signed submissions.
//!
//! Nothing a node says is believed unless it verifies: every read is a [`LedgerProof`] checked
//! against the validator set ([`Facts::verify`]), and the same [`Facts`] serve a verifier that
//! only has the proofs a presentation carries (offline) and one that asks a node (online).

use ledger_node::client::{Client, ClientError};
use schemas::codec::{decode, encode};
use schemas::did::Did;
use schemas::hash::{Hash, sm3};
use schemas::ledger::{
    AnchorRecord, Genesis, LedgerProof, SignedTransaction, StatusListChunk, Transaction, TxOutcome,
    TxPayload, TxReceipt, ValidatorSet, state_keys,
};
use schemas::light_client::{LightClientError, verify_commit_certificate};
use schemas::sm2::SecretKey;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
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
    /// The newest height among the proofs.
    pub newest_height: u64,
}

impl Facts {
    /// Checks every proof's certificate against `validators` and every state proof against its
    /// header; a key proven at several heights keeps its newest value.
    pub fn verify(
        proofs: &[LedgerProof],
        validators: &ValidatorSet,
        cache: Option<&CertificateCache>,
    ) -> Result<Facts, LedgerError> {
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
            facts.newest_height = facts.newest_height.max(proof.header.height.0);
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

/// A connection to a ledger node, with the consortium's validator set to check it by.
#[derive(Clone)]
pub struct Ledger {
    /// The node's client.
    pub client: Client,
    /// The chain id transactions are signed for.
    pub chain_id: String,
    /// The validator set proofs are checked against.
    pub validators: ValidatorSet,
}

impl Ledger {
    /// Connects to the node at `url`: the chain id and validator set come from the node's
    /// genesis; the current set is read with a proof checked against the genesis set.
    pub async fn connect(url: &str) -> Result<Ledger, LedgerError> {
        Ledger::connect_trusting(url, None).await
    }

    /// Like [`Ledger::connect`], but when `trusted` is given (the consortium's genesis, obtained
    /// out of band) the node must serve exactly that genesis: its chain id and epoch-0 validator
    /// set. Everything later is then proven from a validator set the holder chose to trust,
    /// not one the node announced.
    pub async fn connect_trusting(url: &str, trusted: Option<&Genesis>) -> Result<Ledger, LedgerError> {
        let client = Client::new(url);
        let genesis: Genesis = client.get("/v1/genesis").await?;
        if let Some(t) = trusted
            && (t.chain_id != genesis.chain_id || t.validators != genesis.validators)
        {
            let describe = |g: &Genesis| {
                format!(
                    "chain {} with {} genesis validators",
                    g.chain_id,
                    g.validators.validators.len()
                )
            };
            let (expected, mut found) = (describe(t), describe(&genesis));
            if t.chain_id == genesis.chain_id {
                found.push_str(" under other keys");
            }
            return Err(LedgerError::UntrustedGenesis { expected, found });
        }
        let mut ledger = Ledger {
            client,
            chain_id: genesis.chain_id.clone(),
            validators: genesis.validators.clone(),
        };
        let facts = ledger.read(vec![state_keys::VALIDATORS.to_vec()]).await;
        if let Ok((_, facts)) = facts
            && let Ok(Some(current)) = facts.get::<ValidatorSet>(state_keys::VALIDATORS, "the validator set")
        {
            ledger.validators = current;
        }
        Ok(ledger)
    }

    /// Reads `keys` at one height and verifies the answer.
    pub async fn read(&self, keys: Vec<Vec<u8>>) -> Result<(LedgerProof, Facts), LedgerError> {
        let proof = self.client.proofs(&keys).await?;
        let facts = Facts::verify(std::slice::from_ref(&proof), &self.validators, None)?;
        for k in &keys {
            if facts.height_of(k).is_none() {
                return Err(LedgerError::NotCovered {
                    what: format!("state key {}", hex::encode(k)),
                });
            }
        }
        Ok((proof, facts))
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

//! A ledger without a network, for the wallet's unit tests: an in-memory SM3 state tree
//! (`schemas::state`), headers certified by four validator keys with real SM2, and reads
//! answered as a node answers `/v1/proofs` — then verified by [`Facts::verify_read`] against a
//! [`Trust`] in the genesis, exactly as a [`crate::ledger::Ledger`] verifies a node.
//!
//! Records are written as the node's rules would leave them (the rules themselves are the
//! node's, tested there); each [`Chain::commit`] certifies the state as a new block.

use crate::ledger::{Facts, LedgerError, ReadLedger, Trust};
use rand_core::OsRng;
use schemas::codec::{Canonical as _, encode};
use schemas::credential_schema::{BUILTIN_SCHEMAS, CredentialSchema};
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{
    AnchorRecord, BlockHeader, CommitCertificate, CommitVote, Genesis, Governance, Height, IssuerRecord,
    IssuerStatus, LedgerProof, Policies, RevocationRoot, STATUS_CHUNK_BITS, ScopeItem, StatusListChunk,
    ValidatorInfo, ValidatorSet, VerifierRecord, VerifyingKeyRecord, state_keys,
};
use schemas::sm2::SecretKey;
use schemas::state::{MemoryStore, StateTree};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// An in-memory certified ledger.
pub(crate) struct Chain {
    validators: Vec<SecretKey>,
    /// What every party of a test trusts: the genesis, pinned.
    pub(crate) trust: Trust,
    inner: Mutex<Inner>,
}

struct Inner {
    store: MemoryStore,
    staged: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// The certified head: version of the state tree, header, certificate.
    head: Option<(u64, BlockHeader, CommitCertificate)>,
    /// Revoked indexes by (issuer, list): what a node serves at `/v1/revoked/.../ids`.
    revoked: BTreeMap<(Did, u32), BTreeSet<u32>>,
}

impl Chain {
    /// A chain of four validators with the built-in schemas published, certified at height 1.
    pub(crate) fn new() -> Chain {
        let validators: Vec<SecretKey> = (0..4).map(|_| SecretKey::generate(&mut OsRng)).collect();
        let set = ValidatorSet {
            epoch: 0,
            validators: validators
                .iter()
                .enumerate()
                .map(|(i, k)| ValidatorInfo::new(k, format!("peer-{i}"), format!("/ip4/127.0.0.1/tcp/{i}")))
                .collect(),
        };
        let genesis = Genesis {
            chain_id: "credence-fixture".into(),
            timestamp_ms: 0,
            validators: set,
            observers: vec![],
            governance: Governance {
                members: vec![],
                policies: Policies {
                    approvals_needed: 1,
                    credential_types: vec![],
                },
            },
            schemas: vec![],
        };
        let chain = Chain {
            validators,
            trust: Trust::new(genesis),
            inner: Mutex::new(Inner {
                store: MemoryStore::new(),
                staged: vec![],
                head: None,
                revoked: BTreeMap::new(),
            }),
        };
        let publisher = Did::from_public_key(chain.validators[0].public_key());
        for (name, _) in BUILTIN_SCHEMAS {
            let s = CredentialSchema::builtin(name).expect("built-in schema");
            chain.put(state_keys::schema(s.id()), &s.record(publisher.clone()));
        }
        chain.commit();
        chain
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `value` at `key` in the next block.
    pub(crate) fn put<T: Serialize>(&self, key: Vec<u8>, value: &T) {
        self.inner().staged.push((key, Some(encode(value))));
    }

    /// Applies what was written since the last block as a new block, certified by all four
    /// validators at the current time.
    pub(crate) fn commit(&self) {
        let mut inner = self.inner();
        let staged = std::mem::take(&mut inner.staged);
        let (version, state_root) = inner.store.apply(staged).expect("state tree update");
        let prev = inner.head.as_ref().map(|(_, h, _)| h.clone());
        let header = BlockHeader {
            chain_id: self.trust.genesis.chain_id.clone(),
            height: Height(prev.as_ref().map_or(1, |h| h.height.0 + 1)),
            prev_hash: prev.as_ref().map_or(Hash::ZERO, |h| h.digest()),
            tx_root: Hash::ZERO,
            state_root,
            validator_set_hash: self.trust.validators.digest(),
            timestamp_ms: u64::try_from(crate::now()).unwrap_or(0) * 1000,
            view: 0,
        };
        let vote = CommitVote::for_header(&header);
        let certificate = CommitCertificate {
            height: header.height,
            block_hash: header.digest(),
            signatures: self.validators.iter().map(|k| vote.sign(k)).collect(),
        };
        inner.head = Some((version, header, certificate));
    }

    /// The proofs of `keys` under the certified head, as a node answers `/v1/proofs`.
    pub(crate) fn proofs(&self, keys: &[Vec<u8>]) -> LedgerProof {
        let inner = self.inner();
        let (version, header, certificate) = inner.head.clone().expect("a certified head");
        let tree = StateTree::new(&inner.store);
        LedgerProof {
            header,
            certificate,
            state: keys
                .iter()
                .map(|k| tree.get_with_proof(k, version).expect("state proof"))
                .collect(),
        }
    }

    /// Registers `key` as an active issuer of `types` (in the next block).
    pub(crate) fn register_issuer(&self, key: &SecretKey, name: &str, types: &[&str]) {
        let did = Did::from_public_key(key.public_key());
        self.put(
            state_keys::issuer(&did),
            &IssuerRecord {
                did,
                name: name.into(),
                public_key: key.public_key().clone(),
                officers: vec![],
                threshold: 1,
                allowed_types: types.iter().map(|t| (*t).to_owned()).collect(),
                status: IssuerStatus::Active,
            },
        );
    }

    /// Suspends a registered issuer (in the next block).
    pub(crate) fn suspend_issuer(&self, issuer: &Did) {
        let key = state_keys::issuer(issuer);
        let mut record: IssuerRecord = self.value(&key).expect("a registered issuer");
        record.status = IssuerStatus::Suspended;
        self.put(key, &record);
    }

    /// Registers `key` as a verifier with `scope` (in the next block).
    pub(crate) fn register_verifier(
        &self,
        key: &SecretKey,
        name: &str,
        scope: Vec<ScopeItem>,
        purpose: &str,
    ) {
        let did = Did::from_public_key(key.public_key());
        self.put(
            state_keys::verifier(&did),
            &VerifierRecord {
                did,
                name: name.into(),
                public_key: key.public_key().clone(),
                scope,
                purposes: vec![purpose.into()],
                nullifier_scope: format!("{name}/v1"),
            },
        );
    }

    /// Anchors a batch (in the next block).
    pub(crate) fn anchor(&self, anchor: &AnchorRecord) {
        self.put(state_keys::anchor(&anchor.issuer, &anchor.root), anchor);
    }

    /// Registers a Groth16 verifying key (in the next block).
    pub(crate) fn register_verifying_key(&self, vk: &zk::unlinkable::VerifyingKey) {
        let record = VerifyingKeyRecord {
            circuit: vk.shape().id(),
            version: vk.version(),
            key: vk.to_bytes(),
        };
        self.put(
            state_keys::verifying_key(&record.circuit, record.version),
            &record,
        );
    }

    /// Retires a verifying key version (in the next block).
    pub(crate) fn retire_verifying_key(&self, circuit: &str, version: u32) {
        self.put(
            state_keys::retired_verifying_key(circuit, version),
            &schemas::ledger::KeyRetirement {
                circuit: circuit.to_owned(),
                version,
            },
        );
    }

    /// Revokes `index` of `issuer`'s list `list` as the ledger does: its status chunk's bit and
    /// the list's Poseidon revocation root and count (in the next block).
    pub(crate) fn revoke(&self, issuer: &Did, list: u32, index: u32) {
        let chunk_no = index / STATUS_CHUNK_BITS;
        let chunk_key = state_keys::status_chunk(issuer, list, chunk_no);
        let mut chunk: StatusListChunk = self
            .value(&chunk_key)
            .unwrap_or_else(|| StatusListChunk::empty(issuer.clone(), list, chunk_no));
        chunk.set(index);
        self.put(chunk_key, &chunk);
        let ids = {
            let mut inner = self.inner();
            let ids = inner.revoked.entry((issuer.clone(), list)).or_default();
            ids.insert(index);
            ids.clone()
        };
        let mut tree = zk::tree::RevocationTree::new();
        for &i in &ids {
            tree.revoke(i);
        }
        self.put(
            state_keys::revoked(issuer, list),
            &RevocationRoot {
                issuer: issuer.clone(),
                list_id: list,
                count: u32::try_from(ids.len()).expect("a small list"),
                root: tree.root_hash(),
            },
        );
    }

    /// The committed value at `key`, decoded.
    fn value<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Option<T> {
        let proof = self.proofs(&[key.to_vec()]);
        let facts = Facts::verify_read(&proof, &[key.to_vec()], &self.trust).expect("own proof");
        facts.get(key, "a fixture record").expect("decodes")
    }
}

impl ReadLedger for Chain {
    async fn read(&self, keys: Vec<Vec<u8>>) -> Result<(LedgerProof, Facts), LedgerError> {
        let proof = self.proofs(&keys);
        let facts = Facts::verify_read(&proof, &keys, &self.trust)?;
        Ok((proof, facts))
    }

    async fn revoked_ids(&self, issuer: &Did, list: u32) -> Result<Vec<u32>, LedgerError> {
        Ok(self
            .inner()
            .revoked
            .get(&(issuer.clone(), list))
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default())
    }
}

//! The ledger's authenticated state: an SM3 sparse Merkle tree (a Jellyfish Merkle tree from
//! the maintained `jmt` crate, with SM3 as its hash) whose root goes into every block header.
//!
//! Keys are `SM3(tag || key)` ([`state_key_hash`]) so the tree is balanced whatever the keys
//! look like; values are the canonical bytes of ledger records. jmt hashes leaves and interior
//! nodes with distinct prefixes (`JMT::LeafNode`, `JMT::IntrnalNode`), the same
//! node-never-passes-as-leaf separation the RFC 6962 `0x00`/`0x01` prefixes give our batch
//! trees.
//!
//! A [`StateProof`] proves presence (with the value) or absence of a key against a root; its
//! verifier is pure and needs nothing but the root, so a light client checks any read.
//!
//! [`MemoryStore`] keeps a versioned tree in memory (tests, the wallet's demo); the node keeps
//! the same nodes in sled through the [`store`] traits.

use crate::hash::{Hash, domains, hash_domain};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// The hasher plugged into jmt: SM3 from the `digest` 0.10 family.
pub type StateHasher = sm3_d10::Sm3;

/// The storage traits a tree store implements (re-exported so nodes need not name `jmt`).
pub mod store {
    pub use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeUpdateBatch, TreeWriter};
    pub use jmt::{KeyHash, OwnedValue, Version};
}

/// Largest encoded state proof accepted: 256 siblings of at most 65 bytes, plus framing.
pub const MAX_STATE_PROOF_BYTES: usize = 256 * 72 + 256;

/// The root of an empty state tree (jmt's placeholder; the constant is private in jmt).
pub const EMPTY_ROOT: Hash = Hash(*b"SPARSE_MERKLE_PLACEHOLDER_HASH__");

/// The tree position of a state key.
pub fn state_key_hash(key: &[u8]) -> jmt::KeyHash {
    jmt::KeyHash(hash_domain(domains::STATE_KEY, key).0)
}

/// Why a state operation or proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The proof bytes are not a state proof.
    #[error("malformed state proof: {reason}")]
    MalformedProof {
        /// What was wrong.
        reason: String,
    },
    /// The proof does not lead to the root for this key and value.
    #[error("state proof for key {key} does not match the state root: {reason}")]
    ProofMismatch {
        /// The key, hex.
        key: String,
        /// What the check reported.
        reason: String,
    },
    /// The store failed.
    #[error("state store: {reason}")]
    Store {
        /// What the store reported.
        reason: String,
    },
}

/// The value of one key (or its absence) with the proof against a state root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateProof {
    /// The state key (not its hash).
    #[serde(with = "crate::bytes::variable")]
    pub key: Vec<u8>,
    /// The value, or `None` for a proof of absence.
    pub value: Option<StateValue>,
    /// jmt's `SparseMerkleProof`, borsh-encoded.
    #[serde(with = "crate::bytes::variable")]
    pub proof: Vec<u8>,
}

/// A state value's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StateValue(#[serde(with = "crate::bytes::variable")] pub Vec<u8>);

impl StateProof {
    /// Checks the proof against `root`: the key holds `self.value`, or nothing if `None`.
    pub fn verify(&self, root: &Hash) -> Result<(), StateError> {
        if self.proof.len() > MAX_STATE_PROOF_BYTES {
            return Err(StateError::MalformedProof {
                reason: format!(
                    "{} bytes is over the {MAX_STATE_PROOF_BYTES}-byte limit",
                    self.proof.len()
                ),
            });
        }
        let proof: jmt::proof::SparseMerkleProof<StateHasher> =
            borsh::from_slice(&self.proof).map_err(|e| StateError::MalformedProof {
                reason: e.to_string(),
            })?;
        proof
            .verify(
                jmt::RootHash(root.0),
                state_key_hash(&self.key),
                self.value.as_ref().map(|v| &v.0),
            )
            .map_err(|e| StateError::ProofMismatch {
                key: hex::encode(&self.key),
                reason: e.to_string(),
            })
    }
}

/// A versioned sparse Merkle tree over any [`store::TreeReader`].
pub struct StateTree<'a, R> {
    reader: &'a R,
}

impl<'a, R: store::TreeReader> StateTree<'a, R> {
    /// A view of the tree in `reader`.
    pub fn new(reader: &'a R) -> Self {
        StateTree { reader }
    }

    fn jmt(&self) -> jmt::JellyfishMerkleTree<'a, R, StateHasher> {
        jmt::JellyfishMerkleTree::new(self.reader)
    }

    /// Computes version `version` from `updates` (`None` deletes); returns the new root and the
    /// nodes to write. Nothing is written: the caller persists the batch atomically.
    pub fn update(
        &self,
        version: u64,
        updates: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(Hash, store::TreeUpdateBatch), StateError> {
        let set: Vec<_> = updates
            .into_iter()
            .map(|(k, v)| (state_key_hash(&k), v))
            .collect();
        let (root, batch) = self.jmt().put_value_set(set, version).map_err(store_err)?;
        Ok((Hash(root.0), batch))
    }

    /// The root at `version`.
    pub fn root(&self, version: u64) -> Result<Hash, StateError> {
        Ok(Hash(self.jmt().get_root_hash(version).map_err(store_err)?.0))
    }

    /// The value of `key` at `version` with its proof.
    pub fn get_with_proof(&self, key: &[u8], version: u64) -> Result<StateProof, StateError> {
        let (value, proof) = self
            .jmt()
            .get_with_proof(state_key_hash(key), version)
            .map_err(store_err)?;
        let proof = borsh::to_vec(&proof).map_err(|e| StateError::Store {
            reason: e.to_string(),
        })?;
        Ok(StateProof {
            key: key.to_vec(),
            value: value.map(StateValue),
            proof,
        })
    }
}

fn store_err(e: impl std::fmt::Display) -> StateError {
    StateError::Store {
        reason: e.to_string(),
    }
}

/// Every version of one key's value (`None`: deleted at that version).
type ValueHistory = BTreeMap<u64, Option<Vec<u8>>>;

/// An in-memory versioned tree store.
#[derive(Default)]
pub struct MemoryStore {
    nodes: RwLock<HashMap<store::NodeKey, store::Node>>,
    values: RwLock<HashMap<jmt::KeyHash, ValueHistory>>,
    latest: RwLock<Option<u64>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `updates` as version `latest + 1` (0 for the first) and returns its root.
    pub fn apply(
        &self,
        updates: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(u64, Hash), StateError> {
        let version = self.latest_version().map_or(0, |v| v + 1);
        let (root, batch) = StateTree::new(self).update(version, updates)?;
        store::TreeWriter::write_node_batch(self, &batch.node_batch).map_err(store_err)?;
        *self.latest.write().map_err(store_err)? = Some(version);
        Ok((version, root))
    }

    /// The newest version written.
    pub fn latest_version(&self) -> Option<u64> {
        *self.latest.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl store::TreeReader for MemoryStore {
    fn get_node_option(&self, node_key: &store::NodeKey) -> anyhow::Result<Option<store::Node>> {
        Ok(self
            .nodes
            .read()
            .map_err(|e| anyhow::Error::msg(e.to_string()))?
            .get(node_key)
            .cloned())
    }

    fn get_value_option(&self, max_version: u64, key_hash: jmt::KeyHash) -> anyhow::Result<Option<Vec<u8>>> {
        let values = self
            .values
            .read()
            .map_err(|e| anyhow::Error::msg(e.to_string()))?;
        Ok(values
            .get(&key_hash)
            .and_then(|history| history.range(..=max_version).next_back())
            .and_then(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(store::NodeKey, store::LeafNode)>> {
        let nodes = self.nodes.read().map_err(|e| anyhow::Error::msg(e.to_string()))?;
        let mut best: Option<(store::NodeKey, store::LeafNode)> = None;
        for (key, node) in nodes.iter() {
            if let store::Node::Leaf(leaf) = node
                && best.as_ref().is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
            {
                best = Some((key.clone(), leaf.clone()));
            }
        }
        Ok(best)
    }
}

impl store::TreeWriter for MemoryStore {
    fn write_node_batch(&self, batch: &store::NodeBatch) -> anyhow::Result<()> {
        let mut nodes = self
            .nodes
            .write()
            .map_err(|e| anyhow::Error::msg(e.to_string()))?;
        for (k, n) in batch.nodes() {
            nodes.insert(k.clone(), n.clone());
        }
        let mut values = self
            .values
            .write()
            .map_err(|e| anyhow::Error::msg(e.to_string()))?;
        for ((version, key_hash), v) in batch.values() {
            values.entry(*key_hash).or_default().insert(*version, v.clone());
        }
        Ok(())
    }
}

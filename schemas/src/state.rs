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

/// Most siblings on a path: one per bit of a key hash.
pub const MAX_STATE_PROOF_SIBLINGS: usize = 256;

/// Largest encoded state proof ([`compact`]): the leaf (kind, key hash, value hash), the
/// sibling count, the bitmap, and 256 sibling hashes.
pub const MAX_STATE_PROOF_BYTES: usize =
    1 + 64 + 2 + MAX_STATE_PROOF_SIBLINGS / 8 + 32 * MAX_STATE_PROOF_SIBLINGS;

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateProof {
    /// The state key (not its hash).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub key: Vec<u8>,
    /// The value, or `None` for a proof of absence.
    pub value: Option<StateValue>,
    /// The path to the root in the compact encoding of [`compact`] (`docs/state-proof.md`).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub proof: Vec<u8>,
}

/// A state value's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StateValue(#[serde(with = "crate::bytes::variable")] pub Vec<u8>);

impl StateProof {
    /// Checks the proof against `root`: the key holds `self.value`, or nothing if `None`.
    pub fn verify(&self, root: &Hash) -> Result<(), StateError> {
        let proof = compact::Proof::decode(&self.proof)?;
        proof
            .verify(root, &self.key, self.value.as_ref().map(|v| v.0.as_slice()))
            .map_err(|reason| StateError::ProofMismatch {
                key: hex::encode(&self.key),
                reason,
            })
    }
}

/// State proofs in a compact form: the sibling *hashes* on the key's path, with the empty
/// subtrees (jmt's placeholder) marked in a bitmap instead of sent.
///
/// jmt's own `SparseMerkleProof` carries each sibling as a node — both children of an
/// interior sibling, key and value hashes of a leaf, 65 bytes — although verification uses
/// only the node's hash; this encoding halves a proof, which is most of what a presentation
/// carries. Verification is jmt's, step for step (`SparseMerkleProof::verify`, jmt 0.12), with
/// the same hashes, so a compact proof verifies exactly when the jmt proof it came from does
/// (tested on random trees against jmt itself):
///
/// ```text
/// kind (1 byte): 0 the key's position is empty; 1 the key's own leaf (presence: its key hash
///                and value hash follow from the key and value proven); 2 another key's leaf
///                (absence), followed by that leaf's key hash (32) and value hash (32)
/// n (2 bytes, big endian): siblings on the path, ≤ 256, bottom first
/// bitmap (⌈n/8⌉ bytes): bit i (byte i/8, least significant bit first) set when sibling i is
///                not the placeholder; bits beyond n are zero
/// hashes: 32 bytes for each set bit, in order
/// ```
///
/// Every encoding is canonical: one proof has one byte string, and anything else (trailing
/// bytes, set padding bits, the empty-subtree hash sent for a set bit, an unknown kind, more
/// than 256 siblings) is refused.
pub mod compact {
    use super::{
        EMPTY_ROOT, MAX_STATE_PROOF_BYTES, MAX_STATE_PROOF_SIBLINGS, StateError, StateHasher, state_key_hash,
    };
    use crate::hash::Hash;
    use jmt::SimpleHasher as _;

    const LEAF_PREFIX: &[u8] = b"JMT::LeafNode";
    const INTERNAL_PREFIX: &[u8] = b"JMT::IntrnalNode";
    const PLACEHOLDER: [u8; 32] = EMPTY_ROOT.0;

    /// What the path starts from.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Leaf {
        /// The key's position is an empty subtree.
        Empty,
        /// The key's own leaf (a proof of presence).
        Own,
        /// Another key's leaf, alone in the subtree where the key would be (absence).
        Other {
            /// That leaf's key hash.
            key_hash: [u8; 32],
            /// Its value's hash.
            value_hash: [u8; 32],
        },
    }

    /// A decoded proof.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Proof {
        /// Where the path starts.
        pub leaf: Leaf,
        /// Sibling hashes, bottom first; `None` is the placeholder (an empty subtree).
        pub siblings: Vec<Option<[u8; 32]>>,
    }

    fn malformed(reason: impl Into<String>) -> StateError {
        StateError::MalformedProof {
            reason: reason.into(),
        }
    }

    fn leaf_hash(key_hash: &[u8; 32], value_hash: &[u8; 32]) -> [u8; 32] {
        let mut h = StateHasher::new();
        h.update(LEAF_PREFIX);
        h.update(key_hash);
        h.update(value_hash);
        h.finalize()
    }

    fn internal_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        let mut h = StateHasher::new();
        h.update(INTERNAL_PREFIX);
        h.update(left);
        h.update(right);
        h.finalize()
    }

    /// Bit `i` of a key hash, most significant bit of byte 0 first (jmt's order).
    fn bit(key_hash: &[u8; 32], i: usize) -> bool {
        key_hash[i / 8] >> (7 - i % 8) & 1 == 1
    }

    fn common_prefix_bits(a: &[u8; 32], b: &[u8; 32]) -> usize {
        (0..256).take_while(|&i| bit(a, i) == bit(b, i)).count()
    }

    fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], StateError> {
        if bytes.len() < n {
            return Err(malformed(format!("it ends inside {what}")));
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Ok(head)
    }

    fn hash32(bytes: &mut &[u8], what: &str) -> Result<[u8; 32], StateError> {
        Ok(take(bytes, 32, what)?.try_into().expect("took 32 bytes"))
    }

    impl Proof {
        /// Decodes the canonical encoding, refusing anything else.
        pub fn decode(bytes: &[u8]) -> Result<Self, StateError> {
            if bytes.len() > MAX_STATE_PROOF_BYTES {
                return Err(malformed(format!(
                    "{} bytes is over the {MAX_STATE_PROOF_BYTES}-byte limit",
                    bytes.len()
                )));
            }
            let mut rest = bytes;
            let leaf = match take(&mut rest, 1, "the leaf kind")?[0] {
                0 => Leaf::Empty,
                1 => Leaf::Own,
                2 => Leaf::Other {
                    key_hash: hash32(&mut rest, "the other leaf's key hash")?,
                    value_hash: hash32(&mut rest, "the other leaf's value hash")?,
                },
                k => return Err(malformed(format!("unknown leaf kind {k} (expected 0, 1 or 2)"))),
            };
            let n = usize::from(u16::from_be_bytes(
                take(&mut rest, 2, "the sibling count")?
                    .try_into()
                    .expect("took 2 bytes"),
            ));
            if n > MAX_STATE_PROOF_SIBLINGS {
                return Err(malformed(format!(
                    "{n} siblings (a path has at most {MAX_STATE_PROOF_SIBLINGS})"
                )));
            }
            let bitmap = take(&mut rest, n.div_ceil(8), "the sibling bitmap")?;
            if (n..n.div_ceil(8) * 8).any(|i| bitmap[i / 8] >> (i % 8) & 1 == 1) {
                return Err(malformed("a bitmap bit beyond the last sibling is set"));
            }
            let mut siblings = Vec::with_capacity(n);
            for i in 0..n {
                siblings.push(if bitmap[i / 8] >> (i % 8) & 1 == 1 {
                    let h = hash32(&mut rest, "a sibling hash")?;
                    // An empty subtree is a clear bit, never its hash sent: one encoding.
                    if h == PLACEHOLDER {
                        return Err(malformed(format!(
                            "sibling {i} is sent as the empty-subtree hash; its bitmap bit must be clear instead"
                        )));
                    }
                    Some(h)
                } else {
                    None
                });
            }
            if !rest.is_empty() {
                return Err(malformed(format!("{} bytes after the last sibling", rest.len())));
            }
            Ok(Proof { leaf, siblings })
        }

        /// The canonical encoding (a sibling equal to the empty-subtree hash is written as a
        /// clear bit).
        pub fn encode(&self) -> Vec<u8> {
            let n = self.siblings.len();
            let mut out = Vec::with_capacity(67 + n.div_ceil(8) + 32 * n);
            match &self.leaf {
                Leaf::Empty => out.push(0),
                Leaf::Own => out.push(1),
                Leaf::Other { key_hash, value_hash } => {
                    out.push(2);
                    out.extend_from_slice(key_hash);
                    out.extend_from_slice(value_hash);
                }
            }
            out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
            let sent = |s: &Option<[u8; 32]>| s.filter(|h| *h != PLACEHOLDER);
            let mut bitmap = vec![0u8; n.div_ceil(8)];
            for (i, s) in self.siblings.iter().enumerate() {
                if sent(s).is_some() {
                    bitmap[i / 8] |= 1 << (i % 8);
                }
            }
            out.extend_from_slice(&bitmap);
            for h in self.siblings.iter().filter_map(sent) {
                out.extend_from_slice(&h);
            }
            out
        }

        /// Converts jmt's proof (borsh-encoded `SparseMerkleProof`: an optional leaf, then the
        /// sibling nodes bottom first, each `Null`, `Internal(left, right)` or `Leaf(key, value)`)
        /// for `key` into this form. Only the node's own proofs are converted.
        pub fn from_jmt(jmt_proof: &[u8], key: &[u8], present: bool) -> Result<Self, StateError> {
            let mut rest = jmt_proof;
            let leaf = match take(&mut rest, 1, "jmt's leaf option")?[0] {
                0 => Leaf::Empty,
                1 => {
                    let key_hash = hash32(&mut rest, "jmt's leaf key hash")?;
                    let value_hash = hash32(&mut rest, "jmt's leaf value hash")?;
                    if present && key_hash == state_key_hash(key).0 {
                        Leaf::Own
                    } else {
                        Leaf::Other { key_hash, value_hash }
                    }
                }
                t => return Err(malformed(format!("jmt leaf option tag {t}"))),
            };
            let count = u32::from_le_bytes(
                take(&mut rest, 4, "jmt's sibling count")?
                    .try_into()
                    .expect("4 bytes"),
            );
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count > MAX_STATE_PROOF_SIBLINGS {
                return Err(malformed(format!("jmt proof with {count} siblings")));
            }
            let mut siblings = Vec::with_capacity(count);
            for _ in 0..count {
                siblings.push(match take(&mut rest, 1, "a jmt sibling tag")?[0] {
                    0 => None,
                    1 => {
                        let (l, r) = (hash32(&mut rest, "jmt node")?, hash32(&mut rest, "jmt node")?);
                        Some(internal_hash(&l, &r))
                    }
                    2 => {
                        let (k, v) = (hash32(&mut rest, "jmt node")?, hash32(&mut rest, "jmt node")?);
                        Some(leaf_hash(&k, &v))
                    }
                    t => return Err(malformed(format!("jmt sibling tag {t}"))),
                });
            }
            if !rest.is_empty() {
                return Err(malformed("bytes after jmt's proof"));
            }
            Ok(Proof { leaf, siblings })
        }

        /// Checks that the path leads from `key` (holding `value`, or nothing) to `root`, as
        /// jmt's `SparseMerkleProof::verify` does. Returns what failed.
        pub fn verify(&self, root: &Hash, key: &[u8], value: Option<&[u8]>) -> Result<(), String> {
            let key_hash = state_key_hash(key).0;
            let n = self.siblings.len();
            let start = match (&self.leaf, value) {
                (Leaf::Own, Some(v)) => leaf_hash(&key_hash, &StateHasher::hash(v)),
                (Leaf::Own, None) => return Err("the proof shows the key present, not absent".into()),
                (Leaf::Empty | Leaf::Other { .. }, Some(_)) => {
                    return Err("the proof shows the key absent, not present".into());
                }
                (Leaf::Other { key_hash: other, .. }, None) if *other == key_hash => {
                    return Err("the proof's other leaf is the key itself".into());
                }
                (
                    Leaf::Other {
                        key_hash: other,
                        value_hash,
                    },
                    None,
                ) => {
                    // The key would have landed in the subtree where `other` is alone.
                    if common_prefix_bits(&key_hash, other) < n {
                        return Err("the key would not be in the other leaf's subtree".into());
                    }
                    leaf_hash(other, value_hash)
                }
                (Leaf::Empty, None) => PLACEHOLDER,
            };
            let computed = self
                .siblings
                .iter()
                .enumerate()
                .fold(start, |hash, (i, sibling)| {
                    let sibling = sibling.unwrap_or(PLACEHOLDER);
                    if bit(&key_hash, n - 1 - i) {
                        internal_hash(&sibling, &hash)
                    } else {
                        internal_hash(&hash, &sibling)
                    }
                });
            if computed == root.0 {
                Ok(())
            } else {
                Err(format!("the path leads to root {}", Hash(computed)))
            }
        }
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
        let jmt_bytes = borsh::to_vec(&proof).map_err(|e| StateError::Store {
            reason: e.to_string(),
        })?;
        let proof = compact::Proof::from_jmt(&jmt_bytes, key, value.is_some())?.encode();
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

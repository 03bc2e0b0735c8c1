//! Native Poseidon Merkle trees that match the circuit's gadgets bit for bit.
//!
//! - [`CredentialTree`]: an issuer's batch of unlinkable-tier credentials, fixed depth
//!   [`CREDENTIAL_TREE_DEPTH`] (2^20 ≈ 10^6 leaves per tree). Absent leaves are 0 and subtrees of
//!   absent leaves take precomputed "empty" hashes, so a tree of n leaves costs about n hashes,
//!   computed level by level on all cores.
//! - [`RevocationTree`]: per issuer, a sparse tree of depth [`REVOCATION_TREE_DEPTH`] keyed by
//!   the credential's 32-bit revocation id; a revoked id's leaf is 1, every other leaf 0. A
//!   holder rebuilds it from the ledger's public revoked-id list and proves its leaf is 0.
//!
//! Node = `Poseidon2(left, right)`. Both trees have a fixed depth and the circuit walks exactly
//! that many levels, so an interior node can never be passed off as a leaf.

use crate::poseidon::{from_hash, hash2, to_hash};
use ark_bn254::Fr;
use ark_ff::{One, Zero};
use rayon::prelude::*;
use schemas::Hash;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Depth of a credential tree.
pub const CREDENTIAL_TREE_DEPTH: usize = 20;
/// Depth of a revocation tree (ids are `u32`).
pub const REVOCATION_TREE_DEPTH: usize = 32;

/// `empty[i]`: root of an all-zero subtree of height `i`.
pub fn empty_hashes() -> &'static [Fr] {
    static EMPTY: OnceLock<Vec<Fr>> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut e = vec![Fr::zero()];
        for i in 0..REVOCATION_TREE_DEPTH.max(CREDENTIAL_TREE_DEPTH) {
            e.push(hash2(e[i], e[i]));
        }
        e
    })
}

/// A path from a leaf to the root: siblings from the leaf up; the index's bits pick sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// Leaf position.
    pub index: u64,
    /// Sibling per level, leaf level first.
    pub siblings: Vec<Fr>,
}

impl MerklePath {
    /// A path as credentials carry it: siblings as hashes, leaf level first. `None` unless it
    /// has `depth` siblings, each a canonical field element.
    pub fn from_hashes(index: u64, siblings: &[Hash], depth: usize) -> Option<Self> {
        if siblings.len() != depth {
            return None;
        }
        Some(MerklePath {
            index,
            siblings: siblings.iter().map(from_hash).collect::<Option<_>>()?,
        })
    }

    /// Its siblings as the hashes a credential carries.
    pub fn sibling_hashes(&self) -> Vec<Hash> {
        self.siblings.iter().map(to_hash).collect()
    }

    /// The root this path leads to from the leaf `leaf` (`None` if it is not a field element).
    pub fn root_hash_from(&self, leaf: &Hash) -> Option<Hash> {
        Some(to_hash(&self.root_from(from_hash(leaf)?)))
    }

    /// The root this path leads to from `leaf`.
    pub fn root_from(&self, leaf: Fr) -> Fr {
        let mut cur = leaf;
        for (level, sib) in self.siblings.iter().enumerate() {
            cur = if (self.index >> level) & 1 == 1 {
                hash2(*sib, cur)
            } else {
                hash2(cur, *sib)
            };
        }
        cur
    }
}

/// A full credential tree kept in memory (for the issuer).
pub struct CredentialTree {
    /// `levels[0]` are the leaves; `levels[i]` the non-empty prefix of level i.
    levels: Vec<Vec<Fr>>,
}

/// Too many leaves for the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{count} leaves do not fit a tree of depth {CREDENTIAL_TREE_DEPTH} (at most {max})")]
pub struct TreeFull {
    /// Leaves given.
    pub count: usize,
    /// Capacity.
    pub max: usize,
}

/// Below this many nodes a level is hashed on one thread.
const PARALLEL_MIN_NODES: usize = 1024;

impl CredentialTree {
    /// Builds the tree over `leaves` (positions 0..n; the rest empty).
    pub fn build(leaves: Vec<Fr>) -> Result<Self, TreeFull> {
        let max = 1usize << CREDENTIAL_TREE_DEPTH;
        if leaves.len() > max {
            return Err(TreeFull {
                count: leaves.len(),
                max,
            });
        }
        let empty = empty_hashes();
        let mut levels = vec![leaves];
        for level in 0..CREDENTIAL_TREE_DEPTH {
            let prev = &levels[level];
            let pair = |c: &[Fr]| hash2(c[0], c.get(1).copied().unwrap_or(empty[level]));
            let next: Vec<Fr> = if prev.len() >= PARALLEL_MIN_NODES {
                prev.par_chunks(2).map(pair).collect()
            } else {
                prev.chunks(2).map(pair).collect()
            };
            levels.push(next);
        }
        Ok(CredentialTree { levels })
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root as the anchor carries it.
    pub fn root_hash(&self) -> Hash {
        to_hash(&self.root())
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.levels[CREDENTIAL_TREE_DEPTH]
            .first()
            .copied()
            .unwrap_or(empty_hashes()[CREDENTIAL_TREE_DEPTH])
    }

    /// The path of leaf `index`, if it exists.
    pub fn path(&self, index: usize) -> Option<MerklePath> {
        if index >= self.len() {
            return None;
        }
        let empty = empty_hashes();
        let siblings = (0..CREDENTIAL_TREE_DEPTH)
            .map(|level| {
                self.levels[level]
                    .get((index >> level) ^ 1)
                    .copied()
                    .unwrap_or(empty[level])
            })
            .collect();
        Some(MerklePath {
            index: index as u64,
            siblings,
        })
    }
}

/// A sparse revocation tree.
#[derive(Clone, Default)]
pub struct RevocationTree {
    /// Non-empty nodes: `(level, index) → hash`; level 0 holds revoked leaves (value 1).
    nodes: HashMap<(usize, u64), Fr>,
}

impl RevocationTree {
    /// An empty tree (nothing revoked).
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree with `ids` revoked.
    pub fn from_revoked(ids: impl IntoIterator<Item = u32>) -> Self {
        let mut t = Self::new();
        for id in ids {
            t.revoke(id);
        }
        t
    }

    fn node(&self, level: usize, index: u64) -> Fr {
        self.nodes
            .get(&(level, index))
            .copied()
            .unwrap_or(empty_hashes()[level])
    }

    /// Marks `id` revoked (idempotent).
    pub fn revoke(&mut self, id: u32) {
        let mut index = u64::from(id);
        self.nodes.insert((0, index), Fr::one());
        for level in 0..REVOCATION_TREE_DEPTH {
            let (l, r) = (self.node(level, index & !1), self.node(level, index | 1));
            index >>= 1;
            self.nodes.insert((level + 1, index), hash2(l, r));
        }
    }

    /// Whether `id` is revoked.
    pub fn is_revoked(&self, id: u32) -> bool {
        self.nodes.contains_key(&(0, u64::from(id)))
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.node(REVOCATION_TREE_DEPTH, 0)
    }

    /// The root as the ledger's revocation record carries it.
    pub fn root_hash(&self) -> Hash {
        to_hash(&self.root())
    }

    /// The root of a list with nothing revoked, as the ledger's revocation record carries it.
    pub fn empty_root_hash() -> Hash {
        RevocationTree::new().root_hash()
    }

    /// The path of `id`'s leaf.
    pub fn path(&self, id: u32) -> MerklePath {
        let index = u64::from(id);
        let siblings = (0..REVOCATION_TREE_DEPTH)
            .map(|level| self.node(level, (index >> level) ^ 1))
            .collect();
        MerklePath { index, siblings }
    }

    /// The leaf value of `id` (1 revoked, 0 not).
    pub fn leaf(&self, id: u32) -> Fr {
        self.node(0, u64::from(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_paths_lead_to_the_root() {
        for n in [1usize, 2, 3, 5, 64, 1000] {
            let leaves: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i + 100)).collect();
            let tree = CredentialTree::build(leaves.clone()).expect("fits");
            for i in [0, n / 2, n - 1] {
                let p = tree.path(i).expect("exists");
                assert_eq!(p.root_from(leaves[i]), tree.root(), "n {n} i {i}");
                assert_ne!(p.root_from(leaves[i] + Fr::one()), tree.root());
            }
            assert!(tree.path(n).is_none());
        }
    }

    #[test]
    fn empty_tree_root_is_the_empty_hash() {
        let tree = CredentialTree::build(vec![]).expect("fits");
        assert_eq!(tree.root(), empty_hashes()[CREDENTIAL_TREE_DEPTH]);
    }

    #[test]
    fn revocation_paths_prove_membership_and_absence() {
        let t = RevocationTree::from_revoked([3, 17, u32::MAX]);
        assert!(t.is_revoked(17) && !t.is_revoked(18));
        for id in [0u32, 3, 17, 18, u32::MAX, u32::MAX - 1] {
            let p = t.path(id);
            assert_eq!(p.root_from(t.leaf(id)), t.root(), "id {id}");
        }
        // A revoked id cannot be shown as absent.
        assert_ne!(t.path(17).root_from(Fr::zero()), t.root());
        assert_eq!(
            RevocationTree::new().root(),
            empty_hashes()[REVOCATION_TREE_DEPTH]
        );
    }
}

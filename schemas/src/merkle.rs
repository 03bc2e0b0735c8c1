//! The SM3 Merkle tree of a batch of credentials, in the shape of RFC 6962 / RFC 9162 §2.1.
//!
//! ```text
//! MTH({})       = SM3()                           (the empty tree)
//! MTH({d0})     = SM3(0x00 || d0)                 (leaf)
//! MTH(D[0..n])  = SM3(0x01 || MTH(D[0..k]) || MTH(D[k..n]))   k = largest power of 2 < n
//! ```
//!
//! The `0x00`/`0x01` prefixes keep a node from ever passing as a leaf (second-preimage
//! resistance). Building level by level, carrying an odd last node up unchanged, gives exactly
//! the RFC's split-at-a-power-of-two tree; each level is hashed in parallel.
//!
//! Invariant: an [`InclusionProof`] verifies only for the leaf, index, tree size and root it
//! was made for (RFC 9162 §2.1.3.2); the verifier never panics on any proof.

use crate::hash::Hash;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sm3::{Digest as _, Sm3};

/// Prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an interior node hash.
pub const NODE_PREFIX: u8 = 0x01;

/// The deepest proof we accept: trees hold at most 2^64 leaves.
pub const MAX_PROOF_LEN: usize = 64;

/// Levels smaller than this are hashed on one thread (spawning costs more than it saves).
const PARALLEL_MIN_NODES: usize = 4096;

/// `SM3(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sm3::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// `SM3(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sm3::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// A built tree: every level kept, so proofs are read off without rehashing.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    /// `levels[0]` are the leaf hashes; the last level holds the root alone.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// Builds the tree over already-computed leaf hashes ([`leaf_hash`]).
    pub fn from_leaf_hashes(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let prev = levels.last().expect("levels is never empty");
            let next: Vec<Hash> = if prev.len() >= PARALLEL_MIN_NODES {
                prev.par_chunks(2).map(hash_pair_or_carry).collect()
            } else {
                prev.chunks(2).map(hash_pair_or_carry).collect()
            };
            levels.push(next);
        }
        MerkleTree { levels }
    }

    /// Builds the tree over leaf data (each hashed with [`leaf_hash`]).
    pub fn from_leaves<T: AsRef<[u8]> + Sync>(data: &[T]) -> Self {
        let leaves = data.par_iter().map(|d| leaf_hash(d.as_ref())).collect();
        Self::from_leaf_hashes(leaves)
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root (`SM3()` of nothing for an empty tree, per RFC 9162).
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(root) if !self.is_empty() => *root,
            _ => Hash(Sm3::digest([]).into()),
        }
    }

    /// The proof that leaf `index` is in the tree, or `None` if there is no such leaf.
    pub fn prove(&self, index: u64) -> Option<InclusionProof> {
        if index >= self.len() {
            return None;
        }
        let mut path = Vec::new();
        let mut i = usize::try_from(index).ok()?;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            // An odd last node has no sibling at this level: it is carried up unchanged.
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i /= 2;
        }
        Some(InclusionProof {
            index,
            tree_size: self.len(),
            path,
        })
    }
}

fn hash_pair_or_carry(pair: &[Hash]) -> Hash {
    match pair {
        [l, r] => node_hash(l, r),
        [single] => *single,
        _ => unreachable!("chunks(2) yields one or two items"),
    }
}

/// An audit path (RFC 9162 §2.1.3.1).
///
/// The path authenticates the leaf's position but not, for every index, the tree size (as in
/// Certificate Transparency, where the size is signed in the tree head): a verifier checks
/// `tree_size` against the anchored batch's `count`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Position of the leaf, from 0.
    pub index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash>,
}

/// Why an inclusion proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// Index not below the tree size.
    #[error("leaf index {index} is outside a tree of {tree_size} leaves")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The size.
        tree_size: u64,
    },
    /// Path length wrong for this index and size.
    #[error("audit path has {found} hashes; index {index} in a tree of {tree_size} needs {expected}")]
    WrongPathLength {
        /// The index.
        index: u64,
        /// The size.
        tree_size: u64,
        /// Hashes given.
        found: usize,
        /// Hashes needed.
        expected: usize,
    },
    /// The recomputed root differs.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
}

impl InclusionProof {
    /// Checks that `leaf` (a [`leaf_hash`]) sits at `self.index` of the tree with `root`
    /// (RFC 9162 §2.1.3.2).
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), MerkleError> {
        let (index, size) = (self.index, self.tree_size);
        if index >= size {
            return Err(MerkleError::IndexOutOfRange {
                index,
                tree_size: size,
            });
        }
        let expected = path_len(index, size);
        if self.path.len() != expected || self.path.len() > MAX_PROOF_LEN {
            return Err(MerkleError::WrongPathLength {
                index,
                tree_size: size,
                found: self.path.len(),
                expected,
            });
        }
        let (mut fn_, mut sn) = (index, size - 1);
        let mut r = *leaf;
        for p in &self.path {
            if fn_ & 1 == 1 || fn_ == sn {
                r = node_hash(p, &r);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        if sn != 0 || r != *root {
            return Err(MerkleError::RootMismatch);
        }
        Ok(())
    }
}

/// Number of audit-path hashes for `index` in a tree of `size` leaves.
fn path_len(index: u64, size: u64) -> usize {
    let (mut i, mut n, mut len) = (index, size, 0);
    while n > 1 {
        if i ^ 1 < n {
            len += 1;
        }
        i /= 2;
        n = n.div_ceil(2);
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6962 recursive definition, as the oracle for the level-by-level builder.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Hash(Sm3::digest([]).into()),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn matches_recursive_definition_and_every_proof_verifies() {
        for n in 0..70u64 {
            let data: Vec<Vec<u8>> = (0..n).map(|i| i.to_le_bytes().to_vec()).collect();
            let tree = MerkleTree::from_leaves(&data);
            assert_eq!(tree.root(), mth(&tree.levels[0]), "size {n}");
            for i in 0..n {
                let proof = tree.prove(i).expect("index in range");
                let leaf = leaf_hash(&data[i as usize]);
                proof.verify(&leaf, &tree.root()).expect("honest proof verifies");
                let other = leaf_hash(b"other");
                assert_eq!(proof.verify(&other, &tree.root()), Err(MerkleError::RootMismatch));
            }
            assert!(tree.prove(n).is_none());
        }
    }
}

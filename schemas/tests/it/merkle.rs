//! The SM3 batch tree: proofs, rejections, and a million leaves.

use crate::fixtures::flip;
use proptest::prelude::*;
use schemas::hash::Hash;
use schemas::merkle::{InclusionProof, MerkleError, MerkleTree, leaf_hash, node_hash};

#[test]
fn leaf_and_node_hashes_are_domain_separated() {
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    let node = node_hash(&a, &b);
    let mut concat = a.0.to_vec();
    concat.extend_from_slice(&b.0);
    // The same 64 bytes hashed as a leaf never equal the node over them.
    assert_ne!(leaf_hash(&concat), node);
}

#[test]
fn a_million_leaves_build_and_prove() {
    let leaves: Vec<Hash> = (0u32..1_000_000).map(|i| leaf_hash(&i.to_le_bytes())).collect();
    let tree = MerkleTree::from_leaf_hashes(leaves);
    assert_eq!(tree.len(), 1_000_000);
    for index in [0u64, 1, 524_287, 524_288, 999_999] {
        let proof = tree.prove(index).expect("in range");
        // A full left subtree of 2^19 leaves puts 20 hashes above the first leaves; the
        // rightmost leaves sit in smaller, shallower subtrees.
        assert!(proof.path.len() <= 20);
        if index < 524_288 {
            assert_eq!(proof.path.len(), 20);
        }
        proof
            .verify(&leaf_hash(&(index as u32).to_le_bytes()), &tree.root())
            .expect("verifies");
    }
}

#[test]
fn every_flipped_bit_of_a_path_is_rejected() {
    let data: Vec<[u8; 4]> = (0u32..37).map(|i| i.to_le_bytes()).collect();
    let tree = MerkleTree::from_leaves(&data);
    let proof = tree.prove(21).expect("in range");
    let leaf = leaf_hash(&data[21]);
    proof.verify(&leaf, &tree.root()).expect("honest proof verifies");
    for i in 0..proof.path.len() {
        for bit in 0..256 {
            let mut p = proof.clone();
            flip(&mut p.path[i].0, bit);
            assert_eq!(
                p.verify(&leaf, &tree.root()),
                Err(MerkleError::RootMismatch),
                "hash {i} bit {bit}"
            );
        }
    }
    for bit in 0..256 {
        let mut root = tree.root();
        flip(&mut root.0, bit);
        assert!(proof.verify(&leaf, &root).is_err());
        let mut l = leaf;
        flip(&mut l.0, bit);
        assert!(proof.verify(&l, &tree.root()).is_err());
    }
}

#[test]
fn wrong_index_size_or_length_is_rejected() {
    let data: Vec<[u8; 1]> = (0u8..10).map(|i| [i]).collect();
    let tree = MerkleTree::from_leaves(&data);
    let proof = tree.prove(3).expect("in range");
    let leaf = leaf_hash(&data[3]);
    let at = |index, tree_size| InclusionProof {
        index,
        tree_size,
        path: proof.path.clone(),
    };
    assert!(at(2, 10).verify(&leaf, &tree.root()).is_err());
    assert!(at(3, 5).verify(&leaf, &tree.root()).is_err());
    assert!(matches!(
        at(10, 10).verify(&leaf, &tree.root()),
        Err(MerkleError::IndexOutOfRange { .. })
    ));
    let mut short = proof.clone();
    short.path.pop();
    assert!(matches!(
        short.verify(&leaf, &tree.root()),
        Err(MerkleError::WrongPathLength { .. })
    ));
    let long = InclusionProof {
        index: 0,
        tree_size: u64::MAX,
        path: vec![Hash::ZERO; 200],
    };
    assert!(long.verify(&leaf, &tree.root()).is_err());
}

proptest! {
    #[test]
    fn proofs_verify_for_their_leaf_only(n in 1usize..300, pick in any::<prop::sample::Index>(), other in any::<prop::sample::Index>()) {
        let data: Vec<Vec<u8>> = (0..n).map(|i| format!("credential-{i}").into_bytes()).collect();
        let tree = MerkleTree::from_leaves(&data);
        let i = pick.index(n);
        let proof = tree.prove(i as u64).expect("in range");
        prop_assert!(proof.verify(&leaf_hash(&data[i]), &tree.root()).is_ok());
        let j = other.index(n);
        if j != i {
            prop_assert!(proof.verify(&leaf_hash(&data[j]), &tree.root()).is_err());
        }
    }

    #[test]
    fn arbitrary_proofs_never_panic(index in any::<u64>(), size in any::<u64>(), path in prop::collection::vec(any::<[u8; 32]>(), 0..80)) {
        let p = InclusionProof { index, tree_size: size, path: path.into_iter().map(Hash).collect() };
        let _ = p.verify(&Hash::ZERO, &Hash::ZERO);
    }
}

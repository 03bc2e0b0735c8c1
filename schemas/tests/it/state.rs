//! The SM3 sparse Merkle state tree: presence, absence, versions, tampering.

use crate::fixtures::flip;
use proptest::prelude::*;
use schemas::state::{EMPTY_ROOT, MemoryStore, StateProof, StateTree, StateValue};

#[test]
fn presence_and_absence_proofs_verify_and_lies_do_not() {
    let store = MemoryStore::new();
    let (v0, root0) = store
        .apply((0..100u32).map(|i| {
            (
                format!("anchor/{i}").into_bytes(),
                Some(format!("record {i}").into_bytes()),
            )
        }))
        .expect("apply");
    let tree = StateTree::new(&store);
    let p = tree.get_with_proof(b"anchor/42", v0).expect("proof");
    assert_eq!(p.value, Some(StateValue(b"record 42".to_vec())));
    p.verify(&root0).expect("presence verifies");
    let a = tree.get_with_proof(b"anchor/1000", v0).expect("proof");
    assert_eq!(a.value, None);
    a.verify(&root0).expect("absence verifies");

    // Claiming absence of a present key, or presence of an absent one, fails.
    assert!(
        StateProof {
            value: None,
            ..p.clone()
        }
        .verify(&root0)
        .is_err()
    );
    assert!(
        StateProof {
            value: Some(StateValue(b"x".to_vec())),
            ..a.clone()
        }
        .verify(&root0)
        .is_err()
    );
    // Another key with the same proof fails.
    assert!(
        StateProof {
            key: b"anchor/43".to_vec(),
            ..p.clone()
        }
        .verify(&root0)
        .is_err()
    );

    // A later version: update one, delete one; old proofs hold against the old root only.
    let (v1, root1) = store
        .apply([
            (b"anchor/42".to_vec(), Some(b"changed".to_vec())),
            (b"anchor/7".to_vec(), None),
        ])
        .expect("apply");
    assert_ne!(root0, root1);
    assert!(p.verify(&root1).is_err());
    let p1 = StateTree::new(&store)
        .get_with_proof(b"anchor/42", v1)
        .expect("proof");
    assert_eq!(p1.value, Some(StateValue(b"changed".to_vec())));
    p1.verify(&root1).expect("verifies");
    let gone = StateTree::new(&store)
        .get_with_proof(b"anchor/7", v1)
        .expect("proof");
    assert_eq!(gone.value, None);
    gone.verify(&root1).expect("deleted key proves absent");
    assert_eq!(StateTree::new(&store).root(v0).expect("root"), root0);
}

#[test]
fn empty_tree_root_is_the_placeholder() {
    let store = MemoryStore::new();
    let (_, root) = store
        .apply(Vec::<(Vec<u8>, Option<Vec<u8>>)>::new())
        .expect("apply");
    assert_eq!(root, EMPTY_ROOT);
}

#[test]
fn every_flipped_bit_of_a_state_proof_is_rejected() {
    let store = MemoryStore::new();
    let (v, root) = store
        .apply((0..20u32).map(|i| (vec![i as u8], Some(vec![i as u8; 3]))))
        .expect("apply");
    let p = StateTree::new(&store).get_with_proof(&[5], v).expect("proof");
    for bit in 0..p.proof.len() * 8 {
        let mut q = p.clone();
        flip(&mut q.proof, bit);
        assert!(q.verify(&root).is_err(), "proof bit {bit}");
    }
    for bit in 0..256 {
        let mut r = root;
        flip(&mut r.0, bit);
        assert!(p.verify(&r).is_err(), "root bit {bit}");
    }
}

proptest! {
    #[test]
    fn arbitrary_proof_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let p = StateProof { key: b"k".to_vec(), value: None, proof: bytes };
        let _ = p.verify(&EMPTY_ROOT);
    }
}

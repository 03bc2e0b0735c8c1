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

/// jmt's own proof of `key` at `version` and its verdict, beside the compact proof's, for the
/// value claimed.
fn both_verdicts(
    store: &MemoryStore,
    version: u64,
    root: &schemas::hash::Hash,
    key: &[u8],
    claim: Option<&[u8]>,
) -> (bool, bool) {
    let (_, jmt_proof) = jmt::JellyfishMerkleTree::<_, schemas::state::StateHasher>::new(store)
        .get_with_proof(schemas::state::state_key_hash(key), version)
        .expect("jmt proof");
    let jmt_ok = jmt_proof
        .verify(jmt::RootHash(root.0), schemas::state::state_key_hash(key), claim)
        .is_ok();
    let compact = StateTree::new(store).get_with_proof(key, version).expect("proof");
    let ours = StateProof {
        value: claim.map(|v| StateValue(v.to_vec())),
        ..compact
    }
    .verify(root)
    .is_ok();
    (jmt_ok, ours)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// On random trees the compact proof gives jmt's verdict for every key, present or absent,
    /// for the true value and for a false one, and is never longer than jmt's.
    #[test]
    fn compact_proofs_agree_with_jmt(
        keys in prop::collection::btree_set(prop::collection::vec(any::<u8>(), 1..6), 0..120),
        probes in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..6), 1..12),
    ) {
        let store = MemoryStore::new();
        let (v, root) = store
            .apply(keys.iter().map(|k| (k.clone(), Some([k.as_slice(), b"!"].concat()))))
            .expect("apply");
        for key in keys.iter().take(12).chain(&probes) {
            let truth = keys.contains(key).then(|| [key.as_slice(), b"!"].concat());
            let (jmt_ok, ours) = both_verdicts(&store, v, &root, key, truth.as_deref());
            prop_assert!(jmt_ok && ours, "the true claim verifies on both");
            let lie: Option<Vec<u8>> = match &truth {
                Some(_) => None,
                None => Some(b"invented".to_vec()),
            };
            prop_assert_eq!(both_verdicts(&store, v, &root, key, lie.as_deref()), (false, false));
            let wrong = Some(b"another value".to_vec()).filter(|_| truth.is_some());
            if let Some(w) = wrong {
                prop_assert_eq!(both_verdicts(&store, v, &root, key, Some(&w)), (false, false));
            }
            let p = StateTree::new(&store).get_with_proof(key, v).expect("proof");
            let (_, jp) = jmt::JellyfishMerkleTree::<_, schemas::state::StateHasher>::new(&store)
                .get_with_proof(schemas::state::state_key_hash(key), v)
                .expect("jmt proof");
            prop_assert!(p.proof.len() <= borsh::to_vec(&jp).expect("borsh").len());
            // Canonical: decoding and encoding again gives the same bytes.
            let decoded = schemas::state::compact::Proof::decode(&p.proof).expect("decodes");
            prop_assert_eq!(decoded.encode(), p.proof.clone());
        }
    }
}

#[test]
fn a_proof_with_a_sibling_replaced_or_a_placeholder_unmarked_fails() {
    let store = MemoryStore::new();
    let (v, root) = store
        .apply((0..300u32).map(|i| (i.to_be_bytes().to_vec(), Some(vec![1]))))
        .expect("apply");
    let p = StateTree::new(&store)
        .get_with_proof(&7u32.to_be_bytes(), v)
        .expect("proof");
    let proof = schemas::state::compact::Proof::decode(&p.proof).expect("decodes");
    for i in 0..proof.siblings.len() {
        let mut q = proof.clone();
        q.siblings[i] = match q.siblings[i] {
            Some(_) => None,
            None => Some(root.0),
        };
        let forged = StateProof {
            proof: q.encode(),
            ..p.clone()
        };
        assert!(forged.verify(&root).is_err(), "sibling {i} changed");
    }
    // One sibling more or fewer (a path of another depth).
    for q in [
        schemas::state::compact::Proof {
            siblings: proof.siblings[1..].to_vec(),
            ..proof.clone()
        },
        schemas::state::compact::Proof {
            siblings: [proof.siblings.clone(), vec![None]].concat(),
            ..proof.clone()
        },
    ] {
        assert!(
            StateProof {
                proof: q.encode(),
                ..p.clone()
            }
            .verify(&root)
            .is_err()
        );
    }
}

/// The vectors of `docs/state-proof.md`: a tree of three keys, the proof of one present key and
/// of one absent key.
#[test]
fn state_proof_vectors_match_the_document() {
    let store = MemoryStore::new();
    let (v, root) = store
        .apply([
            (b"issuer/a".to_vec(), Some(b"record a".to_vec())),
            (b"issuer/b".to_vec(), Some(b"record b".to_vec())),
            (b"issuer/c".to_vec(), Some(b"record c".to_vec())),
        ])
        .expect("apply");
    let tree = StateTree::new(&store);
    let present = tree.get_with_proof(b"issuer/b", v).expect("proof");
    let absent = tree.get_with_proof(b"issuer/z", v).expect("proof");
    let doc = include_str!("../../../docs/state-proof.md");
    for (name, value) in [
        ("root", hex::encode(root.0)),
        ("presence of issuer/b", hex::encode(&present.proof)),
        ("absence of issuer/z", hex::encode(&absent.proof)),
    ] {
        println!("{name}: {value}");
        if std::env::var_os("CREDENCE_PRINT_VECTORS").is_some() {
            continue;
        }
        assert!(
            doc.contains(&value),
            "docs/state-proof.md lacks the {name} vector {value}"
        );
    }
    present.verify(&root).expect("presence verifies");
    absent.verify(&root).expect("absence verifies");
}

/// An empty sibling sent as its hash (bit set) instead of a clear bit is another encoding of the
/// same path: refused, so a relay cannot re-encode a proof.
#[test]
fn an_empty_sibling_sent_as_a_hash_is_refused() {
    let store = MemoryStore::new();
    let (v, root) = store
        .apply((0..500u32).map(|i| (i.to_be_bytes().to_vec(), Some(vec![2]))))
        .expect("apply");
    // A key whose path passes an empty subtree (two keys sharing a longer prefix).
    let (p, proof, empty) = (0..500u32)
        .find_map(|i| {
            let p = StateTree::new(&store)
                .get_with_proof(&i.to_be_bytes(), v)
                .expect("proof");
            let proof = schemas::state::compact::Proof::decode(&p.proof).expect("decodes");
            let empty = proof.siblings.iter().position(Option::is_none)?;
            Some((p, proof, empty))
        })
        .expect("some path of 500 keys passes an empty subtree");
    // Re-encode by hand with that sibling's bit set and the placeholder sent.
    let n = proof.siblings.len();
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(&(n as u16).to_be_bytes());
    let mut bitmap = vec![0u8; n.div_ceil(8)];
    for i in 0..n {
        if proof.siblings[i].is_some() || i == empty {
            bitmap[i / 8] |= 1 << (i % 8);
        }
    }
    bytes.extend_from_slice(&bitmap);
    for (i, s) in proof.siblings.iter().enumerate() {
        match s {
            Some(h) => bytes.extend_from_slice(h),
            None if i == empty => bytes.extend_from_slice(&EMPTY_ROOT.0),
            None => {}
        }
    }
    let forged = StateProof {
        proof: bytes,
        ..p.clone()
    };
    let e = forged
        .verify(&root)
        .expect_err("another encoding of the same path");
    assert!(e.to_string().contains("empty-subtree"), "{e}");
    p.verify(&root).expect("the canonical one verifies");
}

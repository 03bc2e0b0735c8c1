//! Commit certificates and ledger proofs against a validator set.

use crate::fixtures::{certificate, flip, header, key, validators};
use schemas::hash::Hash;
use schemas::ledger::LedgerProof;
use schemas::light_client::{LightClientError, verify_commit_certificate, verify_ledger_proof};
use schemas::state::MemoryStore;

#[test]
fn quorum_is_n_minus_f() {
    for (n, q) in [(1, 1), (4, 3), (5, 4), (7, 5), (10, 7)] {
        let (_, set) = validators(n);
        assert_eq!(set.quorum(), q, "n = {n}");
    }
}

#[test]
fn certificate_of_2f_plus_1_verifies_for_n_4_and_7() {
    for n in [4, 7] {
        let (keys, set) = validators(n);
        let h = header(&set, Hash([1; 32]));
        let signers: Vec<_> = keys.iter().take(set.quorum()).collect();
        verify_commit_certificate(&h, &certificate(&h, &signers), &set).expect("quorum certificate verifies");
        let all: Vec<_> = keys.iter().collect();
        verify_commit_certificate(&h, &certificate(&h, &all), &set).expect("full certificate verifies");
    }
}

#[test]
fn certificate_with_only_2f_signatures_is_rejected() {
    let (keys, set) = validators(7);
    let h = header(&set, Hash([1; 32]));
    let signers: Vec<_> = keys.iter().take(4).collect();
    assert_eq!(
        verify_commit_certificate(&h, &certificate(&h, &signers), &set),
        Err(LightClientError::InsufficientSignatures {
            found: 4,
            needed: 5,
            size: 7
        })
    );
}

#[test]
fn certificate_with_a_signer_twice_is_rejected() {
    let (keys, set) = validators(4);
    let h = header(&set, Hash([1; 32]));
    let cert = certificate(&h, &[&keys[0], &keys[1], &keys[1]]);
    assert_eq!(
        verify_commit_certificate(&h, &cert, &set),
        Err(LightClientError::DuplicateSigner { validator: 1 })
    );
}

#[test]
fn certificate_signed_by_an_outsider_is_rejected() {
    let (keys, set) = validators(4);
    let h = header(&set, Hash([1; 32]));
    let outsider = key(0xee);
    let cert = certificate(&h, &[&keys[0], &keys[1], &outsider]);
    assert_eq!(
        verify_commit_certificate(&h, &cert, &set),
        Err(LightClientError::UnknownSigner { position: 2 })
    );
}

#[test]
fn certificate_for_another_header_or_set_is_rejected() {
    let (keys, set) = validators(4);
    let h = header(&set, Hash([1; 32]));
    let signers: Vec<_> = keys.iter().take(3).collect();
    let cert = certificate(&h, &signers);
    let mut other = h.clone();
    other.state_root = Hash([2; 32]);
    assert!(matches!(
        verify_commit_certificate(&other, &cert, &set),
        Err(LightClientError::BlockMismatch { .. })
    ));
    let (_, other_set) = validators(7);
    assert!(matches!(
        verify_commit_certificate(&h, &cert, &other_set),
        Err(LightClientError::ValidatorSetMismatch { .. })
    ));
}

#[test]
fn every_flipped_bit_of_a_certificate_is_rejected() {
    let (keys, set) = validators(4);
    let h = header(&set, Hash([1; 32]));
    let signers: Vec<_> = keys.iter().take(3).collect();
    let cert = certificate(&h, &signers);
    for bit in 0..256 {
        let mut c = cert.clone();
        flip(&mut c.block_hash.0, bit);
        assert!(
            verify_commit_certificate(&h, &c, &set).is_err(),
            "block hash bit {bit}"
        );
    }
    for i in 0..3 {
        for bit in 0..512 {
            let mut c = cert.clone();
            flip(&mut c.signatures[i].signature.0, bit);
            assert!(
                verify_commit_certificate(&h, &c, &set).is_err(),
                "signature {i} bit {bit}"
            );
        }
    }
}

#[test]
fn ledger_proof_checks_certificate_and_state() {
    let (keys, set) = validators(4);
    let store = MemoryStore::new();
    let (version, root) = store
        .apply([(b"issuer/x".to_vec(), Some(b"record".to_vec()))])
        .expect("apply");
    let tree = schemas::state::StateTree::new(&store);
    let present = tree.get_with_proof(b"issuer/x", version).expect("proof");
    let absent = tree.get_with_proof(b"issuer/y", version).expect("proof");
    let h = header(&set, root);
    let signers: Vec<_> = keys.iter().take(3).collect();
    let proof = LedgerProof {
        certificate: certificate(&h, &signers),
        header: h,
        state: vec![present, absent],
    };
    let certified = verify_ledger_proof(&proof, &set).expect("honest ledger proof verifies");
    assert_eq!(certified.height, proof.header.height);
    assert_eq!(
        certified.time_ms, proof.header.timestamp_ms,
        "the certified time is the header's"
    );

    let mut lying = proof.clone();
    lying.state[0].value = Some(schemas::state::StateValue(b"forged".to_vec()));
    assert!(matches!(
        verify_ledger_proof(&lying, &set),
        Err(LightClientError::State { index: 0, .. })
    ));
    let mut hiding = proof.clone();
    hiding.state[0].value = None;
    assert!(matches!(
        verify_ledger_proof(&hiding, &set),
        Err(LightClientError::State { index: 0, .. })
    ));
}

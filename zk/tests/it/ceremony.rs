//! The setup ceremony on a real circuit shape: the keys it ends with prove and verify an
//! unlinkable statement (the derived keys fit arkworks' prover), and the whole transcript
//! verifies from the first file to the last.

use rand_core::OsRng;
use schemas::Hash;
use std::time::Instant;
use zk::CircuitPredicate;
use zk::Fr;
use zk::ceremony::{File, domain_power, verify_contribution};
use zk::tree::{CredentialTree, RevocationTree};
use zk::unlinkable::{
    CircuitShape, HolderSecret, LeafData, UnlinkableStatement, UnlinkableWitness, binding_element,
    credential_leaf, prove_unlinkable, verify_unlinkable,
};

#[test]
fn a_two_member_ceremony_makes_the_unlinkable_keys() {
    let shape = CircuitShape::SHAPES[0];
    let power = u8::try_from(domain_power(shape).expect("synthesises")).expect("small");
    let quiet = |_: f64| {};
    let mut files = vec![File::initial_powers("test-ceremony", power).expect("initial")];
    for member in ["did:credence:a", "did:credence:b"] {
        let t = Instant::now();
        let next = files
            .last()
            .expect("a file")
            .contribute(member, &mut OsRng, &quiet)
            .expect("contributes");
        let contributed = t.elapsed();
        let t = Instant::now();
        verify_contribution(files.last().expect("a file"), &next, &mut OsRng).expect("verifies");
        println!(
            "phase 1 (2^{power}): contribution {:.2} s, verification {:.2} s, file {} bytes",
            contributed.as_secs_f64(),
            t.elapsed().as_secs_f64(),
            next.to_bytes().len()
        );
        files.push(next);
    }
    let t = Instant::now();
    let start = File::initial_circuit(files.last().expect("a file"), shape).expect("derives");
    println!(
        "phase 2 {}: derived from the powers in {:.2} s",
        shape.id(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let last = start
        .contribute("did:credence:a", &mut OsRng, &quiet)
        .expect("contributes");
    let contributed = t.elapsed();
    let t = Instant::now();
    verify_contribution(&start, &last, &mut OsRng).expect("verifies");
    println!(
        "phase 2 {}: contribution {:.2} s, verification {:.2} s, file {} bytes",
        shape.id(),
        contributed.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        last.to_bytes().len()
    );
    let zk::ceremony::FileKind::Circuit(params) = &last.kind else {
        panic!("a circuit file")
    };
    let (pk, vk) = params.keys(shape, 9).expect("keys pass the structural checks");
    assert_eq!(vk.version(), 9);

    let secret = HolderSecret::random(&mut OsRng);
    let data = LeafData {
        binding: binding_element("did:credence:bank", "kyc/v1"),
        id: 5,
        valid_from: 1_000,
        valid_until: u32::MAX,
        attributes: vec![Some(7_300), Some(2), None, None],
    };
    let salt = Fr::from(11u64);
    let tree = CredentialTree::build(vec![
        Fr::from(1u64),
        credential_leaf(&data, &salt, &secret.commitment()),
    ])
    .expect("fits");
    let revoked = RevocationTree::from_revoked([1, 2]);
    let statement = UnlinkableStatement {
        issuer_root: tree.root_hash(),
        revocation_root: revoked.root_hash(),
        binding: data.binding,
        now: 2_000,
        predicates: vec![CircuitPredicate {
            attribute: 2,
            at_most: false,
            threshold: 2,
        }],
        scope: "bank".into(),
        request: Hash([7; 32]),
    };
    let (cp, rp) = (tree.path(1).expect("exists"), revoked.path(5));
    let witness = UnlinkableWitness {
        leaf: &data,
        salt: Hash(zk::poseidon::fr_to_bytes(&salt)),
        secret: &secret,
        credential_path: &cp,
        revocation_path: &rp,
    };
    let (proof, nullifier) = prove_unlinkable(&pk, &statement, &witness, &mut OsRng).expect("proves");
    verify_unlinkable(&vk, &statement, &nullifier, &proof)
        .expect("the ceremony's keys verify an honest proof");
    let mut other = statement.clone();
    other.request = Hash([8; 32]);
    assert!(
        verify_unlinkable(&vk, &other, &nullifier, &proof).is_err(),
        "bound to its request"
    );

    // A second implementation: snarkjs verifies the proof under the ceremony's key, and refuses
    // it for another request.
    let public = zk::snarkjs::public_signals(&vk, &statement, None, &nullifier).expect("inputs");
    let Some(accepted) = super::snarkjs_verifies(&vk, &proof, public) else {
        return;
    };
    assert!(accepted, "snarkjs accepts the proof under the ceremony's key");
    let wrong = zk::snarkjs::public_signals(&vk, &other, None, &nullifier).expect("inputs");
    assert_eq!(
        super::snarkjs_verifies(&vk, &proof, wrong),
        Some(false),
        "snarkjs refuses it for another request"
    );
}

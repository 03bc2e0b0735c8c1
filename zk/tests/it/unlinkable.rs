//! Groth16 unlinkable proofs: completeness, each public input bound, revocation, validity,
//! absent attributes, nullifiers.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use schemas::Hash;
use zk::poseidon::{fr_from_bytes, fr_to_bytes};
use zk::tree::{CredentialTree, RevocationTree};
use zk::unlinkable::{
    CircuitShape, HolderSecret, LeafData, PROOF_BYTES, ProvingKey, UnlinkableStatement, UnlinkableWitness,
    VerifyingKey, binding_element, credential_leaf, prove_unlinkable, setup, verify_unlinkable,
};
use zk::{CircuitPredicate, Fr, ZkError};

const SHAPE: CircuitShape = CircuitShape {
    attributes: 4,
    predicates: 2,
    escrow: false,
};

/// A batch of 50 KYC credentials; ours is at index 17 with revocation id 1017.
pub(crate) struct World {
    pub(crate) secret: HolderSecret,
    pub(crate) data: LeafData,
    pub(crate) salt: Fr,
    pub(crate) tree: CredentialTree,
    pub(crate) revoked: RevocationTree,
}

pub(crate) const INDEX: usize = 17;
pub(crate) const ID: u32 = 1017;
const ISSUER: &str = "did:credence:bank-a";
const SCHEMA: &str = "kyc/v1";
/// Valid from 1 January 2026 to 31 December 2026 (inclusive), seconds since 1970.
const FROM: u32 = 1_767_225_600;
const UNTIL: u32 = 1_798_761_599;
/// The request's time: 1 June 2026.
const NOW: u32 = 1_780_272_000;

fn world(rng: &mut ChaCha20Rng) -> World {
    // birth_date (days), kyc_level, residence (numeric code), verified_on (not attested)
    world_with(rng, vec![Some(7_300), Some(2), Some(156), None])
}

/// The batch with our credential's attributes set to `attributes`.
pub(crate) fn world_with(rng: &mut ChaCha20Rng, attributes: Vec<Option<i64>>) -> World {
    let secret = HolderSecret::random(rng);
    let data = LeafData {
        binding: binding_element(ISSUER, SCHEMA),
        id: ID,
        valid_from: FROM,
        valid_until: UNTIL,
        attributes,
    };
    let salt = Fr::from(987_654_321u64);
    let leaves = (0..50u32)
        .map(|i| {
            if i as usize == INDEX {
                credential_leaf(&data, &salt, &secret.commitment())
            } else {
                let other = LeafData {
                    id: 1000 + i,
                    attributes: vec![Some(i64::from(i)); 4],
                    ..data.clone()
                };
                credential_leaf(&other, &Fr::from(u64::from(i)), &Fr::from(7u64))
            }
        })
        .collect();
    let tree = CredentialTree::build(leaves).expect("fits");
    let revoked = RevocationTree::from_revoked([1003, 1040, 5]);
    World {
        secret,
        data,
        salt,
        tree,
        revoked,
    }
}

pub(crate) fn statement(w: &World, scope: &str, request: Hash) -> UnlinkableStatement {
    UnlinkableStatement {
        issuer_root: w.tree.root_hash(),
        revocation_root: w.revoked.root_hash(),
        binding: binding_element(ISSUER, SCHEMA),
        now: NOW,
        // age >= 18 (born on or before day 12,000) and KYC level >= 2
        predicates: vec![
            CircuitPredicate {
                attribute: 1,
                at_most: true,
                threshold: 12_000,
            },
            CircuitPredicate {
                attribute: 2,
                at_most: false,
                threshold: 2,
            },
        ],
        scope: scope.into(),
        request,
    }
}

fn prove(
    pk: &ProvingKey,
    w: &World,
    s: &UnlinkableStatement,
    rng: &mut ChaCha20Rng,
) -> Result<([u8; PROOF_BYTES], Hash), ZkError> {
    let credential_path = w.tree.path(INDEX).expect("exists");
    let revocation_path = w.revoked.path(ID);
    let witness = UnlinkableWitness {
        leaf: &w.data,
        salt: Hash(fr_to_bytes(&w.salt)),
        secret: &w.secret,
        credential_path: &credential_path,
        revocation_path: &revocation_path,
    };
    prove_unlinkable(pk, s, &witness, rng)
}

fn keys(rng: &mut ChaCha20Rng) -> (ProvingKey, VerifyingKey) {
    setup(SHAPE, rng).expect("setup")
}

#[test]
fn proves_and_every_changed_public_input_or_flipped_byte_is_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (pk, vk) = keys(&mut rng);
    let w = world(&mut rng);
    let s = statement(&w, "bank-b/kyc", Hash([3; 32]));
    let (proof, nullifier) = prove(&pk, &w, &s, &mut rng).expect("proves");
    verify_unlinkable(&vk, &s, &nullifier, &proof).expect("verifies");

    // The proving key survives its file form, still belongs to its verifying key, and a
    // truncated or foreign file is refused with a reason.
    let bytes = pk.to_bytes();
    let reread = ProvingKey::from_bytes(&bytes).expect("round trip");
    assert!(reread.matches(&vk));
    let (_, other_vk) = keys(&mut rng);
    assert!(!reread.matches(&other_vk));
    assert!(matches!(
        ProvingKey::from_bytes(&bytes[..bytes.len() / 2]),
        Err(ZkError::MalformedKey { .. })
    ));
    assert!(matches!(
        ProvingKey::from_bytes(&[]),
        Err(ZkError::MalformedKey { .. })
    ));

    // A carried root or nullifier that is not a canonical field element (here ≥ p) is named,
    // on both sides, before any proof work; the value plus p is not a second encoding.
    let above_p = Hash([0xff; 32]);
    let not_field = |what| Err(ZkError::NotAFieldElement { what });
    let bad_root = UnlinkableStatement {
        issuer_root: above_p,
        ..s.clone()
    };
    assert_eq!(
        verify_unlinkable(&vk, &bad_root, &nullifier, &proof),
        not_field("issuer's Poseidon root")
    );
    assert_eq!(
        verify_unlinkable(&vk, &bad_root, &nullifier, &[]),
        not_field("issuer's Poseidon root")
    );
    let bad_revocation = UnlinkableStatement {
        revocation_root: above_p,
        ..s.clone()
    };
    assert_eq!(
        verify_unlinkable(&vk, &bad_revocation, &nullifier, &proof),
        not_field("revocation root")
    );
    assert_eq!(
        verify_unlinkable(&vk, &s, &above_p, &proof),
        not_field("nullifier")
    );
    assert!(matches!(
        prove(&pk, &w, &bad_root, &mut rng),
        Err(ZkError::NotAFieldElement {
            what: "issuer's Poseidon root"
        })
    ));

    let failed = Err(ZkError::VerificationFailed { what: "unlinkable" });
    let check = |changed: UnlinkableStatement, what: &str| {
        assert_eq!(
            verify_unlinkable(&vk, &changed, &nullifier, &proof),
            failed,
            "{what}"
        );
    };
    check(
        UnlinkableStatement {
            issuer_root: Hash(fr_to_bytes(&(w.tree.root() + Fr::from(1u64)))),
            ..s.clone()
        },
        "another issuer root",
    );
    check(
        UnlinkableStatement {
            revocation_root: Hash(fr_to_bytes(&Fr::from(5u64))),
            ..s.clone()
        },
        "another revocation root",
    );
    check(
        UnlinkableStatement {
            binding: binding_element("did:credence:bank-b", SCHEMA),
            ..s.clone()
        },
        "another issuer (the same root anchored by someone else)",
    );
    check(
        UnlinkableStatement {
            now: NOW + 1,
            ..s.clone()
        },
        "another time",
    );
    check(
        UnlinkableStatement {
            scope: "bank-c/kyc".into(),
            ..s.clone()
        },
        "another verifier scope",
    );
    check(
        UnlinkableStatement {
            request: Hash([4; 32]),
            ..s.clone()
        },
        "another request",
    );
    for (i, changed) in [
        CircuitPredicate {
            attribute: 3,
            at_most: true,
            threshold: 12_000,
        },
        CircuitPredicate {
            attribute: 1,
            at_most: false,
            threshold: 12_000,
        },
        CircuitPredicate {
            attribute: 1,
            at_most: true,
            threshold: 11_999,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = s.clone();
        p.predicates[0] = changed;
        check(p, &format!("predicate change {i}"));
    }
    let mut fewer = s.clone();
    fewer.predicates.pop();
    check(fewer, "a predicate dropped");
    assert_eq!(
        verify_unlinkable(
            &vk,
            &s,
            &Hash(fr_to_bytes(
                &(fr_from_bytes(&nullifier.0).expect("a field element") + Fr::from(1u64))
            )),
            &proof
        ),
        failed,
        "another nullifier"
    );
    for i in 0..PROOF_BYTES {
        let mut bad = proof;
        bad[i] ^= 0x01;
        assert!(verify_unlinkable(&vk, &s, &nullifier, &bad).is_err(), "byte {i}");
    }
    assert!(matches!(
        verify_unlinkable(&vk, &s, &nullifier, &proof[..64]),
        Err(ZkError::MalformedProof { .. })
    ));
}

#[test]
fn false_predicates_and_revoked_credentials_cannot_be_proven() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let (pk, vk) = keys(&mut rng);
    let mut w = world(&mut rng);
    let mut s = statement(&w, "bank-b/kyc", Hash([3; 32]));
    s.predicates[1].threshold = 3; // KYC level >= 3, but ours is 2
    assert_eq!(
        prove(&pk, &w, &s, &mut rng).map(|_| ()),
        Err(ZkError::PredicateFalse { index: 1 })
    );

    // A proof against the revocation root of yesterday...
    let s = statement(&w, "bank-b/kyc", Hash([3; 32]));
    let (old_proof, nullifier) = prove(&pk, &w, &s, &mut rng).expect("proves before revocation");
    // ...is worthless once the issuer revokes the credential: verifiers use the current root,
    w.revoked.revoke(ID);
    let now = statement(&w, "bank-b/kyc", Hash([3; 32]));
    assert!(verify_unlinkable(&vk, &now, &nullifier, &old_proof).is_err());
    // and no new proof can be made.
    assert!(matches!(
        prove(&pk, &w, &now, &mut rng),
        Err(ZkError::UnsatisfiedWitness { .. })
    ));

    // Outside the validity period, at the request's time, nothing can be proven.
    let w = world(&mut rng);
    let mut late = statement(&w, "bank-b/kyc", Hash([3; 32]));
    late.now = UNTIL + 1;
    assert!(matches!(
        prove(&pk, &w, &late, &mut rng),
        Err(ZkError::NotValidAt {
            reason: "expired",
            ..
        })
    ));
    late.now = FROM - 1;
    assert!(matches!(
        prove(&pk, &w, &late, &mut rng),
        Err(ZkError::NotValidAt {
            reason: "not valid yet",
            ..
        })
    ));
    // A predicate on the attribute the issuer did not attest cannot be proven, even one its
    // stored 0 would satisfy.
    let mut absent = statement(&w, "bank-b/kyc", Hash([3; 32]));
    absent.predicates[0] = CircuitPredicate {
        attribute: 4,
        at_most: true,
        threshold: 0,
    };
    assert_eq!(
        prove(&pk, &w, &absent, &mut rng).map(|_| ()),
        Err(ZkError::AttributeAbsent { index: 0 })
    );
    // Another issuer's binding: the leaf is not the issuer's.
    let mut other = statement(&w, "bank-b/kyc", Hash([3; 32]));
    other.binding = binding_element("did:credence:bank-b", SCHEMA);
    assert!(matches!(
        prove(&pk, &w, &other, &mut rng),
        Err(ZkError::UnsatisfiedWitness { .. })
    ));

    // Statements that do not fit the shape are refused with a reason.
    let mut too_many = statement(&w, "x", Hash([3; 32]));
    too_many.predicates.push(CircuitPredicate {
        attribute: 1,
        at_most: false,
        threshold: 0,
    });
    assert!(matches!(
        verify_unlinkable(&vk, &too_many, &nullifier, &old_proof),
        Err(ZkError::ShapeMismatch { .. })
    ));
}

#[test]
fn nullifiers_link_within_a_scope_only_and_keys_serialise() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let (pk, vk) = keys(&mut rng);
    let w = world(&mut rng);
    let at_b1 = prove(&pk, &w, &statement(&w, "bank-b/kyc", Hash([1; 32])), &mut rng)
        .expect("proves")
        .1;
    let at_b2 = prove(&pk, &w, &statement(&w, "bank-b/kyc", Hash([2; 32])), &mut rng)
        .expect("proves")
        .1;
    let at_c = prove(&pk, &w, &statement(&w, "bank-c/kyc", Hash([1; 32])), &mut rng)
        .expect("proves")
        .1;
    assert_eq!(at_b1, at_b2, "one holder is one person to one verifier");
    assert_ne!(at_b1, at_c, "two verifiers cannot link their answers");

    let bytes = vk.to_bytes();
    let back = VerifyingKey::from_bytes(&SHAPE.id(), vk.version(), &bytes).expect("round trips");
    let s = statement(&w, "bank-b/kyc", Hash([9; 32]));
    let (proof, n) = prove(&pk, &w, &s, &mut rng).expect("proves");
    verify_unlinkable(&back, &s, &n, &proof).expect("verifies with the parsed key");
    assert!(VerifyingKey::from_bytes("unlinkable-a99", 1, &bytes).is_err());
    assert!(VerifyingKey::from_bytes(&SHAPE.id(), 1, &bytes[..bytes.len() - 1]).is_err());
    let other_shape = CircuitShape::SHAPES[1].id();
    assert!(
        VerifyingKey::from_bytes(&other_shape, 1, &bytes).is_err(),
        "a key for another shape is refused"
    );
    // A key made by another setup does not accept this proof.
    let (_, other_vk) = keys(&mut rng);
    assert!(verify_unlinkable(&other_vk, &s, &n, &proof).is_err());
}

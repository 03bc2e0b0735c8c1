//! Golden vectors of the canonical encoding: a change to any encoded byte fails here.
//!
//! Each file in `schemas/tests/golden/` holds two lines: the canonical encoding (hex) and the
//! domain-separated digest (hex). Regenerate deliberately with `UPDATE_GOLDEN=1` — and bump the
//! codec or domain version when an encoding really changes.

use crate::fixtures::{certificate, header, key, validators};
use schemas::Canonical;
use schemas::credential::{
    AttributeCommitment, CommittedAttribute, Envelope, PedersenCommitment, StatusEntry, attribute_digest,
};
use schemas::credential_schema::AttributeValue;
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{AnchorRecord, CommitVote, SignedTransaction, Transaction, TxPayload};
use schemas::presentation::{Predicate, PredicateKind, PresentationRequest, Tier};
use std::path::PathBuf;

fn check<T: Canonical + PartialEq + std::fmt::Debug>(name: &str, value: &T) {
    let encoded = value.to_canonical();
    let actual = format!("{}\n{}\n", hex::encode(&encoded), value.digest());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.hex"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1 once)", path.display()));
    assert_eq!(actual, expected, "canonical encoding of {name} changed");
    // And the golden bytes decode back to the same value.
    let bytes = hex::decode(expected.lines().next().expect("first line")).expect("hex");
    assert_eq!(&T::from_canonical(&bytes).expect("golden bytes decode"), value);
}

pub(crate) fn envelope() -> Envelope {
    let issuer = Did::from_public_key(key(1).public_key());
    let salt = [0x5a; 32];
    let name = AttributeValue::Text("Li Hua".into());
    Envelope {
        id: Hash([0x11; 32]),
        credential_type: "UniversityDiploma".into(),
        schema_id: "credence:schema:university-diploma:1".into(),
        issuer,
        holder: key(2).public_key().clone(),
        valid_from: 1_782_777_600,
        valid_until: None,
        status: StatusEntry {
            list_id: 0,
            index: 42,
        },
        attributes: vec![
            CommittedAttribute {
                name: "gpa".into(),
                commitment: AttributeCommitment::Pedersen(PedersenCommitment([0x22; 32])),
            },
            CommittedAttribute {
                name: "name".into(),
                commitment: AttributeCommitment::Digest(attribute_digest("name", &name, &salt)),
            },
        ],
        poseidon_leaf: Some(Hash([0x33; 32])),
    }
}

#[test]
fn envelope_is_pinned() {
    check("envelope", &envelope());
}

fn anchor_tx() -> Transaction {
    let issuer = Did::from_public_key(key(1).public_key());
    Transaction {
        chain_id: "credence-test".into(),
        sender: issuer.clone(),
        nonce: 3,
        payload: TxPayload::AnchorBatch {
            anchor: AnchorRecord {
                issuer,
                root: Hash([0x44; 32]),
                poseidon_root: None,
                count: 1000,
                schema_id: "credence:schema:university-diploma:1".into(),
                credential_type: "UniversityDiploma".into(),
            },
        },
    }
}

#[test]
fn transaction_is_pinned() {
    check("transaction-anchor", &anchor_tx());
}

#[test]
fn signed_transaction_is_pinned() {
    check(
        "signed-transaction",
        &SignedTransaction::sign(anchor_tx(), &[&key(1)]),
    );
}

#[test]
fn block_header_vote_and_validator_set() {
    let (keys, set) = validators(4);
    let h = header(&set, Hash([0x55; 32]));
    check("validator-set-4", &set);
    check("block-header", &h);
    check("commit-vote", &CommitVote::for_header(&h));
    // The certificate is not hashed itself, but its signatures are deterministic: pin them too.
    let cert = certificate(&h, &[&keys[0], &keys[1], &keys[2]]);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/commit-certificate.hex");
    let actual = format!("{}\n", hex::encode(schemas::codec::encode(&cert)));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write");
    }
    assert_eq!(
        actual,
        std::fs::read_to_string(&path).expect("golden file"),
        "commit certificate bytes changed"
    );
}

#[test]
fn presentation_request() {
    let request = PresentationRequest {
        verifier: Did::from_public_key(key(4).public_key()),
        credential_type: "UniversityDiploma".into(),
        accepted_issuers: vec![Did::from_public_key(key(1).public_key())],
        disclose: vec!["degree".into()],
        predicates: vec![Predicate {
            attribute: "gpa".into(),
            kind: PredicateKind::AtLeast { bound: 300 },
        }],
        nonce: Hash([0x66; 32]),
        purpose: "employment screening".into(),
        created_at: 1_790_000_000,
        expires_at: 1_790_000_600,
        tier: Tier::Selective,
        channel: Some(schemas::presentation::Channel {
            response_uri: "https://verify.example.cn/v1/verify".into(),
            session: "482-913".into(),
        }),
    };
    check("presentation-request", &request);
}

#[test]
fn did_derivation_is_pinned() {
    assert_eq!(
        Did::from_public_key(key(1).public_key()).as_str().len(),
        "did:credence:".len() + 40
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/did.txt");
    let actual = format!("{}\n", Did::from_public_key(key(1).public_key()));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write");
    }
    assert_eq!(actual, std::fs::read_to_string(&path).expect("golden file"));
}

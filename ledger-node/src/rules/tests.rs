//! Table tests of the ledger rules: each case is a transaction, the expected outcome (applied,
//! or rejected with a reason containing a phrase), on a state built by the cases before it.

use super::*;
use schemas::ledger::{
    GovernanceMember, Policies, ScopeItem, Transaction, TxOutcome, ValidatorInfo, ValidatorSet,
};
use schemas::sm2::SecretKey;
use schemas::state::MemoryStore;
use schemas::state::store::{TreeReader, TreeWriter};

fn key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[i; 32]).expect("a valid scalar")
}

fn did(k: &SecretKey) -> Did {
    Did::from_public_key(k.public_key())
}

struct Chain {
    store: MemoryStore,
    version: Option<u64>,
    root: Hash,
    height: u64,
    cache: RevocationCache,
    nonces: BTreeMap<Did, u64>,
}

const CHAIN: &str = "credence-test";

fn genesis() -> Genesis {
    let members = (1..=3)
        .map(|i| GovernanceMember {
            name: format!("member {i}"),
            did: did(&key(i)),
            public_key: key(i).public_key().clone(),
        })
        .collect();
    let publisher = did(&key(1));
    Genesis {
        chain_id: CHAIN.into(),
        timestamp_ms: 0,
        validators: ValidatorSet {
            epoch: 0,
            validators: vec![ValidatorInfo::new(
                &key(100),
                "peer".into(),
                "/ip4/127.0.0.1/tcp/1".into(),
            )],
        },
        observers: vec![],
        governance: Governance {
            members,
            policies: Policies {
                approvals_needed: 2,
                credential_types: vec!["UniversityDiploma".into(), "KycAttestation".into()],
            },
        },
        // The newest versions and the ones the tests' anchors name (still built in).
        schemas: [
            "university-diploma",
            "university-diploma-1",
            "kyc-attestation",
            "kyc-attestation-2",
        ]
        .iter()
        .map(|n| {
            CredentialSchema::builtin(n)
                .expect("builtin")
                .record(publisher.clone())
        })
        .collect(),
    }
}

impl Chain {
    fn new() -> Self {
        Self::with_state(vec![])
    }

    /// A chain whose genesis state also holds `extra` records (what a test cannot reach through
    /// transactions quickly, such as a ceremony's verifying key).
    fn with_state(extra: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        let g = genesis();
        validate_genesis(&g).expect("valid genesis");
        let store = MemoryStore::new();
        let mut updates = genesis_updates(&g);
        for (k, v) in extra {
            updates.insert(k, Some(v));
        }
        let ex = execute_genesis(&store, updates).expect("genesis");
        store
            .write_node_batch(&ex.tree.expect("tree").node_batch)
            .expect("write");
        Chain {
            store,
            version: Some(0),
            root: ex.root,
            height: 0,
            cache: RevocationCache::default(),
            nonces: BTreeMap::new(),
        }
    }

    fn tx(&mut self, signers: &[&SecretKey], payload: TxPayload) -> SignedTransaction {
        let sender = did(signers[0]);
        let n = self.nonces.entry(sender.clone()).or_insert(0);
        let tx = Transaction {
            chain_id: CHAIN.into(),
            sender,
            nonce: *n,
            payload,
        };
        *n += 1;
        SignedTransaction::sign(tx, signers)
    }

    /// Commits a block of `txs`; returns their outcomes.
    fn block(&mut self, txs: &[SignedTransaction]) -> Vec<Outcome> {
        self.height += 1;
        let mut ex = execute(
            &self.store,
            self.version,
            self.root,
            (CHAIN, Height(self.height)),
            txs,
            &self.cache,
        )
        .expect("execute");
        if let Some(t) = &ex.tree {
            self.store.write_node_batch(&t.node_batch).expect("write");
            self.version = ex.version;
        }
        self.root = ex.root;
        self.cache.commit(&mut ex);
        let mut details: BTreeMap<Hash, Rejection> = ex.rejections.into_iter().collect();
        ex.receipts
            .into_iter()
            .map(|(d, r)| match r.outcome {
                TxOutcome::Applied => Outcome::Applied,
                TxOutcome::Rejected { code } => {
                    let rejection = details.remove(&d).expect("every rejection has its detail");
                    assert_eq!(rejection.code, code, "the receipt stores the rejection's code");
                    Outcome::Rejected(rejection)
                }
            })
            .collect()
    }

    fn one(&mut self, tx: SignedTransaction) -> Outcome {
        self.block(&[tx]).pop().expect("a receipt")
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Option<T> {
        let v = Overlay {
            reader: &self.store,
            version: self.version,
            overlay: Updates::new(),
            journal: Vec::new(),
        };
        v.get(key).expect("read")
    }

    fn register_issuer(&mut self, k: &SecretKey, types: &[&str], officers: Vec<PublicKey>, threshold: u16) {
        let record = issuer_record(k, types, officers, threshold);
        let tx = self.tx(&[k], TxPayload::RegisterIssuer { record });
        let proposal = tx.id();
        applied(self.one(tx));
        for m in [1, 2] {
            let t = self.tx(&[&key(m)], TxPayload::Approve { proposal });
            applied(self.one(t));
        }
    }

    fn anchor(&mut self, signers: &[&SecretKey], root: u8, ty: &str) -> SignedTransaction {
        let schema = if ty == "KycAttestation" {
            "credence:schema:kyc-attestation:2"
        } else {
            "credence:schema:university-diploma:1"
        };
        let anchor = AnchorRecord {
            issuer: did(signers[0]),
            root: Hash([root; 32]),
            poseidon_root: None,
            count: 10,
            schema_id: schema.into(),
            credential_type: ty.into(),
        };
        self.tx(signers, TxPayload::AnchorBatch { anchor })
    }
}

/// An active issuer record for key `k`.
fn issuer_record(k: &SecretKey, types: &[&str], officers: Vec<PublicKey>, threshold: u16) -> IssuerRecord {
    IssuerRecord {
        did: did(k),
        name: "Test University".into(),
        public_key: k.public_key().clone(),
        officers,
        threshold,
        allowed_types: types.iter().map(|t| t.to_string()).collect(),
        status: IssuerStatus::Active,
    }
}

/// A transaction's outcome with the rejection's detail (receipts keep only its code).
#[derive(Debug, PartialEq)]
enum Outcome {
    Applied,
    Rejected(Rejection),
}

fn applied(o: Outcome) {
    assert_eq!(o, Outcome::Applied);
}

fn rejected(o: Outcome, phrase: &str) {
    match o {
        Outcome::Rejected(r) => {
            assert!(
                r.detail.contains(phrase),
                "reason {:?} lacks {phrase:?}",
                r.detail
            )
        }
        Outcome::Applied => panic!("applied; expected a rejection containing {phrase:?}"),
    }
}

const DEGREE: &str = "UniversityDiploma";

#[test]
fn builtin_schema_ids_are_what_the_tests_use() {
    let g = genesis();
    let ids: Vec<_> = g.schemas.iter().map(|s| s.id.as_str()).collect();
    assert!(ids.contains(&"credence:schema:university-diploma:1"), "{ids:?}");
    assert!(ids.contains(&"credence:schema:kyc-attestation:2"), "{ids:?}");
}

#[test]
fn an_issuer_takes_effect_only_with_the_governance_quorum() {
    let mut c = Chain::new();
    let uni = key(10);
    let record = issuer_record(&uni, &[DEGREE], vec![], 1);
    let tx = c.tx(
        &[&uni],
        TxPayload::RegisterIssuer {
            record: record.clone(),
        },
    );
    let proposal = tx.id();
    applied(c.one(tx));
    assert!(c.get::<IssuerRecord>(&state_keys::issuer(&did(&uni))).is_none());
    // An anchor before registration is refused.
    let a = c.anchor(&[&uni], 1, DEGREE);
    rejected(c.one(a), "not registered");
    let t = c.tx(&[&key(1)], TxPayload::Approve { proposal });
    applied(c.one(t));
    // The same member twice, and an outsider, do not count.
    let t = c.tx(&[&key(1)], TxPayload::Approve { proposal });
    rejected(c.one(t), "already approved");
    let t = c.tx(&[&key(50)], TxPayload::Approve { proposal });
    rejected(c.one(t), "not a governance member");
    assert!(c.get::<IssuerRecord>(&state_keys::issuer(&did(&uni))).is_none());
    let t = c.tx(&[&key(2)], TxPayload::Approve { proposal });
    applied(c.one(t));
    assert_eq!(
        c.get::<IssuerRecord>(&state_keys::issuer(&did(&uni))),
        Some(record)
    );
    let t = c.tx(&[&key(3)], TxPayload::Approve { proposal });
    rejected(c.one(t), "already taken effect");
}

#[test]
fn registrations_with_bad_records_are_refused() {
    let mut c = Chain::new();
    let uni = key(10);
    let base = issuer_record(&uni, &[DEGREE], vec![], 1);
    type Mutation = Box<dyn Fn(&mut IssuerRecord)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "derive from its public key",
            Box::new(|r| r.public_key = key(11).public_key().clone()),
        ),
        (
            "not one the consortium's policy allows",
            Box::new(|r| r.allowed_types = vec!["Passport".into()]),
        ),
        ("allowedTypes is empty", Box::new(|r| r.allowed_types.clear())),
        ("threshold", Box::new(|r| r.threshold = 2)),
        ("name", Box::new(|r| r.name = String::new())),
        (
            "registered active",
            Box::new(|r| r.status = IssuerStatus::Suspended),
        ),
    ];
    for (phrase, mutate) in cases {
        let mut r = base.clone();
        mutate(&mut r);
        let t = c.tx(&[&uni], TxPayload::RegisterIssuer { record: r });
        rejected(c.one(t), phrase);
    }
    // Signed by someone else than the issuer.
    let t = c.tx(&[&key(11)], TxPayload::RegisterIssuer { record: base });
    rejected(c.one(t), "must be the sender");
}

#[test]
fn anchors_follow_the_issuers_rights() {
    let mut c = Chain::new();
    let uni = key(10);
    c.register_issuer(&uni, &[DEGREE], vec![], 1);
    let a = c.anchor(&[&uni], 1, DEGREE);
    let replay = a.clone();
    applied(c.one(a));
    // The same transaction again is a no-op (no second receipt); a new one with the same root
    // is refused; a reused nonce is refused.
    assert!(c.block(&[replay]).is_empty());
    let a = c.anchor(&[&uni], 1, DEGREE);
    rejected(c.one(a), "already anchored");
    let mut a = c.anchor(&[&uni], 2, DEGREE);
    a.tx.nonce = 0;
    let a = SignedTransaction::sign(a.tx, &[&uni]);
    rejected(c.one(a), "already used");
    let a = c.anchor(&[&uni], 3, "KycAttestation");
    rejected(c.one(a), "not allowed to issue");
    // Someone else anchoring in the issuer's name.
    let mut a = c.anchor(&[&uni], 4, DEGREE);
    a = SignedTransaction::sign(a.tx, &[&key(11)]);
    rejected(c.one(a), "current key");
    // A Poseidon root that is not a BN254 field element: no proof could ever be made about the
    // batch, so the anchor is refused rather than left to fail every holder later.
    let a = c.anchor(&[&uni], 5, DEGREE);
    let mut tx = a.tx;
    if let TxPayload::AnchorBatch { anchor } = &mut tx.payload {
        anchor.poseidon_root = Some(Hash([0xff; 32]));
    }
    rejected(
        c.one(SignedTransaction::sign(tx, &[&uni])),
        "not a BN254 field element",
    );
    let anchored: AnchorRecord = c
        .get(&state_keys::anchor(&did(&uni), &Hash([1; 32])))
        .expect("anchored");
    assert_eq!(anchored.count, 10);
}

#[test]
fn officers_threshold_suspension_and_rotation() {
    let mut c = Chain::new();
    let uni = key(10);
    let (o1, o2, o3) = (key(21), key(22), key(23));
    let officers = vec![
        o1.public_key().clone(),
        o2.public_key().clone(),
        o3.public_key().clone(),
    ];
    c.register_issuer(&uni, &[DEGREE], officers, 2);
    let a = c.anchor(&[&uni, &o1], 1, DEGREE);
    rejected(c.one(a), "needs 2 of 3");
    let a = c.anchor(&[&uni, &o1, &o1], 1, DEGREE);
    rejected(c.one(a), "needs 2 of 3");
    let a = c.anchor(&[&uni, &o1, &o3], 1, DEGREE);
    applied(c.one(a));

    // The issuer key alone, a stolen one, can neither revoke nor rotate (security finding 10).
    let revoke = TxPayload::UpdateStatusList {
        issuer: did(&uni),
        list_id: 0,
        revoke: vec![7],
    };
    let t = c.tx(&[&uni], revoke.clone());
    rejected(c.one(t), "needs 2 of 3");
    let t = c.tx(&[&uni, &o2, &o3], revoke);
    applied(c.one(t));
    let new = key(12);
    let rotate = TxPayload::RotateIssuerKey {
        issuer: did(&uni),
        new_key: new.public_key().clone(),
    };
    let t = c.tx(&[&uni, &new], rotate.clone());
    rejected(c.one(t), "needs 2 of 3");
    // Rotation also proves possession of the new key: it co-signs.
    let t = c.tx(&[&uni, &o1, &o2], rotate.clone());
    rejected(c.one(t), "new key");
    // Key rotation: the old key no longer anchors.
    let t = c.tx(&[&uni, &o1, &o2, &new], rotate);
    applied(c.one(t));
    let a = c.anchor(&[&uni, &o1, &o2], 2, DEGREE);
    rejected(c.one(a), "current key");

    // Suspension by governance: a proposal by one member, approved by another.
    let t = c.tx(
        &[&key(1)],
        TxPayload::SuspendIssuer {
            issuer: did(&uni),
            reason: "audit".into(),
        },
    );
    let p = t.id();
    applied(c.one(t));
    assert_eq!(
        c.get::<IssuerRecord>(&state_keys::issuer(&did(&uni)))
            .map(|r| r.status),
        Some(IssuerStatus::Active)
    );
    let t = c.tx(&[&key(2)], TxPayload::Approve { proposal: p });
    applied(c.one(t));
    let mut a = c.anchor(&[&uni], 3, DEGREE);
    a = SignedTransaction::sign(a.tx, &[&new, &o1, &o2]);
    rejected(c.one(a), "suspended");
    // Suspension by a non-member is refused.
    let t = c.tx(
        &[&key(40)],
        TxPayload::SuspendIssuer {
            issuer: did(&uni),
            reason: "x".into(),
        },
    );
    rejected(c.one(t), "not a governance member");
}

#[test]
fn revocation_sets_status_bits_and_the_revocation_tree() {
    let mut c = Chain::new();
    let uni = key(10);
    c.register_issuer(&uni, &[DEGREE], vec![], 1);
    let t = c.tx(
        &[&uni],
        TxPayload::UpdateStatusList {
            issuer: did(&uni),
            list_id: 0,
            revoke: vec![5, 131_075],
        },
    );
    applied(c.one(t));
    let t = c.tx(
        &[&uni],
        TxPayload::UpdateStatusList {
            issuer: did(&uni),
            list_id: 0,
            revoke: vec![7, 5],
        },
    );
    applied(c.one(t));
    let chunk: StatusListChunk = c
        .get(&state_keys::status_chunk(&did(&uni), 0, 0))
        .expect("chunk 0");
    assert_eq!(chunk.bits[0], (1 << 5) | (1 << 7));
    let chunk: StatusListChunk = c
        .get(&state_keys::status_chunk(&did(&uni), 0, 1))
        .expect("chunk 1");
    assert_eq!(chunk.bits[0], 1 << 3);
    let rec: RevocationRoot = c.get(&state_keys::revoked(&did(&uni), 0)).expect("root");
    assert_eq!(rec.count, 3);
    let expected = zk::tree::RevocationTree::from_revoked([5, 7, 131_075]).root();
    assert_eq!(rec.root, Hash(zk::poseidon::fr_to_bytes(&expected)));
    let t = c.tx(
        &[&uni],
        TxPayload::UpdateStatusList {
            issuer: did(&uni),
            list_id: 0,
            revoke: vec![MAX_STATUS_INDEX],
        },
    );
    rejected(c.one(t), "beyond the list size");
    let t = c.tx(
        &[&key(11)],
        TxPayload::UpdateStatusList {
            issuer: did(&uni),
            list_id: 0,
            revoke: vec![1],
        },
    );
    rejected(c.one(t), "sent by the issuer");
}

#[test]
fn verifiers_and_schemas() {
    let mut c = Chain::new();
    let bank = key(30);
    let record = VerifierRecord {
        did: did(&bank),
        name: "Bank".into(),
        public_key: bank.public_key().clone(),
        scope: vec![ScopeItem {
            credential_type: "KycAttestation".into(),
            disclose: vec![],
            predicates: vec!["age".into()],
            escrow: None,
        }],
        purposes: vec!["account opening".into()],
        nullifier_scope: "bank-a".into(),
    };
    let t = c.tx(
        &[&bank],
        TxPayload::RegisterVerifier {
            record: record.clone(),
        },
    );
    let p = t.id();
    applied(c.one(t));
    for m in [1, 3] {
        let t = c.tx(&[&key(m)], TxPayload::Approve { proposal: p });
        applied(c.one(t));
    }
    assert_eq!(
        c.get::<VerifierRecord>(&state_keys::verifier(&did(&bank))),
        Some(record.clone())
    );
    // Another verifier cannot register the same nullifier scope (it would link the bank's
    // customers): refused when proposed, and again when enacted if two race (finding 9).
    let other = key(31);
    let copycat = VerifierRecord {
        did: did(&other),
        public_key: other.public_key().clone(),
        name: "Other Bank".into(),
        ..record.clone()
    };
    let t = c.tx(&[&other], TxPayload::RegisterVerifier { record: copycat });
    rejected(c.one(t), "registered by");
    let (r1, r2) = (key(32), key(33));
    let racing = |k: &SecretKey| VerifierRecord {
        did: did(k),
        public_key: k.public_key().clone(),
        nullifier_scope: "shared".into(),
        ..record.clone()
    };
    let t1 = c.tx(&[&r1], TxPayload::RegisterVerifier { record: racing(&r1) });
    let t2 = c.tx(&[&r2], TxPayload::RegisterVerifier { record: racing(&r2) });
    let (p1, p2) = (t1.id(), t2.id());
    applied(c.one(t1));
    applied(c.one(t2));
    for m in [1, 3] {
        let t = c.tx(&[&key(m)], TxPayload::Approve { proposal: p1 });
        applied(c.one(t));
    }
    let t = c.tx(&[&key(1)], TxPayload::Approve { proposal: p2 });
    applied(c.one(t));
    let t = c.tx(&[&key(3)], TxPayload::Approve { proposal: p2 });
    rejected(c.one(t), "registered meanwhile");

    // Publishing: a schema already published is refused; a mismatched hash is refused.
    let mut s: SchemaRecord = c
        .get(&state_keys::schema("credence:schema:university-diploma:1"))
        .expect("schema");
    s.publisher = did(&key(1));
    let t = c.tx(&[&key(1)], TxPayload::PublishSchema { record: s.clone() });
    rejected(c.one(t), "already published");
    s.schema_hash = Hash::ZERO;
    let t = c.tx(&[&key(1)], TxPayload::PublishSchema { record: s });
    rejected(c.one(t), "not the SM3 hash");
}

#[test]
fn rejected_transactions_change_nothing_but_their_receipt_and_rejection_count_and_execution_is_deterministic()
{
    let mut a = Chain::new();
    let mut b = Chain::new();
    let uni = key(10);
    let txs: Vec<SignedTransaction> = (0..5).map(|i| a.anchor(&[&uni], i, DEGREE)).collect();
    let root_before = a.root;
    let outcomes = a.block(&txs);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Rejected(_))));
    assert_ne!(a.root, root_before, "receipts are state");
    b.block(&txs);
    assert_eq!(
        a.root, b.root,
        "the same block on the same state gives the same root"
    );
    // Nothing but receipts and the sender's count of rejections was written: no nonce used.
    let account = a
        .get::<AccountRecord>(&state_keys::account(&did(&uni)))
        .expect("the sender's rejections are counted");
    assert_eq!((account.highest, account.window, account.rejected), (None, 0, 5));
}

#[test]
fn the_nonce_window_accepts_reordering_and_refuses_replay() {
    let mut acct = AccountRecord::default();
    for n in [5, 3, 4, 0, 200, 150] {
        acct.check(n).expect("fresh nonce");
        acct.use_nonce(n);
    }
    for n in [5, 3, 200, 150] {
        assert!(acct.check(n).is_err(), "replay of {n}");
    }
    assert!(acct.check(0).unwrap_err().contains("too old"));
    acct.check(199).expect("inside the window, unused");
    assert_eq!(acct.next_nonce(), 201);
}

/// Security finding 5: a rejected transaction, replayed once it would apply, with its signature
/// list duplicated or re-signed, must not take effect: its identity is its unsigned body.
#[test]
fn a_rejected_transaction_cannot_be_replayed_by_resigning_or_duplicating_signatures() {
    let mut c = Chain::new();
    let uni = key(10);
    // Anchored before the issuer is registered: rejected, and the issuer considers it dead.
    let early = c.anchor(&[&uni], 7, DEGREE);
    rejected(c.one(early.clone()), "not registered");
    c.register_issuer(&uni, &[DEGREE], vec![], 1);
    let anchor_key = state_keys::anchor(&did(&uni), &Hash([7; 32]));

    // The same body with its signature duplicated: refused at the door.
    let mut doubled = early.clone();
    doubled.signatures.push(doubled.signatures[0].clone());
    assert_ne!(doubled.digest(), early.digest(), "a new signed encoding");
    let outcomes = c.block(&[doubled]);
    assert!(
        outcomes.is_empty(),
        "the body already has a receipt, so the replay is a no-op: {outcomes:?}"
    );
    // Re-signed with a co-signer added: another signature list, still the same body.
    let resigned = SignedTransaction::sign(early.tx.clone(), &[&uni, &key(11)]);
    assert_ne!(resigned.digest(), early.digest());
    assert_eq!(resigned.id(), early.id());
    assert!(c.block(&[resigned]).is_empty());
    assert!(
        c.get::<AnchorRecord>(&anchor_key).is_none(),
        "the dead anchor stays dead"
    );
    let receipt: TxReceipt = c
        .get(&state_keys::receipt(&early.id()))
        .expect("the first receipt stays");
    assert_eq!(
        receipt.outcome,
        TxOutcome::Rejected {
            code: RejectCode::IssuerNotRegistered
        }
    );
}

/// A new body with duplicated signatures is rejected by the admission rule, not applied.
#[test]
fn duplicated_signatures_are_rejected_at_execution() {
    let mut c = Chain::new();
    let uni = key(10);
    c.register_issuer(&uni, &[DEGREE], vec![], 1);
    let mut a = c.anchor(&[&uni], 8, DEGREE);
    a.signatures.push(a.signatures[0].clone());
    rejected(c.one(a), "sorted by public key");
}

/// Security finding 15: another chain's transaction, signed by the same keys, is void here
/// even when a Byzantine validator puts it in a block.
#[test]
fn another_chains_transaction_is_rejected_by_the_state_machine() {
    let mut c = Chain::new();
    let uni = key(10);
    c.register_issuer(&uni, &[DEGREE], vec![], 1);
    let mut a = c.anchor(&[&uni], 9, DEGREE);
    a.tx.chain_id = "credence-other".into();
    let a = SignedTransaction::sign(a.tx, &[&uni]);
    rejected(c.one(a), "is not this ledger's");
    assert!(
        c.get::<AnchorRecord>(&state_keys::anchor(&did(&uni), &Hash([9; 32])))
            .is_none()
    );
}

/// Security finding 12 (and 1): a registration from a fresh key with long strings in lists of
/// legal length writes no proposal; its receipt is all it leaves.
#[test]
fn long_strings_in_a_registration_write_no_proposal() {
    let mut c = Chain::new();
    let v = key(20);
    let record = VerifierRecord {
        did: did(&v),
        name: "Flooder".into(),
        public_key: v.public_key().clone(),
        scope: vec![ScopeItem {
            credential_type: DEGREE.into(),
            disclose: vec!["x".repeat(MAX_TEXT + 1); 3],
            predicates: vec![],
            escrow: None,
        }],
        purposes: vec!["hiring".into()],
        nullifier_scope: "flood/v1".into(),
    };
    let tx = c.tx(&[&v], TxPayload::RegisterVerifier { record });
    let id = tx.id();
    rejected(c.one(tx), "the limit is 256");
    assert!(c.get::<ProposalRecord>(&state_keys::proposal(&id)).is_none());
}

/// Security finding 16: the ledger applies consensus's rule for validator-set changes, so the
/// set the state records (and wallets read) is the set that certifies blocks.
#[test]
fn validator_set_changes_follow_the_consensus_rule() {
    let mut c = Chain::new();
    let info = |i: u8| ValidatorInfo::new(&key(i), format!("peer{i}"), "/ip4/127.0.0.1/tcp/1".into());
    let set = |epoch: u64, members: &[u8]| ValidatorSet {
        epoch,
        validators: members.iter().map(|i| info(*i)).collect(),
    };
    let change = |c: &mut Chain, s: ValidatorSet, signers: &[&SecretKey]| {
        c.tx(signers, TxPayload::ChangeValidatorSet { set: s })
    };
    let t = change(&mut c, set(1, &[100, 101]), &[&key(100)]);
    applied(c.one(t));
    assert_eq!(
        c.get::<ValidatorSet>(state_keys::VALIDATORS),
        Some(set(1, &[100, 101]))
    );
    // Consensus switches at checkpoint 8 and ignores other changes until then.
    let t = change(&mut c, set(2, &[100, 101, 102]), &[&key(100), &key(101)]);
    rejected(c.one(t), "takes effect at checkpoint 8");
    while c.height < 8 {
        c.block(&[]);
    }
    // Swapping two validators' places passes no consensus check: refused here too.
    let t = change(&mut c, set(2, &[101, 100]), &[&key(100), &key(101)]);
    rejected(c.one(t), "validator 0 changes its key");
    // A key twice.
    let mut twice = set(2, &[100, 101]);
    twice.validators.push(info(101));
    let t = change(&mut c, twice, &[&key(100), &key(101)]);
    rejected(c.one(t), "a key appears twice");
    // One signature where the current set's quorum (2 of 2) is needed.
    let t = change(&mut c, set(2, &[100, 101, 102]), &[&key(100)]);
    rejected(c.one(t), "a set change needs 2");
    let t = change(&mut c, set(2, &[100, 101, 102]), &[&key(100), &key(101)]);
    applied(c.one(t));
}

/// Security finding 12: what one unregistered key can write is bounded: at most
/// MAX_OPEN_PROPOSALS proposals wait for governance at a time; an enacted one frees its place.
#[test]
fn one_key_holds_a_bounded_number_of_open_proposals() {
    let mut c = Chain::new();
    let v = key(30);
    let registration = |c: &mut Chain, name: &str| {
        let record = VerifierRecord {
            did: did(&v),
            name: name.into(),
            public_key: v.public_key().clone(),
            scope: vec![ScopeItem {
                credential_type: DEGREE.into(),
                disclose: vec!["degree".into()],
                predicates: vec![],
                escrow: None,
            }],
            purposes: vec!["hiring".into()],
            nullifier_scope: "bounded/v1".into(),
        };
        c.tx(&[&v], TxPayload::RegisterVerifier { record })
    };
    let mut first = None;
    for i in 0..schemas::limits::MAX_OPEN_PROPOSALS {
        let t = registration(&mut c, &format!("Employer {i}"));
        first.get_or_insert(t.id());
        applied(c.one(t));
    }
    let t = registration(&mut c, "one too many");
    rejected(c.one(t), "MAX_OPEN_PROPOSALS");
    // Governance enacts the first: its place is free again (and the verifier is registered).
    let proposal = first.expect("a proposal");
    for m in [1, 2] {
        let t = c.tx(&[&key(m)], TxPayload::Approve { proposal });
        applied(c.one(t));
    }
    assert!(c.get::<VerifierRecord>(&state_keys::verifier(&did(&v))).is_some());
    assert_eq!(
        c.get::<u32>(&state_keys::open_proposals(&did(&v))),
        Some(schemas::limits::MAX_OPEN_PROPOSALS - 1)
    );
}

/// Security finding 14: the revoked ids of a list lived in one record that grew with every
/// revocation until, at its limit, no validator could decode it. They are the bits of the
/// list's fixed-size chunks now; the list's own record keeps a count and a root.
#[test]
fn a_list_s_revocation_record_does_not_grow_with_its_revoked_ids() {
    let mut c = Chain::new();
    let uni = key(10);
    c.register_issuer(&uni, &[DEGREE], vec![], 1);
    let size = |c: &Chain| {
        c.store
            .get_value_option(
                c.version.expect("a version"),
                schemas::state::state_key_hash(&state_keys::revoked(&did(&uni), 0)),
            )
            .expect("read")
            .expect("the record")
            .len()
    };
    let t = c.tx(
        &[&uni],
        TxPayload::UpdateStatusList {
            issuer: did(&uni),
            list_id: 0,
            revoke: vec![3],
        },
    );
    applied(c.one(t));
    let one = size(&c);
    let many: Vec<u32> = (0..MAX_REVOKE_PER_TX as u32).map(|i| i * 97 + 11).collect();
    let t = c.tx(
        &[&uni],
        TxPayload::UpdateStatusList {
            issuer: did(&uni),
            list_id: 0,
            revoke: many.clone(),
        },
    );
    applied(c.one(t));
    assert_eq!(
        size(&c),
        one,
        "the record's size must not depend on how many ids are revoked"
    );
    let rec: RevocationRoot = c.get(&state_keys::revoked(&did(&uni), 0)).expect("root");
    assert_eq!(rec.count as usize, many.len() + 1);
    // The ids are the set bits of the chunks, every chunk the same fixed size.
    let mut ids = vec![];
    for chunk in 0..STATUS_CHUNKS_PER_LIST {
        if let Some(ch) = c.get::<StatusListChunk>(&state_keys::status_chunk(&did(&uni), 0, chunk)) {
            assert_eq!(ch.bits.len() as u32, STATUS_CHUNK_BITS / 8);
            ids.extend(ch.revoked());
        }
    }
    let mut expected = many;
    expected.push(3);
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let root = zk::tree::RevocationTree::from_revoked(ids).root();
    assert_eq!(rec.root, Hash(zk::poseidon::fr_to_bytes(&root)));
}

/// A validator that restarts has no revocation tree in memory: it rebuilds the list's tree from
/// the committed chunks and must reach the root the others computed incrementally.
#[test]
fn a_validator_with_a_cold_revocation_cache_computes_the_same_root() {
    let mut c = Chain::new();
    let uni = key(10);
    c.register_issuer(&uni, &[DEGREE], vec![], 1);
    for revoke in [vec![5, 300_000], vec![131_072, 5, 9]] {
        let t = c.tx(
            &[&uni],
            TxPayload::UpdateStatusList {
                issuer: did(&uni),
                list_id: 2,
                revoke,
            },
        );
        applied(c.one(t));
        c.cache = RevocationCache::default();
    }
    let rec: RevocationRoot = c.get(&state_keys::revoked(&did(&uni), 2)).expect("root");
    assert_eq!(rec.count, 4);
    let expected = zk::tree::RevocationTree::from_revoked([5, 9, 131_072, 300_000]).root();
    assert_eq!(rec.root, Hash(zk::poseidon::fr_to_bytes(&expected)));
}

/// Security finding 15: rejected transactions wrote receipts without bound, so a fresh key
/// (free to make) could fill the state through a Byzantine primary. A sender's rejected
/// receipts stop at the limit; the transactions past it leave nothing behind.
#[test]
fn a_key_nobody_registered_writes_at_most_the_limit_of_rejected_receipts() {
    let mut c = Chain::new();
    let stranger = key(77);
    let limit = schemas::limits::MAX_REJECTED_RECEIPTS as usize;
    let txs: Vec<SignedTransaction> = (0..limit + 6)
        .map(|_| {
            c.tx(
                &[&stranger],
                TxPayload::SuspendIssuer {
                    issuer: did(&key(10)),
                    reason: "x".into(),
                },
            )
        })
        .collect();
    let outcomes = c.block(&txs);
    assert_eq!(
        outcomes.len(),
        limit,
        "only the first {limit} rejections leave a receipt"
    );
    for o in outcomes {
        rejected(o, "not a governance member");
    }
    for (i, t) in txs.iter().enumerate() {
        let receipt: Option<TxReceipt> = c.get(&state_keys::receipt(&t.id()));
        assert_eq!(receipt.is_some(), i < limit, "transaction {i}");
    }
    let account: AccountRecord = c.get(&state_keys::account(&did(&stranger))).expect("account");
    assert_eq!(account.rejected as usize, limit);
    assert_eq!(account.highest, None, "no rejected transaction uses a nonce");
    // A repeat of one past the limit is judged again and still writes nothing.
    let again = c.block(&txs[limit..limit + 1]);
    assert!(again.is_empty());
}

/// A verifying key is registered only at the end of a ceremony chain with the plan's number of
/// contributions, each checked against the previous one: a contribution out of order, stale,
/// with a wrong proof of knowledge or tampered heads is refused, as is a key that is not the
/// transcript's (issue 16). A key version is never replaced (security review, finding 8) and is
/// retired by governance, once, and only if registered.
#[test]
fn a_verifying_key_comes_only_from_a_ceremony_and_retires_by_governance() {
    // (A finish is a governance proposal: the approving members verify the whole transcript.)
    use zk::ceremony::{self, Heads, Phase};
    let mut c = Chain::new();
    let shape = zk::unlinkable::CircuitShape::SHAPES[0];
    let circuit = shape.id();
    let power = u8::try_from(ceremony::domain_power(shape).expect("synthesises")).expect("small");
    let (_, vk) = zk::unlinkable::setup(shape, &mut rand_core::OsRng).expect("setup");
    let single = VerifyingKeyRecord {
        circuit: circuit.clone(),
        version: 2,
        key: vk.to_bytes(),
    };
    let t = c.tx(&[&key(1)], TxPayload::RegisterVerifyingKey { record: single });
    rejected(c.one(t), "only by finishing a setup ceremony");

    let plan = |min: u16, power: u8, circuits: Vec<String>| schemas::ledger::CeremonyPlan {
        id: "setup-1".into(),
        version: 2,
        circuits,
        power,
        min_contributions: min,
        contributors: vec![],
    };
    let start = |c: &mut Chain, p| c.tx(&[&key(1)], TxPayload::StartCeremony { plan: p });
    let t = start(&mut c, plan(1, power, vec![circuit.clone()]));
    rejected(c.one(t), "at least the governance quorum");
    let t = start(&mut c, plan(4, power, vec![circuit.clone()]));
    rejected(c.one(t), "only 3 parties may contribute");
    let t = start(&mut c, plan(2, power - 1, vec![circuit.clone()]));
    rejected(c.one(t), "needs powers of");
    let t = start(&mut c, plan(2, power, vec!["unlinkable-a99".into()]));
    rejected(c.one(t), "unknown circuit");
    let t = start(&mut c, plan(2, power, vec![circuit.clone()]));
    let proposal = t.id();
    applied(c.one(t));
    let at = state_keys::ceremony("setup-1");
    assert_eq!(
        c.get::<schemas::ledger::CeremonyRecord>(&at),
        None,
        "not before approval"
    );
    let t = c.tx(&[&key(2)], TxPayload::Approve { proposal });
    applied(c.one(t));
    let record = |c: &Chain| {
        c.get::<schemas::ledger::CeremonyRecord>(&at)
            .expect("the ceremony")
    };
    assert_eq!(record(&c).plan.version, 2);

    // A contribution as its contributor would send it, from the chain's recorded heads.
    let contribution = |c: &Chain, m: u8, chain: &str, index: u32, previous: Hash, file: u8| {
        let r = record(c);
        let (phase, heads) = if chain.is_empty() {
            (Phase::Powers, r.powers.heads.clone())
        } else {
            (Phase::Circuit(chain), r.circuits[0].heads.clone())
        };
        let before = if heads.is_empty() {
            Heads::initial(phase)
        } else {
            Heads::from_bytes(&heads).expect("heads")
        };
        let challenge = ceremony::challenge("setup-1", phase, &did(&key(m)).to_string(), &previous);
        let (after, proof) = ceremony::contribute_heads(&before, &challenge, &mut rand_core::OsRng);
        schemas::ledger::CeremonyContribution {
            ceremony: "setup-1".into(),
            circuit: chain.into(),
            index,
            previous,
            file: Hash([file; 32]),
            heads: after.to_bytes(),
            proof: proof.to_bytes(),
        }
    };
    let send = |c: &mut Chain, m: u8, contribution| c.tx(&[&key(m)], TxPayload::Contribute { contribution });
    let initial = ceremony::File::initial_powers("setup-1", power)
        .expect("initial")
        .digest();

    let x = contribution(&c, 1, "", 1, Hash([9; 32]), 1);
    let t = send(&mut c, 1, x);
    rejected(c.one(t), "must extend the initial powers");
    let x = contribution(&c, 1, "", 1, initial, 1);
    let t = send(&mut c, 1, x);
    applied(c.one(t));
    let x = contribution(&c, 1, "", 2, Hash([1; 32]), 2);
    let t = send(&mut c, 1, x);
    rejected(c.one(t), "contributed to this chain already");
    let x = contribution(&c, 2, "", 2, initial, 2);
    let t = send(&mut c, 2, x);
    rejected(c.one(t), "stale");
    let x = contribution(&c, 2, "", 3, Hash([1; 32]), 2);
    let t = send(&mut c, 2, x);
    rejected(c.one(t), "out of order");
    let x = contribution(&c, 3, "", 2, Hash([1; 32]), 2);
    let t = send(&mut c, 2, x);
    rejected(c.one(t), "proof of knowledge");
    let mut x = contribution(&c, 2, "", 2, Hash([1; 32]), 2);
    let other = contribution(&c, 2, "", 2, Hash([1; 32]), 2);
    x.heads = other.heads;
    let t = send(&mut c, 2, x);
    rejected(c.one(t), "contribution 2");
    let x = contribution(&c, 2, &circuit, 1, Hash([1; 32]), 10);
    let t = send(&mut c, 2, x);
    rejected(c.one(t), "the powers of tau have 1 contributions");
    let x = contribution(&c, 2, "", 2, Hash([1; 32]), 2);
    let t = send(&mut c, 2, x);
    applied(c.one(t));
    let stranger = key(40);
    let x = contribution(&c, 40, "", 3, Hash([2; 32]), 3);
    let t = c.tx(&[&stranger], TxPayload::Contribute { contribution: x });
    rejected(c.one(t), "nor a contributor the plan admits");

    // Phase 2, which closes the powers of tau.
    let x = contribution(&c, 1, &circuit, 1, Hash([2; 32]), 10);
    let t = send(&mut c, 1, x);
    applied(c.one(t));
    let x = contribution(&c, 3, "", 3, Hash([2; 32]), 3);
    let t = send(&mut c, 3, x);
    rejected(c.one(t), "closed");
    let finish = |c: &mut Chain, key_bytes: Vec<u8>| {
        c.tx(
            &[&key(2)],
            TxPayload::FinishCeremony {
                ceremony: "setup-1".into(),
                circuit: circuit.clone(),
                key: key_bytes,
            },
        )
    };
    let key_of = |c: &Chain| {
        let r = record(c);
        let p = Heads::from_bytes(&r.powers.heads).expect("heads");
        let h = Heads::from_bytes(&r.circuits[0].heads).expect("heads");
        ceremony::key_for_heads(shape, 2, &p, &h, &mut rand_core::OsRng)
            .expect("a key")
            .to_bytes()
    };
    let early = key_of(&c);
    let t = finish(&mut c, early.clone());
    rejected(c.one(t), "the plan needs 2");
    let x = contribution(&c, 3, &circuit, 2, Hash([10; 32]), 11);
    let t = send(&mut c, 3, x);
    applied(c.one(t));
    let t = finish(&mut c, early);
    rejected(c.one(t), "not the transcript's");
    let t = finish(&mut c, vk.to_bytes());
    rejected(c.one(t), "not the transcript's");
    let final_key = key_of(&c);
    let t = finish(&mut c, final_key.clone());
    let proposal = t.id();
    applied(c.one(t));
    let vk_at = state_keys::verifying_key(&circuit, 2);
    assert_eq!(
        c.get::<VerifyingKeyRecord>(&vk_at),
        None,
        "a finish is a proposal: not before the quorum"
    );
    let t = c.tx(&[&key(1)], TxPayload::Approve { proposal });
    applied(c.one(t));
    let first = VerifyingKeyRecord {
        circuit: circuit.clone(),
        version: 2,
        key: final_key.clone(),
    };
    assert_eq!(c.get::<VerifyingKeyRecord>(&vk_at), Some(first.clone()));
    assert_eq!(
        c.get::<String>(&state_keys::verifying_key_ceremony(&circuit, 2)),
        Some("setup-1".to_owned())
    );
    let t = finish(&mut c, final_key);
    rejected(c.one(t), "finished");
    let x = contribution(&c, 2, &circuit, 3, Hash([11; 32]), 12);
    let t = send(&mut c, 2, x);
    rejected(c.one(t), "finished");
    // The next ceremony may not plan a version that is registered.
    let mut again = plan(2, power, vec![circuit.clone()]);
    again.id = "setup-2".into();
    let t = start(&mut c, again);
    rejected(c.one(t), "registered already");

    // Retirement: only of a registered version, once; the key itself stays.
    let retire = |c: &mut Chain, m: u8, version: u32| {
        c.tx(
            &[&key(m)],
            TxPayload::RetireVerifyingKey {
                circuit: first.circuit.clone(),
                version,
            },
        )
    };
    let t = retire(&mut c, 1, first.version + 1);
    rejected(c.one(t), "none can be retired");
    let t = retire(&mut c, 1, first.version);
    let proposal = t.id();
    applied(c.one(t));
    let retired_at = state_keys::retired_verifying_key(&first.circuit, first.version);
    assert_eq!(c.get::<KeyRetirement>(&retired_at), None, "not before approval");
    let t = c.tx(&[&key(2)], TxPayload::Approve { proposal });
    applied(c.one(t));
    assert_eq!(
        c.get::<KeyRetirement>(&retired_at),
        Some(KeyRetirement {
            circuit: first.circuit.clone(),
            version: first.version,
        })
    );
    assert_eq!(c.get::<VerifyingKeyRecord>(&vk_at), Some(first.clone()));
    let t = retire(&mut c, 3, first.version);
    rejected(c.one(t), "retired already");
}

/// An empty block (a heartbeat) between two blocks that change the state loses nothing: the
/// next block's tree builds on the last version that has one.
#[test]
fn an_empty_block_between_two_others_keeps_the_state() {
    let mut c = Chain::new();
    let t = c.tx(
        &[&key(1)],
        TxPayload::Approve {
            proposal: Hash([1; 32]),
        },
    );
    let _ = c.one(t);
    assert!(c.block(&[]).is_empty());
    let t = c.tx(
        &[&key(2)],
        TxPayload::Approve {
            proposal: Hash([2; 32]),
        },
    );
    let _ = c.one(t);
    assert!(
        c.get::<Governance>(state_keys::GOVERNANCE).is_some(),
        "the governance record survives an empty block"
    );
    // What a node serves: the value with its proof against the state root (the tree walk, not
    // the value history the rules read).
    let proof = StateTree::new(&c.store)
        .get_with_proof(state_keys::GOVERNANCE, c.version.expect("a version"))
        .expect("a proof");
    assert!(
        proof.value.is_some(),
        "the state root still commits to the governance record"
    );
    assert_eq!(
        StateTree::new(&c.store)
            .root(c.version.expect("a version"))
            .expect("a root"),
        c.root
    );
}

/// What an escrowed answer is made for: the issuer and schema of its credential, the
/// verifier's nullifier domain, the request's digest.
struct AnswerFor<'a> {
    issuer: &'a Did,
    schema_id: &'a str,
    scope: &'a str,
    request: Hash,
}

/// A real escrowed answer for the opening tests: a one-credential KYC batch (version 2: the
/// handle is the second numeric attribute) whose handle is `handle`, proven with the
/// 4-attribute escrow shape to `council`. Returns the ciphertext, the evidence an opening
/// proposal carries, and the batch's Poseidon root (to anchor).
fn escrow_answer(
    pk: &zk::unlinkable::ProvingKey,
    vk: &zk::unlinkable::VerifyingKey,
    council: &zk::escrow::CouncilKey,
    handle: i64,
    to: &AnswerFor<'_>,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> (zk::escrow::Ciphertext, schemas::ledger::EscrowEvidence, Hash) {
    use zk::unlinkable::{
        EscrowStatement, HolderSecret, LeafData, UnlinkableStatement, UnlinkableWitness, binding_element,
        credential_leaf, escrow_evidence, prove_escrowed,
    };
    let secret = HolderSecret::random(rng);
    let binding = binding_element(to.issuer.as_str(), to.schema_id);
    let data = LeafData {
        binding,
        id: 3,
        valid_from: 1_000,
        valid_until: 2_000_000_000,
        attributes: vec![Some(7_300), Some(handle), Some(2), Some(20_000)],
    };
    let salt = zk::poseidon::fr_from_i64(5);
    let tree = zk::tree::CredentialTree::build(vec![credential_leaf(&data, &salt, &secret.commitment())])
        .expect("fits");
    let revoked = zk::tree::RevocationTree::new();
    let statement = UnlinkableStatement {
        issuer_root: tree.root_hash(),
        revocation_root: revoked.root_hash(),
        binding,
        now: 1_800_000_000,
        predicates: vec![],
        scope: to.scope.into(),
        request: to.request,
    };
    let (credential_path, revocation_path) = (tree.path(0).expect("exists"), revoked.path(3));
    let witness = UnlinkableWitness {
        leaf: &data,
        salt: Hash(zk::poseidon::fr_to_bytes(&salt)),
        secret: &secret,
        credential_path: &credential_path,
        revocation_path: &revocation_path,
    };
    let (proof, nullifier, ciphertext) =
        prove_escrowed(pk, &statement, 2, council, &witness, rng).expect("proves");
    let escrow = EscrowStatement {
        handle_attribute: 2,
        council: *council,
        ciphertext,
    };
    let inputs = escrow_evidence(vk, &statement, &escrow, &nullifier).expect("inputs");
    let evidence = schemas::ledger::EscrowEvidence {
        circuit: vk.shape().id(),
        version: vk.version(),
        inputs,
        proof: proof.to_vec(),
    };
    (ciphertext, evidence, tree.root_hash())
}

/// Issue 18: a regulator council's key generation through the ledger (with a cheating dealer
/// disqualified by a complaint), and an opening: no share is accepted before governance approves
/// the opening, a share that does not verify is refused, and `t` shares record the handle. An
/// opening must carry the answer's escrow proof: a ciphertext derived from a presented one
/// (hashed ElGamal is malleable, and opening it would reveal the original's pad) is refused.
#[test]
fn a_council_forms_on_the_ledger_and_opens_only_after_the_vote() {
    use schemas::ledger::{CouncilPlan, CouncilRecord, CouncilStep, OpeningRecord, OpeningRequest};
    use zk::escrow::Ciphertext;
    use zk::escrow::council::{CouncilShare, DecryptionShare, ReceivingSecret, deal};
    use zk::escrow::{CouncilKey, EscrowRandomness, encrypt};

    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(18);
    let shape = zk::unlinkable::CircuitShape::fitting(4, 2, true).expect("an escrow shape");
    let (pk, vk) = zk::unlinkable::setup(shape, &mut rng).expect("setup");
    let vk_record = VerifyingKeyRecord {
        circuit: shape.id(),
        version: vk.version(),
        key: vk.to_bytes(),
    };
    let mut c = Chain::with_state(vec![(
        state_keys::verifying_key(&shape.id(), vk.version()),
        schemas::codec::encode(&vk_record),
    )]);
    let members = [key(1), key(2), key(3)];
    let plan = CouncilPlan {
        id: "regulators-2027".into(),
        name: "Financial regulators".into(),
        members: members.iter().map(did).collect(),
        threshold: 2,
    };
    // Only governance members can be council members.
    let stranger = key(9);
    let bad_plan = CouncilPlan {
        id: "other".into(),
        members: vec![did(&members[0]), did(&stranger)],
        ..plan.clone()
    };
    let t = c.tx(&[&members[0]], TxPayload::StartCouncil { plan: bad_plan });
    rejected(c.one(t), "not a governance member");
    let t = c.tx(&[&members[0]], TxPayload::StartCouncil { plan: plan.clone() });
    let p = t.id();
    applied(c.one(t));
    let step = |c: &mut Chain, j: usize, step: CouncilStep| {
        let t = c.tx(
            &[&members[j]],
            TxPayload::CouncilStep {
                council: plan.id.clone(),
                step,
            },
        );
        c.one(t)
    };
    let secrets: Vec<ReceivingSecret> = (0..3).map(|_| ReceivingSecret::random(&mut rng)).collect();
    let enrol = |s: &ReceivingSecret| CouncilStep::Enrol {
        receiving_key: s.public().to_bytes().to_vec(),
    };
    rejected(step(&mut c, 0, enrol(&secrets[0])), "no council regulators-2027");
    let t = c.tx(&[&members[1]], TxPayload::Approve { proposal: p });
    applied(c.one(t));

    // Enrolment, then dealing (not before everyone enrolled).
    let params = council::council_params(CHAIN, &plan).expect("valid");
    let keys: Vec<_> = secrets.iter().map(ReceivingSecret::public).collect();
    applied(step(&mut c, 0, enrol(&secrets[0])));
    rejected(step(&mut c, 0, enrol(&secrets[0])), "enrolled already");
    let early = deal(&params, 1, &keys, &mut rng).expect("deals");
    rejected(
        step(
            &mut c,
            0,
            CouncilStep::Deal {
                dealing: early.to_bytes(),
            },
        ),
        "waiting for 2 member(s) to enrol",
    );
    let t = c.tx(
        &[&stranger],
        TxPayload::CouncilStep {
            council: plan.id.clone(),
            step: enrol(&secrets[2]),
        },
    );
    rejected(c.one(t), "not a governance member");
    applied(step(&mut c, 1, enrol(&secrets[1])));
    applied(step(&mut c, 2, enrol(&secrets[2])));
    let mut dealings: Vec<_> = (1..=3u16)
        .map(|i| deal(&params, i, &keys, &mut rng).expect("deals"))
        .collect();
    // Member 2 sends member 3 a bad share.
    let mut bytes = dealings[1].to_bytes();
    bytes[6 + 32 * 2 + 32 + 32 * 2] ^= 1;
    dealings[1] = zk::escrow::council::Dealing::from_bytes(&bytes).expect("well formed");
    // A dealing sent by another member than its dealer.
    rejected(
        step(
            &mut c,
            0,
            CouncilStep::Deal {
                dealing: dealings[2].to_bytes(),
            },
        ),
        "dealer 3's",
    );
    for (j, d) in dealings.iter().enumerate() {
        applied(step(
            &mut c,
            j,
            CouncilStep::Deal {
                dealing: d.to_bytes(),
            },
        ));
    }
    // Member 3 complains about dealer 2 (it holds); member 1's complaint about dealer 3 is
    // unfounded (made from a copy it altered) and refused.
    let complaint = match dealings[1].share_for(&params, 3, &secrets[2], &mut rng) {
        Err(c) => c.to_bytes().to_vec(),
        Ok(_) => panic!("the bad share checked"),
    };
    applied(step(&mut c, 2, CouncilStep::Complain { complaint }));
    let mut altered = dealings[2].to_bytes();
    altered[6 + 32 * 2 + 32] ^= 1;
    let unfounded = match zk::escrow::council::Dealing::from_bytes(&altered)
        .expect("well formed")
        .share_for(&params, 1, &secrets[0], &mut rng)
    {
        Err(c) => c.to_bytes().to_vec(),
        Ok(_) => panic!("the altered share checked"),
    };
    rejected(
        step(&mut c, 0, CouncilStep::Complain { complaint: unfounded }),
        "unfounded",
    );
    for j in 0..3 {
        applied(step(&mut c, j, CouncilStep::Ready));
    }
    let record: CouncilRecord = c.get(&state_keys::council(&plan.id)).expect("recorded");
    assert_eq!(record.disqualified, vec![2]);
    assert_eq!(record.failed, None);
    let key_bytes: [u8; 32] = record.key.expect("in force").0.try_into().expect("32 bytes");
    let council_key = CouncilKey::from_bytes(&key_bytes).expect("a point");
    rejected(step(&mut c, 0, CouncilStep::Ready), "is over");

    // A verifier to name in the opening.
    let bank = key(40);
    let verifier = VerifierRecord {
        did: did(&bank),
        name: "Bank".into(),
        public_key: bank.public_key().clone(),
        scope: vec![ScopeItem {
            credential_type: "KycAttestation".into(),
            disclose: vec![],
            predicates: vec!["age".into()],
            escrow: Some(plan.id.clone()),
        }],
        purposes: vec!["account opening".into()],
        nullifier_scope: "bank-escrow".into(),
    };
    // A scope can only require escrow to a council in force.
    let mut nowhere = verifier.clone();
    nowhere.scope[0].escrow = Some("no-such-council".into());
    let t = c.tx(&[&bank], TxPayload::RegisterVerifier { record: nowhere });
    rejected(c.one(t), "not a council in force");
    let scope = verifier.nullifier_domain();
    let t = c.tx(&[&bank], TxPayload::RegisterVerifier { record: verifier });
    let vp = t.id();
    applied(c.one(t));
    for m in [1, 3] {
        let t = c.tx(&[&key(m)], TxPayload::Approve { proposal: vp });
        applied(c.one(t));
    }

    // A KYC issuer anchors a batch; the bank signed the request its customer answered.
    let kyc_issuer = key(41);
    c.register_issuer(&kyc_issuer, &["KycAttestation"], vec![], 1);
    let answered = schemas::presentation::SignedRequest::sign(
        schemas::presentation::PresentationRequest {
            verifier: did(&bank),
            credential_type: "KycAttestation".into(),
            accepted_issuers: vec![],
            disclose: vec![],
            predicates: vec![],
            nonce: Hash([7; 32]),
            purpose: "account opening".into(),
            created_at: 0,
            expires_at: 600,
            tier: schemas::presentation::Tier::Unlinkable,
            channel: None,
        },
        &bank,
    );
    let schema_id = "credence:schema:kyc-attestation:2";
    let issuer_did = did(&kyc_issuer);
    let to = AnswerFor {
        issuer: &issuer_did,
        schema_id,
        scope: &scope,
        request: answered.request.digest(),
    };
    let handle = 4_411_000_017i64;
    let (ct, evidence, poseidon_root) = escrow_answer(&pk, &vk, &council_key, handle, &to, &mut rng);
    let batch = Hash([0x42; 32]);
    let t = c.tx(
        &[&kyc_issuer],
        TxPayload::AnchorBatch {
            anchor: AnchorRecord {
                issuer: issuer_did.clone(),
                root: batch,
                poseidon_root: Some(poseidon_root),
                count: 1,
                schema_id: schema_id.into(),
                credential_type: "KycAttestation".into(),
            },
        },
    );
    applied(c.one(t));
    let request = OpeningRequest {
        council: plan.id.clone(),
        ciphertext: ct.to_bytes().to_vec(),
        verifier: did(&bank),
        request: answered.request.digest(),
        answered: Box::new(answered.clone()),
        issuer: issuer_did.clone(),
        batch,
        legal_basis: "AML investigation 2027-114, court order 88".into(),
        evidence: evidence.clone(),
    };
    // A proposer's own answer: a credential in a tree of its own (never anchored), proven for
    // the same request and verifier, named against the real batch: refused.
    let (own_ct, own_evidence, _) = escrow_answer(&pk, &vk, &council_key, handle + 9, &to, &mut rng);
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: OpeningRequest {
                ciphertext: own_ct.to_bytes().to_vec(),
                evidence: own_evidence,
                ..request.clone()
            },
        },
    );
    rejected(c.one(t), "another issuer root");
    // The request altered after the verifier signed it: refused.
    let mut forged = answered.clone();
    forged.request.purpose = "marketing".into();
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: OpeningRequest {
                request: forged.request.digest(),
                answered: Box::new(forged),
                ..request.clone()
            },
        },
    );
    rejected(c.one(t), "the answered request");
    // The attack: a ciphertext derived from the presented one (its body shifted: an encryption
    // of handle + 1 under the same randomness), put to the vote with the answer's evidence, or
    // with the evidence's inputs patched to name it, or a fresh ciphertext with no proof at all.
    let mut mauled = ct.to_bytes();
    mauled[32] ^= 1;
    let mauled_request = OpeningRequest {
        ciphertext: mauled.to_vec(),
        ..request.clone()
    };
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: mauled_request.clone(),
        },
    );
    rejected(c.one(t), "another ciphertext");
    let mut patched = evidence.clone();
    let mauled_ct = Ciphertext::from_bytes(&mauled).expect("a ciphertext");
    let at = 4 + 3 * shape.predicates;
    patched.inputs[at + 8] = Hash(mauled[32..].try_into().expect("32 bytes"));
    assert!(Ciphertext::from_bytes(&mauled_ct.to_bytes()).is_ok());
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: OpeningRequest {
                evidence: patched,
                ..mauled_request
            },
        },
    );
    rejected(c.one(t), "does not verify");
    let fresh = encrypt(
        &council_key,
        zk::poseidon::fr_from_i64(handle),
        &EscrowRandomness::random(&mut rng),
    );
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: OpeningRequest {
                ciphertext: fresh.to_bytes().to_vec(),
                ..request.clone()
            },
        },
    );
    rejected(c.one(t), "another ciphertext");
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: OpeningRequest {
                request: Hash([6; 32]),
                ..request.clone()
            },
        },
    );
    rejected(c.one(t), "the named digest");
    // Each member's share of the council key, from the qualified dealers (1 and 3).
    let council = council::council_of(CHAIN, &c.get(&state_keys::council(&plan.id)).expect("recorded"))
        .expect("in force");
    let share_of = |j: u16, rng: &mut rand_chacha::ChaCha20Rng| {
        let received: Vec<_> = [0usize, 2]
            .iter()
            .map(|d| {
                let s = dealings[*d]
                    .share_for(&params, j, &secrets[usize::from(j) - 1], rng)
                    .expect("good");
                (dealings[*d].dealer(), s)
            })
            .collect();
        CouncilShare::new(&council, j, &received).expect("sums")
    };
    let publish = |c: &mut Chain, j: usize, opening: Hash, share: &DecryptionShare| {
        let t = c.tx(
            &[&members[j]],
            TxPayload::PublishShare {
                opening,
                share: share.to_bytes().to_vec(),
            },
        );
        c.one(t)
    };
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: request.clone(),
        },
    );
    let opening = t.id();
    let s1 = share_of(1, &mut rng).decrypt(&council, &ct, &opening, &mut rng);
    // No proposal yet; then a proposal with one approval: no share is accepted.
    rejected(publish(&mut c, 0, opening, &s1), "no opening proposal");
    applied(c.one(t));
    rejected(publish(&mut c, 0, opening, &s1), "not approved");
    // The proposal is found by its ciphertext (how a holder's wallet finds it); the refused
    // ones left nothing.
    let listed: Vec<Hash> = c
        .get(&state_keys::openings_of(&schemas::hash::sm3(&ct.to_bytes())))
        .expect("indexed");
    assert_eq!(listed, vec![opening]);
    assert!(
        c.get::<Vec<Hash>>(&state_keys::openings_of(&schemas::hash::sm3(&mauled)))
            .is_none()
    );
    // One proposal per member and ciphertext (no member can fill the list to block others).
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: request.clone(),
        },
    );
    rejected(c.one(t), "already");
    assert!(c.get::<OpeningRecord>(&state_keys::opening(&opening)).is_none());
    let t = c.tx(&[&members[2]], TxPayload::Approve { proposal: opening });
    applied(c.one(t));

    // A share with a bad proof, and member 1's share sent by member 2: refused.
    let s3 = share_of(3, &mut rng).decrypt(&council, &ct, &opening, &mut rng);
    let mut forged = s3.to_bytes();
    forged[2..34].copy_from_slice(&s1.to_bytes()[2..34]);
    let forged = DecryptionShare::from_bytes(&forged).expect("well formed");
    rejected(publish(&mut c, 2, opening, &forged), "does not verify");
    rejected(publish(&mut c, 1, opening, &s1), "member 1's");
    applied(publish(&mut c, 0, opening, &s1));
    rejected(publish(&mut c, 0, opening, &s1), "already");
    let half: OpeningRecord = c.get(&state_keys::opening(&opening)).expect("approved");
    assert_eq!(
        (half.shares.len(), half.handle),
        (1, None),
        "one share opens nothing"
    );
    applied(publish(&mut c, 2, opening, &s3));
    let done: OpeningRecord = c.get(&state_keys::opening(&opening)).expect("approved");
    assert_eq!(done.handle, Some(handle));
    assert_eq!(Ciphertext::from_bytes(&ct.to_bytes()), Ok(ct));

    // An opening naming an unregistered verifier, or a malformed ciphertext: refused.
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: OpeningRequest {
                verifier: did(&stranger),
                ..request.clone()
            },
        },
    );
    rejected(c.one(t), "not a registered verifier");
    let t = c.tx(
        &[&members[0]],
        TxPayload::ProposeOpening {
            opening: OpeningRequest {
                ciphertext: vec![0; 64],
                ..request
            },
        },
    );
    rejected(c.one(t), "ciphertext");
}

/// Hostile review of issue 18, finding 3: one silent member would stall a council's key
/// generation forever. Governance can abandon a council still forming (by the usual quorum);
/// no step is accepted afterwards, and a council in force or already ended cannot be abandoned.
#[test]
fn governance_abandons_a_stalled_council() {
    use schemas::ledger::{CouncilPlan, CouncilRecord, CouncilStep};
    use zk::escrow::council::ReceivingSecret;

    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(19);
    let mut c = Chain::new();
    let plan = CouncilPlan {
        id: "stalled".into(),
        name: "Regulators".into(),
        members: (1..=3).map(|i| did(&key(i))).collect(),
        threshold: 2,
    };
    let t = c.tx(&[&key(1)], TxPayload::StartCouncil { plan: plan.clone() });
    let p = t.id();
    applied(c.one(t));
    let t = c.tx(&[&key(2)], TxPayload::Approve { proposal: p });
    applied(c.one(t));
    // Member 1 enrols; members 2 and 3 never do.
    let enrol = CouncilStep::Enrol {
        receiving_key: ReceivingSecret::random(&mut rng).public().to_bytes().to_vec(),
    };
    let t = c.tx(
        &[&key(1)],
        TxPayload::CouncilStep {
            council: plan.id.clone(),
            step: enrol.clone(),
        },
    );
    applied(c.one(t));
    let abort = |c: &mut Chain, id: &str| {
        let t = c.tx(
            &[&key(1)],
            TxPayload::AbortCouncil {
                council: id.into(),
                reason: "members 2 and 3 did not enrol within a month".into(),
            },
        );
        (t.id(), c.one(t))
    };
    let (_, o) = abort(&mut c, "no-such-council");
    rejected(o, "no council no-such-council");
    let (a, o) = abort(&mut c, &plan.id);
    applied(o);
    let forming: CouncilRecord = c.get(&state_keys::council(&plan.id)).expect("recorded");
    assert_eq!(forming.failed, None, "one approval abandons nothing");
    let t = c.tx(&[&key(3)], TxPayload::Approve { proposal: a });
    applied(c.one(t));
    let ended: CouncilRecord = c.get(&state_keys::council(&plan.id)).expect("recorded");
    assert!(
        ended
            .failed
            .as_deref()
            .is_some_and(|f| f.contains("did not enrol")),
        "{:?}",
        ended.failed
    );
    let t = c.tx(
        &[&key(2)],
        TxPayload::CouncilStep {
            council: plan.id.clone(),
            step: enrol,
        },
    );
    rejected(c.one(t), "is over");
    let (_, o) = abort(&mut c, &plan.id);
    rejected(o, "only a council still forming");
}

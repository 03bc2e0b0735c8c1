//! The sled store: what is committed survives reopening, reads prove against the certified
//! header, and the consensus log keeps only what consensus still needs.

use ledger_node::rules::{RevocationCache, execute, execute_genesis, genesis_header, genesis_updates};
use ledger_node::store::Store;
use pbft::{LogEntry, Message, ReplicaId, SeqNo, SignedMessage, View};
use schemas::codec::Canonical;
use schemas::hash::Hash;
use schemas::ledger::{
    Block, BlockBody, CommitCertificate, CommitVote, Genesis, Governance, GovernanceMember, Height, Policies,
    ValidatorInfo, ValidatorSet, state_keys,
};
use schemas::light_client::verify_ledger_proof;
use schemas::sm2::SecretKey;

fn key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[i; 32]).expect("a valid scalar")
}

fn genesis() -> Genesis {
    let member = key(1);
    Genesis {
        chain_id: "credence-store-test".into(),
        timestamp_ms: 1,
        validators: ValidatorSet {
            epoch: 0,
            validators: (10..14)
                .map(|i| ValidatorInfo::new(&key(i), format!("peer-{i}"), "/ip4/127.0.0.1/tcp/1".into()))
                .collect(),
        },
        observers: vec![],
        governance: Governance {
            members: vec![GovernanceMember {
                name: "m".into(),
                did: schemas::Did::from_public_key(member.public_key()),
                public_key: member.public_key().clone(),
            }],
            policies: Policies {
                approvals_needed: 1,
                credential_types: vec![],
            },
        },
        schemas: vec![],
    }
}

/// Writes genesis to `store`, executes an empty block 1 on it (no transactions: its state
/// version is still 0), and returns the genesis header and that execution.
fn genesis_and_block_1(
    store: &Store,
    g: &Genesis,
) -> (schemas::ledger::BlockHeader, ledger_node::rules::Execution) {
    let ex = execute_genesis(store, genesis_updates(g)).expect("genesis");
    let header = genesis_header(g, ex.root);
    store.init_genesis(g.digest(), &header, &ex).expect("init");
    let ex = execute(
        store,
        Some(0),
        ex.root,
        (&g.chain_id, Height(1)),
        &[],
        &RevocationCache::default(),
    )
    .expect("execute");
    (header, ex)
}

/// A certified empty block on top of `parent`.
fn certified(g: &Genesis, parent: &schemas::ledger::BlockHeader, root: Hash) -> (Block, CommitCertificate) {
    certified_body(g, parent, root, BlockBody { transactions: vec![] })
}

/// A certified block of `body` on top of `parent`.
fn certified_body(
    g: &Genesis,
    parent: &schemas::ledger::BlockHeader,
    root: Hash,
    body: BlockBody,
) -> (Block, CommitCertificate) {
    let header = schemas::ledger::BlockHeader {
        chain_id: g.chain_id.clone(),
        height: Height(parent.height.0 + 1),
        prev_hash: parent.digest(),
        tx_root: body.tx_root(),
        state_root: root,
        validator_set_hash: g.validators.digest(),
        timestamp_ms: 2,
        view: 0,
    };
    let vote = CommitVote::for_header(&header);
    let cert = CommitCertificate {
        height: header.height,
        block_hash: header.digest(),
        signatures: (10..13).map(|i| vote.sign(&key(i))).collect(),
    };
    (Block { header, body }, cert)
}

#[test]
fn committed_blocks_and_state_survive_reopening_and_reads_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    let g = genesis();
    let (header, block) = {
        let store = Store::open(dir.path()).expect("open");
        let (header, ex) = genesis_and_block_1(&store, &g);
        let (block, cert) = certified(&g, &header, ex.root);
        store.commit(&block, &cert, &ex).expect("commit");
        (header, block)
    };
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.height().expect("height"), Some(Height(1)));
    assert_eq!(store.genesis_digest().expect("digest"), Some(g.digest()));
    assert_eq!(store.block(0).expect("read").map(|(b, _)| b.header), Some(header));
    assert_eq!(store.block(1).expect("read").map(|(b, _)| b), Some(block));
    let proof = store
        .read(&[
            state_keys::GOVERNANCE.to_vec(),
            state_keys::issuer(&schemas::Did::from_public_key(key(9).public_key())),
        ])
        .expect("read with proof");
    verify_ledger_proof(&proof, &g.validators).expect("the proof verifies against the validator set");
    assert!(proof.state[0].value.is_some() && proof.state[1].value.is_none());
}

fn prepare(seq: u64, view: u64) -> LogEntry {
    LogEntry::Sent(SignedMessage::sign(
        ReplicaId(1),
        Message::Prepare {
            view: View(view),
            seq: SeqNo(seq),
            digest: Hash([seq as u8; 32]),
        },
        &key(11),
    ))
}

#[test]
fn the_log_is_appended_in_order_and_compacted_below_a_stable_checkpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let entries: Vec<LogEntry> = (1..=12).map(|s| prepare(s, 0)).collect();
    store.append_log(&entries[..5]).expect("append");
    store.append_log(&entries[5..]).expect("append");
    assert_eq!(store.log().expect("log"), entries);
    store.compact_log(8).expect("compact");
    let kept = store.log().expect("log");
    assert_eq!(
        kept,
        entries[8..].to_vec(),
        "entries at or below the checkpoint are dropped"
    );
    drop(store);
    assert_eq!(Store::open(dir.path()).expect("reopen").log().expect("log"), kept);
}

/// sled writes a value over about 128 KiB (a quarter of its segment) to its own file under
/// `blobs/`, which its flush does not sync; the store syncs those files too before the data file
/// that points at them, so a large committed block survives a power cut like a small one.
#[test]
fn a_block_large_enough_for_a_blob_file_is_synced_and_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let g = genesis();
    let member = key(1);
    let big = schemas::ledger::SignedTransaction::sign(
        schemas::ledger::Transaction {
            chain_id: g.chain_id.clone(),
            sender: schemas::Did::from_public_key(member.public_key()),
            nonce: 0,
            payload: schemas::ledger::TxPayload::RegisterVerifyingKey {
                record: schemas::ledger::VerifyingKeyRecord {
                    circuit: "c".into(),
                    version: 1,
                    key: vec![7; 300 * 1024],
                },
            },
        },
        &[&member],
    );
    let block = {
        let store = Store::open(dir.path()).expect("open");
        let (header, ex) = genesis_and_block_1(&store, &g);
        let body = BlockBody {
            transactions: vec![big],
        };
        let (block, cert) = certified_body(&g, &header, ex.root, body);
        store.commit(&block, &cert, &ex).expect("commit");
        assert!(
            store.blobs_synced() >= 1,
            "a 300 KiB block went to a blob file, which must have been synced"
        );
        block
    };
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.block(1).expect("read").map(|(b, _)| b), Some(block));
}

/// A validator-set change: `set_changes` names the last block the outgoing set certified and
/// proves the incoming set there, so a light client that trusts only the genesis set can
/// check it (certificate by the set it knows, value a lawful successor) and follow it.
#[test]
fn a_validator_set_change_is_served_with_a_proof_the_outgoing_set_certified() {
    use schemas::ledger::{SignedTransaction, Transaction, TxPayload};
    let dir = tempfile::tempdir().expect("temp dir");
    let g = genesis();
    let store = Store::open(dir.path()).expect("open");
    let (header, ex) = genesis_and_block_1(&store, &g);
    let (b1, c1) = certified(&g, &header, ex.root);
    store.commit(&b1, &c1, &ex).expect("commit");
    let mut next = g.validators.clone();
    next.epoch = 1;
    next.validators.push(ValidatorInfo::new(
        &key(14),
        "peer-14".into(),
        "/ip4/127.0.0.1/tcp/1".into(),
    ));
    let change = SignedTransaction::sign(
        Transaction {
            chain_id: g.chain_id.clone(),
            sender: schemas::Did::from_public_key(key(10).public_key()),
            nonce: 0,
            payload: TxPayload::ChangeValidatorSet { set: next.clone() },
        },
        &[&key(10), &key(11), &key(12)],
    );
    let ex2 = execute(
        &store,
        Some(0),
        ex.root,
        (&g.chain_id, Height(2)),
        std::slice::from_ref(&change),
        &RevocationCache::default(),
    )
    .expect("execute");
    let body = BlockBody {
        transactions: vec![change],
    };
    let (b2, c2) = certified_body(&g, &b1.header, ex2.root, body);
    store.commit(&b2, &c2, &ex2).expect("commit");
    // The state records the new set, but the old one still certifies: no change to serve yet.
    assert!(store.set_changes(&g.validators, 0).expect("changes").is_empty());

    // Block 3, the first the new set certifies.
    let ex3 = execute(
        &store,
        Some(2),
        ex2.root,
        (&g.chain_id, Height(3)),
        &[],
        &RevocationCache::default(),
    )
    .expect("execute");
    let (mut b3, _) = certified(&g, &b2.header, ex3.root);
    b3.header.validator_set_hash = next.digest();
    let vote = CommitVote::for_header(&b3.header);
    let c3 = CommitCertificate {
        height: b3.header.height,
        block_hash: b3.header.digest(),
        signatures: (10..14).map(|i| vote.sign(&key(i))).collect(),
    };
    store.commit(&b3, &c3, &ex3).expect("commit");

    let changes = store.set_changes(&g.validators, 0).expect("changes");
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0].header.height,
        Height(2),
        "the last block of the outgoing set"
    );
    verify_ledger_proof(&changes[0], &g.validators).expect("certified by the outgoing set");
    let proven: ValidatorSet =
        schemas::codec::decode(&changes[0].state[0].value.as_ref().expect("a value").0).expect("a set");
    assert_eq!(proven, next);
    g.validators.check_successor(&proven).expect("a lawful successor");
    assert!(
        store.set_changes(&g.validators, 1).expect("changes").is_empty(),
        "nothing after epoch 1"
    );
    // Reads now prove against the new set only.
    let now = store.read(&[state_keys::VALIDATORS.to_vec()]).expect("read");
    assert!(verify_ledger_proof(&now, &g.validators).is_err());
    verify_ledger_proof(&now, &next).expect("the new set certifies");
}

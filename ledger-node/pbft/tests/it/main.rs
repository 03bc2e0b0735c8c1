//! Table tests of single transitions: `{ desc, input, expected effects }`, each citing the
//! section of Castro & Liskov (TOCS 2002) it implements.

use pbft::{
    Batch, CheckpointProof, Config, Effect, Input, LogEntry, Message, Replica, ReplicaId, SeqNo,
    SignedMessage, Sm2Check, TimerKind, View,
};
use schemas::codec::Canonical;
use schemas::hash::Hash;
use schemas::ledger::{
    BlockBody, BlockHeader, Height, SignedTransaction, Transaction, TxPayload, ValidatorInfo, ValidatorSet,
};
use schemas::light_client::verify_commit_certificate;
use schemas::sm2::SecretKey;
use std::sync::Arc;

fn key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[0x20 + i; 32]).expect("valid scalar")
}

struct World {
    set: ValidatorSet,
    genesis: BlockHeader,
}

fn world() -> World {
    let set = ValidatorSet {
        epoch: 0,
        validators: (0..4)
            .map(|i| ValidatorInfo::new(&key(i), format!("peer{i}"), String::new()))
            .collect(),
    };
    let genesis = BlockHeader {
        chain_id: "credence-devnet".into(),
        height: Height(0),
        prev_hash: Hash::ZERO,
        tx_root: BlockBody { transactions: vec![] }.tx_root(),
        state_root: Hash([9; 32]),
        validator_set_hash: set.digest(),
        timestamp_ms: 0,
        view: 0,
    };
    World { set, genesis }
}

fn replica(w: &World, id: u8) -> Replica {
    Replica::new(
        ReplicaId(u32::from(id)),
        key(id),
        w.set.clone(),
        w.genesis.clone(),
        Arc::new(Sm2Check),
        Config::default(),
        &[],
    )
}

fn tx(n: u64) -> SignedTransaction {
    let client = key(9);
    let t = Transaction {
        chain_id: "credence-devnet".into(),
        sender: schemas::did::Did::from_public_key(client.public_key()),
        nonce: n,
        payload: TxPayload::Approve {
            proposal: Hash([n as u8; 32]),
        },
    };
    SignedTransaction::sign(t, &[&client])
}

fn signed(from: u8, m: Message) -> SignedMessage {
    SignedMessage::sign(ReplicaId(u32::from(from)), m, &key(from))
}

/// A transaction of about `bytes` bytes (a schema of that size): over the admission limit
/// when `bytes` exceeds `schemas::limits::MAX_TX_BYTES` (security finding 1's 1.2 MiB).
fn big_tx(bytes: usize) -> SignedTransaction {
    let client = key(8);
    let sender = schemas::did::Did::from_public_key(client.public_key());
    let json = "x".repeat(bytes);
    let t = Transaction {
        chain_id: "credence-devnet".into(),
        sender: sender.clone(),
        nonce: 0,
        payload: TxPayload::PublishSchema {
            record: schemas::ledger::SchemaRecord {
                id: "big".into(),
                credential_type: "Big".into(),
                schema_hash: schemas::hash::sm3(json.as_bytes()),
                json,
                publisher: sender,
            },
        },
    };
    SignedTransaction::sign(t, &[&client])
}

/// A pre-prepare of `txs` dated `timestamp_ms`, from the primary of view 0.
fn pre_prepare_of(txs: Vec<SignedTransaction>, timestamp_ms: u64) -> SignedMessage {
    signed(
        0,
        Message::PrePrepare {
            view: View(0),
            seq: SeqNo(1),
            batch: Batch {
                view: View(0),
                timestamp_ms,
                txs,
            },
        },
    )
}

fn batch() -> Batch {
    Batch {
        view: View(0),
        timestamp_ms: 1_000,
        txs: vec![tx(1)],
    }
}

fn pre_prepare(seq: u64) -> SignedMessage {
    signed(
        0,
        Message::PrePrepare {
            view: View(0),
            seq: SeqNo(seq),
            batch: batch(),
        },
    )
}

fn prepare(from: u8, seq: u64) -> SignedMessage {
    signed(
        from,
        Message::Prepare {
            view: View(0),
            seq: SeqNo(seq),
            digest: batch().digest(SeqNo(seq)),
        },
    )
}

/// A compact description of effects, for table comparison.
fn summary(effects: &[Effect]) -> Vec<String> {
    fn msg(m: &Message) -> String {
        m.to_string()
    }
    effects
        .iter()
        .map(|e| match e {
            Effect::Persist(LogEntry::Sent(m)) => format!("Persist {}", msg(&m.message)),
            Effect::Persist(LogEntry::Prepared(_)) => "Persist Prepared".into(),
            Effect::Persist(LogEntry::Stable(p)) => format!("Persist Stable n{}", p.seq.0),
            Effect::Persist(LogEntry::Committed(..)) => "Persist Committed".into(),
            Effect::Send(to, m) => format!("Send {} {}", to.0, msg(&m.message)),
            Effect::Broadcast(m) => format!("Broadcast {}", msg(&m.message)),
            Effect::ServeBlocks { to, from } => format!("ServeBlocks {} {}", to.0, from.0),
            Effect::SetTimer(k, _) => format!("SetTimer {k:?}"),
            Effect::CancelTimer(k) => format!("CancelTimer {k:?}"),
            Effect::Execute { seq, .. } => format!("Execute n{}", seq.0),
            Effect::Commit(b, _) => format!("Commit block {}", b.header.height.0),
        })
        .collect()
}

struct Case {
    desc: &'static str,
    /// Inputs that bring replica 1 (a backup in view 0) to the state under test.
    before: Vec<Input>,
    input: Input,
    expected: &'static [&'static str],
}

#[test]
fn backup_transitions() {
    let cases = vec![
        Case {
            desc: "§4.2: a backup accepts a valid pre-prepare, persists its prepare, then multicasts it",
            before: vec![],
            input: Input::Message(pre_prepare(1)),
            expected: &[
                "Persist Prepare v0 n1",
                "Broadcast Prepare v0 n1",
                "SetTimer ViewChange",
            ],
        },
        Case {
            desc: "§4.2: a pre-prepare from a replica that is not the primary of the view is dropped",
            before: vec![],
            input: Input::Message(signed(
                2,
                Message::PrePrepare {
                    view: View(0),
                    seq: SeqNo(1),
                    batch: batch(),
                },
            )),
            expected: &[],
        },
        Case {
            desc: "§4.2: a pre-prepare outside the watermarks [h, h+L] is dropped",
            before: vec![],
            input: Input::Message(pre_prepare(1 + pbft::LOG_WINDOW)),
            expected: &[],
        },
        Case {
            desc: "§4.2: a second, different pre-prepare for the same view and sequence is dropped",
            before: vec![Input::Message(pre_prepare(1))],
            input: Input::Message(signed(
                0,
                Message::PrePrepare {
                    view: View(0),
                    seq: SeqNo(1),
                    batch: Batch {
                        view: View(0),
                        timestamp_ms: 2_000,
                        txs: vec![tx(2)],
                    },
                },
            )),
            expected: &[],
        },
        Case {
            desc: "§4.2: prepared (pre-prepare + 2f prepares, its own included) persists the certificate and executes",
            before: vec![Input::Message(pre_prepare(1))],
            input: Input::Message(prepare(2, 1)),
            expected: &["Persist Prepared", "Execute n1"],
        },
        Case {
            desc: "§4.2: with the state root, the commit vote is persisted before it is multicast",
            before: vec![
                Input::Message(pre_prepare(1)),
                Input::Message(prepare(2, 1)),
                Input::Message(prepare(3, 1)),
            ],
            input: Input::Executed {
                seq: SeqNo(1),
                state_root: Hash([1; 32]),
            },
            expected: &["Persist Commit v0 n1", "Broadcast Commit v0 n1"],
        },
        Case {
            desc: "input validation: a message with a bad signature is dropped",
            before: vec![],
            input: Input::Message(SignedMessage {
                signature: schemas::sm2::Signature([1; 64]),
                ..pre_prepare(1)
            }),
            expected: &[],
        },
        Case {
            desc: "§4.4, §4.5.2: the view-change timer fires with a request pending: view change to v+1; \
                   the next timer waits for 2f+1 view changes",
            before: vec![Input::Submit(vec![tx(5)])],
            input: Input::Timeout(TimerKind::ViewChange),
            expected: &[
                "CancelTimer Batch",
                "Persist ViewChange v1",
                "Broadcast ViewChange v1",
            ],
        },
        Case {
            desc: "admission (security finding 1): an oversized transaction submitted to a replica is refused: \
                   not forwarded, no timer waits on it",
            before: vec![],
            input: Input::Submit(vec![big_tx(1_200_000)]),
            expected: &[],
        },
        Case {
            desc: "admission: an oversized transaction forwarded by another validator is refused",
            before: vec![],
            input: Input::Message(signed(
                2,
                Message::Forward {
                    txs: vec![big_tx(200_000)],
                },
            )),
            expected: &[],
        },
        Case {
            desc: "admission: a pre-prepare carrying a transaction over the limit is dropped",
            before: vec![],
            input: Input::Message(pre_prepare_of(vec![big_tx(200_000), tx(1)], 1)),
            expected: &[],
        },
        Case {
            desc: "admission: a pre-prepare with a transaction whose signature is duplicated is dropped",
            before: vec![],
            input: Input::Message(pre_prepare_of(
                vec![{
                    let mut t = tx(1);
                    t.signatures.push(t.signatures[0].clone());
                    t
                }],
                1,
            )),
            expected: &[],
        },
        Case {
            desc: "the time rule (security finding 3): a pre-prepare dated beyond the backup's clock plus the \
                   drift bound is dropped",
            before: vec![],
            input: Input::Message(pre_prepare_of(vec![tx(1)], 2 + pbft::MAX_CLOCK_DRIFT_MS + 1)),
            expected: &[],
        },
        Case {
            desc: "the time rule: a pre-prepare dated at the drift bound is accepted",
            before: vec![],
            input: Input::Message(pre_prepare_of(vec![tx(1)], 2 + pbft::MAX_CLOCK_DRIFT_MS)),
            expected: &[
                "Persist Prepare v0 n1",
                "Broadcast Prepare v0 n1",
                "SetTimer ViewChange",
            ],
        },
        Case {
            desc: "§4.4: the view-change timer with nothing pending does nothing",
            before: vec![],
            input: Input::Timeout(TimerKind::ViewChange),
            expected: &[],
        },
    ];
    let w = world();
    for case in cases {
        let mut r = replica(&w, 1);
        let mut ignored = Vec::new();
        for input in case.before {
            r.step(1, input, &mut ignored);
        }
        let mut out = Vec::new();
        r.step(2, case.input, &mut out);
        assert_eq!(summary(&out), case.expected, "{}", case.desc);
    }
}

/// §4.2 end to end at one replica (replica 1, a backup in view 0): the primary's pre-prepare
/// of `batch` at sequence 1, prepares and commits from replicas 2 and 3, and the state root;
/// returns the committed block and its certificate.
fn commit_first_block(
    r: &mut Replica,
    batch: Batch,
    now_ms: u64,
) -> (schemas::ledger::Block, schemas::ledger::CommitCertificate) {
    let digest = batch.digest(SeqNo(1));
    let mut out = Vec::new();
    let pp = signed(
        0,
        Message::PrePrepare {
            view: View(0),
            seq: SeqNo(1),
            batch,
        },
    );
    r.step(now_ms, Input::Message(pp), &mut out);
    for from in [2u8, 3] {
        let p = signed(
            from,
            Message::Prepare {
                view: View(0),
                seq: SeqNo(1),
                digest,
            },
        );
        r.step(now_ms, Input::Message(p), &mut out);
    }
    r.step(
        now_ms,
        Input::Executed {
            seq: SeqNo(1),
            state_root: Hash([1; 32]),
        },
        &mut out,
    );
    let block_hash = out
        .iter()
        .find_map(|e| match e {
            Effect::Broadcast(SignedMessage {
                message: Message::Commit { block_hash, .. },
                ..
            }) => Some(*block_hash),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no commit sent: {:?}", summary(&out)));
    let mut out = Vec::new();
    for from in [2u8, 3] {
        let vote = schemas::ledger::CommitVote {
            chain_id: "credence-devnet".into(),
            height: Height(1),
            block_hash,
        }
        .sign(&key(from))
        .signature;
        let m = signed(
            from,
            Message::Commit {
                view: View(0),
                seq: SeqNo(1),
                digest,
                block_hash,
                vote,
            },
        );
        r.step(now_ms, Input::Message(m), &mut out);
    }
    out.into_iter()
        .find_map(|e| match e {
            Effect::Commit(block, cert) => Some((block, cert)),
            _ => None,
        })
        .expect("block 1 committed")
}

/// §4.2 end to end at one replica: 2f+1 commits make the block's certificate, which the light
/// client accepts.
#[test]
fn commits_form_a_certificate_the_light_client_accepts() {
    let w = world();
    let mut r = replica(&w, 1);
    let (block, cert) = commit_first_block(&mut r, batch(), 1);
    verify_commit_certificate(&block.header, &cert, &w.set).expect("the certificate verifies");
    assert_eq!(block.header.prev_hash, w.genesis.digest());
    assert_eq!(r.executed(), SeqNo(1));
}

/// A restarted replica remembers its votes: it will not prepare a different batch for a
/// (view, sequence) it voted on before the crash.
#[test]
fn a_restarted_replica_does_not_equivocate() {
    let w = world();
    let mut r = replica(&w, 1);
    let mut out = Vec::new();
    r.step(1, Input::Message(pre_prepare(1)), &mut out);
    let log: Vec<LogEntry> = out
        .iter()
        .filter_map(|e| {
            if let Effect::Persist(l) = e {
                Some(l.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(log.len(), 1);
    let mut restarted = Replica::new(
        ReplicaId(1),
        key(1),
        w.set.clone(),
        w.genesis.clone(),
        Arc::new(Sm2Check),
        Config::default(),
        &log,
    );
    let other = signed(
        0,
        Message::PrePrepare {
            view: View(0),
            seq: SeqNo(1),
            batch: Batch {
                view: View(0),
                timestamp_ms: 7,
                txs: vec![tx(3)],
            },
        },
    );
    let mut out = Vec::new();
    restarted.step(3, Input::Message(other), &mut out);
    assert!(
        !summary(&out).iter().any(|e| e.starts_with("Broadcast Prepare")),
        "voted twice for one (view, sequence): {:?}",
        summary(&out)
    );
}

/// A view change from `from` for `view` with the genesis checkpoint and nothing prepared.
fn view_change(w: &World, from: u8, view: u64) -> SignedMessage {
    signed(
        from,
        Message::ViewChange {
            new_view: View(view),
            checkpoint: CheckpointProof {
                seq: SeqNo(0),
                header: w.genesis.clone(),
                votes: vec![],
            },
            prepared: vec![],
        },
    )
}

fn persisted(effects: &[Effect]) -> Vec<LogEntry> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

/// §4.5.2: a replica restarted in the middle of a view change repeats its view change and
/// starts the timer only once 2f+1 replicas want that view, as before the crash. (It used to
/// start the timer at once and leave for the next view alone, stranding the others one view
/// change short of 2f+1: simulator seed 442657389, 4 replicas, drop 300‰.)
#[test]
fn a_replica_restarted_in_a_view_change_waits_for_2f_plus_1_before_its_timer() {
    let w = world();
    let mut r = replica(&w, 1);
    let mut out = Vec::new();
    r.start(0, &mut out);
    r.step(1, Input::Submit(vec![tx(1)]), &mut out);
    r.step(1_001, Input::Timeout(TimerKind::ViewChange), &mut out);
    assert_eq!(r.view(), View(1));
    let log = persisted(&out);
    let mut restarted = Replica::new(
        ReplicaId(1),
        key(1),
        w.set.clone(),
        w.genesis.clone(),
        Arc::new(Sm2Check),
        Config::default(),
        &log,
    );
    let mut out = Vec::new();
    restarted.start(2_000, &mut out);
    let effects = summary(&out);
    assert!(
        effects.contains(&"Broadcast ViewChange v1".to_string()),
        "{effects:?}"
    );
    assert!(
        !effects.contains(&"SetTimer ViewChange".to_string()),
        "{effects:?}"
    );
    // 2f+1 view changes for view 1 (its own and two more): now the timer runs.
    let mut out = Vec::new();
    restarted.step(2_001, Input::Message(view_change(&w, 2, 1)), &mut out);
    restarted.step(2_002, Input::Message(view_change(&w, 3, 1)), &mut out);
    assert!(
        summary(&out).contains(&"SetTimer ViewChange".to_string()),
        "{:?}",
        summary(&out)
    );
}

/// §4.5.2 liveness assumes messages are retransmitted until received. A replica that has left
/// a view answers a view change for it with what lets the sender meet it again: the view
/// changes it holds for that view (its own included, so the sender can reach 2f+1), its own for
/// the view it is in, and the new-view message of a view it entered. (Seed 993677557, 7
/// replicas: one replica's view change for view 4 was lost, it moved on, and four correct
/// replicas sat in view 4 one short of 2f+1, fewer than f+1 being ahead to pull them up.)
#[test]
fn a_replica_answers_a_view_change_for_a_view_it_left() {
    let w = world();
    // Replica 2 times out of view 0, sees 2f+1 view changes for view 1, whose primary (1) says
    // nothing: its timer fires and it moves on to view 2.
    let mut r = replica(&w, 2);
    let mut out = Vec::new();
    r.start(0, &mut out);
    r.step(1, Input::Submit(vec![tx(1)]), &mut out);
    r.step(1_001, Input::Timeout(TimerKind::ViewChange), &mut out);
    r.step(1_002, Input::Message(view_change(&w, 0, 1)), &mut out);
    r.step(1_003, Input::Message(view_change(&w, 3, 1)), &mut out);
    r.step(3_000, Input::Timeout(TimerKind::ViewChange), &mut out);
    assert_eq!(r.view(), View(2));
    // Replica 1 is still in view 1 (its view change was lost) and repeats it.
    let mut out = Vec::new();
    r.step(3_001, Input::Message(view_change(&w, 1, 1)), &mut out);
    let effects = summary(&out);
    let count = |e: &str| effects.iter().filter(|x| *x == e).count();
    assert_eq!(count("Send 1 ViewChange v1"), 3, "{effects:?}");
    assert_eq!(count("Send 1 ViewChange v2"), 1, "{effects:?}");
    // At most once per sync interval per lagging replica.
    let mut out = Vec::new();
    r.step(3_002, Input::Message(view_change(&w, 1, 1)), &mut out);
    assert!(
        summary(&out).iter().all(|e| !e.starts_with("Send")),
        "{:?}",
        summary(&out)
    );

    // Replica 1, primary of view 1, enters it with 2f+1 view changes; replica 0 missed the
    // new-view message and repeats its view change: it gets the new-view message.
    let mut p = replica(&w, 1);
    let mut out = Vec::new();
    p.start(0, &mut out);
    p.step(1, Input::Submit(vec![tx(1)]), &mut out);
    p.step(1_001, Input::Timeout(TimerKind::ViewChange), &mut out);
    p.step(1_002, Input::Message(view_change(&w, 2, 1)), &mut out);
    p.step(1_003, Input::Message(view_change(&w, 3, 1)), &mut out);
    assert!(
        summary(&out).contains(&"Broadcast NewView v1".to_string()),
        "{:?}",
        summary(&out)
    );
    let mut out = Vec::new();
    p.step(1_501, Input::Message(view_change(&w, 0, 1)), &mut out);
    assert!(
        summary(&out).contains(&"Send 0 NewView v1".to_string()),
        "{:?}",
        summary(&out)
    );
}

/// The time rule, end to end at one replica: a block's time never goes below its parent's,
/// and a null batch (time 0) takes its parent's time (security findings 3 and 22).
#[test]
fn block_time_never_goes_back_and_null_batches_take_their_parents_time() {
    let w = world();
    let mut r = replica(&w, 1);
    // Block 1 at 5,000 ms.
    let (block, _) = commit_first_block(
        &mut r,
        Batch {
            view: View(0),
            timestamp_ms: 5_000,
            txs: vec![tx(1)],
        },
        5_000,
    );
    assert_eq!(block.header.timestamp_ms, 5_000);
    // A pre-prepare for block 2 dated before block 1 is refused ...
    let mut out = Vec::new();
    let early = signed(
        0,
        Message::PrePrepare {
            view: View(0),
            seq: SeqNo(2),
            batch: Batch {
                view: View(0),
                timestamp_ms: 4_999,
                txs: vec![tx(2)],
            },
        },
    );
    r.step(6_000, Input::Message(early), &mut out);
    assert!(
        !summary(&out).iter().any(|e| e.starts_with("Broadcast Prepare")),
        "a batch dated before its parent was prepared: {:?}",
        summary(&out)
    );
    // ... and a null batch (as a new view fills gaps with) executes with its parent's time.
    let null = signed(
        0,
        Message::PrePrepare {
            view: View(0),
            seq: SeqNo(2),
            batch: Batch {
                view: View(0),
                timestamp_ms: 5_000,
                txs: vec![],
            },
        },
    );
    let mut out = Vec::new();
    r.step(6_000, Input::Message(null), &mut out);
    assert!(
        summary(&out).iter().any(|e| e == "Broadcast Prepare v0 n2"),
        "{:?}",
        summary(&out)
    );
}

/// The heartbeat: the primary of an idle chain proposes an empty batch once it executed its last
/// block a heartbeat ago; a vote for the next sequence number from a member (any member can send
/// one, a Byzantine one to silence the primary) does not count as something proposed.
#[test]
fn an_idle_primary_proposes_an_empty_batch_and_a_stray_vote_does_not_stop_it() {
    let w = world();
    let mut p = replica(&w, 0);
    let heartbeat = Config::default().heartbeat.as_millis() as u64;
    let mut out = Vec::new();
    p.start(0, &mut out);
    assert!(
        summary(&out).contains(&"SetTimer Heartbeat".to_string()),
        "{:?}",
        summary(&out)
    );
    let stray = signed(
        3,
        Message::Prepare {
            view: View(0),
            seq: SeqNo(1),
            digest: Hash([7; 32]),
        },
    );
    let mut out = Vec::new();
    p.step(10, Input::Message(stray), &mut out);
    let mut out = Vec::new();
    p.step(heartbeat + 1, Input::Timeout(TimerKind::Heartbeat), &mut out);
    let effects = summary(&out);
    assert!(
        effects.iter().any(|e| e.starts_with("Broadcast PrePrepare")),
        "{effects:?}"
    );
    assert!(effects.contains(&"SetTimer Heartbeat".to_string()), "{effects:?}");
    // A backup does nothing at its heartbeat while the primary is not yet silent.
    let mut b = replica(&w, 1);
    let mut out = Vec::new();
    b.start(0, &mut out);
    let mut out = Vec::new();
    b.step(heartbeat + 1, Input::Timeout(TimerKind::Heartbeat), &mut out);
    assert_eq!(summary(&out), vec!["SetTimer Heartbeat".to_string()]);
    // Two heartbeats and a view-change timeout without a block: it replaces the primary.
    let late = 2 * heartbeat + Config::default().view_change_timeout.as_millis() as u64 + 1;
    let mut out = Vec::new();
    b.step(late, Input::Timeout(TimerKind::Heartbeat), &mut out);
    assert!(
        summary(&out).contains(&"Broadcast ViewChange v1".to_string()),
        "{:?}",
        summary(&out)
    );
}

//! Table tests of single transitions: `{ desc, input, expected effects }`, each citing the
//! section of Castro & Liskov (TOCS 2002) it implements.

use pbft::{
    Batch, Config, Effect, Input, LogEntry, Message, Replica, ReplicaId, SeqNo, SignedMessage, Sm2Check,
    TimerKind, View,
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

/// §4.2 end to end at one replica: 2f+1 commits make the block's certificate, which the light
/// client accepts.
#[test]
fn commits_form_a_certificate_the_light_client_accepts() {
    let w = world();
    let mut r = replica(&w, 1);
    let mut out = Vec::new();
    for input in [
        Input::Message(pre_prepare(1)),
        Input::Message(prepare(2, 1)),
        Input::Message(prepare(3, 1)),
    ] {
        r.step(1, input, &mut out);
    }
    r.step(
        1,
        Input::Executed {
            seq: SeqNo(1),
            state_root: Hash([1; 32]),
        },
        &mut out,
    );
    let Some(Effect::Broadcast(SignedMessage {
        message: Message::Commit {
            digest, block_hash, ..
        },
        ..
    })) = out.iter().rev().find(|e| {
        matches!(
            e,
            Effect::Broadcast(SignedMessage {
                message: Message::Commit { .. },
                ..
            })
        )
    })
    else {
        panic!("no commit sent: {:?}", summary(&out));
    };
    let (digest, block_hash) = (*digest, *block_hash);
    let mut out = Vec::new();
    for from in [2u8, 3] {
        let cv = schemas::ledger::CommitVote {
            chain_id: "credence-devnet".into(),
            height: Height(1),
            block_hash,
        };
        let vote = cv.sign(&key(from)).signature;
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
        r.step(2, Input::Message(m), &mut out);
    }
    let Some(Effect::Commit(block, cert)) = out.iter().find(|e| matches!(e, Effect::Commit(..))) else {
        panic!("not committed: {:?}", summary(&out));
    };
    verify_commit_certificate(&block.header, cert, &w.set).expect("the certificate verifies");
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

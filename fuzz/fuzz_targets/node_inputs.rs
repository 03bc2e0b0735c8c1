//! What reaches a ledger node from outside: p2p frames (decoded and fed to a replica, which
//! must drop what is invalid without panicking), API transaction JSON, sealed key files and
//! genesis / governance JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pbft::{Config, Input, Replica, ReplicaId, Sm2Check, Wire};
use schemas::codec::{Canonical, decode, encode};
use schemas::hash::Hash;
use schemas::ledger::{BlockBody, BlockHeader, Genesis, GovernanceMember, Height, SignedTransaction, ValidatorInfo, ValidatorSet};
use schemas::sm2::SecretKey;
use std::sync::{Arc, OnceLock};

fn key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[i + 1; 32]).expect("a valid scalar")
}

/// A four-validator set and genesis header, built once.
fn setup() -> &'static (ValidatorSet, BlockHeader) {
    static SETUP: OnceLock<(ValidatorSet, BlockHeader)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let validators = ValidatorSet {
            epoch: 0,
            validators: (0..4)
                .map(|i| ValidatorInfo::new(&key(i), format!("peer-{i}"), format!("/ip4/127.0.0.1/tcp/{i}")))
                .collect(),
        };
        let genesis = BlockHeader {
            chain_id: "credence-devnet".into(),
            height: Height(0),
            prev_hash: Hash::ZERO,
            tx_root: BlockBody { transactions: vec![] }.tx_root(),
            state_root: Hash::ZERO,
            validator_set_hash: validators.digest(),
            timestamp_ms: 0,
            view: 0,
        };
        (validators, genesis)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 4 {
        0 => {
            if let Ok(w) = decode::<Wire>(rest) {
                assert_eq!(encode(&w), rest, "a decoded frame re-encoded differently");
                let (validators, genesis) = setup();
                let mut r = Replica::new(
                    ReplicaId(1),
                    key(1),
                    validators.clone(),
                    genesis.clone(),
                    Arc::new(Sm2Check),
                    Config::default(),
                    &[],
                );
                let mut out = Vec::new();
                let input = match w {
                    Wire::Message(m) => Input::Message(*m),
                    Wire::Blocks(b) => Input::Blocks(b),
                };
                r.step(0, input, &mut out);
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(tx) = serde_json::from_str::<SignedTransaction>(text) {
                    // The admission rule every door applies: never panics, and what it admits
                    // has the size it reports.
                    if let Ok(size) = schemas::limits::check_transaction(&tx, "credence-devnet") {
                        assert_eq!(size, tx.to_canonical().len());
                        assert!(size <= schemas::limits::MAX_TX_BYTES);
                    }
                    let _ = tx.id();
                    let _ = tx.verify_signatures();
                }
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(b) = schemas::seal::SealedBox::from_json(text) {
                    // Cheap costs only: the fuzzer must not spend its time in Argon2id.
                    if b.memory_kib <= 64 && b.iterations <= 2 {
                        let _ = b.open(b"password", b"context");
                    }
                }
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = serde_json::from_str::<Genesis>(text);
                let _ = serde_json::from_str::<GovernanceMember>(text);
                // A node's unproven answer of revoked indexes (a wallet checks it against a root).
                let _ = serde_json::from_str::<ledger_api::RevokedIndexes>(text);
            }
        }
    }
});

//! The canonical decoder: never panics, and whatever decodes re-encodes to the same bytes
//! (one encoding per value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::Canonical;
use schemas::credential::Envelope;
use schemas::ledger::{BlockBody, BlockHeader, CommitVote, SignedTransaction, Transaction, ValidatorSet};
use schemas::presentation::PresentationRequest;

fn round_trip<T: Canonical>(data: &[u8]) {
    if let Ok(v) = T::from_canonical(data) {
        assert_eq!(v.to_canonical(), data, "a decoded value re-encoded differently");
    }
}

/// A ledger record (read from the state, or carried in a presentation's proofs).
fn record_round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(data: &[u8]) -> Option<T> {
    let v = schemas::codec::decode::<T>(data).ok()?;
    assert_eq!(schemas::codec::encode(&v), data, "a decoded record re-encoded differently");
    Some(v)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 11 {
        8 => {
            let _ = record_round_trip::<schemas::ledger::RevocationRoot>(rest);
        }
        9 => {
            let _ = record_round_trip::<schemas::ledger::AccountRecord>(rest);
        }
        10 => {
            if let Some(c) = record_round_trip::<schemas::ledger::StatusListChunk>(rest) {
                let listed = c.revoked().count();
                // In a chunk the ledger could write, every listed index is one whose bit is set.
                if c.chunk < schemas::ledger::STATUS_CHUNKS_PER_LIST
                    && c.bits.len() <= (schemas::ledger::STATUS_CHUNK_BITS / 8) as usize
                {
                    assert!(c.revoked().all(|i| c.is_set(i)), "a listed index is not set");
                    let ones: u32 = c.bits.iter().map(|b| b.count_ones()).sum();
                    assert_eq!(listed as u32, ones);
                }
            }
        }
        0 => round_trip::<Envelope>(rest),
        1 => round_trip::<Transaction>(rest),
        2 => round_trip::<SignedTransaction>(rest),
        3 => round_trip::<BlockHeader>(rest),
        4 => round_trip::<BlockBody>(rest),
        5 => round_trip::<ValidatorSet>(rest),
        6 => round_trip::<CommitVote>(rest),
        _ => round_trip::<PresentationRequest>(rest),
    }
});

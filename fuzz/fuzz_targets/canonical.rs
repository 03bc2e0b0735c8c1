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

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 8 {
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

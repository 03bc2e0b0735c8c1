//! Deterministic fixtures: keys from fixed scalars, a validator set, certified headers.

use schemas::Canonical;
use schemas::hash::Hash;
use schemas::ledger::{BlockHeader, CommitCertificate, CommitVote, Height, ValidatorInfo, ValidatorSet};
use schemas::sm2::SecretKey;

/// The key with scalar `[seed; 32]` (valid for every seed in 1..=0xfe).
pub(crate) fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32]).expect("fixed scalars are in range")
}

/// `n` validator keys and their set.
pub(crate) fn validators(n: usize) -> (Vec<SecretKey>, ValidatorSet) {
    let keys: Vec<SecretKey> = (0..n).map(|i| key(0x10 + i as u8)).collect();
    let validators = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            ValidatorInfo::new(
                k,
                format!("12D3KooWvalidator{i}"),
                format!("/ip4/127.0.0.1/tcp/{}", 7000 + i),
            )
        })
        .collect();
    (keys, ValidatorSet { epoch: 0, validators })
}

/// A header at height 7 under `set`.
pub(crate) fn header(set: &ValidatorSet, state_root: Hash) -> BlockHeader {
    BlockHeader {
        chain_id: "credence-test".into(),
        height: Height(7),
        prev_hash: Hash([0xab; 32]),
        tx_root: Hash([0xcd; 32]),
        state_root,
        validator_set_hash: set.digest(),
        timestamp_ms: 1_780_000_000_000,
        view: 2,
    }
}

/// A certificate of `header` signed by `keys`.
pub(crate) fn certificate(header: &BlockHeader, keys: &[&SecretKey]) -> CommitCertificate {
    let vote = CommitVote::for_header(header);
    CommitCertificate {
        height: header.height,
        block_hash: vote.block_hash,
        signatures: keys.iter().map(|k| vote.sign(k)).collect(),
    }
}

/// Flips bit `bit` of `bytes`.
pub(crate) fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

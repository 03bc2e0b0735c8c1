//! The variable-time SM2 verification (with and without a per-key table) against the `sm2`
//! crate's own: they must agree on every signature, honest or not. (OpenSSL's signatures are
//! checked by `interop`, through the same path.)

use proptest::prelude::*;
use schemas::hash::domains;
use schemas::sm2::{PublicKey, SecretKey, Signature, VerifyTable};

/// The SM2 group order n, big endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x72,
    0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x23,
];

/// A key from a seed: the seed's bytes four times, the top byte 0x01 (so below n, not zero).
fn key(seed: u64) -> SecretKey {
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    bytes[0] = 1;
    SecretKey::from_bytes(&bytes).expect("below the order and not zero")
}

/// All three verdicts: reference, variable time, variable time with the key's table.
fn verdicts(public: &PublicKey, table: &VerifyTable, msg: &[u8], sig: &Signature) -> [bool; 3] {
    [
        public.verify_reference(domains::TRANSACTION, msg, sig).is_ok(),
        public.verify(domains::TRANSACTION, msg, sig).is_ok(),
        public.verify_with(table, domains::TRANSACTION, msg, sig).is_ok(),
    ]
}

/// `n − x` for a big-endian `x < n`.
fn order_minus(x: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(ORDER[i]) - i16::from(x[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = (d + 256 * borrow) as u8;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn honest_and_altered_signatures_get_the_same_verdict_on_every_path(
        seed in any::<u64>(),
        msg in proptest::collection::vec(any::<u8>(), 0..200),
        flip in 0usize..(64 * 8 + 200 * 8),
        random_sig in any::<[u8; 32]>(),
    ) {
        let k = key(seed);
        let public = k.public_key().clone();
        let table = VerifyTable::new(&public);
        let sig = k.sign(domains::TRANSACTION, &msg);
        prop_assert_eq!(verdicts(&public, &table, &msg, &sig), [true; 3]);
        // One bit of the signature or the message changed.
        let (mut m, mut s) = (msg.clone(), sig);
        if flip < 512 {
            s.0[flip / 8] ^= 1 << (flip % 8);
        } else if !m.is_empty() {
            let b = (flip - 512) % (m.len() * 8);
            m[b / 8] ^= 1 << (b % 8);
        }
        let altered = verdicts(&public, &table, &m, &s);
        prop_assert_eq!(altered, [altered[0]; 3]);
        prop_assert_eq!(altered[0], m == msg && s == sig);
        // A random s with the honest r, and r + s = n (t = 0): refused on every path.
        let mut forged = sig;
        forged.0[32..].copy_from_slice(&random_sig);
        prop_assert_eq!(verdicts(&public, &table, &msg, &forged), [false; 3]);
        let mut zero_t = sig;
        let r: [u8; 32] = sig.0[..32].try_into().unwrap();
        zero_t.0[32..].copy_from_slice(&order_minus(&r));
        prop_assert_eq!(verdicts(&public, &table, &msg, &zero_t), [false; 3]);
    }
}

#[test]
fn a_table_of_another_key_is_refused_not_used() {
    let (a, b) = (key(1), key(2));
    let sig = a.sign(domains::TRANSACTION, b"m");
    let table_b = VerifyTable::new(b.public_key());
    assert!(a.public_key().verify(domains::TRANSACTION, b"m", &sig).is_ok());
    assert!(
        a.public_key()
            .verify_with(&table_b, domains::TRANSACTION, b"m", &sig)
            .is_err()
    );
}

#[test]
fn the_generator_as_a_key_and_signatures_over_the_empty_message_agree() {
    // The secret key 1 makes the public key G: [s]G + [t]G exercises the table of G itself.
    let mut one = [0u8; 32];
    one[31] = 1;
    let k = SecretKey::from_bytes(&one).expect("1 is a valid secret key");
    let table = VerifyTable::new(k.public_key());
    for i in 0..32u8 {
        let msg = vec![i; usize::from(i)];
        let sig = k.sign(domains::TRANSACTION, &msg);
        assert_eq!(verdicts(k.public_key(), &table, &msg, &sig), [true; 3]);
    }
}

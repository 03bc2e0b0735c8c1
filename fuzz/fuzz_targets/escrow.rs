//! Escrow decoders on arbitrary bytes: council keys, ciphertexts, dealings, complaints,
//! decryption shares and an opening proposal's evidence. None may panic; a decoded dealing is
//! checked against a council, a decoded complaint never disqualifies an honest dealer, a decoded
//! share never verifies unless it is the member's real one, and evidence made of arbitrary inputs
//! and proof bytes never passes the validators' check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use schemas::Hash;
use std::sync::OnceLock;
use zk::escrow::council::{
    Complaint, Council, CouncilParams, Dealing, DecryptionShare, ReceivingKey, ReceivingSecret, deal,
};
use zk::escrow::{Ciphertext, CouncilKey, EscrowRandomness, encrypt};

struct Fixture {
    params: CouncilParams,
    keys: Vec<ReceivingKey>,
    dealings: Vec<Dealing>,
    council: Council,
    ciphertext: Ciphertext,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(0);
        let params = CouncilParams::new(Hash([0x11; 32]), 2, 3).expect("valid");
        let keys: Vec<ReceivingKey> = (0..3).map(|_| ReceivingSecret::random(&mut rng).public()).collect();
        let dealings: Vec<Dealing> = (1..=3).map(|i| deal(&params, i, &keys, &mut rng).expect("deals")).collect();
        let council = Council::from_transcript(&params, &dealings, &[]).expect("council");
        let ciphertext = encrypt(&council.key(), zk::Fr::from(7u64), &EscrowRandomness::random(&mut rng));
        Fixture { params, keys, dealings, council, ciphertext }
    })
}

/// An escrow circuit's verifying key (single-party setup: only its shape matters here).
fn escrow_key() -> &'static zk::unlinkable::VerifyingKey {
    static K: OnceLock<zk::unlinkable::VerifyingKey> = OnceLock::new();
    K.get_or_init(|| {
        let shape = zk::unlinkable::CircuitShape::ESCROW_SHAPES[0];
        zk::unlinkable::setup(shape, &mut ChaCha20Rng::seed_from_u64(1)).expect("setup").1
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let f = fixture();
    if selector % 5 == 4 {
        // Evidence: a count of inputs (any, so wrong counts are tried), the inputs, the proof.
        let Some((&count, rest)) = rest.split_first() else { return };
        let count = usize::from(count % 32);
        let (inputs, proof) = rest.split_at((count * 32).min(rest.len()));
        let inputs: Vec<Hash> = inputs
            .chunks_exact(32)
            .map(|c| Hash(c.try_into().expect("32 bytes")))
            .collect();
        assert!(
            zk::unlinkable::verify_escrow_evidence(
                escrow_key(),
                &inputs,
                proof,
                &zk::unlinkable::EvidenceClaim {
                    council: &f.council.key(),
                    ciphertext: &f.ciphertext,
                    request: &Hash([0x0c; 32]),
                    issuer_root: &Hash([0; 32]),
                    binding: zk::Fr::from(1u64),
                    scope: "verifier",
                    handle_attribute: 4,
                },
            )
            .is_err(),
            "arbitrary evidence passed"
        );
        return;
    }
    match selector % 5 {
        0 => {
            if let Ok(d) = Dealing::from_bytes(rest) {
                assert_eq!(Dealing::from_bytes(&d.to_bytes()).as_ref(), Ok(&d), "one encoding");
                let _ = d.check(&f.params);
            }
        }
        1 => {
            if let Ok(c) = Complaint::from_bytes(rest) {
                for d in &f.dealings {
                    for key in &f.keys {
                        assert_ne!(c.holds(&f.params, d, key), Ok(true), "an honest dealer disqualified");
                    }
                }
            }
        }
        2 => {
            if let Ok(s) = DecryptionShare::from_bytes(rest) {
                assert!(
                    f.council.check_share(&f.ciphertext, &Hash([0x0b; 32]), &s).is_err(),
                    "a forged decryption share verified"
                );
            }
        }
        _ => {
            if let Ok(bytes) = <&[u8; 64]>::try_from(rest) {
                if let Ok(ct) = Ciphertext::from_bytes(bytes) {
                    assert_eq!(ct.to_bytes(), *bytes, "one encoding");
                }
            }
            if let Ok(bytes) = <&[u8; 32]>::try_from(rest) {
                if let Ok(k) = CouncilKey::from_bytes(bytes) {
                    assert_eq!(k.to_bytes(), *bytes, "one encoding");
                }
                let _ = ReceivingKey::from_bytes(bytes);
            }
        }
    }
});

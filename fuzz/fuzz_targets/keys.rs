//! Key and signature documents: PKCS#8 / SPKI in DER and PEM, SEC1 points, DER signatures,
//! Multikeys, DID documents, and the served Bitstring Status List's `encodedList`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::did::{Did, DidDocument};
use schemas::sm2::{PublicKey, SecretKey, Signature};

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = SecretKey::from_pkcs8_der(data) {
        assert_eq!(SecretKey::from_pkcs8_der(&k.to_pkcs8_der()).expect("own DER").public_key(), k.public_key());
    }
    if let Ok(k) = PublicKey::from_spki_der(data) {
        assert_eq!(PublicKey::from_spki_der(&k.to_spki_der()).expect("own DER"), k);
    }
    if let Ok(k) = PublicKey::from_sec1(data) {
        assert_eq!(PublicKey::from_sec1(&k.to_sec1()).expect("own SEC1"), k);
    }
    let _ = Signature::from_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SecretKey::from_pkcs8_pem(text);
        let _ = PublicKey::from_spki_pem(text);
        let _ = Did::parse(text);
        if let Ok(doc) = serde_json::from_str::<DidDocument>(text) {
            let _ = doc.public_key();
        }
        if let Ok(k) = schemas::did::from_multikey(text) {
            assert_eq!(schemas::did::from_multikey(&schemas::did::multikey(&k)).expect("own Multikey"), k);
        }
        if let Ok(bits) = schemas::status_list::decode_list(text) {
            assert_eq!(bits.len(), schemas::status_list::CHUNK_BYTES);
        }
    }
});

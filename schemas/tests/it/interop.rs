//! SM2 against OpenSSL 3, both ways, and the rejection of every flipped bit.

use crate::fixtures::{flip, key};
use schemas::hash::domains;
use schemas::sm2::{KeyError, PublicKey, SecretKey, Signature};
use std::path::Path;
use std::process::Command;

/// OpenSSL 3.0's `pkeyutl` signs with an *empty* distinguishing id unless told otherwise;
/// GB/T 32918 and Credence use the default id `1234567812345678`, so OpenSSL must be given it.
const DIST_ID_OPT: &str = "distid:1234567812345678";

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl 3 is installed (.ci/run installs it)")
}

#[test]
fn signature_made_here_verifies_with_openssl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = SecretKey::generate(&mut rand_core::OsRng);
    let msg = b"diploma 2026: Li Hua, B.Eng., GPA 3.72";
    std::fs::write(dir.path().join("pub.pem"), key.public_key().to_spki_pem()).expect("write");
    std::fs::write(dir.path().join("msg"), msg).expect("write");
    let sig = key.sign_raw(msg);
    std::fs::write(dir.path().join("sig.der"), sig.to_der().expect("der")).expect("write");
    let args = [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "pub.pem",
        "-rawin",
        "-digest",
        "sm3",
        "-in",
        "msg",
        "-sigfile",
        "sig.der",
        "-pkeyopt",
        DIST_ID_OPT,
    ];
    let ok = openssl(dir.path(), &args);
    assert!(
        ok.status.success(),
        "openssl rejected our signature: {}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // And OpenSSL rejects it for another message.
    std::fs::write(dir.path().join("msg"), b"diploma 2026: Li Hua, B.Eng., GPA 3.92").expect("write");
    assert!(
        !openssl(dir.path(), &args).status.success(),
        "openssl accepted a signature over another message"
    );

    // Our private key export is readable by OpenSSL and names the same public key.
    std::fs::write(dir.path().join("key.pem"), key.to_pkcs8_pem().as_bytes()).expect("write");
    let out = openssl(dir.path(), &["pkey", "-in", "key.pem", "-pubout"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs =
        PublicKey::from_spki_pem(&String::from_utf8_lossy(&out.stdout)).expect("openssl's SPKI parses");
    assert_eq!(&theirs, key.public_key());
}

#[test]
fn signature_made_by_openssl_verifies_here() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gen_ = openssl(dir.path(), &["genpkey", "-algorithm", "SM2", "-out", "key.pem"]);
    assert!(gen_.status.success(), "{}", String::from_utf8_lossy(&gen_.stderr));
    assert!(
        openssl(
            dir.path(),
            &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]
        )
        .status
        .success()
    );
    let msg = b"KYC level 2, resident of CN";
    std::fs::write(dir.path().join("msg"), msg).expect("write");
    let signed = openssl(
        dir.path(),
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            "key.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-in",
            "msg",
            "-out",
            "sig.der",
            "-pkeyopt",
            DIST_ID_OPT,
        ],
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );

    let public =
        PublicKey::from_spki_pem(&std::fs::read_to_string(dir.path().join("pub.pem")).expect("read"))
            .expect("SPKI PEM");
    let sig = Signature::from_der(&std::fs::read(dir.path().join("sig.der")).expect("read"))
        .expect("DER signature");
    public
        .verify_raw(msg, &sig)
        .expect("OpenSSL's signature verifies here");
    assert_eq!(
        public.verify_raw(b"KYC level 3, resident of CN", &sig),
        Err(KeyError::BadSignature)
    );

    // OpenSSL's private key imports here and yields the same public key.
    let secret =
        SecretKey::from_pkcs8_pem(&std::fs::read_to_string(dir.path().join("key.pem")).expect("read"))
            .expect("PKCS#8 PEM");
    assert_eq!(secret.public_key(), &public);
}

#[test]
fn keys_round_trip_through_pem_and_der() {
    let key = key(7);
    let der = key.to_pkcs8_der();
    let pem = key.to_pkcs8_pem();
    assert_eq!(
        SecretKey::from_pkcs8_der(&der).expect("der").public_key(),
        key.public_key()
    );
    assert_eq!(
        SecretKey::from_pkcs8_pem(&pem).expect("pem").public_key(),
        key.public_key()
    );
    let public = key.public_key();
    assert_eq!(
        &PublicKey::from_spki_der(&public.to_spki_der()).expect("spki der"),
        public
    );
    assert_eq!(
        &PublicKey::from_spki_pem(&public.to_spki_pem()).expect("spki pem"),
        public
    );
    assert_eq!(&PublicKey::from_sec1(&public.to_sec1()).expect("sec1"), public);
}

#[test]
fn secret_key_debug_shows_no_secret() {
    let key = key(9);
    let shown = format!("{key:?}");
    let scalar = hex::encode(*key.to_bytes());
    assert!(!shown.contains(&scalar), "Debug printed the secret scalar");
    assert!(shown.contains("SecretKey"));
}

#[test]
fn bad_key_documents_get_clear_errors() {
    let err = SecretKey::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        .expect_err("garbage");
    assert!(err.to_string().contains("PKCS#8 PEM private key"), "{err}");
    assert!(PublicKey::from_spki_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    assert_eq!(PublicKey::from_sec1(&[4u8; 65]), Err(KeyError::InvalidPublicKey));
    assert_eq!(
        SecretKey::from_bytes(&[0u8; 32]).map(|_| ()),
        Err(KeyError::InvalidSecretKey)
    );
    assert_eq!(
        SecretKey::from_bytes(&[0xff; 32]).map(|_| ()),
        Err(KeyError::InvalidSecretKey)
    );
}

#[test]
fn every_flipped_bit_of_message_signature_or_key_is_rejected() {
    let key = key(3);
    let msg = b"credence commit vote".to_vec();
    let sig = key.sign(domains::COMMIT_VOTE, &msg);
    let public = key.public_key().clone();
    public
        .verify(domains::COMMIT_VOTE, &msg, &sig)
        .expect("honest signature verifies");
    // Another domain: the same bytes signed for one purpose never verify for another.
    assert!(public.verify(domains::TRANSACTION, &msg, &sig).is_err());

    for bit in 0..msg.len() * 8 {
        let mut m = msg.clone();
        flip(&mut m, bit);
        assert!(
            public.verify(domains::COMMIT_VOTE, &m, &sig).is_err(),
            "message bit {bit}"
        );
    }
    for bit in 0..512 {
        let mut s = sig;
        flip(&mut s.0, bit);
        assert!(
            public.verify(domains::COMMIT_VOTE, &msg, &s).is_err(),
            "signature bit {bit}"
        );
    }
    let sec1 = public.to_sec1();
    // Skip the 0x04 tag byte: flipping it makes another encoding, tested as a parse error.
    for bit in 8..sec1.len() * 8 {
        let mut k = sec1;
        flip(&mut k, bit);
        if let Ok(other) = PublicKey::from_sec1(&k) {
            assert!(
                other.verify(domains::COMMIT_VOTE, &msg, &sig).is_err(),
                "key bit {bit}"
            );
        }
    }
}

//! Issue 20, OpenID4VCI: a holder's proof of possession opens only for the key that signed it,
//! for this issuer, recently; offer links and issuer metadata that would send a code or a token
//! elsewhere are refused.

use crate::fixtures::key;
use base64::Engine as _;
use schemas::did::Did;
use schemas::jose;
use schemas::openid4vci::{
    AuthorizationServerMetadata, CredentialOffer, Grants, IssuerMetadata, MAX_OFFER_BYTES, OfferLink,
    PROOF_MAX_AGE_SECS, PROOF_TYP, PreAuthorized, TxCode, check_metadata, open_proof, proof_jwt,
};
use std::collections::BTreeMap;

const ISSUER: &str = "https://issuer.university.example";
const NOW: i64 = 1_790_000_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWS over any header and claims, signed with any key: what an attacker can make.
fn forged(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    signer: &schemas::sm2::SecretKey,
) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{input}.{}", b64(&signer.sign_raw(input.as_bytes()).0))
}

#[test]
fn a_proof_of_possession_opens_only_for_its_key_issuer_and_time() {
    let holder = key(0x21);
    let proof = proof_jwt(&holder, ISSUER, "n-1", NOW);
    assert_eq!(
        open_proof(&proof, ISSUER, NOW + 10),
        Ok((holder.public_key().clone(), "n-1".into()))
    );
    let kid =
        |k: &schemas::sm2::SecretKey| jose::key_id(&Did::from_public_key(k.public_key()), k.public_key());
    let header = |kid: String| serde_json::json!({"alg": jose::ALG, "typ": PROOF_TYP, "kid": kid});
    let claims = serde_json::json!({"aud": ISSUER, "iat": NOW, "nonce": "n-1"});
    let other = key(0x22);
    let wrong_did = format!(
        "{}#{}",
        Did::from_public_key(other.public_key()),
        schemas::did::multikey(holder.public_key())
    );
    let refused = [
        (
            proof_jwt(&holder, "https://other.example", "n-1", NOW),
            "another issuer",
        ),
        (
            proof_jwt(&holder, ISSUER, "n-1", NOW - PROOF_MAX_AGE_SECS - 1),
            "iat",
        ),
        (
            proof_jwt(&holder, ISSUER, "n-1", NOW + PROOF_MAX_AGE_SECS + 1),
            "iat",
        ),
        // An iat chosen to overflow a subtraction.
        (proof_jwt(&holder, ISSUER, "n-1", i64::MIN), "iat"),
        // Signed by another key than the one its kid names.
        (forged(&header(kid(&holder)), &claims, &other), "does not verify"),
        // A kid whose DID is not its key's.
        (forged(&header(wrong_did), &claims, &holder), "not its key's"),
        (
            forged(
                &serde_json::json!({"alg": "none", "typ": PROOF_TYP, "kid": kid(&holder)}),
                &claims,
                &holder,
            ),
            "alg and typ",
        ),
        (
            forged(
                &serde_json::json!({"alg": jose::ALG, "typ": "JWT", "kid": kid(&holder)}),
                &claims,
                &holder,
            ),
            "alg and typ",
        ),
        (
            forged(
                &header(kid(&holder)),
                &serde_json::json!({"aud": ISSUER, "iat": NOW, "nonce": "n", "x": 1}),
                &holder,
            ),
            "unknown field",
        ),
        ("a.b".to_owned(), "compact JWS"),
        (
            format!("{}.{}.{}", b64(b"{}"), b64(b"{}"), b64(&[0; 63])),
            "64 bytes",
        ),
    ];
    for (text, why) in refused {
        match open_proof(&text, ISSUER, NOW) {
            Err(e) => assert!(e.0.contains(why), "{why}: {}", e.0),
            Ok(k) => panic!("{why}: opened as {k:?}"),
        }
    }
}

fn offer() -> CredentialOffer {
    CredentialOffer {
        credential_issuer: ISSUER.into(),
        credential_configuration_ids: vec!["UniversityDiploma".into()],
        grants: Grants {
            pre_authorized: PreAuthorized {
                code: "c0de".into(),
                tx_code: Some(TxCode {
                    input_mode: Some("numeric".into()),
                    length: Some(6),
                    description: None,
                }),
            },
        },
    }
}

#[test]
fn offer_links_read_back_and_refuse_what_a_wallet_must_not_follow() {
    let link = OfferLink::by_value(&offer());
    assert_eq!(OfferLink::parse(&link), Ok(OfferLink::ByValue(offer())));
    assert_eq!(
        OfferLink::parse(
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.university.example%2Fo%2F1"
        ),
        Ok(OfferLink::ByReference(
            "https://issuer.university.example/o/1".into()
        ))
    );
    let with_issuer = |issuer: &str| {
        let mut o = offer();
        o.credential_issuer = issuer.into();
        OfferLink::by_value(&o)
    };
    let refused = [
        (
            "https://issuer.example/?credential_offer=x".to_owned(),
            "does not start",
        ),
        (format!("{link}&x=1"), "unknown parameter"),
        (
            format!("{link}&credential_offer_uri=https%3A%2F%2Fa.example"),
            "more than one",
        ),
        ("openid-credential-offer://?".to_owned(), "carries no"),
        (with_issuer("http://issuer.university.example"), "https://"),
        (with_issuer("https://user@issuer.example"), "user information"),
        (
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fevil.example%2F".to_owned(),
            "https://",
        ),
        (
            "openid-credential-offer://?credential_offer=%7B%22a%22%3A1%2C%22a%22%3A2%7D".to_owned(),
            "twice",
        ),
        (
            format!("{link}{}", "&".repeat(MAX_OFFER_BYTES)),
            "MAX_OFFER_BYTES",
        ),
    ];
    for (text, why) in refused {
        match OfferLink::parse(&text) {
            Err(e) => assert!(e.0.contains(why), "{why}: {}", e.0),
            Ok(o) => panic!("{why}: read as {o:?}"),
        }
    }
    let mut no_code = offer();
    no_code.grants.pre_authorized.code = String::new();
    assert!(no_code.check().is_err());
}

#[test]
fn issuer_metadata_cannot_send_codes_or_tokens_to_another_server() {
    let metadata = |endpoint: &str| IssuerMetadata {
        credential_issuer: ISSUER.into(),
        credential_endpoint: endpoint.into(),
        nonce_endpoint: format!("{ISSUER}/nonce"),
        credential_configurations_supported: BTreeMap::new(),
        display: vec![],
    };
    let server = |token: &str| AuthorizationServerMetadata {
        issuer: ISSUER.into(),
        token_endpoint: token.into(),
        anonymous: true,
    };
    let good = (
        metadata(&format!("{ISSUER}/credential")),
        server(&format!("{ISSUER}/token")),
    );
    assert_eq!(check_metadata(&good.0, &good.1, ISSUER), Ok(()));
    for (m, s, why) in [
        (
            metadata("https://evil.example/credential"),
            good.1.clone(),
            "not under",
        ),
        (
            good.0.clone(),
            server("https://issuer.university.example.evil.example/token"),
            "not under",
        ),
        (
            good.0.clone(),
            server(&format!("{ISSUER}@evil.example/token")),
            "user information",
        ),
        (
            good.0.clone(),
            server(&format!("{ISSUER}/a/../../token")),
            "dot segments",
        ),
        (
            good.0.clone(),
            server(&format!("{ISSUER}/%2e%2e/token")),
            "escapes",
        ),
        (
            metadata(&format!("{ISSUER}/credential")),
            server("http://issuer.university.example/token"),
            "https://",
        ),
    ] {
        let e = check_metadata(&m, &s, ISSUER).expect_err(why);
        assert!(e.0.contains(why), "{why}: {}", e.0);
    }
    let mut other = good.0.clone();
    other.credential_issuer = "https://other.example".into();
    assert!(check_metadata(&other, &good.1, ISSUER).is_err());
}

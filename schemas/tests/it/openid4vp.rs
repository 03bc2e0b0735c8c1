//! Issue 20, OpenID4VP: a verifier's request object reads back as the same request; OpenSSL
//! verifies its JWS signature; and a request object that shows one thing and signs another, or
//! that someone else signed, is refused.

use crate::fixtures::key;
use base64::Engine as _;
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::openid4vp::{
    ACCESS_DENIED, Answer, AuthorizationRequest, CLIENT_ID_PREFIX, DirectPost, JWS_ALG, LINK_SCHEME, Link,
    MAX_ERROR_DESCRIPTION_CHARS, MAX_LINK_BYTES, MAX_REQUEST_OBJECT_BYTES, REQUEST_OBJECT_TYP, check_error,
    key_id, open_request_object, request_object,
};
use schemas::presentation::{Channel, Predicate, PredicateKind, PresentationRequest, SignedRequest, Tier};
use schemas::sm2::SecretKey;

fn signed(verifier: &SecretKey) -> SignedRequest {
    SignedRequest::sign(
        PresentationRequest {
            verifier: Did::from_public_key(verifier.public_key()),
            credential_type: "UniversityDiploma".into(),
            accepted_issuers: vec![],
            disclose: vec!["degree".into(), "name".into()],
            predicates: vec![Predicate {
                attribute: "gpa".into(),
                kind: PredicateKind::AtLeast { bound: 300 },
            }],
            nonce: Hash([0x66; 32]),
            purpose: "hiring".into(),
            created_at: 1_790_000_000,
            expires_at: 1_790_000_600,
            tier: Tier::Selective,
            channel: Some(Channel {
                response_uri: "https://verify.employer.example/v1/verify".into(),
                session: "482-913".into(),
            }),
        },
        verifier,
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWS over any header and payload, signed with any key: what an attacker can make.
fn jws(header: &serde_json::Value, payload: &serde_json::Value, key: &SecretKey) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    format!("{input}.{}", b64(&key.sign_raw(input.as_bytes()).0))
}

fn header(verifier: &SecretKey) -> serde_json::Value {
    serde_json::json!({
        "alg": JWS_ALG,
        "typ": REQUEST_OBJECT_TYP,
        "kid": key_id(&Did::from_public_key(verifier.public_key()), verifier.public_key()),
    })
}

#[test]
fn a_request_object_reads_back_as_the_request_it_was_made_from() {
    let verifier = key(0x41);
    let s = signed(&verifier);
    let request = AuthorizationRequest::new(&s, "st4te_01").expect("a request with a channel");
    assert_eq!(
        request.client_id,
        format!("decentralized_identifier:{}", s.request.verifier)
    );
    assert_eq!(request.dcql_query.credentials[0].claims.len(), 2);
    let object = request_object(&request, &verifier).expect("signed");
    assert_eq!(
        open_request_object(&object, &request.client_id).expect("opens"),
        request
    );
    // Fetched for a link that names another verifier.
    assert!(
        open_request_object(
            &object,
            "decentralized_identifier:did:credence:0000000000000000000000000000000000000000"
        )
        .is_err()
    );
    // Another key cannot make it.
    assert!(request_object(&request, &key(0x42)).is_err());
}

#[test]
fn openssl_verifies_the_request_object_signature() {
    let verifier = key(0x43);
    let object = request_object(
        &AuthorizationRequest::new(&signed(&verifier), "s").expect("request"),
        &verifier,
    )
    .expect("signed");
    let (input, sig) = object.rsplit_once('.').expect("three parts");
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .expect("base64url");
    let sig = schemas::sm2::Signature(sig.try_into().expect("64 bytes"));
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("pub.pem"), verifier.public_key().to_spki_pem()).expect("write");
    std::fs::write(dir.path().join("input"), input).expect("write");
    std::fs::write(dir.path().join("sig.der"), sig.to_der().expect("DER")).expect("write");
    let out = std::process::Command::new("openssl")
        .args([
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3",
        ])
        .args([
            "-in",
            "input",
            "-sigfile",
            "sig.der",
            "-pkeyopt",
            "distid:1234567812345678",
        ])
        .current_dir(dir.path())
        .output()
        .expect("openssl 3 is installed (.ci/setup installs it)");
    assert!(
        out.status.success(),
        "OpenSSL refused the JWS signature: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn request_objects_that_show_one_thing_and_sign_another_are_refused() {
    let verifier = key(0x44);
    let s = signed(&verifier);
    let good = serde_json::to_value(AuthorizationRequest::new(&s, "state").expect("request")).expect("json");
    let client_id = format!("decentralized_identifier:{}", s.request.verifier);
    let refused = |object: &str, why: &str| {
        let e = open_request_object(object, &client_id).expect_err(why);
        assert!(e.to_string().contains(why), "{why}: {e}");
    };

    // The verifier's own key over parameters its signed request does not say.
    for (member, value, why) in [
        (
            "response_uri",
            serde_json::json!("https://attacker.example/v1/verify"),
            "response_uri",
        ),
        ("nonce", serde_json::json!("00"), "nonce"),
        (
            "client_id",
            serde_json::json!(
                "decentralized_identifier:did:credence:0000000000000000000000000000000000000000"
            ),
            "client_id",
        ),
        ("exp", serde_json::json!(1_890_000_000), "exp"),
        ("response_mode", serde_json::json!("fragment"), "response_mode"),
        ("state", serde_json::json!("a b"), "state"),
    ] {
        let mut p = good.clone();
        p[member] = value;
        refused(&jws(&header(&verifier), &p, &verifier), why);
    }
    let mut p = good.clone();
    p["dcql_query"]["credentials"][0]["claims"] = serde_json::json!([{"path": ["credentialSubject", "gpa"]}]);
    refused(&jws(&header(&verifier), &p, &verifier), "DCQL claims");
    let mut p = good.clone();
    p["dcql_query"]["credentials"][0]["meta"]["type_values"] = serde_json::json!([["KycAttestation"]]);
    refused(&jws(&header(&verifier), &p, &verifier), "type_values");
    let mut p = good.clone();
    let second = p["dcql_query"]["credentials"][0].clone();
    p["dcql_query"]["credentials"]
        .as_array_mut()
        .expect("list")
        .push(second);
    refused(&jws(&header(&verifier), &p, &verifier), "exactly one credential");

    // Members this profile does not define: what other software would show, unsigned by the
    // request (OpenID4VP's transaction_data, client_metadata; DCQL's values, credential_sets).
    for (path, value) in [
        (vec!["transaction_data"], serde_json::json!(["e30"])),
        (
            vec!["client_metadata"],
            serde_json::json!({"client_name": "Your Bank"}),
        ),
        (vec!["dcql_query", "credential_sets"], serde_json::json!([])),
    ] {
        let mut p = good.clone();
        let mut at = &mut p;
        for k in &path[..path.len() - 1] {
            at = &mut at[*k];
        }
        at[path[path.len() - 1]] = value;
        refused(&jws(&header(&verifier), &p, &verifier), "unknown field");
    }
    let mut p = good.clone();
    p["dcql_query"]["credentials"][0]["claims"][0]["values"] = serde_json::json!(["PhD"]);
    refused(&jws(&header(&verifier), &p, &verifier), "unknown field");
    let mut h = header(&verifier);
    h["crit"] = serde_json::json!(["b64"]);
    refused(&jws(&h, &good, &verifier), "unknown field");

    // The signed request altered (its signature no longer holds), the JWS re-signed.
    let mut p = good.clone();
    p["credence_request"]["request"]["purpose"] = serde_json::json!("marketing");
    refused(&jws(&header(&verifier), &p, &verifier), "signed request inside");

    // Someone else's key: over the verifier's request, named as itself or as the verifier.
    let attacker = key(0x45);
    refused(&jws(&header(&attacker), &good, &attacker), "kid");
    refused(&jws(&header(&verifier), &good, &attacker), "does not verify");

    // A payload changed after signing.
    let object = jws(&header(&verifier), &good, &verifier);
    let mut parts: Vec<String> = object.split('.').map(str::to_owned).collect();
    let mut p = good.clone();
    p["state"] = serde_json::json!("other");
    parts[1] = b64(p.to_string().as_bytes());
    refused(&parts.join("."), "does not verify");

    // Other algorithms, other types, other shapes.
    let mut h = header(&verifier);
    h["alg"] = serde_json::json!("none");
    refused(&jws(&h, &good, &verifier), "alg");
    let mut h = header(&verifier);
    h["typ"] = serde_json::json!("JWT");
    refused(&jws(&h, &good, &verifier), "typ");
    refused("a.b", "compact JWS");
    refused("a.b.c.d", "compact JWS");
    refused(
        &"x".repeat(MAX_REQUEST_OBJECT_BYTES + 1),
        "MAX_REQUEST_OBJECT_BYTES",
    );
    refused("!!.e30.AA", "base64url");

    // A request without a channel has no response address to name.
    let mut no_channel = s.request.clone();
    no_channel.channel = None;
    assert!(AuthorizationRequest::new(&SignedRequest::sign(no_channel, &verifier), "state").is_err());
}

/// The request object of a fixed request, key and state is pinned (SM2 signing here is
/// deterministic, RFC 6979 with SM3): `docs/openid4vp.md` shows it. Regenerate deliberately with
/// `UPDATE_GOLDEN=1`.
#[test]
fn the_request_object_vector_is_pinned() {
    let verifier = key(0x41);
    let object = request_object(
        &AuthorizationRequest::new(&signed(&verifier), "st4te_01").expect("request"),
        &verifier,
    )
    .expect("signed");
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/request-object.jws");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{object}\n")).expect("write golden file");
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1 once)", path.display()));
    assert_eq!(object, expected.trim(), "the request object changed");
    open_request_object(
        &expected,
        &format!(
            "decentralized_identifier:{}",
            Did::from_public_key(verifier.public_key())
        ),
    )
    .expect("the vector opens");
}

/// A response address whose host part carries user information names another host than it seems
/// to (`http://localhost:@evil.example/` is a request to evil.example, in plain HTTP).
#[test]
fn a_response_address_with_user_information_is_refused() {
    for uri in [
        "http://localhost:@evil.example/v1/oid4vp/responses",
        "https://verify.bank.cn@evil.example/v1/verify",
        "http://127.0.0.1\\@evil.example/",
    ] {
        let c = Channel {
            response_uri: uri.into(),
            session: "482-913".into(),
        };
        assert!(c.check().is_err(), "{uri}");
    }
    for uri in [
        "https://verify.bank.cn/v1/verify?user=a@b",
        "http://localhost:8600/v1/oid4vp/responses",
    ] {
        let c = Channel {
            response_uri: uri.into(),
            session: "482-913".into(),
        };
        assert!(c.check().is_ok(), "{uri}");
    }
}

/// A link reads back as what it was made from; links that pass anything but a signed request
/// by reference, or point anywhere a wallet must not go, are refused, each naming why.
#[test]
fn links_pass_requests_by_reference_only() {
    let client_id = format!(
        "{CLIENT_ID_PREFIX}{}",
        Did::from_public_key(key(0x41).public_key())
    );
    let made = Link {
        client_id: client_id.clone(),
        request_uri: "https://verify.employer.example/v1/oid4vp/requests/ab12".into(),
    };
    let text = made.to_text();
    assert!(text.starts_with(LINK_SCHEME));
    assert_eq!(Link::parse(&text).as_ref(), Ok(&made));
    // Other spellings wallets meet: an `authorize` host, a method of get, the scheme in capitals.
    let q = text.strip_prefix("openid4vp://").unwrap_or_default();
    for ok in [
        format!("openid4vp://authorize{q}"),
        format!("OPENID4VP://{q}&request_uri_method=get"),
        format!("  {text}\n"),
    ] {
        assert_eq!(Link::parse(&ok).as_ref(), Ok(&made), "{ok}");
    }
    let cid = form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>();
    let with = |uri: &str| {
        format!(
            "openid4vp://?client_id={cid}&request_uri={}",
            form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        )
    };
    let refused = [
        ("https://verify.example/?client_id=x".to_owned(), "does not start with"),
        (format!("openid4vp://evil.example{q}"), "before its parameters"),
        (format!("{text}&response_uri=https%3A%2F%2Fevil.example"), "by reference only"),
        (format!("{text}&request=eyJ"), "by reference only"),
        (format!("{text}&dcql_query=%7B%7D"), "by reference only"),
        (format!("{text}&whatever=1"), "unknown parameter"),
        (format!("{text}&request_uri_method=post"), "request_uri_method"),
        (format!("{text}&client_id=x"), "twice"),
        (format!("openid4vp://?client_id={cid}"), "lacks"),
        (
            "openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Fevil.example&request_uri=https%3A%2F%2Fevil.example"
                .to_owned(),
            "did:credence",
        ),
        (
            "openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3Aevil&request_uri=https%3A%2F%2Fevil.example"
                .to_owned(),
            "does not name a did:credence",
        ),
        (with("http://verify.employer.example/r"), "https://"),
        (with("http://localhost:@evil.example/r"), "user information"),
        (with("https://verify.example/a b"), "printable"),
        (with("file:///etc/passwd"), "https://"),
        (format!("{text}{}", "&x".repeat(MAX_LINK_BYTES)), "MAX_LINK_BYTES"),
    ];
    for (link, why) in refused {
        match Link::parse(&link) {
            Err(e) => assert!(e.to_string().contains(why), "{link}: {e} (expected {why:?})"),
            Ok(l) => panic!("{link} was read as {l:?}"),
        }
    }
}

/// A wallet's answer reads back as it was sent; an answer that is both or neither, or whose
/// error would put other characters on a staff screen, is refused.
#[test]
fn direct_post_answers_are_a_presentation_or_an_error() {
    let p = DirectPost::presentation("st-1", r#"{"type":["VerifiablePresentation"]}"#);
    assert_eq!(
        p.answer,
        Answer::VpToken(r#"{"credential":[{"type":["VerifiablePresentation"]}]}"#.into())
    );
    assert_eq!(DirectPost::parse(p.to_form().as_bytes()), Ok(p));
    let e = DirectPost {
        state: "st-2".into(),
        answer: Answer::Error {
            error: ACCESS_DENIED.into(),
            description: Some("the holder declined".into()),
        },
    };
    assert_eq!(DirectPost::parse(e.to_form().as_bytes()), Ok(e));
    let long = "x".repeat(MAX_ERROR_DESCRIPTION_CHARS + 1);
    for (form, why) in [
        ("vp_token=%7B%7D", "post state"),
        ("state=s", "vp_token"),
        ("state=s&vp_token=%7B%7D&error=access_denied", "not both"),
        ("state=s&state=t&vp_token=%7B%7D", "twice"),
        ("state=s&error=Access+Denied", "a-z"),
        ("state=s&error=", "a-z"),
        (
            "state=s&error=access_denied&error_description=%E2%80%AEevil",
            "printable ASCII",
        ),
        (
            "state=s&error=access_denied&error_description=a%0Ab",
            "printable ASCII",
        ),
        (
            "state=s&error=access_denied&error_description=say+%22hi%22",
            "printable ASCII",
        ),
        (
            &format!("state=s&error=access_denied&error_description={long}") as &str,
            "at most",
        ),
    ] {
        match DirectPost::parse(form.as_bytes()) {
            Err(e) => assert!(e.contains(why), "{form}: {e} (expected {why:?})"),
            Ok(p) => panic!("{form} was read as {p:?}"),
        }
    }
    assert_eq!(check_error(ACCESS_DENIED, None), Ok(()));
}

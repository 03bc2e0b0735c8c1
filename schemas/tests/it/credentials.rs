//! Credential schemas, credential JSON, requests and presentations.

use crate::fixtures::{flip, key};
use crate::golden;
use schemas::Canonical;
use schemas::credential::{
    AttributeCommitment, Credential, CredentialDocument, CredentialError, Issuance, Opening, View,
    attribute_digest,
};
use schemas::credential_schema::{
    AttributeEncoding, AttributeValue, BUILTIN_SCHEMAS, CredentialSchema, MAX_TITLE_CHARS, MAX_TRANSLATIONS,
    SchemaError, Translation, date_from_days, days_from_date,
};
use schemas::did::{Did, DidDocument};
use schemas::merkle::MerkleTree;
use schemas::presentation::{Presentation, PresentationRequest, SelectiveDisclosure, SignedRequest, Tier};
use serde_json::json;

fn diploma_subject() -> serde_json::Value {
    json!({
        "name": "Li Hua", "student_id": "2022010101", "degree": "Bachelor of Engineering",
        "major": "Computer Science", "gpa": 3.72, "graduation_date": "2026-06-30"
    })
}

/// A schema's identity handle (issue 18) names one of its integer properties; anything else is
/// refused with the reason. The KYC attestation's version 2 names `customer_handle`; version 1
/// (unchanged) names none.
#[test]
fn the_identity_handle_is_an_integer_property_the_schema_names() {
    let v3 = CredentialSchema::builtin("kyc-attestation").expect("kyc");
    assert_eq!(v3.id(), "credence:schema:kyc-attestation:3");
    assert_eq!(v3.identity_handle(), Some("customer_handle"));
    let v2 = CredentialSchema::builtin("kyc-attestation-2").expect("kyc v2");
    assert_eq!(v2.id(), "credence:schema:kyc-attestation:2");
    assert_eq!(v2.identity_handle(), Some("customer_handle"));
    let v1 = CredentialSchema::builtin("kyc-attestation-1").expect("kyc v1");
    assert_eq!(v1.id(), "credence:schema:kyc-attestation:1");
    assert_eq!(v1.identity_handle(), None);
    let text = v2.json();
    for (named, why) in [
        ("\"identityHandle\": \"nobody\"", "not a property"),
        (
            "\"identityHandle\": \"name\"",
            "must have `x-credence-encoding` integer",
        ),
        ("\"identityHandle\": 7", "must name a property"),
    ] {
        let changed = text.replace("\"identityHandle\": \"customer_handle\"", named);
        assert_ne!(changed, text);
        match CredentialSchema::from_json(&changed) {
            Err(SchemaError::InvalidSchema { reason }) => assert!(reason.contains(why), "{reason}"),
            other => panic!("{named}: {other:?}"),
        }
    }
}

/// Issue 20: screens name attributes by the schema's `title` and explain them by its
/// `description`; another party's annotation that is not one short line is dropped.
#[test]
fn schema_titles_and_descriptions_name_attributes() {
    let diploma = CredentialSchema::builtin("university-diploma").expect("diploma");
    let student = diploma.attribute("student_id").expect("student_id");
    assert_eq!(
        student.description.as_deref(),
        Some("Student number at the issuing university")
    );
    assert_eq!(student.title.as_deref(), Some("Student number"));
    assert_eq!(
        student.translations,
        vec![Translation {
            lang: "zh-CN".into(),
            title: Some("学号".into()),
            description: Some("颁发大学的学号".into()),
        }]
    );
    // Version 1 (credentials issued before version 2) has no titles; it is unchanged.
    let v1 = CredentialSchema::builtin("university-diploma-1").expect("diploma v1");
    assert_eq!(v1.id(), "credence:schema:university-diploma:1");
    assert_eq!(v1.attribute("student_id").and_then(|a| a.title.as_deref()), None);
    let mut json: serde_json::Value = serde_json::from_str(diploma.json()).expect("json");
    let props = &mut json["properties"]["credentialSubject"]["properties"];
    props["degree"]["title"] = "Degree awarded".into();
    props["major"]["title"] = "x".repeat(MAX_TITLE_CHARS + 1).into();
    props["name"]["description"] = "line one\nline two".into();
    // Text that would reorder or hide what a screen puts around it is dropped.
    props["student_id"]["title"] = "Student\u{202E}number".into();
    props["student_id"]["description"] = "zero\u{200B}width".into();
    // Translations: a language tag each, the same one-line rule, at most MAX_TRANSLATIONS.
    props["gpa"]["x-credence-l10n"] = serde_json::json!({
        "fr": {"title": "Moyenne"},
        "not a tag": {"title": "dropped"},
        "zh-Hant-TW": {"title": "x".repeat(MAX_TITLE_CHARS + 1), "description": "兩行\n文字"},
        "de": "not an object",
    });
    let many: serde_json::Map<String, serde_json::Value> = (0..MAX_TRANSLATIONS + 5)
        .map(|i| {
            (
                format!("q{}", char::from(b'a' + i as u8)),
                serde_json::json!({"title": "t"}),
            )
        })
        .collect();
    props["degree"]["x-credence-l10n"] = many.into();
    props["major"]["x-credence-l10n"] = "not a map".into();
    let s =
        CredentialSchema::from_json(&json.to_string()).expect("display text never makes a schema invalid");
    assert_eq!(
        s.attribute("degree").and_then(|a| a.title.as_deref()),
        Some("Degree awarded")
    );
    assert_eq!(s.attribute("major").and_then(|a| a.title.as_deref()), None);
    assert_eq!(s.attribute("name").and_then(|a| a.description.as_deref()), None);
    let student = s.attribute("student_id").expect("student_id");
    assert_eq!(
        (student.title.as_deref(), student.description.as_deref()),
        (None, None)
    );
    let gpa = s.attribute("gpa").expect("gpa");
    assert_eq!(
        gpa.translations,
        vec![Translation {
            lang: "fr".into(),
            title: Some("Moyenne".into()),
            description: None,
        }]
    );
    assert_eq!(
        s.attribute("degree").map(|a| a.translations.len()),
        Some(MAX_TRANSLATIONS)
    );
    assert_eq!(s.attribute("major").map(|a| a.translations.len()), Some(0));
}

/// Every built-in schema's newest version titles every attribute, in English and Simplified
/// Chinese, with a description in both; its older versions stay built in, unchanged.
#[test]
fn the_newest_built_in_schemas_title_every_attribute_in_english_and_chinese() {
    let newest: Vec<&str> = BUILTIN_SCHEMAS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !n.ends_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(newest.len(), 4, "{newest:?}");
    for name in newest {
        let s = CredentialSchema::builtin(name).expect("built in");
        for a in s.attributes() {
            assert!(a.title.is_some() && a.description.is_some(), "{name}: {}", a.name);
            let zh = a.translations.iter().find(|t| t.lang == "zh-CN");
            assert!(
                zh.is_some_and(|t| t.title.is_some() && t.description.is_some()),
                "{name}: {} has no Chinese title and description",
                a.name
            );
        }
    }
    // One id, one text: every built-in id appears once.
    let mut ids: Vec<String> = BUILTIN_SCHEMAS
        .iter()
        .map(|(n, _)| CredentialSchema::builtin(n).expect("built in").id().to_owned())
        .collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "a built-in id is used twice");
}

#[test]
fn builtin_schemas_load_and_mark_numeric_attributes() {
    for (name, _) in BUILTIN_SCHEMAS {
        let s = CredentialSchema::builtin(name).expect("built-in schema loads");
        assert!(s.id().starts_with("credence:schema:"));
        assert!(
            s.attributes().windows(2).all(|w| w[0].name < w[1].name),
            "attributes sorted"
        );
    }
    let kyc = CredentialSchema::builtin("kyc-attestation").expect("kyc");
    assert_eq!(
        kyc.attribute("birth_date").map(|a| a.encoding),
        Some(AttributeEncoding::DateDays)
    );
    assert_eq!(
        kyc.attribute("kyc_level").map(|a| a.encoding),
        Some(AttributeEncoding::Integer)
    );
    assert_eq!(
        kyc.attribute("residence_country").map(|a| a.encoding),
        Some(AttributeEncoding::Text)
    );
    assert!(matches!(
        CredentialSchema::builtin("passport"),
        Err(SchemaError::Unknown { .. })
    ));
}

#[test]
fn subjects_encode_as_integers_where_numeric() {
    let s = CredentialSchema::builtin("university-diploma").expect("diploma");
    let encoded = s.encode_subject(&diploma_subject()).expect("valid subject");
    let get = |n: &str| encoded.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(get("gpa"), Some(AttributeValue::Integer(372)));
    assert_eq!(
        get("graduation_date"),
        Some(AttributeValue::Integer(
            days_from_date("2026-06-30").expect("date")
        ))
    );
    assert_eq!(get("name"), Some(AttributeValue::Text("Li Hua".into())));
    assert_eq!(days_from_date("1970-01-01"), Ok(0));
    assert_eq!(days_from_date("1969-12-31"), Ok(-1));
    assert_eq!(date_from_days(20_634).as_deref(), Some("2026-06-30"));
}

#[test]
fn violations_name_the_field_and_the_rule() {
    let s = CredentialSchema::builtin("university-diploma").expect("diploma");
    let mut subject = diploma_subject();
    subject["gpa"] = json!(4.5);
    subject["graduation_date"] = json!("30/06/2026");
    subject.as_object_mut().expect("object").remove("name");
    subject["nickname"] = json!("Hua");
    let Err(SchemaError::Invalid { violations, .. }) = s.validate(&subject) else {
        panic!("invalid subject accepted")
    };
    let has = |field: &str, rule: &str| violations.iter().any(|v| v.field == field && v.rule == rule);
    assert!(has("/gpa", "maximum"), "{violations:?}");
    assert!(
        has("/graduation_date", "pattern") || has("/graduation_date", "format"),
        "{violations:?}"
    );
    assert!(has("", "required"), "{violations:?}");
    assert!(has("", "additionalProperties"), "{violations:?}");

    let mut three_places = diploma_subject();
    three_places["gpa"] = json!(3.725);
    let err = s.encode_subject(&three_places).expect_err("three decimals");
    assert!(err.to_string().contains("/gpa"), "{err}");

    let kyc = CredentialSchema::builtin("kyc-attestation").expect("kyc");
    let bad = json!({"name": "A", "birth_date": "2000-02-30", "residence_country": "cn", "kyc_level": 4, "verified_on": "2026-01-01"});
    let Err(SchemaError::Invalid { violations, .. }) = kyc.encode_subject(&bad) else {
        panic!("invalid KYC accepted")
    };
    assert!(
        violations
            .iter()
            .any(|v| v.field == "/kyc_level" && v.rule == "maximum"),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.field == "/residence_country" && v.rule == "pattern"),
        "{violations:?}"
    );
    assert!(
        violations.iter().any(|v| v.field == "/birth_date"),
        "{violations:?}"
    );
}

#[test]
fn bad_schema_documents_are_refused() {
    assert!(CredentialSchema::from_json("{").is_err());
    assert!(
        CredentialSchema::from_json(r#"{"$schema": "https://json-schema.org/draft/2020-12/schema"}"#)
            .is_err()
    );
    let no_encoding = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema",
        "x-credence": {"id": "x", "credentialType": "X"}, "properties": {"a": {"type": "string"}}}"#;
    let err = CredentialSchema::from_json(no_encoding).expect_err("missing encoding");
    assert!(err.to_string().contains("x-credence-encoding"), "{err}");
}

/// The diploma schema (version 1, which the golden envelope names) cut down to the golden
/// envelope's two attributes (`gpa`, `name`).
pub(crate) fn golden_schema() -> CredentialSchema {
    let mut s: serde_json::Value = serde_json::from_str(
        CredentialSchema::builtin("university-diploma-1")
            .expect("built in")
            .json(),
    )
    .expect("json");
    let subject = &mut s["properties"]["credentialSubject"];
    subject["required"] = json!(["gpa", "name"]);
    let props = subject["properties"].as_object_mut().expect("properties");
    props.retain(|k, _| ["id", "gpa", "name"].contains(&k.as_str()));
    CredentialSchema::from_json(&s.to_string()).expect("a schema")
}

const BASE: &str = "https://ledger.example.edu";

/// A credential whose text attribute is a real salted digest, in a batch of five.
fn credential() -> Credential {
    credential_at(Some(BASE))
}

fn credential_at(base: Option<&str>) -> Credential {
    let envelope = golden::envelope();
    let openings = vec![
        Opening {
            name: "gpa".into(),
            value: AttributeValue::Integer(372),
            randomness: [0x77; 32],
        },
        Opening {
            name: "name".into(),
            value: AttributeValue::Text("Li Hua".into()),
            randomness: [0x5a; 32],
        },
    ];
    let mut leaves: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 32]).collect();
    leaves[3] = envelope.digest().0.to_vec();
    let tree = MerkleTree::from_leaves(&leaves);
    let issuance = Issuance {
        batch_root: tree.root(),
        inclusion: tree.prove(3).expect("in range"),
        issuer_signature: None,
        unlinkable: None,
    };
    let view = View::new(&golden_schema(), &envelope, base).expect("the schema has both attributes");
    Credential {
        envelope,
        openings,
        issuance,
        view,
    }
}

fn read(text: &str) -> Result<Credential, CredentialError> {
    CredentialDocument::parse(text)?.read(&golden_schema())
}

#[test]
fn credential_json_round_trips_in_w3c_shape() {
    let c = credential();
    c.check().expect("consistent credential");
    let json = c.to_json();
    assert_eq!(json["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(json["type"], json!(["VerifiableCredential", "UniversityDiploma"]));
    assert_eq!(
        json["credentialSubject"]["gpa"],
        json!(3.72),
        "the value, not its encoding"
    );
    assert_eq!(json["credentialStatus"]["type"], "BitstringStatusListEntry");
    assert_eq!(
        json["credentialStatus"]["statusListCredential"],
        format!("{BASE}/v1/status-lists/{}/0/0/credential", c.envelope.issuer)
    );
    assert_eq!(
        json["credentialSchema"]["id"],
        format!("{BASE}/v1/schemas/credence:schema:university-diploma:1/document")
    );
    assert_eq!(json["proof"]["type"], "DataIntegrityProof");
    assert_eq!(json["proof"]["cryptosuite"], "credence-anchor-2026");
    assert_eq!(json["validFrom"], "2026-06-30T00:00:00Z");
    let back = read(&json.to_string()).expect("parses");
    assert_eq!(back, c);
    // The same number written otherwise is the same value.
    let mut other = json.clone();
    other["credentialSubject"]["gpa"] = json!(3.720);
    assert_eq!(read(&other.to_string()).expect("parses"), c);
}

/// A document issued before December 2026 (values as their encodings, the envelope in hex)
/// still reads, to the same credential: its signed bytes did not change.
#[test]
fn a_credential_in_the_old_format_still_reads() {
    let old = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/credential-2026-11.json"),
    )
    .expect("golden file");
    let doc = CredentialDocument::parse(&old).expect("parses");
    assert!(doc.is_legacy());
    let c = doc.read(&golden_schema()).expect("reads");
    assert_eq!(c, credential_at(None));
    // Written again, it is in the new format (with the URNs it had, for want of a URL).
    let again = c.to_json();
    assert_eq!(again["credentialSubject"]["gpa"], json!(3.72));
    assert_eq!(again["proof"]["type"], "DataIntegrityProof");
    assert_eq!(read(&again.to_string()).expect("reads"), c);
    // Under the built-in diploma schema (which its two attributes do not fill) it reads too:
    // it was validated as a subject when issued, and written again it still reads (fuzzing
    // found the second read refused).
    let builtin = Credential::from_json(&old).expect("reads under the built-in schema");
    assert_eq!(
        Credential::from_json(&builtin.to_json().to_string()).expect("reads again"),
        builtin
    );
}

#[test]
fn credential_json_that_disagrees_with_its_envelope_is_refused() {
    let json = credential().to_json();
    let tamper = |path: &[&str], v: serde_json::Value| {
        let mut j = json.clone();
        let mut at = &mut j;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        read(&j.to_string())
    };
    assert!(matches!(
        tamper(&["credentialSubject", "name"], json!("Wang Wu")),
        Err(CredentialError::OpeningMismatch { .. })
    ));
    assert!(matches!(
        tamper(&["issuer"], json!(Did::from_public_key(key(9).public_key()))),
        Err(CredentialError::FieldMismatch { field: "issuer" })
    ));
    assert!(matches!(
        tamper(&["validFrom"], json!("2020-01-01T00:00:00Z")),
        Err(CredentialError::FieldMismatch { field: "validFrom" })
    ));
    assert!(matches!(
        tamper(&["type"], json!(["VerifiableCredential", "KycAttestation"])),
        Err(CredentialError::FieldMismatch { field: "type" })
    ));
    assert!(matches!(
        tamper(&["credentialStatus", "statusListIndex"], json!("43")),
        Err(CredentialError::FieldMismatch {
            field: "credentialStatus"
        })
    ));
    assert!(matches!(
        tamper(
            &["credentialSchema", "id"],
            json!("https://evil.example/schema.json")
        ),
        Err(CredentialError::FieldMismatch {
            field: "credentialSchema"
        })
    ));
    assert!(matches!(
        tamper(&["holderNote"], json!("hello")),
        Err(CredentialError::FieldMismatch { .. })
    ));
    // A value the schema refuses (a GPA of 9.5 on a 4.0 scale) is refused by name.
    let err = tamper(&["credentialSubject", "gpa"], json!(9.5)).expect_err("out of range");
    assert!(
        err.to_string().contains("maximum") || err.to_string().contains("gpa"),
        "{err}"
    );
    // A status link under a URL with a query.
    let link = json["credentialStatus"]["statusListCredential"]
        .as_str()
        .expect("link");
    assert!(matches!(
        tamper(
            &["credentialStatus", "statusListCredential"],
            json!(link.replace(BASE, "https://x.example/?q=1"))
        ),
        Err(CredentialError::Malformed { .. })
    ));
    assert!(matches!(
        tamper(&["proof", "proofValue"], json!("uAAAA")),
        Err(CredentialError::Json(_))
    ));
    assert!(matches!(
        tamper(&["proof", "cryptosuite"], json!("ecdsa-jcs-2019")),
        Err(CredentialError::Malformed { .. })
    ));
    // An inclusion proof that leads elsewhere.
    let mut c = credential();
    c.issuance.inclusion.index = 2;
    assert!(matches!(
        read(&c.to_json().to_string()),
        Err(CredentialError::Inclusion(_))
    ));
    assert!(read("not json").is_err());
    assert!(read("{}").is_err());
}

/// A presentation in the shape before December 2026 is refused as the old format.
#[test]
fn a_presentation_in_the_old_format_is_refused_as_such() {
    let old = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/presentation-2026-11.json"),
    )
    .expect("golden file");
    let err = Presentation::from_json(&old).expect_err("old format");
    assert!(err.to_string().contains("old format"), "{err}");
}

#[test]
fn attribute_digest_binds_name_value_and_salt() {
    let v = AttributeValue::Text("Li Hua".into());
    let d = attribute_digest("name", &v, &[1; 32]);
    assert_ne!(d, attribute_digest("name", &v, &[2; 32]));
    assert_ne!(d, attribute_digest("nick", &v, &[1; 32]));
    assert_ne!(
        d,
        attribute_digest("name", &AttributeValue::Text("Li Hu".into()), &[1; 32])
    );
    let o = Opening {
        name: "name".into(),
        value: v,
        randomness: [1; 32],
    };
    o.check_digest(&AttributeCommitment::Digest(d)).expect("opens");
    assert!(
        !format!("{o:?}").contains("Li Hua"),
        "Debug must not print personal data"
    );
}

fn request() -> SignedRequest {
    let verifier_key = key(4);
    SignedRequest::sign(
        PresentationRequest {
            verifier: Did::from_public_key(verifier_key.public_key()),
            credential_type: "UniversityDiploma".into(),
            accepted_issuers: vec![],
            disclose: vec!["name".into()],
            predicates: vec![],
            nonce: schemas::Hash([9; 32]),
            purpose: "employment screening".into(),
            created_at: 0,
            expires_at: 600,
            tier: Tier::Selective,
            channel: None,
        },
        &verifier_key,
    )
}

#[test]
fn signed_requests_verify_and_tampering_fails() {
    let r = request();
    r.verify().expect("verifies");
    let back = SignedRequest::from_json(&serde_json::to_string(&r).expect("json")).expect("parses");
    assert_eq!(back, r);
    let mut t = r.clone();
    t.request.purpose = "marketing".into();
    assert!(t.verify().is_err());
    let mut t = r.clone();
    flip(&mut t.signature.0, 100);
    assert!(t.verify().is_err());
}

/// A disclosure of the credential's `name` only.
fn name_only(c: &Credential) -> SelectiveDisclosure {
    SelectiveDisclosure {
        envelope: c.envelope.clone(),
        disclosed: vec![c.openings[1].clone()],
        predicate_proof: None,
        batch_root: c.issuance.batch_root,
        inclusion: c.issuance.inclusion.clone(),
    }
}

#[test]
fn presentation_holder_binding_covers_request_and_disclosure() {
    let c = credential();
    let disclosure = name_only(&c);
    let p = Presentation::selective(request(), disclosure, &key(2), vec![]);
    p.verify_holder_binding().expect("holder binding verifies");
    let text = serde_json::to_string(&p).expect("json");
    let back = Presentation::from_json(&text).expect("parses");
    assert_eq!(back, p);

    let mut other = p.clone();
    other.request.request.nonce = schemas::Hash([8; 32]);
    assert!(
        other.verify_holder_binding().is_err(),
        "answer replayed to another request"
    );
    // Signed by someone other than the bound holder.
    let disclosure = match &p.proof {
        schemas::presentation::PresentationProof::Selective { disclosure, .. } => (**disclosure).clone(),
        _ => unreachable!(),
    };
    let wrong = Presentation::selective(request(), disclosure, &key(5), vec![]);
    assert!(wrong.verify_holder_binding().is_err());
    assert!(Presentation::from_json(r#"{"@context": ["x"]}"#).is_err());
}

#[test]
fn did_documents_follow_did_core_and_round_trip() {
    let k = key(1);
    let did = Did::from_public_key(k.public_key());
    let doc = did.document(k.public_key());
    let json = serde_json::to_value(&doc).expect("json");
    assert_eq!(json["@context"][0], "https://www.w3.org/ns/did/v1");
    assert_eq!(json["verificationMethod"][0]["type"], "Multikey");
    assert_eq!(json["verificationMethod"][1]["publicKeyJwk"]["crv"], "SM2");
    let multibase = schemas::did::multikey(k.public_key());
    assert_eq!(json["verificationMethod"][0]["id"], format!("{did}#{multibase}"));
    assert_eq!(json["assertionMethod"][0], format!("{did}#{multibase}"));
    let back: DidDocument = serde_json::from_value(json.clone()).expect("parses");
    assert_eq!(&back.public_key().expect("key"), k.public_key());
    // The JWK beside it is the same key.
    let mut jwk_first = back.clone();
    jwk_first.verification_method.swap(0, 1);
    assert_eq!(&jwk_first.public_key().expect("key"), k.public_key());
    // After a rotation the key's id is another: an old id never names the new key.
    let rotated = did.document(key(2).public_key());
    assert_ne!(rotated.verification_method[0].id, doc.verification_method[0].id);
    assert!(Did::parse("did:credence:XYZ").is_err());
    assert!(Did::parse("did:web:example.com").is_err());
    assert!(Did::parse(&did.to_string().to_uppercase()).is_err());
}

/// Multikey (W3C Controlled Identifiers 1.0): `z` + base58btc(0x8624 || compressed point). The
/// vector is the SM2 generator (secret key 1), whose multibase was computed independently
/// (python, the multicodec table's `sm2-pub` 0x1206).
#[test]
fn sm2_multikeys_match_the_multicodec_table() {
    let mut one = [0u8; 32];
    one[31] = 1;
    let g = schemas::sm2::SecretKey::from_bytes(&one).expect("secret key 1");
    let text = schemas::did::multikey(g.public_key());
    assert_eq!(text, "zEPJc1oPo5TnKrv1UsVf11K3g344bZ1vdvB9u6MofbDnMa494");
    assert_eq!(
        &schemas::did::from_multikey(&text).expect("decodes"),
        g.public_key()
    );
    for k in 1..20u8 {
        let key = key(k);
        let text = schemas::did::multikey(key.public_key());
        assert_eq!(
            &schemas::did::from_multikey(&text).expect("decodes"),
            key.public_key()
        );
    }
    // A P-256 Multikey (0x8024) or any other text is refused.
    let mut p256 = vec![0x80, 0x24];
    p256.extend_from_slice(&[2; 33]);
    assert!(schemas::did::from_multikey(&format!("z{}", bs58::encode(&p256).into_string())).is_err());
    assert!(schemas::did::from_multikey("uAAAA").is_err());
    assert!(schemas::did::from_multikey(&"z".repeat(500)).is_err());
}

/// Pins the JSON shapes (these files also seed the fuzzers).
fn check_json(name: &str, value: &serde_json::Value) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let actual = format!("{}\n", serde_json::to_string_pretty(value).expect("json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "JSON shape of {name} changed");
}

#[test]
fn json_shapes_are_pinned() {
    let c = credential();
    check_json("credential.json", &c.to_json());
    let r = request();
    check_json("request.json", &serde_json::to_value(&r).expect("json"));
    let disclosure = name_only(&c);
    let p = Presentation::selective(r, disclosure, &key(2), vec![]);
    check_json("presentation.json", &serde_json::to_value(&p).expect("json"));
    let k = key(1);
    check_json(
        "did-document.json",
        &serde_json::to_value(Did::from_public_key(k.public_key()).document(k.public_key())).expect("json"),
    );
}

/// A request's channel comes from another party and is shown at consent: printable ASCII only,
/// https (http only to this machine), bounded.
#[test]
fn a_channel_is_checked_before_it_is_shown() {
    use schemas::presentation::Channel;
    let c = |uri: &str, session: &str| Channel {
        response_uri: uri.into(),
        session: session.into(),
    };
    for good in [
        c("https://verify.bank.example/v1/verify", "482-913"),
        c("http://127.0.0.1:8600/v1/verify", "1"),
        c("http://localhost/v1/verify", "abc"),
    ] {
        good.check().unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    for bad in [
        c("http://bank.example/v1/verify", "482-913"),
        c("http://localhost.attacker.example/", "482-913"),
        c("ftp://bank.example/", "482-913"),
        c("https://bank.example/\nScope:     inside", "482-913"),
        c("https://bank.example/", "482\u{202e}913"),
        c("https://bank.example/", "482 913"),
        c("https://bank.example/", ""),
        c("https://bank.example/", &"9".repeat(33)),
        c(&format!("https://{}", "a".repeat(300)), "482-913"),
    ] {
        assert!(bad.check().is_err(), "{bad:?} passed");
    }
}

/// Hostile review of issue 19's change: each finding's input, refused.
#[test]
fn documents_that_would_read_differently_elsewhere_are_refused() {
    let json = credential().to_json();
    // A member named twice: serde_json keeps the last, other readers the first.
    let text = json.to_string();
    let doubled = text.replacen(
        "\"credentialSubject\":{",
        "\"credentialSubject\":{\"name\":\"Wang Wu\",",
        1,
    );
    let err = read(&doubled).expect_err("a duplicate member");
    assert!(err.to_string().contains("appears twice"), "{err}");
    // A number that encodes to the committed 372 but is not 3.72.
    let mut near = json.clone();
    near["credentialSubject"]["gpa"] = json!(3.7200000001);
    assert!(matches!(
        read(&near.to_string()),
        Err(CredentialError::FieldMismatch {
            field: "credentialSubject"
        })
    ));
    // Links under user information, an escape, or plain HTTP to another machine.
    for base in [
        "https://ledger.example.edu@evil.example",
        "https://ledger.example.edu/%2e%2e",
        "http://ledger.example.edu",
        "ftp://ledger.example.edu",
    ] {
        assert!(schemas::credential::check_base_url(base).is_err(), "{base}");
    }
    for base in [
        "https://ledger.example.edu",
        "https://ledger.example.edu:8443/credence",
        "http://127.0.0.1:26700",
    ] {
        schemas::credential::check_base_url(base).expect(base);
    }
}

/// A schema in the old, subject-only shape still validates a credential whose subject carries
/// the holder's `id`; an attribute may not take the holder's `id` (or JSON-LD's `type`).
#[test]
fn old_shape_schemas_validate_and_reserved_names_are_refused() {
    let whole: serde_json::Value = serde_json::from_str(golden_schema().json()).expect("json");
    let mut old = whole["properties"]["credentialSubject"].clone();
    for k in ["$schema", "$id", "x-credence"] {
        old[k] = whole[k].clone();
    }
    old["properties"]
        .as_object_mut()
        .expect("properties")
        .remove("id");
    old["additionalProperties"] = json!(false);
    let old_schema = CredentialSchema::from_json(&old.to_string()).expect("an old-shape schema");
    let doc = credential().to_json();
    old_schema
        .validate_credential(&doc)
        .expect("the subject's id is the holder's, not an attribute");
    // An old-shape schema with an attribute called `id`: no credential under it is shown.
    old["properties"]["id"] = json!({"type": "string", "x-credence-encoding": "text"});
    let with_id = CredentialSchema::from_json(&old.to_string()).expect("parses");
    let mut envelope = golden::envelope();
    envelope.attributes.insert(
        0,
        schemas::credential::CommittedAttribute {
            name: "id".into(),
            commitment: AttributeCommitment::Digest(schemas::hash::Hash([1; 32])),
        },
    );
    let err = View::new(&with_id, &envelope, Some(BASE)).expect_err("reserved");
    assert!(err.to_string().contains("\"id\""), "{err}");
}

#[test]
fn a_presentation_with_an_oversized_signature_text_or_extra_members_is_refused() {
    let c = credential();
    let p = Presentation::selective(request(), name_only(&c), &key(2), vec![]);
    let good = serde_json::to_value(&p).expect("json");
    let mut long = good.clone();
    long["proof"]["proofValue"] = json!(format!("z{}", "2".repeat(1 << 20)));
    let err = Presentation::from_json(&long.to_string()).expect_err("too long");
    assert!(err.to_string().contains("64-byte"), "{err}");
    let mut extra = good.clone();
    extra["verifiableCredential"] = json!([]);
    assert!(Presentation::from_json(&extra.to_string()).is_err());
    let doubled = good
        .to_string()
        .replacen("\"proof\":{", "\"proof\":{\"challenge\":\"00\",", 1);
    let err = Presentation::from_json(&doubled).expect_err("a duplicate member");
    assert!(err.to_string().contains("appears twice"), "{err}");
    assert_eq!(Presentation::from_json(&good.to_string()).expect("parses"), p);
}

/// A DID document whose JWK disagrees with its Multikey, or whose method belongs to another
/// DID, names no key.
#[test]
fn a_did_document_with_disagreeing_keys_names_none() {
    let k = key(1);
    let did = Did::from_public_key(k.public_key());
    let mut doc = did.document(k.public_key());
    let other = Did::from_public_key(key(2).public_key()).document(key(2).public_key());
    doc.verification_method[1].public_key_jwk = other.verification_method[1].public_key_jwk.clone();
    assert!(doc.public_key().is_err());
    let mut foreign = did.document(k.public_key());
    foreign.verification_method[0].controller = other.id.clone();
    assert!(foreign.public_key().is_err());
}

//! Credential JSON: never panics; whatever parses is self-consistent and re-serialises to a
//! document that parses to the same credential — under a built-in schema, and under the
//! golden vector's two-attribute schema (so the seed parses and the fuzzer starts from a
//! credential that reads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::credential::{Credential, CredentialDocument};
use schemas::credential_schema::CredentialSchema;
use std::sync::OnceLock;

fn golden_schema() -> &'static CredentialSchema {
    static S: OnceLock<CredentialSchema> = OnceLock::new();
    S.get_or_init(|| {
        let diploma = CredentialSchema::builtin("university-diploma-1").expect("built in");
        let mut s: serde_json::Value = serde_json::from_str(diploma.json()).expect("json");
        let subject = &mut s["properties"]["credentialSubject"];
        subject["required"] = serde_json::json!(["gpa", "name"]);
        if let Some(props) = subject["properties"].as_object_mut() {
            props.retain(|k, _| ["id", "gpa", "name"].contains(&k.as_str()));
        }
        CredentialSchema::from_json(&s.to_string()).expect("a schema")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Credential::from_json(text) {
        let again = Credential::from_json(&c.to_json().to_string()).expect("own output parses");
        assert_eq!(again, c);
    }
    if let Ok(c) = CredentialDocument::parse(text).and_then(|d| d.read(golden_schema())) {
        let again = CredentialDocument::parse(&c.to_json().to_string())
            .and_then(|d| d.read(golden_schema()))
            .expect("own output reads");
        assert_eq!(again, c);
    }
});

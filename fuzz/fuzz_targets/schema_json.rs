//! Credential-schema documents (published on the ledger by issuers) and subjects against them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::credential_schema::CredentialSchema;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = CredentialSchema::from_json(text);
    if let Ok(subject) = serde_json::from_str(text) {
        let diploma = CredentialSchema::builtin("university-diploma").expect("built-in schema");
        let _ = diploma.encode_subject(&subject);
    }
});

//! What reaches a wallet, an issuer or a verifier from outside: backup files, typed recovery
//! phrases, batch input rows (CSV and JSON lines), holder bindings, request specs posted to
//! the verifier service, presentations run through the verifier's checks, and proving-key
//! files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn diploma() -> &'static schemas::credential_schema::CredentialSchema {
    static S: OnceLock<schemas::credential_schema::CredentialSchema> = OnceLock::new();
    S.get_or_init(|| schemas::credential_schema::CredentialSchema::builtin("university-diploma").expect("built in"))
}

fuzz_target!(|data: &[u8]| {
    let _ = zk::unlinkable::ProvingKey::from_bytes(data);
    let _ = wallet::issuer::read_csv(data, diploma());
    let _ = wallet::issuer::read_jsonl(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = wallet::keystore::backup_record_count(text);
    let _ = wallet::keystore::RecoveryPhrase::parse(text);
    let _ = serde_json::from_str::<wallet::issuer::HolderBinding>(text);
    let _ = serde_json::from_str::<wallet::verifier::RequestSpec>(text);
    let _ = wallet::tier::parse_predicate(text);
    if let Ok(p) = schemas::presentation::Presentation::from_json(text) {
        let validators = schemas::ledger::ValidatorSet {
            epoch: 0,
            validators: vec![],
        };
        let _ = wallet::verifier::verify(
            &p,
            &wallet::verifier::Context {
                source: wallet::verifier::Source::Offline {
                    validators: &validators,
                    max_status_age_secs: i64::MAX,
                },
                now: 0,
                verifier: None,
                guard: None,
                cache: None,
            },
        );
    }
});

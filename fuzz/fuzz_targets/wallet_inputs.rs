//! What reaches a wallet, an issuer or a verifier from outside: backup files, typed recovery
//! phrases, batch input rows (CSV and JSON lines), holder bindings, request specs posted to
//! the verifier service (and the staff token file), presentations run through the verifier's
//! checks, proving-key files, a home's pinned trust file, and the validator-set changes a node
//! answers (followed from the pinned genesis).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn diploma() -> &'static schemas::credential_schema::CredentialSchema {
    static S: OnceLock<schemas::credential_schema::CredentialSchema> = OnceLock::new();
    S.get_or_init(|| schemas::credential_schema::CredentialSchema::builtin("university-diploma").expect("built in"))
}

fn trust() -> &'static wallet::ledger::Trust {
    static T: OnceLock<wallet::ledger::Trust> = OnceLock::new();
    T.get_or_init(|| {
        let keys: Vec<_> = (1..=4u8)
            .map(|i| schemas::sm2::SecretKey::from_bytes(&[i; 32]).expect("a scalar"))
            .collect();
        wallet::ledger::Trust::new(schemas::ledger::Genesis {
            chain_id: "fuzz".into(),
            timestamp_ms: 0,
            validators: schemas::ledger::ValidatorSet {
                epoch: 0,
                validators: keys
                    .iter()
                    .map(|k| schemas::ledger::ValidatorInfo::new(k, "peer".into(), "/ip4/127.0.0.1/tcp/1".into()))
                    .collect(),
            },
            observers: vec![],
            governance: schemas::ledger::Governance {
                members: vec![],
                policies: schemas::ledger::Policies {
                    approvals_needed: 1,
                    credential_types: vec![],
                },
            },
            schemas: vec![],
        })
    })
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
    let _ = credctl::service::read_tokens(text);
    let _ = serde_json::from_str::<wallet::ledger::Trust>(text);
    if let Ok(changes) = serde_json::from_str::<Vec<schemas::ledger::LedgerProof>>(text) {
        let mut t = trust().clone();
        let _ = t.follow(&changes);
    }
    if let Ok(p) = schemas::presentation::Presentation::from_json(text) {
        let _ = wallet::verifier::verify(
            &p,
            &wallet::verifier::Context {
                source: wallet::verifier::Source::Offline {
                    trust: trust(),
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

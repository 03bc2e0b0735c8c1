//! What reaches a wallet from outside: backup files and typed recovery phrases.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = wallet::keystore::backup_record_count(text);
    let _ = wallet::keystore::RecoveryPhrase::parse(text);
});

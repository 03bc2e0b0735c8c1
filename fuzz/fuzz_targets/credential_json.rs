//! Credential JSON: never panics; whatever parses is self-consistent and re-serialises to a
//! document that parses to the same credential.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::credential::Credential;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Credential::from_json(text) {
        let again = Credential::from_json(&c.to_json().to_string()).expect("own output parses");
        assert_eq!(again, c);
    }
});

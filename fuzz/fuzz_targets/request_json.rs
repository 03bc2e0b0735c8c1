//! Presentation-request JSON: never panics; signature checks on parsed requests never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::presentation::SignedRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(r) = SignedRequest::from_json(text) {
        let _ = r.verify();
    }
});

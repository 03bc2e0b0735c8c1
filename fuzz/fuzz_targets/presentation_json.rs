//! Presentation JSON: never panics, and checking a parsed presentation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::presentation::Presentation;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = Presentation::from_json(text) {
        let _ = p.verify_holder_binding();
        let _ = p.request.verify();
    }
});

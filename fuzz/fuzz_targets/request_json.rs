//! Presentation-request JSON: never panics; signature checks on parsed requests never panic.
//! The same bytes as an OpenID4VP request object, as a request object's payload behind a
//! well-formed header, and as an authorization request whose parameters are checked, never panic
//! either; nor do the same bytes as an `openid4vp://` link a holder opens or as a `direct_post`
//! answer a verifier reads, and what reads back writes back the same; nor do they as an
//! OpenID4VCI offer link, an offer fetched by reference, or a holder's proof JWT an issuer opens.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use schemas::openid4vp::{DirectPost, Link, open_request_object};
use schemas::presentation::SignedRequest;

fuzz_target!(|data: &[u8]| {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(r) = SignedRequest::from_json(text) {
            let _ = r.verify();
        }
        let _ = open_request_object(text, "decentralized_identifier:did:credence:x");
        if let Ok(link) = Link::parse(text) {
            assert_eq!(Link::parse(&link.to_text()).ok(), Some(link));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(schemas::openid4vci::OfferLink::ByValue(offer)) = schemas::openid4vci::OfferLink::parse(text) {
            let again = schemas::openid4vci::OfferLink::by_value(&offer);
            assert_eq!(
                schemas::openid4vci::OfferLink::parse(&again).ok(),
                Some(schemas::openid4vci::OfferLink::ByValue(offer))
            );
        }
        let _ = schemas::openid4vci::read_offer(text);
        let _ = schemas::openid4vci::open_proof(text, "https://issuer.example", 1_790_000_000);
    }
    if let Ok(post) = DirectPost::parse(data) {
        assert_eq!(DirectPost::parse(post.to_form().as_bytes()).ok(), Some(post));
    }
    let header = b64(br#"{"alg":"SM2SM3","typ":"oauth-authz-req+jwt","kid":"k"}"#);
    let _ = open_request_object(
        &format!("{header}.{}.{}", b64(data), b64(&[0u8; 64])),
        "decentralized_identifier:did:credence:x",
    );
    // The payload's parameter checks, which the signatures otherwise keep fuzzed input from.
    if let Ok(request) = serde_json::from_slice::<schemas::openid4vp::AuthorizationRequest>(data) {
        let _ = request.check();
    }
});

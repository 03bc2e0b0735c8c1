//! Compact JWS (RFC 7515) signed with SM2, as Credence's OpenID profiles use it
//! (`docs/openid4vp.md` §1, `docs/openid4vci.md` §3): `alg` [`ALG`] — SM2 with SM3 over the JWS
//! signing input (what OpenSSL's `pkeyutl -sign -rawin -digest sm3` computes), signature `r ‖ s` —
//! and a `kid` naming a `did:credence` and its key's Multikey, from which the key is read.
//!
//! Invariant: [`split`] returns a header and payload only when the text has three base64url
//! parts, a 64-byte signature, and header and payload JSON without duplicate members; it checks
//! no signature (its caller knows which key must have signed).

use crate::did::Did;
use crate::sm2::{PublicKey, SecretKey, Signature};
use base64::Engine as _;
use serde::Serialize;

/// The private JOSE algorithm name of SM2 with SM3 (no registered JOSE algorithm is SM2).
pub const ALG: &str = "SM2SM3";

/// A compact JWS taken apart.
pub struct Compact<'a> {
    /// The header's JSON.
    pub header: Vec<u8>,
    /// The payload's JSON.
    pub payload: Vec<u8>,
    /// `BASE64URL(header) "." BASE64URL(payload)`, what the signature covers.
    pub signing_input: &'a str,
    /// The signature.
    pub signature: Signature,
}

impl Compact<'_> {
    /// Whether `key` signed it.
    pub fn verify(&self, key: &PublicKey) -> bool {
        key.verify_raw(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header` and `payload` (serialised as JSON) with `key`.
pub fn sign(header: &impl Serialize, payload: &impl Serialize, key: &SecretKey) -> Result<String, String> {
    let json = |v: serde_json::Result<Vec<u8>>| v.map_err(|e| e.to_string());
    let input = format!(
        "{}.{}",
        b64(&json(serde_json::to_vec(header))?),
        b64(&json(serde_json::to_vec(payload))?)
    );
    let signature = key.sign_raw(input.as_bytes());
    Ok(format!("{input}.{}", b64(&signature.0)))
}

/// Takes a compact JWS apart (see the module's invariant); errors read after "its".
pub fn split(text: &str) -> Result<Compact<'_>, String> {
    let text = text.trim();
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("it is not a compact JWS (three base64url parts separated by dots)".into());
    };
    let unb64 = |part: &str, what: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| format!("its {what} is not base64url without padding"))
    };
    let header = unb64(h, "header")?;
    crate::codec::refuse_duplicate_keys(&String::from_utf8_lossy(&header))
        .map_err(|e| format!("its header: {e}"))?;
    let payload = unb64(p, "payload")?;
    crate::codec::refuse_duplicate_keys(&String::from_utf8_lossy(&payload))
        .map_err(|e| format!("its payload: {e}"))?;
    let sig = unb64(s, "signature")?;
    let sig = <[u8; crate::sm2::SIGNATURE_LEN]>::try_from(sig.as_slice())
        .map_err(|_| "its signature is not 64 bytes (r || s)".to_owned())?;
    Ok(Compact {
        header,
        payload,
        signing_input: &text[..h.len() + 1 + p.len()],
        signature: Signature(sig),
    })
}

/// The `kid` of a key: its DID and its Multikey.
pub fn key_id(did: &Did, key: &PublicKey) -> String {
    format!("{did}#{}", crate::did::multikey(key))
}

/// The key a `kid` names, when the DID before `#` is that key's own `did:credence` (a holder's
/// key, which has no ledger record to look it up in).
pub fn own_key(kid: &str) -> Result<PublicKey, String> {
    let (did, multikey) = kid
        .split_once('#')
        .ok_or_else(|| "its kid is not a DID and a key (did:credence:…#z…)".to_owned())?;
    let key =
        crate::did::from_multikey(multikey).map_err(|_| "its kid does not name an SM2 key".to_owned())?;
    if Did::from_public_key(&key).as_str() != did {
        return Err("its kid names a DID that is not its key's".into());
    }
    Ok(key)
}

//! Decentralised identifiers `did:credence:<id>` and their W3C DID Core documents.
//!
//! `<id>` is the lowercase hex of the first 20 bytes of `SM3(tag || SEC1(public key))`: it is
//! fixed when the key is first registered and stays the party's name across key rotations (the
//! ledger's DID document then lists the current key).

use crate::hash::{domains, hash_domain};
use crate::sm2::PublicKey;
use base64::Engine as _;
use core::fmt;
use serde::{Deserialize, Deserializer, Serialize};

/// The DID method prefix.
pub const DID_PREFIX: &str = "did:credence:";

/// Number of hex digits after the prefix.
pub const DID_ID_HEX_LEN: usize = 40;

/// A syntactically valid `did:credence:` identifier.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Did(String);

/// What was wrong with a DID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DID {did:?}: {reason} (expected did:credence: followed by 40 lowercase hex digits)")]
pub struct DidError {
    /// The text given (truncated).
    pub did: String,
    /// What was wrong.
    pub reason: &'static str,
}

impl Did {
    /// The DID of a public key.
    pub fn from_public_key(key: &PublicKey) -> Did {
        let h = hash_domain(domains::DID, &key.to_sec1());
        Did(format!(
            "{DID_PREFIX}{}",
            crate::bytes::to_hex(&h.0[..DID_ID_HEX_LEN / 2])
        ))
    }

    /// Parses and checks a DID.
    pub fn parse(s: &str) -> Result<Did, DidError> {
        let err = |reason| DidError {
            did: s.chars().take(80).collect(),
            reason,
        };
        let id = s
            .strip_prefix(DID_PREFIX)
            .ok_or_else(|| err("wrong method prefix"))?;
        if id.len() != DID_ID_HEX_LEN {
            return Err(err("wrong identifier length"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err("identifier is not lowercase hex"));
        }
        Ok(Did(s.to_owned()))
    }

    /// The DID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DID document for this DID with `key` as its key (`docs/did-method-credence.md`):
    /// a `Multikey` method whose fragment is the key's multibase (so a rotated key gets a new
    /// id and an old id never names the new key), and the same key as a `JsonWebKey` beside
    /// it (`crv: "SM2"` is not an IANA-registered JOSE curve: a private value).
    pub fn document(&self, key: &PublicKey) -> DidDocument {
        let sec1 = key.to_sec1();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let multibase = multikey(key);
        let id = format!("{}#{multibase}", self.0);
        let jwk_id = format!("{id}-jwk");
        DidDocument {
            context: vec![
                "https://www.w3.org/ns/did/v1".into(),
                "https://w3id.org/security/multikey/v1".into(),
                "https://w3id.org/security/jwk/v1".into(),
            ],
            id: self.clone(),
            verification_method: vec![
                VerificationMethod {
                    id: id.clone(),
                    kind: "Multikey".into(),
                    controller: self.clone(),
                    public_key_multibase: Some(multibase),
                    public_key_jwk: None,
                },
                VerificationMethod {
                    id: jwk_id.clone(),
                    kind: "JsonWebKey".into(),
                    controller: self.clone(),
                    public_key_multibase: None,
                    public_key_jwk: Some(Jwk {
                        kty: "EC".into(),
                        crv: "SM2".into(),
                        x: b64.encode(&sec1[1..33]),
                        y: b64.encode(&sec1[33..65]),
                    }),
                },
            ],
            authentication: vec![id.clone(), jwk_id.clone()],
            assertion_method: vec![id, jwk_id],
        }
    }
}

/// The multicodec prefix of an SM2 public key (`sm2-pub`, 0x1206, as an unsigned varint).
pub const SM2_MULTICODEC: [u8; 2] = [0x86, 0x24];

/// A key's `publicKeyMultibase` (W3C Controlled Identifiers 1.0, Multikey): `z` + base58btc of
/// the `sm2-pub` multicodec prefix and the 33-byte compressed point. Also the fragment of the
/// key's verification method, so a rotated key never shares an id with its predecessor.
pub fn multikey(key: &PublicKey) -> String {
    let sec1 = key.to_sec1();
    let mut bytes = Vec::with_capacity(35);
    bytes.extend_from_slice(&SM2_MULTICODEC);
    bytes.push(if sec1[64] & 1 == 1 { 0x03 } else { 0x02 });
    bytes.extend_from_slice(&sec1[1..33]);
    format!("z{}", bs58::encode(bytes).into_string())
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for Did {
    type Err = DidError;
    fn from_str(s: &str) -> Result<Self, DidError> {
        Did::parse(s)
    }
}

impl<'de> Deserialize<'de> for Did {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Did::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A W3C DID Core document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DidDocument {
    /// JSON-LD contexts.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// The DID.
    pub id: Did,
    /// The keys.
    pub verification_method: Vec<VerificationMethod>,
    /// Methods that authenticate the DID's controller.
    pub authentication: Vec<String>,
    /// Methods that sign credentials.
    pub assertion_method: Vec<String>,
}

impl DidDocument {
    /// The document's SM2 key: every verification method must be this DID's (its id under the
    /// DID, the DID its controller), of the type its key field says, and all must hold the same
    /// key (a JWK that disagrees with the Multikey is refused, not ignored).
    pub fn public_key(&self) -> Result<PublicKey, crate::sm2::KeyError> {
        let bad = crate::sm2::KeyError::InvalidPublicKey;
        let mut key: Option<PublicKey> = None;
        for method in &self.verification_method {
            let ours = method.controller == self.id
                && method
                    .id
                    .strip_prefix(self.id.as_str())
                    .is_some_and(|f| f.starts_with('#'));
            let this = match (
                method.kind.as_str(),
                &method.public_key_multibase,
                &method.public_key_jwk,
            ) {
                ("Multikey", Some(mb), None) if ours => from_multikey(mb)?,
                ("JsonWebKey", None, Some(jwk)) if ours => jwk.public_key()?,
                _ => return Err(bad),
            };
            match &key {
                Some(k) if *k != this => return Err(bad),
                _ => key = Some(this),
            }
        }
        key.ok_or(bad)
    }
}

/// The SM2 key of a `publicKeyMultibase` ([`multikey`]); any other multicodec is refused.
pub fn from_multikey(text: &str) -> Result<PublicKey, crate::sm2::KeyError> {
    let bytes = text
        .strip_prefix('z')
        .filter(|b| b.len() <= 64)
        .and_then(|b| bs58::decode(b).into_vec().ok())
        .ok_or(crate::sm2::KeyError::InvalidPublicKey)?;
    let point = bytes
        .strip_prefix(&SM2_MULTICODEC[..])
        .filter(|p| p.len() == 33)
        .ok_or(crate::sm2::KeyError::InvalidPublicKey)?;
    PublicKey::from_sec1(point)
}

/// One verification method of a DID document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationMethod {
    /// `<did>#<publicKeyMultibase>` (the JWK form: with `-jwk` appended).
    pub id: String,
    /// `Multikey` or `JsonWebKey`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The DID that controls the key.
    pub controller: Did,
    /// The key as a Multikey (W3C Controlled Identifiers 1.0, multicodec `sm2-pub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_multibase: Option<String>,
    /// The key as a JWK (RFC 7517) with `crv: "SM2"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_jwk: Option<Jwk>,
}

impl Jwk {
    /// The SM2 key this JWK holds.
    pub fn public_key(&self) -> Result<PublicKey, crate::sm2::KeyError> {
        if self.kty != "EC" || self.crv != "SM2" {
            return Err(crate::sm2::KeyError::InvalidPublicKey);
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut sec1 = vec![0x04];
        for part in [&self.x, &self.y] {
            let bytes = b64
                .decode(part)
                .map_err(|_| crate::sm2::KeyError::InvalidPublicKey)?;
            if bytes.len() != 32 {
                return Err(crate::sm2::KeyError::InvalidPublicKey);
            }
            sec1.extend_from_slice(&bytes);
        }
        PublicKey::from_sec1(&sec1)
    }
}

/// An SM2 public key as a JSON Web Key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `SM2`.
    pub crv: String,
    /// base64url x coordinate.
    pub x: String,
    /// base64url y coordinate.
    pub y: String,
}

//! A node's keys — its SM2 consensus key and its libp2p (Ed25519) identity — sealed at rest,
//! and the member file that introduces the node to a consortium.
//!
//! Invariants:
//! - keys on disk are sealed with [`schemas::seal`] (Argon2id → SM4-GCM) under the operator's
//!   password; nothing here logs, prints or `Debug`-formats a secret;
//! - a member file carries only public data, with the peer id signed by the SM2 key.

use rand_core::CryptoRngCore;
use schemas::ledger::{ObserverInfo, ValidatorInfo};
use schemas::seal::{Cost, SealedBox};
use schemas::sm2::{PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// The context sealed keys are bound to.
const SEAL_CONTEXT: &[u8] = b"credence/node-keys/v1";

/// A node's secret keys.
pub struct NodeKeys {
    /// SM2 key: signs consensus messages and votes.
    pub sm2: SecretKey,
    /// libp2p identity.
    pub p2p: libp2p::identity::Keypair,
}

impl fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeys")
            .field("sm2_public", self.sm2.public_key())
            .field("peer_id", &self.peer_id())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Plain {
    sm2_pkcs8: String,
    p2p_protobuf: String,
}

impl zeroize::Zeroize for Plain {
    fn zeroize(&mut self) {
        self.sm2_pkcs8.zeroize();
        self.p2p_protobuf.zeroize();
    }
}

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Sealing or opening failed (wrong password, modified file).
    #[error(transparent)]
    Seal(#[from] schemas::seal::SealError),
    /// The opened contents are not node keys.
    #[error("the key file does not hold node keys: {0}")]
    Contents(String),
}

impl NodeKeys {
    /// Fresh keys.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        NodeKeys {
            sm2: SecretKey::generate(rng),
            p2p: libp2p::identity::Keypair::generate_ed25519(),
        }
    }

    /// The libp2p peer id.
    pub fn peer_id(&self) -> libp2p::PeerId {
        self.p2p.public().to_peer_id()
    }

    /// Seals the keys under `password`.
    pub fn seal(
        &self,
        password: &[u8],
        cost: Cost,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SealedBox, KeyFileError> {
        let p2p = self
            .p2p
            .to_protobuf_encoding()
            .map_err(|e| KeyFileError::Contents(e.to_string()))?;
        let plain = Zeroizing::new(Plain {
            sm2_pkcs8: hex::encode(&*self.sm2.to_pkcs8_der()),
            p2p_protobuf: hex::encode(Zeroizing::new(p2p).as_slice()),
        });
        let json =
            Zeroizing::new(serde_json::to_vec(&*plain).map_err(|e| KeyFileError::Contents(e.to_string()))?);
        Ok(schemas::seal::seal(password, &json, SEAL_CONTEXT, cost, rng)?)
    }

    /// Opens sealed keys.
    pub fn open(sealed: &SealedBox, password: &[u8]) -> Result<Self, KeyFileError> {
        let json = sealed.open(password, SEAL_CONTEXT)?;
        let plain: Zeroizing<Plain> =
            Zeroizing::new(serde_json::from_slice(&json).map_err(|e| KeyFileError::Contents(e.to_string()))?);
        let der =
            Zeroizing::new(hex::decode(&plain.sm2_pkcs8).map_err(|e| KeyFileError::Contents(e.to_string()))?);
        let sm2 = SecretKey::from_pkcs8_der(&der).map_err(|e| KeyFileError::Contents(e.to_string()))?;
        let pb = Zeroizing::new(
            hex::decode(&plain.p2p_protobuf).map_err(|e| KeyFileError::Contents(e.to_string()))?,
        );
        let p2p = libp2p::identity::Keypair::from_protobuf_encoding(&pb)
            .map_err(|e| KeyFileError::Contents(e.to_string()))?;
        Ok(NodeKeys { sm2, p2p })
    }

    /// The public member file for a node reachable at `address`.
    pub fn member(&self, name: &str, role: Role, address: &str) -> MemberFile {
        let v = ValidatorInfo::new(&self.sm2, self.peer_id().to_string(), address.to_string());
        MemberFile {
            name: name.to_string(),
            role,
            public_key: v.public_key,
            peer_id: v.peer_id,
            address: v.address,
            peer_binding: v.peer_binding,
        }
    }
}

/// What a member does in the consortium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Votes in consensus.
    Validator,
    /// Supervisory node: follows and serves reads, does not vote.
    Observer,
}

/// The public introduction of one node, exchanged to build a genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberFile {
    /// Operator's name for the node (e.g. "Peking University").
    pub name: String,
    /// Validator or observer.
    pub role: Role,
    /// SM2 key.
    pub public_key: PublicKey,
    /// libp2p peer id.
    pub peer_id: String,
    /// Multiaddress peers dial.
    pub address: String,
    /// SM2 signature over the peer id.
    pub peer_binding: Signature,
}

impl MemberFile {
    /// As a validator entry.
    pub fn validator(&self) -> ValidatorInfo {
        ValidatorInfo {
            public_key: self.public_key.clone(),
            peer_id: self.peer_id.clone(),
            address: self.address.clone(),
            peer_binding: self.peer_binding,
        }
    }

    /// As an observer entry.
    pub fn observer(&self) -> ObserverInfo {
        ObserverInfo {
            name: self.name.clone(),
            public_key: self.public_key.clone(),
            peer_id: self.peer_id.clone(),
            address: self.address.clone(),
            peer_binding: self.peer_binding,
        }
    }
}

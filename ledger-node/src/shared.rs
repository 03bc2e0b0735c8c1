//! What the node's loop and its API share: the store, the genesis, metrics, the status the
//! API shows, the submission queue into the loop, and the cache of verified signatures. Its own
//! module so that the API and the loop each depend on it and not on each other.

use crate::metrics::Metrics;
use crate::store::Store;
use ledger_api::NodeStatus;
use schemas::hash::{Domain, Hash, domains};
use schemas::ledger::{Genesis, SignedTransaction};
use schemas::sm2::{PublicKey, Signature};
use std::collections::HashSet;
use std::sync::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};

/// Why a submission was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// The mempool is full: retry later.
    Busy,
    /// The node is stopping.
    Stopped,
}

/// A submission from the API.
pub struct Submission {
    /// The transaction.
    pub tx: SignedTransaction,
    /// The answer.
    pub reply: oneshot::Sender<Result<(), SubmitError>>,
}

/// Shared between the loop and the API.
pub struct Shared {
    /// The store.
    pub store: Store,
    /// The genesis.
    pub genesis: Genesis,
    /// Metrics.
    pub metrics: Metrics,
    /// Status.
    pub status: RwLock<NodeStatus>,
    /// Submissions to the loop.
    pub submit: mpsc::Sender<Submission>,
    /// Signatures the API verified, so consensus does not verify them again.
    pub verified: VerifiedCache,
    /// The setup ceremony's files this node checked and serves.
    pub ceremony_files: crate::ceremony_files::CeremonyFiles,
}

/// A bounded set of transaction signatures already verified on this node: the API checks a
/// submitted transaction's signatures to answer the client, and consensus then finds them here
/// (also when a transaction reaches it twice, in a forward and in a pre-prepare) instead of
/// verifying again — each transaction is verified once per replica.
#[derive(Default)]
pub struct VerifiedCache {
    seen: Mutex<HashSet<Hash>>,
    /// SM2 verifications of transaction signatures done (not answered from the cache).
    pub transaction_verifications: std::sync::atomic::AtomicU64,
    /// SM2 verifications of consensus messages and votes.
    pub consensus_verifications: std::sync::atomic::AtomicU64,
}

/// Most remembered verifications (cleared when full; the cost is a repeated verification).
const VERIFIED_CACHE: usize = 1 << 17;

impl VerifiedCache {
    fn id(key: &PublicKey, msg: &[u8], sig: &Signature) -> Hash {
        schemas::hash::hash_parts(
            Domain::new("credence/verified-cache/v1"),
            &[&key.to_sec1(), msg, &sig.0],
        )
    }

    /// Verifies, remembering transaction signatures (their messages are 32-byte digests;
    /// consensus messages are neither repeated nor cheap to hash, so they are not cached).
    pub fn verify(&self, key: &PublicKey, domain: Domain, msg: &[u8], sig: &Signature) -> bool {
        if domain != domains::TRANSACTION {
            self.consensus_verifications
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return key.verify(domain, msg, sig).is_ok();
        }
        let id = Self::id(key, msg, sig);
        if self.seen.lock().unwrap_or_else(|p| p.into_inner()).contains(&id) {
            return true;
        }
        self.transaction_verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ok = key.verify(domain, msg, sig).is_ok();
        if ok {
            let mut set = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if set.len() >= VERIFIED_CACHE {
                set.clear();
            }
            set.insert(id);
        }
        ok
    }
}

//! What the node's loop and its API share: the store, the genesis, metrics, the status the
//! API shows, the submission queue into the loop, and the cache of verified signatures. Its own
//! module so that the API and the loop each depend on it and not on each other.

use crate::metrics::Metrics;
use crate::store::Store;
use ledger_api::NodeStatus;
use schemas::hash::{Domain, Hash, domains};
use schemas::ledger::{Genesis, SignedTransaction};
use schemas::sm2::{PUBLIC_KEY_LEN, PublicKey, Signature, VerifyTable};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
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
    /// The API's public address for the links it serves, if configured.
    pub public_url: Option<String>,
    /// Whether the API itself speaks HTTPS.
    pub https: bool,
}

/// A bounded set of transaction signatures already verified on this node: the API checks a
/// submitted transaction's signatures to answer the client, and consensus then finds them here
/// (also when a transaction reaches it twice, in a forward and in a pre-prepare) instead of
/// verifying again — each transaction is verified once per replica.
///
/// It also keeps precomputed tables ([`VerifyTable`]) for the keys that sign often — issuers
/// anchoring batch after batch, governance members, validators — which make a verification
/// about three times cheaper.
#[derive(Default)]
pub struct VerifiedCache {
    seen: Mutex<HashSet<Hash>>,
    tables: Mutex<KeyTables>,
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
            let ok = self.check(key, domain, msg, sig);
            // Consensus messages come only from the current members' keys (the replica refuses
            // any other sender before verifying), so counting them is bounded.
            if ok {
                self.note_signer(key);
            }
            return ok;
        }
        let id = Self::id(key, msg, sig);
        if self.seen.lock().unwrap_or_else(|p| p.into_inner()).contains(&id) {
            return true;
        }
        self.transaction_verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Transaction signers earn a table only when their transactions commit
        // (`note_signer`, from `Core::commit`): a signature that merely verifies costs a stranger nothing.
        let ok = self.check(key, domain, msg, sig);
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

/// Most keys with a precomputed table (about 26 KB each: 13 MB at most).
pub const MAX_KEY_TABLES: usize = 512;
/// Most keys whose verified signatures are being counted before they earn a table.
const MAX_KEYS_COUNTED: usize = 8_192;
/// Verified signatures of a key before it gets a table (a table costs about three verifications).
const TABLE_AFTER: u32 = 4;

/// Tables of the keys that sign often, and counts of the others' signatures: consensus
/// messages of the members, and signers of committed transactions. A signature that merely
/// verifies earns nothing (anyone can make those with fresh keys); a sender would have to get
/// transactions committed under many keys to evict tables (least recently used first), which
/// costs speed, never a verdict: a verification with or without a table gives the same answer.
/// Tables are built outside the lock, so verifications never wait on a build.
#[derive(Default)]
struct KeyTables {
    tables: HashMap<[u8; PUBLIC_KEY_LEN], (Arc<VerifyTable>, u64)>,
    counts: HashMap<[u8; PUBLIC_KEY_LEN], u32>,
    clock: u64,
}

impl VerifiedCache {
    /// One SM2 verification, with the key's table when it has one.
    fn check(&self, key: &PublicKey, domain: Domain, msg: &[u8], sig: &Signature) -> bool {
        match self.table_for(key) {
            Some(table) => key.verify_with(&table, domain, msg, sig).is_ok(),
            None => key.verify(domain, msg, sig).is_ok(),
        }
    }

    fn table_for(&self, key: &PublicKey) -> Option<Arc<VerifyTable>> {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        t.clock += 1;
        let now = t.clock;
        t.tables.get_mut(&key.to_sec1()).map(|(table, used)| {
            *used = now;
            table.clone()
        })
    }

    /// Counts a signature by `key` toward its table: a committed transaction's signer
    /// (`Core::commit`) or a member's consensus message.
    pub fn note_signer(&self, key: &PublicKey) {
        let sec1 = key.to_sec1();
        {
            let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
            if t.tables.contains_key(&sec1) {
                return;
            }
            if t.counts.len() >= MAX_KEYS_COUNTED {
                t.counts.clear();
            }
            let seen = t.counts.entry(sec1).or_default();
            *seen += 1;
            if *seen < TABLE_AFTER {
                return;
            }
            // Counting starts again from zero, so only this call builds the key's table.
            t.counts.remove(&sec1);
        }
        let table = Arc::new(VerifyTable::new(key));
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if t.tables.len() >= MAX_KEY_TABLES
            && let Some(oldest) = t
                .tables
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
        {
            t.tables.remove(&oldest);
        }
        let now = t.clock;
        t.tables.insert(sec1, (table, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use schemas::sm2::SecretKey;

    fn tables(c: &VerifiedCache) -> usize {
        c.tables.lock().unwrap_or_else(|p| p.into_inner()).tables.len()
    }

    /// A stranger signing with fresh keys earns no table however many signatures verify;
    /// a signer whose transactions commit does, and keeps the same verdicts with it.
    #[test]
    fn only_committed_signers_earn_a_table() {
        let cache = VerifiedCache::default();
        let stranger = SecretKey::generate(&mut OsRng);
        for i in 0..10u8 {
            let sig = stranger.sign(domains::TRANSACTION, &[i; 32]);
            assert!(cache.verify(stranger.public_key(), domains::TRANSACTION, &[i; 32], &sig));
        }
        assert_eq!(tables(&cache), 0, "verified signatures alone built a table");
        let issuer = SecretKey::generate(&mut OsRng);
        for _ in 0..TABLE_AFTER {
            cache.note_signer(issuer.public_key());
        }
        assert_eq!(tables(&cache), 1);
        let sig = issuer.sign(domains::TRANSACTION, &[7; 32]);
        assert!(cache.verify(issuer.public_key(), domains::TRANSACTION, &[7; 32], &sig));
        assert!(!cache.verify(issuer.public_key(), domains::TRANSACTION, &[8; 32], &sig));
    }
}

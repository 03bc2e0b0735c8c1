//! Durable storage on sled: blocks, certificates, the consensus log, and the state tree.
//!
//! Layout: one sled tree, keys prefixed by kind (`b/` block, `h/` its header, `c/` certificate,
//! `s/` state version at a height, `l/` consensus log,
//! `n/` state-tree node, `v/` state value, `m/` metadata), so committing a block — its body,
//! certificate, tree nodes, values and the new height — is **one atomic batch**.
//!
//! Invariants:
//! - [`Store::commit`] and [`Store::append_log`] return only after `flush`: what consensus
//!   voted is on disk before the vote leaves the node, and a committed block is never lost by
//!   a process crash (`kill -9`);
//! - sled's flush is `sync_file_range` on Linux, which survives a process crash but not a power
//!   cut; so after each flush the store also `fdatasync`s the blob files sled wrote for large
//!   values, then sled's data file ([`Store::open`]): a committed block and a sent vote survive
//!   a power cut too;
//! - the value of a state key at a version is the newest write at or below that version.

use crate::rules::Execution;
use pbft::LogEntry;
use schemas::codec::Canonical as _;
use schemas::codec::{decode, encode};
use schemas::hash::Hash;
use schemas::ledger::{Block, BlockHeader, CommitCertificate, Height, LedgerProof, ValidatorSet, state_keys};
use schemas::limits::MAX_SET_CHANGES_PER_READ;
use schemas::state::{StateProof, StateTree, store as jstore};
use std::path::Path;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// Bytes on disk do not decode: the store is damaged or from another version.
    #[error("storage holds undecodable data at {key}: {reason}")]
    Corrupt {
        /// Where.
        key: String,
        /// What.
        reason: String,
    },
    /// The state tree failed.
    #[error(transparent)]
    State(#[from] schemas::state::StateError),
    /// Making the data durable failed.
    #[error("storage: fdatasync of {path}: {source}")]
    Sync {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A state value's bytes (`None`: absent).
pub type Value = Option<Vec<u8>>;

/// The node's database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
    /// What every flush makes durable (`None`: flush only, for comparison).
    sync: Option<std::sync::Arc<Durable>>,
}

/// sled's files that a flush leaves to the page cache: its data file (`db`), and the blob files
/// it writes for values larger than a quarter of a segment (a block over about 128 KiB), each
/// named by its log sequence number under `blobs/`.
struct Durable {
    db: std::fs::File,
    db_path: std::path::PathBuf,
    blobs: std::path::PathBuf,
    /// Each blob file synced, with its length then (a file another thread was still writing is
    /// synced again once it has grown). Names sled removed are dropped.
    synced: std::sync::Mutex<std::collections::HashMap<std::ffi::OsString, u64>>,
    /// Blob files synced since opening (for tests and metrics).
    blobs_synced: std::sync::atomic::AtomicU64,
}

impl Durable {
    fn sync_err(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Sync {
            path: path.display().to_string(),
            source,
        }
    }

    /// `fdatasync`s every blob file not synced at its current length, and the `blobs/` folder
    /// (their names) if any was.
    fn sync_blobs(&self) -> Result<(), StoreError> {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Self::sync_err(&self.blobs, e)),
        };
        let mut present = std::collections::HashSet::new();
        let mut any = false;
        for entry in entries {
            let entry = entry.map_err(|e| Self::sync_err(&self.blobs, e))?;
            let name = entry.file_name();
            present.insert(name.clone());
            let path = entry.path();
            let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
            // sled may remove a blob meanwhile (its value was rewritten or collected).
            let len = match entry.metadata() {
                Ok(m) => m.len(),
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(Self::sync_err(&path, e)),
            };
            if synced.get(&name) == Some(&len) {
                continue;
            }
            match std::fs::File::open(&path).and_then(|f| f.sync_data()) {
                Ok(()) => {}
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(Self::sync_err(&path, e)),
            }
            synced.insert(name, len);
            self.blobs_synced
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            any = true;
        }
        synced.retain(|name, _| present.contains(name));
        if any {
            std::fs::File::open(&self.blobs)
                .and_then(|d| d.sync_all())
                .map_err(|e| Self::sync_err(&self.blobs, e))?;
        }
        Ok(())
    }
}

const HEIGHT: &[u8] = b"m/height";
const STATE_VERSION: &[u8] = b"m/state-version";
const GENESIS: &[u8] = b"m/genesis";
const LOG_NEXT: &[u8] = b"m/log-next";

fn height_key(prefix: &[u8], h: u64) -> Vec<u8> {
    [prefix, &h.to_be_bytes()].concat()
}

fn corrupt(key: &[u8], e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    }
}

impl Store {
    /// Opens (or creates) the database in `dir`; every flush is followed by an `fdatasync` of
    /// sled's data file, so what a flush returned for survives a power cut.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let mut store = Self::open_flush_only(dir)?;
        let db_path = dir.join("db");
        let db = std::fs::File::open(&db_path).map_err(|e| Durable::sync_err(&db_path, e))?;
        store.sync = Some(std::sync::Arc::new(Durable {
            db,
            db_path,
            blobs: dir.join("blobs"),
            synced: std::sync::Mutex::new(std::collections::HashMap::new()),
            blobs_synced: std::sync::atomic::AtomicU64::new(0),
        }));
        Ok(store)
    }

    /// Blob files (sled's files for large values) synced since opening.
    pub fn blobs_synced(&self) -> u64 {
        self.sync
            .as_ref()
            .map_or(0, |d| d.blobs_synced.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Opens the database without the `fdatasync` after each flush: survives a process crash,
    /// not a power cut. For measuring what durability costs, and for tests.
    pub fn open_flush_only(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir).cache_capacity(256 << 20).open()?;
        let tree = db.open_tree("ledger")?;
        Ok(Store { db, tree, sync: None })
    }

    /// Makes what was written durable: the blob files (written when the batch was applied) are
    /// synced before sled's flush writes the records that point at them, then again for any
    /// written meanwhile, then sled's data file is `fdatasync`ed.
    fn flush(&self) -> Result<(), StoreError> {
        if let Some(d) = &self.sync {
            d.sync_blobs()?;
        }
        self.db.flush()?;
        if let Some(d) = &self.sync {
            d.sync_blobs()?;
            d.db.sync_data().map_err(|e| Durable::sync_err(&d.db_path, e))?;
        }
        Ok(())
    }

    fn get_u64(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        match self.tree.get(key)? {
            None => Ok(None),
            Some(v) => {
                let arr: [u8; 8] = v.as_ref().try_into().map_err(|e| corrupt(key, e))?;
                Ok(Some(u64::from_be_bytes(arr)))
            }
        }
    }

    /// Height of the last committed block (`None` before genesis is written).
    pub fn height(&self) -> Result<Option<Height>, StoreError> {
        Ok(self.get_u64(HEIGHT)?.map(Height))
    }

    /// The newest state-tree version (heights with no state change write none).
    pub fn state_version(&self) -> Result<Option<u64>, StoreError> {
        self.get_u64(STATE_VERSION)
    }

    /// The genesis file's digest this store was created with.
    pub fn genesis_digest(&self) -> Result<Option<Hash>, StoreError> {
        match self.tree.get(GENESIS)? {
            None => Ok(None),
            Some(v) => Ok(Some(Hash(
                v.as_ref().try_into().map_err(|e| corrupt(GENESIS, e))?,
            ))),
        }
    }

    /// Writes the genesis block and state (once).
    pub fn init_genesis(
        &self,
        genesis_digest: Hash,
        header: &BlockHeader,
        execution: &Execution,
    ) -> Result<(), StoreError> {
        let block = Block {
            header: header.clone(),
            body: schemas::ledger::BlockBody { transactions: vec![] },
        };
        let cert = CommitCertificate {
            height: Height(0),
            block_hash: schemas::codec::Canonical::digest(header),
            signatures: vec![],
        };
        let mut batch = self.block_batch(&block, &cert, execution, 0);
        batch.insert(GENESIS, &genesis_digest.0[..]);
        self.tree.apply_batch(batch)?;
        self.flush()?;
        Ok(())
    }

    fn block_batch(&self, block: &Block, cert: &CommitCertificate, ex: &Execution, h: u64) -> sled::Batch {
        let mut batch = sled::Batch::default();
        batch.insert(height_key(b"b/", h), encode(block));
        // The header alone too: reads need it, and decoding a whole block parses every key in it.
        batch.insert(height_key(b"h/", h), encode(&block.header));
        batch.insert(height_key(b"c/", h), encode(cert));
        if let Some(tree) = &ex.tree {
            for (k, n) in tree.node_batch.nodes() {
                let key = [
                    b"n/".as_slice(),
                    &borsh::to_vec(k).expect("borsh into a Vec cannot fail"),
                ]
                .concat();
                batch.insert(key, borsh::to_vec(n).expect("borsh into a Vec cannot fail"));
            }
            for ((version, key_hash), v) in tree.node_batch.values() {
                let key = [b"v/".as_slice(), &key_hash.0, &version.to_be_bytes()].concat();
                batch.insert(key, borsh::to_vec(v).expect("borsh into a Vec cannot fail"));
            }
        }
        // The version the execution wrote (versions count state changes, not heights).
        let version = match (&ex.tree, ex.version) {
            (Some(_), Some(v)) => Some(v),
            _ => self.state_version().ok().flatten(),
        };
        if let (Some(_), Some(v)) = (&ex.tree, version) {
            batch.insert(STATE_VERSION, &v.to_be_bytes());
        }
        if let Some(v) = version {
            batch.insert(height_key(b"s/", h), &v.to_be_bytes());
        }
        batch.insert(HEIGHT, &h.to_be_bytes());
        batch
    }

    /// Commits a block with its certificate and executed state, atomically, and flushes.
    pub fn commit(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        execution: &Execution,
    ) -> Result<(), StoreError> {
        let h = block.header.height.0;
        self.tree
            .apply_batch(self.block_batch(block, cert, execution, h))?;
        self.flush()?;
        Ok(())
    }

    /// The block at `height` with its certificate.
    pub fn block(&self, height: u64) -> Result<Option<(Block, CommitCertificate)>, StoreError> {
        self.with_certificate(b"b/", height)
    }

    /// The value at `prefix/height` with the certificate of that height, decoded.
    fn with_certificate<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
        height: u64,
    ) -> Result<Option<(T, CommitCertificate)>, StoreError> {
        let vk = height_key(prefix, height);
        let ck = height_key(b"c/", height);
        let (Some(v), Some(c)) = (self.tree.get(&vk)?, self.tree.get(&ck)?) else {
            return Ok(None);
        };
        Ok(Some((
            decode(&v).map_err(|e| corrupt(&vk, e))?,
            decode(&c).map_err(|e| corrupt(&ck, e))?,
        )))
    }

    /// The latest committed header with its certificate.
    pub fn latest(&self) -> Result<Option<(BlockHeader, CommitCertificate)>, StoreError> {
        let Some(h) = self.height()? else { return Ok(None) };
        self.header(h.0)
    }

    /// The header at `height` with its certificate (without the block's transactions).
    pub fn header(&self, height: u64) -> Result<Option<(BlockHeader, CommitCertificate)>, StoreError> {
        self.with_certificate(b"h/", height)
    }

    /// Appends consensus-log entries and flushes (before the votes they record are sent).
    pub fn append_log(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut next = self.get_u64(LOG_NEXT)?.unwrap_or(0);
        let mut batch = sled::Batch::default();
        for e in entries {
            batch.insert(height_key(b"l/", next), encode(e));
            next += 1;
        }
        batch.insert(LOG_NEXT, &next.to_be_bytes());
        self.tree.apply_batch(batch)?;
        self.flush()?;
        Ok(())
    }

    /// The consensus log (votes, prepared certificates, stable checkpoints) in order.
    pub fn log(&self) -> Result<Vec<LogEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(b"l/") {
            let (k, v) = item?;
            out.push(decode(&v).map_err(|e| corrupt(&k, e))?);
        }
        Ok(out)
    }

    /// Drops log entries about sequence numbers at or below a stable checkpoint `seq`: consensus
    /// never looks below its low watermark again. View-change and new-view messages are kept
    /// only for the newest view.
    pub fn compact_log(&self, seq: u64) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let mut newest_view = 0;
        let mut entries = Vec::new();
        for item in self.tree.scan_prefix(b"l/") {
            let (k, v) = item?;
            let e: LogEntry = decode(&v).map_err(|e| corrupt(&k, e))?;
            if let LogEntry::Sent(m) = &e {
                newest_view = newest_view.max(message_view(&m.message));
            }
            entries.push((k, e));
        }
        let mut latest_stable = None;
        for (k, e) in &entries {
            let drop = match e {
                LogEntry::Sent(m) => match message_seq(&m.message) {
                    Some(s) => s <= seq,
                    None => message_view(&m.message) < newest_view,
                },
                LogEntry::Prepared(cert) => match &cert.pre_prepare.message {
                    pbft::Message::PrePrepare { seq: s, .. } => s.0 <= seq,
                    _ => true,
                },
                LogEntry::Stable(p) => {
                    if let Some((old, _)) = latest_stable.replace((k.clone(), p.seq)) {
                        batch.remove(old);
                    }
                    false
                }
                LogEntry::Committed(..) => true,
            };
            if drop {
                batch.remove(k.clone());
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// The values of `keys` (or their absence) in the latest committed state, with proofs, the
    /// header whose state root they prove against, and its certificate.
    pub fn read(&self, keys: &[Vec<u8>]) -> Result<LedgerProof, StoreError> {
        let height = self.height()?.ok_or_else(|| StoreError::Corrupt {
            key: "m/height".into(),
            reason: "no block committed yet".into(),
        })?;
        self.read_at(keys, height.0)
    }

    /// Like [`Store::read`], at the committed block `height` (every state version is kept).
    pub fn read_at(&self, keys: &[Vec<u8>], height: u64) -> Result<LedgerProof, StoreError> {
        let (header, certificate) = self.header(height)?.ok_or_else(|| StoreError::Corrupt {
            key: format!("h/{height}"),
            reason: "no block at this height".into(),
        })?;
        let vk = height_key(b"s/", height);
        let version = self
            .get_u64(&vk)?
            .ok_or_else(|| corrupt(&vk, "missing state version"))?;
        let tree = StateTree::new(self);
        let state = keys
            .iter()
            .map(|k| tree.get_with_proof(k, version))
            .collect::<Result<Vec<StateProof>, _>>()?;
        Ok(LedgerProof {
            header,
            certificate,
            state,
        })
    }

    /// The certified validator-set changes that took effect after epoch `after`, oldest
    /// first, at most [`MAX_SET_CHANGES_PER_READ`]: for each, the last block the outgoing set
    /// certified, with a proof of the `validators` key there (the incoming set, which the
    /// state records from the block that committed the change on). `genesis` is the epoch-0
    /// set. A light client checks each against the set before it, so a node can withhold
    /// changes (the client's next read then fails) but never invent one.
    ///
    /// The blocks a set certified form one run of heights, so each change is found by a binary
    /// search over headers: about log2(height) header reads per change.
    pub fn set_changes(&self, genesis: &ValidatorSet, after: u64) -> Result<Vec<LedgerProof>, StoreError> {
        let Some(latest) = self.height()?.map(|h| h.0) else {
            return Ok(Vec::new());
        };
        let names = |height: u64| -> Result<Hash, StoreError> {
            self.header(height)?
                .map(|(h, _)| h.validator_set_hash)
                .ok_or_else(|| corrupt(&height_key(b"h/", height), "missing header"))
        };
        let (mut set, mut low) = (genesis.digest(), 0);
        let mut out = Vec::new();
        while names(latest)? != set && out.len() < MAX_SET_CHANGES_PER_READ {
            // names(low) == set and names(high) != set: find the last height `set` certified.
            let mut high = latest;
            while high - low > 1 {
                let mid = low + (high - low) / 2;
                if names(mid)? == set { low = mid } else { high = mid }
            }
            let proof = self.read_at(&[state_keys::VALIDATORS.to_vec()], low)?;
            let next: ValidatorSet = proof.state[0]
                .value
                .as_ref()
                .map(|v| decode(&v.0))
                .transpose()
                .map_err(|e| corrupt(state_keys::VALIDATORS, e))?
                .ok_or_else(|| corrupt(state_keys::VALIDATORS, "no validator set in state"))?;
            if next.digest() != names(high)? {
                return Err(corrupt(
                    &height_key(b"h/", high),
                    "the block after a set's last names neither it nor the set the state records",
                ));
            }
            if next.epoch > after {
                out.push(proof);
            }
            (set, low) = (next.digest(), high);
        }
        Ok(out)
    }

    /// The values of `keys` in the latest committed state, without proofs, and the height they
    /// were read at (for reads whose answer is checked another way).
    pub fn values(&self, keys: &[Vec<u8>]) -> Result<(u64, Vec<Value>), StoreError> {
        let Some(height) = self.height()? else {
            return Ok((0, vec![None; keys.len()]));
        };
        let vk = height_key(b"s/", height.0);
        let version = self
            .get_u64(&vk)?
            .ok_or_else(|| corrupt(&vk, "missing state version"))?;
        let values = keys
            .iter()
            .map(|k| {
                jstore::TreeReader::get_value_option(self, version, schemas::state::state_key_hash(k))
                    .map_err(|e| corrupt(k, e))
            })
            .collect::<Result<_, _>>()?;
        Ok((height.0, values))
    }

    /// Bytes on disk (approximate).
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

fn message_seq(m: &pbft::Message) -> Option<u64> {
    match m {
        pbft::Message::PrePrepare { seq, .. }
        | pbft::Message::Prepare { seq, .. }
        | pbft::Message::Commit { seq, .. }
        | pbft::Message::Checkpoint { seq, .. } => Some(seq.0),
        _ => None,
    }
}

fn message_view(m: &pbft::Message) -> u64 {
    match m {
        pbft::Message::PrePrepare { view, .. }
        | pbft::Message::Prepare { view, .. }
        | pbft::Message::Commit { view, .. }
        | pbft::Message::NewView { view, .. } => view.0,
        pbft::Message::ViewChange { new_view, .. } => new_view.0,
        _ => 0,
    }
}

fn anyhow_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::msg(e.to_string())
}

impl jstore::TreeReader for Store {
    fn get_node_option(&self, node_key: &jstore::NodeKey) -> anyhow::Result<Option<jstore::Node>> {
        let key = [b"n/".as_slice(), &borsh::to_vec(node_key).map_err(anyhow_err)?].concat();
        match self.tree.get(&key).map_err(anyhow_err)? {
            None => Ok(None),
            Some(v) => Ok(Some(borsh::from_slice(&v).map_err(anyhow_err)?)),
        }
    }

    fn get_value_option(
        &self,
        max_version: u64,
        key_hash: jstore::KeyHash,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let start = [b"v/".as_slice(), &key_hash.0, &0u64.to_be_bytes()].concat();
        let end = [b"v/".as_slice(), &key_hash.0, &max_version.to_be_bytes()].concat();
        match self.tree.range(start..=end).next_back() {
            None => Ok(None),
            Some(item) => {
                let (_, v) = item.map_err(anyhow_err)?;
                let value: Option<Vec<u8>> = borsh::from_slice(&v).map_err(anyhow_err)?;
                Ok(value)
            }
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(jstore::NodeKey, jstore::LeafNode)>> {
        // Only jmt's restore path asks; a scan is fine.
        let mut best: Option<(jstore::NodeKey, jstore::LeafNode)> = None;
        for item in self.tree.scan_prefix(b"n/") {
            let (k, v) = item.map_err(anyhow_err)?;
            if let jstore::Node::Leaf(leaf) = borsh::from_slice::<jstore::Node>(&v).map_err(anyhow_err)?
                && best.as_ref().is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
            {
                best = Some((borsh::from_slice(&k[2..]).map_err(anyhow_err)?, leaf));
            }
        }
        Ok(best)
    }
}

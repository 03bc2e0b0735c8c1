//! The setup ceremony's files, beside the ledger: a contributor uploads its file to the nodes
//! before sending its contribution, each node checks it point by point against the file it
//! extends and serves it to anyone who verifies the transcript. The ledger records each file's
//! digest, in order (`rules::ceremony`).
//!
//! Invariants:
//! - a stored file decoded with every point checked, belongs to a ceremony approved on the
//!   ledger, names a contributor the plan admits, and was checked against its predecessor
//!   ([`zk::ceremony::verify_contribution`]) when the predecessor is the initial powers or a file
//!   stored here; the one exception is a circuit's first contribution, whose predecessor is
//!   derived from the final powers (about a minute of CPU: `credctl governance ceremony
//!   verify` does it);
//! - files are named by their digest and never replaced; at most [`MAX_CEREMONY_FILES`].

use crate::store::Store;
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{CeremonyContribution, CeremonyRecord, Governance, state_keys};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zk::ceremony::{File, verify_contribution};

/// Most ceremony files a node keeps (a phase-1 file of `MAX_POWER` is about 12.6 MB).
pub const MAX_CEREMONY_FILES: usize = 256;

/// Why an upload is refused (the API maps each to a status).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The bytes are not a valid contribution file.
    #[error("{0}")]
    Invalid(String),
    /// The ceremony, or the file it extends, is not known here.
    #[error("{0}")]
    Unknown(String),
    /// The node keeps no more files.
    #[error("this node keeps {MAX_CEREMONY_FILES} ceremony files already (MAX_CEREMONY_FILES)")]
    Full,
    /// Reading the ledger or the disk failed.
    #[error("{0}")]
    Io(String),
}

/// What a kept file says of itself, beside it (`<digest>.meta`): a `Contribute` transaction is
/// admitted only if it says the same, so the heads and proofs the ledger records are the file's.
#[derive(Serialize, Deserialize, PartialEq, Eq, Debug)]
struct Meta {
    ceremony: String,
    circuit: String,
    index: u32,
    previous: Hash,
    contributor: String,
    #[serde(with = "schemas::bytes::variable")]
    heads: Vec<u8>,
    #[serde(with = "schemas::bytes::variable")]
    proof: Vec<u8>,
}

/// The folder of ceremony files.
pub struct CeremonyFiles {
    dir: PathBuf,
}

impl CeremonyFiles {
    /// The files under `data_dir/ceremony` (created on the first upload).
    pub fn new(data_dir: &Path) -> Self {
        CeremonyFiles {
            dir: data_dir.join("ceremony"),
        }
    }

    fn path(&self, digest: &Hash) -> PathBuf {
        self.dir.join(digest.to_hex())
    }

    /// Whether the file is here.
    pub fn has(&self, digest: &Hash) -> bool {
        self.path(digest).is_file()
    }

    /// The file's bytes, if here.
    pub fn get(&self, digest: &Hash) -> Result<Option<Vec<u8>>, FileError> {
        match std::fs::read(self.path(digest)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FileError::Io(format!("reading ceremony file {digest}: {e}"))),
        }
    }

    fn count(&self) -> usize {
        std::fs::read_dir(&self.dir).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().contains('.'))
                .count()
        })
    }

    /// Whether `sender`'s contribution `c` is the file this node kept under `c.file`: same
    /// ceremony, chain, index, predecessor, contributor, heads and proofs. The error says what
    /// differs (or that the file is not here).
    pub fn matches(&self, c: &CeremonyContribution, sender: &Did) -> Result<(), String> {
        let missing = || {
            format!(
                "this node does not hold ceremony file {}; upload it first (POST /v1/ceremony/files)",
                c.file
            )
        };
        let meta =
            std::fs::read(self.dir.join(format!("{}.meta", c.file.to_hex()))).map_err(|_| missing())?;
        let meta: Meta = serde_json::from_slice(&meta).map_err(|_| missing())?;
        let claimed = Meta {
            ceremony: c.ceremony.clone(),
            circuit: c.circuit.clone(),
            index: c.index,
            previous: c.previous,
            contributor: sender.to_string(),
            heads: c.heads.clone(),
            proof: c.proof.clone(),
        };
        if meta != claimed {
            return Err(format!(
                "the contribution does not say what its file {} says (ceremony, chain, index, predecessor, contributor, heads and proofs must be the file's)",
                c.file
            ));
        }
        Ok(())
    }

    /// Checks and keeps an uploaded file; returns its digest. Blocking (decoding and checking a
    /// file takes a second or two): call it from a blocking task.
    pub fn put(&self, store: &Store, bytes: &[u8]) -> Result<Hash, FileError> {
        let file = File::from_bytes(bytes).map_err(|e| FileError::Invalid(e.to_string()))?;
        let digest = zk::ceremony::file_digest(bytes);
        if self.has(&digest) {
            return Ok(digest);
        }
        if file.index == 0 {
            return Err(FileError::Invalid(
                "an initial state is computed from the powers or the plan, not uploaded; upload contributions".into(),
            ));
        }
        let read = |key: Vec<u8>| -> Result<Option<Vec<u8>>, FileError> {
            let proof = store.read(&[key]).map_err(|e| FileError::Io(e.to_string()))?;
            Ok(proof.state.into_iter().next().and_then(|p| p.value).map(|v| v.0))
        };
        let decode_err = |e: schemas::codec::CodecError| FileError::Io(e.to_string());
        let record: CeremonyRecord = match read(state_keys::ceremony(&file.ceremony))? {
            Some(v) => schemas::codec::decode(&v).map_err(decode_err)?,
            None => {
                return Err(FileError::Unknown(format!(
                    "no ceremony {:?} is approved on the ledger",
                    file.ceremony
                )));
            }
        };
        let plan = &record.plan;
        if file.power != plan.power || !(file.circuit.is_empty() || plan.circuits.contains(&file.circuit)) {
            return Err(FileError::Invalid(format!(
                "the file is for power {} and circuit {:?}; ceremony {} has power {} and circuits {:?}",
                file.power, file.circuit, plan.id, plan.power, plan.circuits
            )));
        }
        let governance: Governance = match read(state_keys::GOVERNANCE.to_vec())? {
            Some(v) => schemas::codec::decode(&v).map_err(decode_err)?,
            None => return Err(FileError::Io("the state has no governance record".into())),
        };
        let admitted = governance
            .members
            .iter()
            .any(|m| m.did.to_string() == file.contributor)
            || plan
                .contributors
                .iter()
                .any(|d| d.to_string() == file.contributor);
        if !admitted {
            return Err(FileError::Invalid(format!(
                "{} is neither a governance member nor a contributor ceremony {} admits",
                file.contributor, plan.id
            )));
        }
        if self.count() >= MAX_CEREMONY_FILES {
            return Err(FileError::Full);
        }
        let previous = if file.circuit.is_empty() && file.index == 1 {
            Some(
                File::initial_powers(&file.ceremony, file.power)
                    .map_err(|e| FileError::Invalid(e.to_string()))?,
            )
        } else {
            match self.get(&file.previous)? {
                Some(b) => {
                    Some(File::from_bytes(&b).map_err(|e| FileError::Io(format!("a stored file: {e}")))?)
                }
                None if !file.circuit.is_empty() && file.index == 1 => None,
                None => {
                    return Err(FileError::Unknown(format!(
                        "the file extends {}, which this node does not hold; upload that one first",
                        file.previous
                    )));
                }
            }
        };
        if let Some(previous) = previous {
            verify_contribution(&previous, &file, &mut rand_core::OsRng).map_err(|e| {
                FileError::Invalid(format!("contribution {} of {}: {e}", file.index, file.ceremony))
            })?;
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| FileError::Io(format!("creating {}: {e}", self.dir.display())))?;
        let meta = Meta {
            ceremony: file.ceremony.clone(),
            circuit: file.circuit.clone(),
            index: file.index,
            previous: file.previous,
            contributor: file.contributor.clone(),
            heads: file.heads().to_bytes(),
            proof: file.proof.as_ref().map(|p| p.to_bytes()).unwrap_or_default(),
        };
        let meta = serde_json::to_vec(&meta).map_err(|e| FileError::Io(e.to_string()))?;
        // The description first: a file is held (and counted) only once both are written.
        schemas::file::write_private(&self.dir.join(format!("{}.meta", digest.to_hex())), &meta)
            .map_err(|e| FileError::Io(format!("writing ceremony file {digest}: {e}")))?;
        schemas::file::write_private(&self.path(&digest), bytes)
            .map_err(|e| FileError::Io(format!("writing ceremony file {digest}: {e}")))?;
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips() {
        let m = Meta {
            ceremony: "t".into(),
            circuit: String::new(),
            index: 1,
            previous: Hash([1; 32]),
            contributor: "did:credence:x".into(),
            heads: vec![1, 2],
            proof: vec![3],
        };
        let bytes = serde_json::to_vec(&m).expect("encodes");
        let back: Result<Meta, _> = serde_json::from_slice(&bytes);
        assert_eq!(
            back.map_err(|e| e.to_string()),
            Ok(m),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

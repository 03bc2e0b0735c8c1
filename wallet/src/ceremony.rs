//! Taking part in the consortium's Groth16 setup ceremony and checking it (`zk::ceremony` does
//! the mathematics; the ledger orders the contributions; the nodes keep the files).
//!
//! A contributor reads the ceremony from the ledger (verified), fetches the file its chain ends
//! with (or computes the initial one), contributes with fresh randomness (wiped when done),
//! uploads the file to the node and sends the contribution. Anyone verifies the whole transcript
//! from the ledger's record and the files, from the initial powers to the registered keys.

use crate::ledger::{Ledger, LedgerError};
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{
    CeremonyChain, CeremonyContribution, CeremonyPlan, CeremonyRecord, ProposalRecord, TxPayload,
    VerifyingKeyRecord, state_keys,
};
use schemas::sm2::SecretKey;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zk::ceremony::{CeremonyError, File, FileKind, verify_contribution};
use zk::unlinkable::{CircuitShape, ProvingKey, VerifyingKey};

/// Why a ceremony step could not be taken or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Reading or writing the ledger failed, or it refused the step.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A file or a contribution fails its checks.
    #[error("{0}")]
    Ceremony(#[from] CeremonyError),
    /// The ceremony, a chain or a file is not where it should be.
    #[error("{0}")]
    State(String),
    /// A node served a file whose digest is not the one the ledger records.
    #[error("the node served {found} for ceremony file {expected}: it is not the recorded file")]
    WrongFile {
        /// The recorded digest.
        expected: Hash,
        /// The digest of what came.
        found: Hash,
    },
    /// The local file cache.
    #[error("the ceremony file cache {path}: {reason}")]
    Cache {
        /// The path.
        path: String,
        /// What failed.
        reason: String,
    },
    /// The keys a finished chain ends with fail their checks.
    #[error("the ceremony's keys: {0}")]
    Keys(#[from] zk::ZkError),
}

/// A contribution made and recorded.
#[derive(Debug, Clone)]
pub struct Contributed {
    /// Its position in the chain.
    pub index: u32,
    /// Its file's digest.
    pub file: Hash,
    /// Its file's size in bytes.
    pub bytes: usize,
    /// Time spent computing it.
    pub compute: Duration,
    /// Time spent deriving the circuit's initial parameters (a circuit's first contribution).
    pub derive: Duration,
    /// The block that recorded it.
    pub height: u64,
}

/// What [`Setup::verify`] checked.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    /// One line per chain: its contributors, and the time its checks took.
    pub lines: Vec<String>,
    /// Every chain's contributions, all checked.
    pub contributions: usize,
    /// Total bytes of the files checked.
    pub bytes: usize,
}

/// A ceremony seen from one party: its ledger connection and a folder caching files by digest.
pub struct Setup<'a> {
    ledger: &'a Ledger,
    dir: PathBuf,
}

/// Which chain: `None` for the powers of tau, `Some(circuit)` for a circuit's.
pub type Chain<'c> = Option<&'c str>;

impl<'a> Setup<'a> {
    /// A party on `ledger` that caches files in `dir`.
    pub fn new(ledger: &'a Ledger, dir: impl Into<PathBuf>) -> Self {
        Setup {
            ledger,
            dir: dir.into(),
        }
    }

    /// Proposes a ceremony (a governance member); returns the proposal.
    pub async fn propose(&self, member: &SecretKey, plan: CeremonyPlan) -> Result<Hash, SetupError> {
        let (hash, _) = self
            .ledger
            .submit(member, &[], TxPayload::StartCeremony { plan })
            .await?;
        Ok(hash)
    }

    /// The ceremony as the ledger records it (verified).
    pub async fn record(&self, id: &str) -> Result<CeremonyRecord, SetupError> {
        let key = state_keys::ceremony(id);
        let (_, facts) = self.ledger.read(vec![key.clone()]).await?;
        facts
            .get::<CeremonyRecord>(&key, "the ceremony")?
            .ok_or_else(|| SetupError::State(format!("no ceremony {id:?} is approved on the ledger")))
    }

    fn cached(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn cache_error(&self, e: impl std::fmt::Display) -> SetupError {
        SetupError::Cache {
            path: self.dir.display().to_string(),
            reason: e.to_string(),
        }
    }

    /// The file with `digest`: from the cache, or from the node (its digest checked).
    pub async fn file(&self, digest: &Hash) -> Result<File, SetupError> {
        Ok(self.fetch(digest).await?.0)
    }

    /// [`Setup::file`] with the file's size in bytes.
    async fn fetch(&self, digest: &Hash) -> Result<(File, usize), SetupError> {
        let path = self.cached(&format!("{}.setup", digest.to_hex()));
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(_) => {
                let b = self
                    .ledger
                    .client
                    .ceremony_file(digest)
                    .await
                    .map_err(LedgerError::from)?;
                let found = zk::ceremony::file_digest(&b);
                if &found != digest {
                    return Err(SetupError::WrongFile {
                        expected: *digest,
                        found,
                    });
                }
                std::fs::create_dir_all(&self.dir).map_err(|e| self.cache_error(e))?;
                crate::keystore::write_atomic(&path, &b).map_err(|e| self.cache_error(e))?;
                b
            }
        };
        if &zk::ceremony::file_digest(&bytes) != digest {
            return Err(self.cache_error(format!(
                "{} is not the file it is named after; delete it",
                path.display()
            )));
        }
        let file = tokio::task::block_in_place(|| File::from_bytes(&bytes))?;
        Ok((file, bytes.len()))
    }

    /// A circuit's initial parameters, derived from the final powers of tau (cached: deriving
    /// takes about a minute).
    pub async fn initial_circuit(&self, record: &CeremonyRecord, circuit: &str) -> Result<File, SetupError> {
        let last = record
            .powers
            .contributions
            .last()
            .ok_or_else(|| SetupError::State("the powers of tau have no contribution yet".into()))?;
        let shape = CircuitShape::from_id(circuit)
            .ok_or_else(|| SetupError::State(format!("unknown circuit {circuit:?}")))?;
        let path = self.cached(&format!("initial-{circuit}-{}.setup", last.file.to_hex()));
        if let Ok(bytes) = std::fs::read(&path)
            && let Ok(f) = tokio::task::block_in_place(|| File::from_bytes(&bytes))
            && f.previous == last.file
            && f.circuit == circuit
            && f.index == 0
        {
            return Ok(f);
        }
        let powers = self.file(&last.file).await?;
        let f = tokio::task::block_in_place(|| File::initial_circuit(&powers, shape))?;
        std::fs::create_dir_all(&self.dir).map_err(|e| self.cache_error(e))?;
        crate::keystore::write_atomic(&path, &f.to_bytes()).map_err(|e| self.cache_error(e))?;
        Ok(f)
    }

    /// The state a chain ends with now: its last file, or its initial state.
    async fn head(&self, record: &CeremonyRecord, chain: Chain<'_>) -> Result<(File, Duration), SetupError> {
        let (steps, _) = pick(record, chain)?;
        let t = Instant::now();
        match (steps.contributions.last(), chain) {
            (Some(last), _) => Ok((self.file(&last.file).await?, Duration::ZERO)),
            (None, None) => Ok((
                File::initial_powers(&record.plan.id, record.plan.power)?,
                Duration::ZERO,
            )),
            (None, Some(c)) => {
                let f = self.initial_circuit(record, c).await?;
                Ok((f, t.elapsed()))
            }
        }
    }

    /// Contributes to a chain as `contributor`: computes the next file from the chain's last,
    /// uploads it to the node and records it on the ledger. `progress` is told the fraction
    /// of the computation done.
    pub async fn contribute(
        &self,
        contributor: &SecretKey,
        id: &str,
        chain: Chain<'_>,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Contributed, SetupError> {
        let record = self.record(id).await?;
        let (previous, derive) = self.head(&record, chain).await?;
        let did = Did::from_public_key(contributor.public_key());
        let t = Instant::now();
        let next = tokio::task::block_in_place(|| {
            previous.contribute(&did.to_string(), &mut rand_core::OsRng, progress)
        })?;
        let compute = t.elapsed();
        let bytes = next.to_bytes();
        let size = bytes.len();
        let file = self
            .ledger
            .client
            .put_ceremony_file(bytes)
            .await
            .map_err(LedgerError::from)?;
        let contribution = CeremonyContribution {
            ceremony: id.to_owned(),
            circuit: chain.unwrap_or_default().to_owned(),
            index: next.index,
            previous: next.previous,
            file,
            heads: next.heads().to_bytes(),
            proof: next.proof.as_ref().map(|p| p.to_bytes()).unwrap_or_default(),
        };
        let (_, receipt) = self
            .ledger
            .submit(contributor, &[], TxPayload::Contribute { contribution })
            .await?;
        Ok(Contributed {
            index: next.index,
            file,
            bytes: size,
            compute,
            derive,
            height: receipt.height.0,
        })
    }

    /// The keys a circuit's chain ends with now (from its last file).
    pub async fn keys(&self, id: &str, circuit: &str) -> Result<(ProvingKey, VerifyingKey), SetupError> {
        let record = self.record(id).await?;
        let (steps, _) = pick(&record, Some(circuit))?;
        let last = steps
            .contributions
            .last()
            .ok_or_else(|| SetupError::State(format!("circuit {circuit} has no contribution yet")))?;
        let file = self.file(&last.file).await?;
        keys_of(&file, record.plan.version)
    }

    /// Proposes registering the key a circuit's chain ends with (a governance member; the quorum
    /// approves with [`Setup::approve_finish`], which verifies the transcript first). Returns the
    /// proposal and the keys.
    pub async fn propose_finish(
        &self,
        member: &SecretKey,
        id: &str,
        circuit: &str,
    ) -> Result<(Hash, ProvingKey, VerifyingKey), SetupError> {
        let (pk, vk) = self.keys(id, circuit).await?;
        let (hash, _) = self
            .ledger
            .submit(
                member,
                &[],
                TxPayload::FinishCeremony {
                    ceremony: id.to_owned(),
                    circuit: circuit.to_owned(),
                    key: vk.to_bytes(),
                },
            )
            .await?;
        Ok((hash, pk, vk))
    }

    /// The finish `proposal` names a ceremony whose whole transcript verifies and whose chain
    /// ends with exactly the proposed key: what a member checks before approving it. Returns the
    /// verification.
    pub async fn check_finish(
        &self,
        proposal: &Hash,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Verified, SetupError> {
        let key = state_keys::proposal(proposal);
        let (_, facts) = self.ledger.read(vec![key.clone()]).await?;
        let record: ProposalRecord = facts
            .get(&key, "the proposal")?
            .ok_or_else(|| SetupError::State(format!("no proposal {proposal}")))?;
        let TxPayload::FinishCeremony {
            ceremony,
            circuit,
            key,
        } = &record.tx.tx.payload
        else {
            return Err(SetupError::State(format!(
                "proposal {proposal} does not finish a ceremony"
            )));
        };
        // What the key rests on: the powers of tau and this circuit's chain (another circuit's
        // chain is checked when its own finish is approved).
        let verified = self.verify_chains(ceremony, Some(circuit), progress).await?;
        let (_, vk) = self.keys(ceremony, circuit).await?;
        if &vk.to_bytes() != key {
            return Err(SetupError::State(format!(
                "proposal {proposal} registers a key for {circuit} that is not the one the transcript ends with"
            )));
        }
        Ok(verified)
    }

    /// Approves a finish after [`Setup::check_finish`]; returns the verification and the block.
    pub async fn approve_finish(
        &self,
        member: &SecretKey,
        proposal: Hash,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(Verified, u64), SetupError> {
        let verified = self.check_finish(&proposal, progress).await?;
        let (_, receipt) = self
            .ledger
            .submit(member, &[], TxPayload::Approve { proposal })
            .await?;
        Ok((verified, receipt.height.0))
    }

    /// Verifies the whole transcript: each chain from its initial state (the initial powers;
    /// for a circuit, the parameters derived from the final powers) through every recorded
    /// contribution, file by file, point by point; that each file is the one the ledger
    /// recorded, by the contributor it recorded; and that a registered key is the one the
    /// chain's last file holds. `progress` is told each step.
    pub async fn verify(&self, id: &str, progress: &(dyn Fn(&str) + Sync)) -> Result<Verified, SetupError> {
        self.verify_chains(id, None, progress).await
    }

    /// [`Setup::verify`] for the powers of tau and one circuit's chain (`only`), or every chain.
    pub async fn verify_chains(
        &self,
        id: &str,
        only: Option<&str>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Verified, SetupError> {
        let record = self.record(id).await?;
        if let Some(c) = only
            && !record.plan.circuits.iter().any(|p| p == c)
        {
            return Err(SetupError::State(format!("ceremony {id} has no circuit {c}")));
        }
        let mut out = Verified::default();
        let mut chains: Vec<Chain<'_>> = vec![None];
        chains.extend(
            record
                .plan
                .circuits
                .iter()
                .map(|c| Some(c.as_str()))
                .filter(|c| only.is_none() || *c == only),
        );
        for chain in chains {
            let (steps, name) = pick(&record, chain)?;
            if steps.contributions.is_empty() {
                out.lines.push(format!("{name}: no contribution yet"));
                continue;
            }
            let t = Instant::now();
            let mut previous = match chain {
                None => File::initial_powers(&record.plan.id, record.plan.power)?,
                Some(c) => {
                    // Derived here, never taken from the cache: the chain's start is what pins
                    // the key's input points, so a verifier computes it itself.
                    progress(&format!(
                        "{name}: deriving the initial parameters from the final powers"
                    ));
                    let last =
                        record.powers.contributions.last().ok_or_else(|| {
                            SetupError::State("the powers of tau have no contribution".into())
                        })?;
                    let shape = CircuitShape::from_id(c)
                        .ok_or_else(|| SetupError::State(format!("unknown circuit {c:?}")))?;
                    let powers = self.file(&last.file).await?;
                    tokio::task::block_in_place(|| File::initial_circuit(&powers, shape))?
                }
            };
            for (i, step) in steps.contributions.iter().enumerate() {
                progress(&format!(
                    "{name}: checking contribution {} by {}",
                    i + 1,
                    step.contributor
                ));
                let (f, size) = self.fetch(&step.file).await?;
                if f.contributor != step.contributor.to_string() || f.previous != step.previous {
                    return Err(SetupError::State(format!(
                        "{name}: file {} names contributor {} and predecessor {}; the ledger records {} and {}",
                        step.file, f.contributor, f.previous, step.contributor, step.previous
                    )));
                }
                tokio::task::block_in_place(|| verify_contribution(&previous, &f, &mut rand_core::OsRng))
                    .map_err(|e| {
                        SetupError::State(format!(
                            "{name}: contribution {} by {}: {e}",
                            i + 1,
                            step.contributor
                        ))
                    })?;
                out.bytes += size;
                out.contributions += 1;
                previous = f;
            }
            if previous.heads().to_bytes() != steps.heads {
                return Err(SetupError::State(format!(
                    "{name}: the last file's heads are not those the ledger recorded"
                )));
            }
            let mut line = format!(
                "{name}: {} contributions verified in {:.1} s ({})",
                steps.contributions.len(),
                t.elapsed().as_secs_f64(),
                steps
                    .contributions
                    .iter()
                    .map(|s| s.contributor.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(c) = chain
                && steps.finished
            {
                let key = state_keys::verifying_key(c, record.plan.version);
                let (_, facts) = self.ledger.read(vec![key.clone()]).await?;
                let registered: VerifyingKeyRecord = facts
                    .get(&key, "the verifying key")?
                    .ok_or_else(|| SetupError::State(format!("{c}: finished, but no key is registered")))?;
                let (_, vk) = keys_of(&previous, record.plan.version)?;
                if registered.key != vk.to_bytes() {
                    return Err(SetupError::State(format!(
                        "{c}: the registered verifying key is not the one the transcript ends with"
                    )));
                }
                line.push_str(&format!(
                    "; the registered key version {} is the transcript's",
                    record.plan.version
                ));
            }
            out.lines.push(line);
        }
        Ok(out)
    }
}

fn pick<'r>(record: &'r CeremonyRecord, chain: Chain<'_>) -> Result<(&'r CeremonyChain, String), SetupError> {
    match chain {
        None => Ok((&record.powers, "powers of tau".into())),
        Some(c) => {
            let i = record.plan.circuits.iter().position(|x| x == c).ok_or_else(|| {
                SetupError::State(format!("circuit {c} is not in ceremony {}", record.plan.id))
            })?;
            Ok((&record.circuits[i], c.to_owned()))
        }
    }
}

fn keys_of(file: &File, version: u32) -> Result<(ProvingKey, VerifyingKey), SetupError> {
    let FileKind::Circuit(params) = &file.kind else {
        return Err(SetupError::State(
            "a powers-of-tau file holds no circuit keys".into(),
        ));
    };
    let shape = CircuitShape::from_id(&file.circuit)
        .ok_or_else(|| SetupError::State(format!("unknown circuit {:?}", file.circuit)))?;
    Ok(params.keys(shape, version)?)
}

//! Light-client verification: pure functions that let anyone holding only the validator set
//! trust a block header and the state it commits to, whichever node served them.
//!
//! Invariants:
//! - a certificate is accepted only with `quorum()` *distinct* members of the set, each with a
//!   valid SM2 signature over the [`CommitVote`] of exactly this header;
//! - the header must name this validator set (`validator_set_hash`), so a certificate from an
//!   old or foreign set is refused;
//! - no function here panics or allocates without bound on any input.

use crate::codec::Canonical;
use crate::hash::{Hash, domains};
use crate::ledger::{
    BlockHeader, CommitCertificate, CommitVote, Height, LedgerProof, MAX_VALIDATORS, ValidatorSet,
};
use crate::state::StateError;

/// Which check a certificate or ledger proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LightClientError {
    /// The validator set is empty or too large.
    #[error("validator set has {size} members; a valid set has 1..={MAX_VALIDATORS}")]
    InvalidValidatorSet {
        /// Its size.
        size: usize,
    },
    /// The header names another validator set.
    #[error("header names validator set {in_header}, not the trusted set {trusted}")]
    ValidatorSetMismatch {
        /// Hash in the header.
        in_header: Hash,
        /// Hash of the trusted set.
        trusted: Hash,
    },
    /// Certificate for another block.
    #[error(
        "certificate is for block {certified} at height {certified_height}, not block {header} at height {header_height}"
    )]
    BlockMismatch {
        /// Hash certified.
        certified: Hash,
        /// Height certified.
        certified_height: u64,
        /// The header's hash.
        header: Hash,
        /// The header's height.
        header_height: u64,
    },
    /// More signatures than validators.
    #[error("certificate carries {found} signatures for a set of {size}")]
    TooManySignatures {
        /// Signatures given.
        found: usize,
        /// Set size.
        size: usize,
    },
    /// A signer not in the set.
    #[error("certificate signature {position} is by a key outside the validator set")]
    UnknownSigner {
        /// Position in the certificate.
        position: usize,
    },
    /// One validator counted twice.
    #[error("validator {validator} signed the certificate more than once")]
    DuplicateSigner {
        /// Replica index.
        validator: usize,
    },
    /// A signature that does not verify.
    #[error("commit signature of validator {validator} does not verify")]
    BadSignature {
        /// Replica index.
        validator: usize,
    },
    /// Not enough distinct signatures.
    #[error("certificate has {found} valid signatures; {needed} (n - f of {size}) are needed")]
    InsufficientSignatures {
        /// Valid distinct signatures.
        found: usize,
        /// Quorum.
        needed: usize,
        /// Set size.
        size: usize,
    },
    /// A state proof failed against the certified root.
    #[error("state proof {index} failed: {source}")]
    State {
        /// Which proof.
        index: usize,
        /// Why.
        source: StateError,
    },
}

/// Checks that `cert` certifies `header` under `validators`.
pub fn verify_commit_certificate(
    header: &BlockHeader,
    cert: &CommitCertificate,
    validators: &ValidatorSet,
) -> Result<(), LightClientError> {
    let size = validators.len();
    if size == 0 || size > MAX_VALIDATORS {
        return Err(LightClientError::InvalidValidatorSet { size });
    }
    let trusted = validators.digest();
    if header.validator_set_hash != trusted {
        return Err(LightClientError::ValidatorSetMismatch {
            in_header: header.validator_set_hash,
            trusted,
        });
    }
    let vote = CommitVote::for_header(header);
    if cert.block_hash != vote.block_hash || cert.height != header.height {
        return Err(LightClientError::BlockMismatch {
            certified: cert.block_hash,
            certified_height: cert.height.0,
            header: vote.block_hash,
            header_height: header.height.0,
        });
    }
    if cert.signatures.len() > size {
        return Err(LightClientError::TooManySignatures {
            found: cert.signatures.len(),
            size,
        });
    }
    let message = vote.digest();
    let mut seen = vec![false; size];
    for (position, s) in cert.signatures.iter().enumerate() {
        let validator = validators
            .index_of(&s.public_key)
            .ok_or(LightClientError::UnknownSigner { position })?;
        if std::mem::replace(&mut seen[validator], true) {
            return Err(LightClientError::DuplicateSigner { validator });
        }
        s.public_key
            .verify(domains::COMMIT_VOTE, &message.0, &s.signature)
            .map_err(|_| LightClientError::BadSignature { validator })?;
    }
    let found = cert.signatures.len();
    let needed = validators.quorum();
    if found < needed {
        return Err(LightClientError::InsufficientSignatures { found, needed, size });
    }
    Ok(())
}

/// What a verified ledger proof certifies about when: the block it reads and that block's
/// time. The time is certified by the consensus time rule (ARCHITECTURE.md, "Time"): never
/// below its parent's, and accepted by correct validators only within their clock plus
/// `MAX_CLOCK_DRIFT_MS`, so freshness checks may rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certified {
    /// The block height the state was read at.
    pub height: Height,
    /// The block's certified time, ms since the Unix epoch.
    pub time_ms: u64,
}

/// Checks a whole ledger proof: the certificate, then every state proof against the
/// certified state root. Returns the certified height and time of the read.
pub fn verify_ledger_proof(
    proof: &LedgerProof,
    validators: &ValidatorSet,
) -> Result<Certified, LightClientError> {
    verify_commit_certificate(&proof.header, &proof.certificate, validators)?;
    for (index, p) in proof.state.iter().enumerate() {
        p.verify(&proof.header.state_root)
            .map_err(|source| LightClientError::State { index, source })?;
    }
    Ok(Certified {
        height: proof.header.height,
        time_ms: proof.header.timestamp_ms,
    })
}

//! Typed errors: each says which check failed.

/// Why proving or verifying failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZkError {
    /// Bytes that are not a canonical Ristretto point.
    #[error("commitment is not a valid Ristretto point")]
    InvalidCommitment,
    /// A value the statement or witness carries as a hash that is not a canonical BN254 field
    /// element (a proof cannot be about it).
    #[error("the {what} is not a BN254 field element")]
    NotAFieldElement {
        /// Which value.
        what: &'static str,
    },
    /// Bytes that are not a canonical scalar.
    #[error("blinding is not a canonical scalar")]
    InvalidBlinding,
    /// A value and blinding that do not open the commitment.
    #[error("the value and blinding do not open this commitment")]
    OpeningMismatch,
    /// The holder asked to prove something false.
    #[error("predicate {index} does not hold for the committed value: it cannot be proven")]
    PredicateFalse {
        /// Which predicate.
        index: usize,
    },
    /// A predicate's difference does not fit the range.
    #[error("predicate {index}: the value is too far from the bound to prove in {bits} bits")]
    OutOfRange {
        /// Which predicate.
        index: usize,
        /// Range size.
        bits: u8,
    },
    /// Nothing to prove, or too much.
    #[error("{found} predicates: between 1 and {max} can be proven in one proof")]
    PredicateCount {
        /// Given.
        found: usize,
        /// Limit.
        max: usize,
    },
    /// Range size other than 32 or 64.
    #[error("range proofs use 32 or 64 bits, not {bits}")]
    UnsupportedBits {
        /// Given.
        bits: u8,
    },
    /// Proof bytes that do not parse.
    #[error("malformed proof: {reason}")]
    MalformedProof {
        /// What was wrong.
        reason: String,
    },
    /// A well-formed proof that fails verification.
    #[error("{what} proof does not verify for this statement")]
    VerificationFailed {
        /// Which proof.
        what: &'static str,
    },
    /// The statement does not fit the circuit shape.
    #[error("statement does not fit circuit {circuit}: {reason}")]
    ShapeMismatch {
        /// Circuit id.
        circuit: String,
        /// What does not fit.
        reason: String,
    },
    /// The witness is inconsistent with the public statement (the prover would fail).
    #[error("witness does not satisfy the statement: {reason}")]
    UnsatisfiedWitness {
        /// Which part.
        reason: &'static str,
    },
    /// The credential is outside its validity period at the statement's time.
    #[error("the credential is {reason} at the request's time ({now} s since 1970; valid {from}..={until})")]
    NotValidAt {
        /// "not valid yet" or "expired".
        reason: &'static str,
        /// The statement's time.
        now: u32,
        /// Start of the validity period.
        from: u32,
        /// End of the validity period (inclusive).
        until: u32,
    },
    /// A predicate names an attribute the issuer did not attest.
    #[error("predicate {index} is on an attribute this credential does not have")]
    AttributeAbsent {
        /// Which predicate.
        index: usize,
    },
    /// Key bytes that do not parse.
    #[error("malformed {what}: {reason}")]
    MalformedKey {
        /// Which key.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Escrow bytes (a council key, a ciphertext, a dealing, a share) that do not parse.
    #[error("malformed {what}: {reason}")]
    MalformedEscrow {
        /// Which value.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A step of the council's key generation or opening that the rules refuse.
    #[error("council: {reason}")]
    Council {
        /// What was wrong.
        reason: String,
    },
    /// A decryption share whose proof does not show it was made with the member's key share.
    #[error("member {member}'s decryption share does not verify against its key share")]
    BadShare {
        /// The member it claims to be from.
        member: u16,
    },
    /// Fewer valid shares than the threshold: nothing can be opened.
    #[error("{have} valid decryption shares; opening needs {need}")]
    TooFewShares {
        /// Valid shares given.
        have: usize,
        /// The council's threshold.
        need: usize,
    },
    /// Internal failure of the proof system (a bug, reported rather than panicking).
    #[error("proof system error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

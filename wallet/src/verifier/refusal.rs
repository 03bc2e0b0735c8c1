//! Why a check refused: one typed reason per way a presentation can fail, with the values that
//! matter as fields. `Display` renders the English sentence `credctl` and the service print; a
//! front end that speaks another language renders from the serialised `code` and fields
//! instead. Tests and callers match on the variant, never on the sentence.

use schemas::ledger::AnchorMismatch;
use serde::{Deserialize, Serialize};

/// Why a check refused a presentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "kebab-case", rename_all_fields = "camelCase")]
#[non_exhaustive]
pub enum Refusal {
    // ---- the request -------------------------------------------------------------------
    /// The request's signature does not verify.
    #[error("the request: its signature does not verify: {reason}")]
    #[schema(rename_all = "camelCase")]
    RequestSignature {
        /// What the signature check found.
        reason: String,
    },
    /// The request verifies under a key that is not the named verifier's.
    #[error("the request: it is signed by a key that is not its verifier's")]
    RequestNotByItsVerifier,
    /// The presentation answers another verifier's request.
    #[error("the presentation answers a request of another verifier ({verifier})")]
    #[schema(rename_all = "camelCase")]
    AnotherVerifier {
        /// The verifier the request names.
        verifier: String,
    },
    /// This verifier made a request with that nonce, but not this one.
    #[error("the request differs from the one this verifier made with that nonce")]
    RequestAltered,
    /// This verifier never made a request with that nonce.
    #[error("this verifier never made a request with that nonce")]
    RequestNotMade,
    /// The verifier's own state could not be read or written.
    #[error("the verifier's state cannot be used: {reason}")]
    #[schema(rename_all = "camelCase")]
    VerifierState {
        /// The storage error.
        reason: String,
    },
    /// The presentation is of the other tier.
    #[error("the presentation is not of the tier the request asks for")]
    WrongTier,
    /// The request expired.
    #[error("the request expired {secs_ago} s ago")]
    #[schema(rename_all = "camelCase")]
    RequestExpired {
        /// How long ago, seconds.
        secs_ago: i64,
    },
    /// The request was made after now (beyond the clock skew allowed).
    #[error("the request was made in the future")]
    RequestFromTheFuture,
    /// The request is answerable for longer than any request may be.
    #[error("the request is answerable for longer than {max_secs} s")]
    #[schema(rename_all = "camelCase")]
    RequestLifetime {
        /// The longest lifetime, seconds.
        max_secs: i64,
    },
    /// The request was answered before.
    #[error("this request was already answered: replay refused")]
    Replay,

    // ---- the ledger proofs ---------------------------------------------------------------
    /// More ledger proofs than any presentation needs.
    #[error("the presentation carries {carried} ledger proofs; at most {max} are accepted")]
    #[schema(rename_all = "camelCase")]
    TooManyLedgerProofs {
        /// How many.
        carried: usize,
        /// The bound.
        max: usize,
    },
    /// A ledger proof does not verify against the trusted validator set.
    #[error("{reason}")]
    #[schema(rename_all = "camelCase")]
    LedgerProof {
        /// What the light client found.
        reason: String,
    },
    /// The carried proofs are older than this verifier accepts.
    #[error("the ledger proofs are {age_secs} s old; at most {max_secs} s is accepted")]
    #[schema(rename_all = "camelCase")]
    LedgerProofsTooOld {
        /// Age of the oldest, seconds.
        age_secs: i64,
        /// The bound, seconds.
        max_secs: i64,
    },
    /// A carried proof is dated ahead of this verifier's clock.
    #[error("a ledger proof is dated {ahead_secs} s ahead of this clock; at most {max_secs} s is accepted")]
    #[schema(rename_all = "camelCase")]
    LedgerProofFromTheFuture {
        /// How far ahead, seconds.
        ahead_secs: i64,
        /// The bound, seconds.
        max_secs: u64,
    },
    /// A record a check needs is not proven, or does not decode.
    #[error("{reason}")]
    #[schema(rename_all = "camelCase")]
    NotProven {
        /// What was missing or malformed.
        reason: String,
    },

    // ---- the issuer and the anchor ------------------------------------------------------
    /// The issuer is not registered.
    #[error("{issuer} is not an issuer registered on the ledger")]
    #[schema(rename_all = "camelCase")]
    IssuerNotRegistered {
        /// The issuer's DID.
        issuer: String,
    },
    /// Governance suspended the issuer.
    #[error("{name} ({issuer}) is suspended by governance")]
    #[schema(rename_all = "camelCase")]
    IssuerSuspended {
        /// Its registered name.
        name: String,
        /// Its DID.
        issuer: String,
    },
    /// The issuer may not issue this type.
    #[error("{name} is not allowed to issue {credential_type}")]
    #[schema(rename_all = "camelCase")]
    IssuerNotAllowed {
        /// Its registered name.
        name: String,
        /// The type.
        credential_type: String,
    },
    /// The request accepts other issuers only.
    #[error("{name} is not among the issuers the request accepts")]
    #[schema(rename_all = "camelCase")]
    IssuerNotAccepted {
        /// Its registered name.
        name: String,
    },
    /// A credential of another type was shown.
    #[error("a {shown} credential was shown; the request asks for {asked}")]
    #[schema(rename_all = "camelCase")]
    WrongCredentialType {
        /// The type shown.
        shown: String,
        /// The type asked for.
        asked: String,
    },
    /// The credential's batch is not anchored.
    #[error("the credential's batch is not anchored on the ledger")]
    NotAnchored,
    /// The anchored batch is not the credential's.
    #[error("{mismatch}")]
    #[schema(rename_all = "camelCase")]
    AnchorMismatch {
        /// How it differs.
        mismatch: AnchorMismatch,
    },
    /// The inclusion path does not lead to the anchored root.
    #[error("the credential is not in the anchored batch: {reason}")]
    #[schema(rename_all = "camelCase")]
    NotInBatch {
        /// What the path check found.
        reason: String,
    },
    /// No anchor of this issuer has the proof's Poseidon root (unlinkable tier).
    #[error("no anchored batch of this issuer has that Poseidon root")]
    NoAnchorWithPoseidonRoot,
    /// The anchored batch holds another type (unlinkable tier).
    #[error("the anchored batch holds {anchored} credentials; the request asks for {asked}")]
    #[schema(rename_all = "camelCase")]
    AnchoredOtherType {
        /// The anchor's type.
        anchored: String,
        /// The type asked for.
        asked: String,
    },

    // ---- what the presentation shows -----------------------------------------------------
    /// Other attributes were disclosed than the request asks for.
    #[error("disclosed [{}] but the request asks for [{}]", disclosed.join(", "), asked.join(", "))]
    #[schema(rename_all = "camelCase")]
    OtherDisclosure {
        /// Disclosed, sorted.
        disclosed: Vec<String>,
        /// Asked, sorted.
        asked: Vec<String>,
    },
    /// A disclosed or predicated attribute is not in the credential.
    #[error("`{attribute}` is not in the credential")]
    #[schema(rename_all = "camelCase")]
    NotInCredential {
        /// The attribute.
        attribute: String,
    },
    /// A disclosed value does not open its commitment.
    #[error("{reason}")]
    #[schema(rename_all = "camelCase")]
    Opening {
        /// Which attribute and why.
        reason: String,
    },
    /// The unlinkable tier discloses nothing, yet the request asks to see attributes.
    #[error("the unlinkable tier discloses nothing; the request asks to see attributes")]
    DisclosureInUnlinkableTier,
    /// A predicate proof came although no predicate was asked.
    #[error("a predicate proof was given where none was asked")]
    UnaskedPredicateProof,
    /// The predicate proof is missing.
    #[error("the predicate proof is missing")]
    MissingPredicateProof,
    /// A predicate names an attribute that is not a number.
    #[error("`{attribute}` is not a numeric attribute of the credential")]
    #[schema(rename_all = "camelCase")]
    NotNumeric {
        /// The attribute.
        attribute: String,
    },
    /// The Bulletproofs do not verify.
    #[error("the predicate proof does not verify: {reason}")]
    #[schema(rename_all = "camelCase")]
    PredicateProof {
        /// What the verifier found.
        reason: String,
    },
    /// The holder's signature does not verify.
    #[error("the holder's signature does not verify: {reason}")]
    #[schema(rename_all = "camelCase")]
    HolderSignature {
        /// What the signature check found.
        reason: String,
    },

    // ---- the unlinkable proof ------------------------------------------------------------
    /// The schema of the anchored batch is neither built in nor usable from the ledger.
    #[error("the batch's schema is not to be had: {reason}")]
    #[schema(rename_all = "camelCase")]
    SchemaUnknown {
        /// What resolving it found.
        reason: String,
    },
    /// The verifier has no registration, hence no nullifier scope.
    #[error("the verifier is not registered, so it has no nullifier scope")]
    VerifierNotRegistered,
    /// The proof is under a circuit version this verifier does not accept.
    #[error("the proof is under circuit version {version}; this verifier accepts version {accepted}")]
    #[schema(rename_all = "camelCase")]
    CircuitVersion {
        /// The version proven under.
        version: u32,
        /// The version accepted.
        accepted: u32,
    },
    /// No verifying key is registered for the circuit and version.
    #[error("no verifying key for {circuit} v{version} is registered")]
    #[schema(rename_all = "camelCase")]
    NoVerifyingKey {
        /// The circuit shape.
        circuit: String,
        /// The version.
        version: u32,
    },
    /// The proof is under a key version governance retired.
    #[error("the proof is under {circuit} key version {version}, which governance retired")]
    #[schema(rename_all = "camelCase")]
    RetiredKey {
        /// The circuit shape.
        circuit: String,
        /// The version.
        version: u32,
    },
    /// The registered verifying key does not load.
    #[error("{reason}")]
    #[schema(rename_all = "camelCase")]
    BadVerifyingKey {
        /// Why.
        reason: String,
    },
    /// The request's predicates do not fit the circuit.
    #[error("{reason}")]
    #[schema(rename_all = "camelCase")]
    CircuitPredicates {
        /// Why.
        reason: String,
    },
    /// A public input is not a field element.
    #[error("the {what} is not a field element")]
    #[schema(rename_all = "camelCase")]
    NotAFieldElement {
        /// Which input.
        what: String,
    },
    /// The verifier's scope requires the identity handle escrowed and the answer carries none.
    #[error(
        "the verifier requires the holder's identity handle escrowed to council {council}; the answer carries no escrow"
    )]
    #[schema(rename_all = "camelCase")]
    EscrowMissing {
        /// The council required.
        council: String,
    },
    /// The answer escrows to another council than the verifier's scope names, or escrows
    /// where none is asked.
    #[error("the answer escrows to council {carried}; the verifier's scope asks for {asked}")]
    #[schema(rename_all = "camelCase")]
    EscrowMismatch {
        /// The council the answer names.
        carried: String,
        /// What the scope asks ("no escrow" or a council id).
        asked: String,
    },
    /// The escrow cannot be checked: the council, its key, the ciphertext or the schema's
    /// identity handle.
    #[error("the escrow: {reason}")]
    #[schema(rename_all = "camelCase")]
    Escrow {
        /// Why.
        reason: String,
    },
    /// The request's time cannot be a circuit input.
    #[error("the request's time is outside what the circuit can take")]
    RequestTimeOutOfRange,
    /// The Groth16 proof does not verify.
    #[error("the Groth16 proof does not verify: {reason}")]
    #[schema(rename_all = "camelCase")]
    Groth16 {
        /// What the verifier found.
        reason: String,
    },

    // ---- status and validity -------------------------------------------------------------
    /// The issuer revoked the credential.
    #[error("revoked by the issuer (status list {list_id}, as of block {block})")]
    #[schema(rename_all = "camelCase")]
    Revoked {
        /// The status list.
        list_id: u32,
        /// The block the status was proven at.
        block: u64,
    },
    /// The proof is against another revocation root than the ledger's current one.
    #[error("the proof is against a revocation root that is not the ledger's current one")]
    StaleRevocationRoot,
    /// The credential's validity period has not begun.
    #[error("the credential is not valid yet")]
    NotYetValid,
    /// The credential's validity period is over.
    #[error("the credential has expired")]
    CredentialExpired,
}

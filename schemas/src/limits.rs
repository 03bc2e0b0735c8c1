//! Admission limits: the size and shape a transaction must have before any party gives it
//! further thought.
//!
//! [`check_transaction`] is the one rule, applied at every door: the node's HTTP API (before
//! the signature checks), a replica's mempool (`add_tx`, for submitted and forwarded
//! transactions alike), a backup checking a primary's batch, and the ledger state machine
//! executing a block. Because every correct party applies the same stateless rule, a
//! transaction one of them refuses is refused by all: it never enters a primary's batch, so it
//! never becomes a slot that backups refuse and that only a view change can clear.
//!
//! Invariants:
//! - the rule is stateless and deterministic: it reads only the transaction and the chain id;
//! - every string and list a transaction carries has a named bound below, and the canonical
//!   encoding as a whole is at most [`MAX_TX_BYTES`];
//! - a transaction's signatures are sorted by public key (SEC1 bytes), one per key, so the same
//!   signers give one signature list (no duplicated or reordered co-signatures).

use crate::codec::Canonical;
use crate::ledger::{
    AnchorRecord, CouncilStep, IssuerRecord, SchemaRecord, SignedTransaction, TxPayload, ValidatorSet,
    VerifierRecord, VerifyingKeyRecord,
};
use std::fmt;

/// Most bytes of a transaction's canonical encoding (with its signatures). The largest
/// legitimate transactions (a 64 KiB schema, a 256-validator set) fit with room to spare; a
/// batch holds at least eight (`MAX_BATCH_BYTES` is 1 MiB, asserted in `pbft`).
pub const MAX_TX_BYTES: usize = 128 * 1024;
/// Most signatures on one transaction (the sender, or an issuer key and its officers).
pub const MAX_SIGNATURES: usize = 16;
/// Most bytes of a chain id.
pub const MAX_CHAIN_ID: usize = 64;
/// Most characters in any text field: a name, a reason, a purpose, a credential type, an
/// attribute name, a schema id, a circuit id, a peer id or an address.
pub const MAX_TEXT: usize = 256;
/// Most entries in an officer list, a type list, a scope, a scope item's attribute lists or a
/// purpose list.
pub const MAX_LIST: usize = 64;
/// Most bytes of a published schema's JSON.
pub const MAX_SCHEMA_JSON: usize = 64 * 1024;
/// Most bytes of a verifying key.
pub const MAX_VERIFYING_KEY: usize = 16 * 1024;
/// Most status indexes one transaction revokes.
pub const MAX_REVOKE_PER_TX: usize = 4_096;
/// Circuits one setup ceremony makes keys for.
pub const MAX_CEREMONY_CIRCUITS: usize = 8;
/// Bytes of a contribution's heads or proofs of knowledge (a few compressed BN254 points).
pub const MAX_CEREMONY_POINTS: usize = 1024;
/// Most indexes one status list revokes. The indexes live in the list's fixed-size status
/// chunks (no record grows with them); this bounds the Poseidon work of rebuilding a list's
/// revocation tree (a validator after a restart, a holder before proving) and the ids a node
/// serves for one list.
pub const MAX_REVOKED_PER_LIST: usize = 1 << 20;
/// Most rejected transactions of one sender that leave a receipt since its last applied one;
/// further rejections write nothing. A key nobody registered can get nothing applied but a
/// registration, so this bounds what it writes (with [`MAX_OPEN_PROPOSALS`]).
pub const MAX_REJECTED_RECEIPTS: u32 = 64;
/// Most proposals one sender may have waiting for approvals (registrations from fresh keys are
/// free to send: each key can hold only this much of the state until governance acts).
pub const MAX_OPEN_PROPOSALS: u32 = 4;
/// Members of a regulator council (`zk::escrow::council::MAX_COUNCIL_MEMBERS`; a test in `zk`
/// keeps the two equal).
pub const MAX_COUNCIL_MEMBERS: usize = 64;
/// An encoded council dealing (`zk::escrow::council::MAX_DEALING_BYTES`).
pub const MAX_COUNCIL_DEALING: usize = 4_262;
/// A council complaint.
pub const COUNCIL_COMPLAINT_BYTES: usize = 100;
/// A decryption share.
pub const DECRYPTION_SHARE_BYTES: usize = 98;
/// An escrow ciphertext.
pub const ESCROW_CIPHERTEXT_BYTES: usize = 64;
/// Public inputs of the largest escrow circuit shape (`escrow-a8-p4`: 4 + 3·4 + 3 + 6).
pub const MAX_ESCROW_INPUTS: usize = 25;
/// A Groth16 proof over BN254, compressed.
pub const ESCROW_PROOF_BYTES: usize = 128;
/// Most validator-set changes one `/v1/validators/changes` answer carries (a light client asks
/// again from the last one it got).
pub const MAX_SET_CHANGES_PER_READ: usize = 32;

const _: () = assert!(MAX_SCHEMA_JSON + MAX_SIGNATURES * 256 + 4 * MAX_TEXT * 4 < MAX_TX_BYTES);
const _: () = assert!(MAX_VERIFYING_KEY + MAX_REVOKE_PER_TX * 4 < MAX_TX_BYTES);

/// Why a transaction is refused at the door. Each names the limit and what to do instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitError {
    /// The canonical encoding is larger than [`MAX_TX_BYTES`].
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// No signature, or more than [`MAX_SIGNATURES`].
    SignatureCount {
        /// How many it has.
        count: usize,
    },
    /// Signatures not sorted by public key, or one key twice.
    SignatureOrder,
    /// The chain id is not this ledger's.
    WrongChain {
        /// The chain id the transaction names (at most [`MAX_CHAIN_ID`] bytes shown).
        found: String,
        /// This ledger's.
        expected: String,
    },
    /// A text field is longer than its bound.
    Text {
        /// Which field.
        field: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The bound.
        max: usize,
    },
    /// A list has more entries than its bound.
    List {
        /// Which list.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A byte field is longer than its bound.
    Bytes {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::TooLarge { bytes } => write!(
                f,
                "the transaction is {bytes} bytes encoded; the limit is {MAX_TX_BYTES} (MAX_TX_BYTES): split it or shorten its fields"
            ),
            LimitError::SignatureCount { count } => write!(
                f,
                "the transaction carries {count} signatures; it needs 1 to {MAX_SIGNATURES} (MAX_SIGNATURES)"
            ),
            LimitError::SignatureOrder => write!(
                f,
                "signatures must be sorted by public key, one per key (SignedTransaction::sign does this)"
            ),
            LimitError::WrongChain { found, expected } => write!(
                f,
                "chain id {found:?} is not this ledger's {expected:?}; sign the transaction for {expected:?}"
            ),
            LimitError::Text { field, chars, max } => {
                write!(f, "{field} is {chars} characters; the limit is {max}")
            }
            LimitError::List { field, len, max } => {
                write!(f, "{field} has {len} entries; the limit is {max}")
            }
            LimitError::Bytes { field, len, max } => write!(f, "{field} is {len} bytes; the limit is {max}"),
        }
    }
}

impl std::error::Error for LimitError {}

/// Checks a text field against [`MAX_TEXT`] characters (the byte length is checked first, so a
/// huge string costs no character walk).
pub fn text(field: &'static str, s: &str) -> Result<(), LimitError> {
    if s.len() > MAX_TEXT * 4 || s.chars().count() > MAX_TEXT {
        return Err(LimitError::Text {
            field,
            chars: s.chars().count(),
            max: MAX_TEXT,
        });
    }
    Ok(())
}

/// Checks a list against `max` entries.
pub fn list<T>(field: &'static str, l: &[T], max: usize) -> Result<(), LimitError> {
    if l.len() > max {
        return Err(LimitError::List {
            field,
            len: l.len(),
            max,
        });
    }
    Ok(())
}

fn texts(field: &'static str, l: &[String]) -> Result<(), LimitError> {
    list(field, l, MAX_LIST)?;
    l.iter().try_for_each(|s| text(field, s))
}

fn bytes(field: &'static str, b: &[u8], max: usize) -> Result<(), LimitError> {
    if b.len() > max {
        return Err(LimitError::Bytes {
            field,
            len: b.len(),
            max,
        });
    }
    Ok(())
}

/// The one admission rule (see the module documentation): size, signatures, chain id, and
/// every string and list within its bound. Returns the canonical size.
pub fn check_transaction(tx: &SignedTransaction, chain_id: &str) -> Result<usize, LimitError> {
    let size = tx.to_canonical().len();
    if size > MAX_TX_BYTES {
        return Err(LimitError::TooLarge { bytes: size });
    }
    check_signatures(tx)?;
    if tx.tx.chain_id != chain_id {
        return Err(LimitError::WrongChain {
            found: tx.tx.chain_id.chars().take(MAX_CHAIN_ID).collect(),
            expected: chain_id.to_owned(),
        });
    }
    check_payload(&tx.tx.payload)?;
    Ok(size)
}

/// Signature count and order: sorted by SEC1 public key, strictly (one per key).
pub fn check_signatures(tx: &SignedTransaction) -> Result<(), LimitError> {
    let count = tx.signatures.len();
    if count == 0 || count > MAX_SIGNATURES {
        return Err(LimitError::SignatureCount { count });
    }
    if tx
        .signatures
        .windows(2)
        .any(|w| w[0].public_key.to_sec1() >= w[1].public_key.to_sec1())
    {
        return Err(LimitError::SignatureOrder);
    }
    Ok(())
}

fn check_payload(p: &TxPayload) -> Result<(), LimitError> {
    match p {
        TxPayload::RegisterIssuer { record } => issuer(record),
        TxPayload::RotateIssuerKey { .. } | TxPayload::Approve { .. } => Ok(()),
        TxPayload::SuspendIssuer { reason, .. } => text("reason", reason),
        TxPayload::RegisterVerifier { record } => verifier(record),
        TxPayload::PublishSchema { record } => schema(record),
        TxPayload::AnchorBatch { anchor: a } => anchor(a),
        TxPayload::UpdateStatusList { revoke, .. } => list("revoke", revoke, MAX_REVOKE_PER_TX),
        TxPayload::RegisterVerifyingKey { record } => verifying_key(record),
        TxPayload::ChangeValidatorSet { set } => validators(set),
        TxPayload::RetireVerifyingKey { circuit, .. } => text("circuit", circuit),
        TxPayload::StartCeremony { plan } => {
            text("id", &plan.id)?;
            list("circuits", &plan.circuits, MAX_CEREMONY_CIRCUITS)?;
            texts("circuits", &plan.circuits)?;
            list("contributors", &plan.contributors, MAX_LIST)
        }
        TxPayload::Contribute { contribution: c } => {
            text("ceremony", &c.ceremony)?;
            if !c.circuit.is_empty() {
                text("circuit", &c.circuit)?;
            }
            bytes("heads", &c.heads, MAX_CEREMONY_POINTS)?;
            bytes("proof", &c.proof, MAX_CEREMONY_POINTS)
        }
        TxPayload::FinishCeremony {
            ceremony,
            circuit,
            key,
        } => {
            text("ceremony", ceremony)?;
            text("circuit", circuit)?;
            bytes("key", key, MAX_VERIFYING_KEY)
        }
        TxPayload::StartCouncil { plan } => {
            text("id", &plan.id)?;
            text("name", &plan.name)?;
            list("members", &plan.members, MAX_COUNCIL_MEMBERS)
        }
        TxPayload::CouncilStep { council, step } => {
            text("council", council)?;
            match step {
                CouncilStep::Enrol { receiving_key } => bytes("receiving key", receiving_key, 32),
                CouncilStep::Deal { dealing } => bytes("dealing", dealing, MAX_COUNCIL_DEALING),
                CouncilStep::Complain { complaint } => bytes("complaint", complaint, COUNCIL_COMPLAINT_BYTES),
                CouncilStep::Ready => Ok(()),
            }
        }
        TxPayload::ProposeOpening { opening } => {
            text("council", &opening.council)?;
            text("legal basis", &opening.legal_basis)?;
            request(&opening.answered.request)?;
            bytes("ciphertext", &opening.ciphertext, ESCROW_CIPHERTEXT_BYTES)?;
            text("evidence.circuit", &opening.evidence.circuit)?;
            list("evidence.inputs", &opening.evidence.inputs, MAX_ESCROW_INPUTS)?;
            bytes("evidence.proof", &opening.evidence.proof, ESCROW_PROOF_BYTES)
        }
        TxPayload::PublishShare { share, .. } => bytes("share", share, DECRYPTION_SHARE_BYTES),
        TxPayload::AbortCouncil { council, reason } => {
            text("council", council)?;
            text("reason", reason)
        }
    }
}

/// A verifier's request carried on the ledger (in an opening proposal).
fn request(r: &crate::presentation::PresentationRequest) -> Result<(), LimitError> {
    text("answered.credentialType", &r.credential_type)?;
    text("answered.purpose", &r.purpose)?;
    list("answered.acceptedIssuers", &r.accepted_issuers, MAX_LIST)?;
    texts("answered.disclose", &r.disclose)?;
    list("answered.predicates", &r.predicates, MAX_LIST)?;
    for p in &r.predicates {
        text("answered.predicates[].attribute", &p.attribute)?;
    }
    if let Some(c) = &r.channel {
        text("answered.channel.responseUri", &c.response_uri)?;
        text("answered.channel.session", &c.session)?;
    }
    Ok(())
}

fn issuer(r: &IssuerRecord) -> Result<(), LimitError> {
    text("name", &r.name)?;
    list("officers", &r.officers, MAX_LIST)?;
    texts("allowedTypes", &r.allowed_types)
}

fn verifier(r: &VerifierRecord) -> Result<(), LimitError> {
    text("name", &r.name)?;
    text("nullifierScope", &r.nullifier_scope)?;
    texts("purposes", &r.purposes)?;
    list("scope", &r.scope, MAX_LIST)?;
    for item in &r.scope {
        text("scope[].credentialType", &item.credential_type)?;
        texts("scope[].disclose", &item.disclose)?;
        texts("scope[].predicates", &item.predicates)?;
        if let Some(c) = &item.escrow {
            text("scope[].escrow", c)?;
        }
    }
    Ok(())
}

fn schema(r: &SchemaRecord) -> Result<(), LimitError> {
    text("id", &r.id)?;
    text("credentialType", &r.credential_type)?;
    bytes("json", r.json.as_bytes(), MAX_SCHEMA_JSON)
}

fn anchor(a: &AnchorRecord) -> Result<(), LimitError> {
    text("schemaId", &a.schema_id)?;
    text("credentialType", &a.credential_type)
}

fn verifying_key(r: &VerifyingKeyRecord) -> Result<(), LimitError> {
    text("circuit", &r.circuit)?;
    bytes("key", &r.key, MAX_VERIFYING_KEY)
}

fn validators(s: &ValidatorSet) -> Result<(), LimitError> {
    list("validators", &s.validators, crate::ledger::MAX_VALIDATORS)?;
    for v in &s.validators {
        text("validators[].peerId", &v.peer_id)?;
        text("validators[].address", &v.address)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Did;
    use crate::ledger::{ScopeItem, Transaction};
    use crate::sm2::SecretKey;

    fn key(_: u64) -> SecretKey {
        SecretKey::generate(&mut rand_core::OsRng)
    }

    fn verifier_tx(disclose: Vec<String>) -> SignedTransaction {
        let k = key(1);
        let did = Did::from_public_key(k.public_key());
        let record = VerifierRecord {
            did: did.clone(),
            name: "Employer".into(),
            public_key: k.public_key().clone(),
            scope: vec![ScopeItem {
                credential_type: "UniversityDiploma".into(),
                disclose,
                predicates: vec![],
                escrow: None,
            }],
            purposes: vec!["hiring".into()],
            nullifier_scope: "employer/v1".into(),
        };
        let tx = Transaction {
            chain_id: "test".into(),
            sender: did,
            nonce: 0,
            payload: TxPayload::RegisterVerifier { record },
        };
        SignedTransaction::sign(tx, &[&k])
    }

    #[test]
    fn an_ordinary_registration_passes() {
        let tx = verifier_tx(vec!["degree".into()]);
        assert_eq!(check_transaction(&tx, "test"), Ok(tx.to_canonical().len()));
    }

    #[test]
    fn ten_long_strings_are_refused_by_size() {
        // The attack of security finding 1: ten 125 KB strings in a list of legal length.
        let tx = verifier_tx(vec!["x".repeat(125_000); 10]);
        assert!(matches!(
            check_transaction(&tx, "test"),
            Err(LimitError::TooLarge { .. })
        ));
    }

    #[test]
    fn one_long_string_within_the_size_is_refused_by_its_field_bound() {
        let tx = verifier_tx(vec!["x".repeat(MAX_TEXT + 1)]);
        let e = check_transaction(&tx, "test").unwrap_err();
        assert_eq!(
            e,
            LimitError::Text {
                field: "scope[].disclose",
                chars: MAX_TEXT + 1,
                max: MAX_TEXT
            }
        );
        assert!(e.to_string().contains("the limit is 256"));
    }

    #[test]
    fn duplicated_or_reordered_signatures_are_refused() {
        let mut tx = verifier_tx(vec![]);
        tx.signatures.push(tx.signatures[0].clone());
        assert_eq!(check_transaction(&tx, "test"), Err(LimitError::SignatureOrder));
        let body = tx.tx.clone();
        let (a, b) = (key(2), key(3));
        let signed = SignedTransaction::sign(body, &[&b, &a]);
        assert_eq!(check_signatures(&signed), Ok(()), "sign sorts");
        let mut swapped = signed.clone();
        swapped.signatures.swap(0, 1);
        assert_eq!(check_signatures(&swapped), Err(LimitError::SignatureOrder));
        let mut none = signed;
        none.signatures.clear();
        assert_eq!(
            check_signatures(&none),
            Err(LimitError::SignatureCount { count: 0 })
        );
    }

    #[test]
    fn another_chains_transaction_is_refused() {
        let tx = verifier_tx(vec![]);
        assert!(matches!(
            check_transaction(&tx, "main"),
            Err(LimitError::WrongChain { .. })
        ));
    }
}

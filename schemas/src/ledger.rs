//! Ledger types: records kept in the state, transactions, blocks, commit certificates,
//! validator sets, and the ledger proof that travels inside presentations.
//!
//! Invariants:
//! - every type here has one canonical encoding ([`crate::codec`]); a block header's
//!   [`Canonical::digest`] is the block hash that commit votes sign;
//! - no type holds a map: lists are ordered and, where a set is meant, sorted and unique
//!   (checked by [`ValidatorSet::new`] and the ledger's state machine).

use crate::codec::Canonical;
use crate::did::Did;
use crate::hash::{Domain, Hash, domains};
use crate::sm2::{KeyError, PublicKey, SecretKey, Signature};
use crate::state::StateProof;
use serde::{Deserialize, Serialize};

/// Height of a block; genesis is 0.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Height(pub u64);

/// Whether an issuer may issue now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum IssuerStatus {
    /// May anchor batches.
    Active,
    /// May not anchor; earlier anchors stay valid.
    Suspended,
}

/// A registered issuer (university, bank, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRecord {
    /// The issuer's DID.
    pub did: Did,
    /// Display name, e.g. "Tsinghua University".
    pub name: String,
    /// The current signing key.
    pub public_key: PublicKey,
    /// Officers whose signatures count towards `threshold` (empty: the issuer key alone).
    pub officers: Vec<PublicKey>,
    /// Officer signatures needed on an anchor (m of n); 1 with no officers.
    pub threshold: u16,
    /// Credential types this issuer may issue (schema credential types).
    pub allowed_types: Vec<String>,
    /// Active or suspended.
    pub status: IssuerStatus,
}

/// One predicate a verifier may ask about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScopeItem {
    /// Credential type.
    pub credential_type: String,
    /// Attributes the verifier may ask to see.
    pub disclose: Vec<String>,
    /// Attributes the verifier may ask predicates about.
    pub predicates: Vec<String>,
    /// The regulator council (its id) whose key unlinkable answers for this credential type
    /// must escrow the holder's identity handle to (issue 18; `docs/escrow.md`): holders see
    /// it at consent, and verifiers refuse an answer without it. `None`: no escrow.
    #[serde(default)]
    pub escrow: Option<String>,
}

/// A registered verifier (employer, bank, ...) and what it may ask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifierRecord {
    /// The verifier's DID.
    pub did: Did,
    /// Display name.
    pub name: String,
    /// The key that signs requests.
    pub public_key: PublicKey,
    /// What it may ask, per credential type.
    pub scope: Vec<ScopeItem>,
    /// Purposes it may state.
    pub purposes: Vec<String>,
    /// The unlinkable-tier scope its nullifiers are bound to: unique on the ledger, and bound
    /// to this verifier's DID inside the nullifier ([`VerifierRecord::nullifier_domain`]).
    pub nullifier_scope: String,
}

impl VerifierRecord {
    /// What an unlinkable nullifier is scoped to: this verifier's DID and its registered scope,
    /// so two verifiers never see the same nullifier for one holder even if their scope strings
    /// matched (security finding 9). A DID has no `|`, so the pair reads back one way only.
    pub fn nullifier_domain(&self) -> String {
        format!("{}|{}", self.did, self.nullifier_scope)
    }

    /// The council (its id) this verifier requires unlinkable answers about `credential_type`
    /// to escrow the holder's identity handle to (issue 18), if any.
    pub fn escrow_for(&self, credential_type: &str) -> Option<&str> {
        self.scope
            .iter()
            .find(|s| s.credential_type == credential_type)
            .and_then(|s| s.escrow.as_deref())
    }
}

/// A published credential schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRecord {
    /// Schema id, e.g. `credence:schema:university-diploma:1`.
    pub id: String,
    /// The credential type it defines.
    pub credential_type: String,
    /// SM3 of the schema's JSON text as published.
    pub schema_hash: Hash,
    /// The JSON Schema text.
    pub json: String,
    /// Who published it.
    pub publisher: Did,
}

/// A batch of credentials anchored by one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnchorRecord {
    /// The issuer.
    pub issuer: Did,
    /// Root of the SM3 batch tree ([`crate::merkle`]) of envelope hashes.
    pub root: Hash,
    /// Root of the Poseidon tree of the unlinkable tier, if any (field element, 32 bytes LE).
    pub poseidon_root: Option<Hash>,
    /// Number of credentials in the batch.
    pub count: u64,
    /// Schema id the batch was issued under.
    pub schema_id: String,
    /// Credential type.
    pub credential_type: String,
}

/// Why a credential is not of the batch an anchor records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum AnchorMismatch {
    /// The anchor records another credential type or schema than the envelope names.
    #[error(
        "the anchored batch is of type {anchored_type} under {anchored_schema}, not {shown_type} under {shown_schema}"
    )]
    #[schema(rename_all = "camelCase")]
    TypeOrSchema {
        /// The anchor's type.
        anchored_type: String,
        /// The anchor's schema id.
        anchored_schema: String,
        /// The envelope's type.
        shown_type: String,
        /// The envelope's schema id.
        shown_schema: String,
    },
    /// The inclusion path is for a tree of another size than the anchored batch.
    #[error("the inclusion path is for a batch of {path} credentials, the anchored batch has {anchored}")]
    #[schema(rename_all = "camelCase")]
    Size {
        /// The anchor's count.
        anchored: u64,
        /// The path's tree size.
        path: u64,
    },
}

impl AnchorRecord {
    /// Whether a credential with this envelope and an inclusion path for a tree of
    /// `tree_size` leaves can be of this batch: the same type, schema and size (the path itself
    /// is checked against the root by its own verification). Holder and verifier both apply it.
    pub fn matches(
        &self,
        envelope: &crate::credential::Envelope,
        tree_size: u64,
    ) -> Result<(), AnchorMismatch> {
        if self.credential_type != envelope.credential_type || self.schema_id != envelope.schema_id {
            return Err(AnchorMismatch::TypeOrSchema {
                anchored_type: self.credential_type.clone(),
                anchored_schema: self.schema_id.clone(),
                shown_type: envelope.credential_type.clone(),
                shown_schema: envelope.schema_id.clone(),
            });
        }
        if self.count != tree_size {
            return Err(AnchorMismatch::Size {
                anchored: self.count,
                path: tree_size,
            });
        }
        Ok(())
    }
}

/// One chunk of an issuer's revocation status list (bitstring, W3C Bitstring Status List).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusListChunk {
    /// The issuer.
    pub issuer: Did,
    /// List number.
    pub list_id: u32,
    /// Chunk number within the list.
    pub chunk: u32,
    /// Bits, least significant bit of byte 0 = index `chunk * STATUS_CHUNK_BITS` (the served
    /// W3C list reverses the bits of each byte: `status_list`).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub bits: Vec<u8>,
}

/// Bits per status-list chunk (16 KiB of bits: a verifier fetching a chunk hides which of
/// 131,072 credentials it checks).
pub const STATUS_CHUNK_BITS: u32 = 131_072;

/// Status indexes per list: `0..MAX_STATUS_INDEX`.
pub const MAX_STATUS_INDEX: u32 = 1 << 24;

/// Chunks per status list.
pub const STATUS_CHUNKS_PER_LIST: u32 = MAX_STATUS_INDEX / STATUS_CHUNK_BITS;

const _: () = assert!(MAX_STATUS_INDEX.is_multiple_of(STATUS_CHUNK_BITS));

impl StatusListChunk {
    /// An empty chunk (nothing revoked).
    pub fn empty(issuer: Did, list_id: u32, chunk: u32) -> Self {
        StatusListChunk {
            issuer,
            list_id,
            chunk,
            bits: vec![0; (STATUS_CHUNK_BITS / 8) as usize],
        }
    }

    /// Whether the bit of `index` is set; `false` for an index outside this chunk or a chunk
    /// whose bits are short.
    pub fn is_set(&self, index: u32) -> bool {
        if index / STATUS_CHUNK_BITS != self.chunk {
            return false;
        }
        let bit = index % STATUS_CHUNK_BITS;
        self.bits
            .get((bit / 8) as usize)
            .is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }

    /// Sets the bit of `index`; returns whether it was clear (`false`, and nothing set, for an
    /// index outside this chunk).
    pub fn set(&mut self, index: u32) -> bool {
        if index / STATUS_CHUNK_BITS != self.chunk {
            return false;
        }
        let bit = index % STATUS_CHUNK_BITS;
        match self.bits.get_mut((bit / 8) as usize) {
            Some(b) if *b & (1 << (bit % 8)) == 0 => {
                *b |= 1 << (bit % 8);
                true
            }
            _ => false,
        }
    }

    /// The revoked status indexes this chunk records, ascending.
    pub fn revoked(&self) -> impl Iterator<Item = u32> + '_ {
        let base = self.chunk.saturating_mul(STATUS_CHUNK_BITS);
        self.bits.iter().enumerate().flat_map(move |(i, b)| {
            (0..8u32)
                .filter(move |k| b & (1 << k) != 0)
                .map(move |k| base.saturating_add(i as u32 * 8 + k))
        })
    }
}

/// A registered Groth16 verifying key of one circuit shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyingKeyRecord {
    /// Circuit shape id, e.g. `unlinkable-a4-p2`.
    pub circuit: String,
    /// Key version.
    pub version: u32,
    /// The arkworks-serialised verifying key.
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub key: Vec<u8>,
}

/// A validator: its consensus key and its network identity, bound by a signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorInfo {
    /// SM2 key that signs votes.
    pub public_key: PublicKey,
    /// libp2p peer id (base58 text).
    pub peer_id: String,
    /// Multiaddress to dial.
    pub address: String,
    /// SM2 signature by `public_key` over [`ValidatorInfo::binding_message`].
    pub peer_binding: Signature,
}

impl ValidatorInfo {
    /// Makes a validator entry, signing the peer id with the validator's key.
    pub fn new(key: &SecretKey, peer_id: String, address: String) -> Self {
        let peer_binding = key.sign(domains::PEER_BINDING, peer_id.as_bytes());
        ValidatorInfo {
            public_key: key.public_key().clone(),
            peer_id,
            address,
            peer_binding,
        }
    }

    /// Checks the peer-id binding.
    pub fn verify_binding(&self) -> Result<(), KeyError> {
        self.public_key
            .verify(domains::PEER_BINDING, self.peer_id.as_bytes(), &self.peer_binding)
    }
}

/// The validators of one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorSet {
    /// Epoch number; changes with every validator-set change.
    pub epoch: u64,
    /// The validators, in replica-id order.
    pub validators: Vec<ValidatorInfo>,
}

impl Canonical for ValidatorSet {
    const DOMAIN: Domain = domains::VALIDATOR_SET;
}

/// Largest validator set (bounds every certificate check).
pub const MAX_VALIDATORS: usize = 256;

impl ValidatorSet {
    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Faults tolerated: `f = floor((n - 1) / 3)`.
    pub fn max_faulty(&self) -> usize {
        self.len().saturating_sub(1) / 3
    }

    /// Signatures needed for a certificate: `n - f` (= `2f + 1` when `n = 3f + 1`; for other
    /// `n`, `n - f` is what makes any two quorums share a correct validator).
    pub fn quorum(&self) -> usize {
        self.len() - self.max_faulty()
    }

    /// Position of `key` in the set.
    pub fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.validators.iter().position(|v| &v.public_key == key)
    }

    /// The one rule for a validator-set change, shared by consensus and the ledger state
    /// machine so the set the state records is the set that certifies: `next` is the next
    /// epoch, has 1 to [`MAX_VALIDATORS`] members with distinct keys, keeps every remaining
    /// validator at its index, and each peer id is signed by its key. (Who must sign the change
    /// — `quorum()` of this set — is checked by each side on its own view of the signatures.)
    pub fn check_successor(&self, next: &ValidatorSet) -> Result<(), String> {
        if next.epoch != self.epoch + 1 {
            return Err(format!("the new set's epoch must be {}", self.epoch + 1));
        }
        if next.is_empty() || next.len() > MAX_VALIDATORS {
            return Err(format!("the new set must have 1 to {MAX_VALIDATORS} validators"));
        }
        let common = self.len().min(next.len());
        if let Some(i) = (0..common).find(|&i| self.validators[i].public_key != next.validators[i].public_key)
        {
            return Err(format!(
                "validator {i} changes its key: remaining validators keep their index (remove from the end, add at the end)"
            ));
        }
        let mut keys: Vec<_> = next.validators.iter().map(|v| v.public_key.to_sec1()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err("a key appears twice in the new set".into());
        }
        if let Some(i) = next.validators.iter().position(|v| v.verify_binding().is_err()) {
            return Err(format!("validator {i}: peer id not signed by its key"));
        }
        Ok(())
    }
}

/// A transaction's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
#[non_exhaustive]
pub enum TxPayload {
    /// Propose an issuer (takes effect with the governance quorum's approvals).
    #[schema(rename_all = "camelCase")]
    RegisterIssuer {
        /// The record.
        record: IssuerRecord,
    },
    /// Replace an issuer's key (signed by the current key).
    #[schema(rename_all = "camelCase")]
    RotateIssuerKey {
        /// The issuer.
        issuer: Did,
        /// The new key.
        #[serde(alias = "new_key")]
        new_key: PublicKey,
    },
    /// Suspend an issuer (governance).
    #[schema(rename_all = "camelCase")]
    SuspendIssuer {
        /// The issuer.
        issuer: Did,
        /// Why, for the record.
        reason: String,
    },
    /// Propose a verifier and its scope (governance approves).
    #[schema(rename_all = "camelCase")]
    RegisterVerifier {
        /// The record.
        record: VerifierRecord,
    },
    /// Publish a credential schema.
    #[schema(rename_all = "camelCase")]
    PublishSchema {
        /// The record.
        record: SchemaRecord,
    },
    /// Anchor a batch of credentials.
    #[schema(rename_all = "camelCase")]
    AnchorBatch {
        /// The record.
        anchor: AnchorRecord,
    },
    /// Set (revoke) bits in a status list.
    #[schema(rename_all = "camelCase")]
    UpdateStatusList {
        /// The issuer.
        issuer: Did,
        #[serde(alias = "list_id")]
        /// List number.
        list_id: u32,
        /// Status indexes to mark revoked. An index is also the credential's id in the
        /// unlinkable tier, so the ledger adds each to the issuer's revoked-id list and tree.
        revoke: Vec<u32>,
    },
    /// Register a Groth16 verifying key (governance approves).
    #[schema(rename_all = "camelCase")]
    RegisterVerifyingKey {
        /// The record.
        record: VerifyingKeyRecord,
    },
    /// Replace the validator set at the next checkpoint (governance approves).
    #[schema(rename_all = "camelCase")]
    ChangeValidatorSet {
        /// The new set.
        set: ValidatorSet,
    },
    /// A governance member's approval of a proposal (by the proposal transaction's hash).
    #[schema(rename_all = "camelCase")]
    Approve {
        /// Hash of the proposed transaction.
        proposal: Hash,
    },
    /// Retire a registered Groth16 verifying key version (governance approves): from then on
    /// no holder proves under it and no verifier accepts a proof made under it. The key itself
    /// stays on the ledger, never replaced or removed. (Appended last: earlier kinds keep
    /// their encodings.)
    #[schema(rename_all = "camelCase")]
    RetireVerifyingKey {
        /// The circuit shape's id.
        circuit: String,
        /// The key version.
        version: u32,
    },
    /// Open a Groth16 setup ceremony (governance approves): the only way a verifying key is
    /// registered. (Appended after the kinds above: they keep their encodings.)
    #[schema(rename_all = "camelCase")]
    StartCeremony {
        /// The plan.
        plan: CeremonyPlan,
    },
    /// One contribution to a ceremony chain, sent and signed by its contributor. Validators
    /// check it against the chain's previous contribution ([`CeremonyChain::heads`]).
    #[schema(rename_all = "camelCase")]
    Contribute {
        /// The contribution.
        contribution: CeremonyContribution,
    },
    /// Register the verifying key a circuit chain ends with (a governance proposal: validators
    /// check the key against the chain's last heads and the plan; the approving members verify
    /// the whole transcript, which pins the key's input points).
    #[schema(rename_all = "camelCase")]
    FinishCeremony {
        /// The ceremony's id.
        ceremony: String,
        /// The circuit shape's id.
        circuit: String,
        /// The arkworks-serialised verifying key.
        #[serde(with = "crate::bytes::variable")]
        #[schema(value_type = crate::bytes::Bytes)]
        key: Vec<u8>,
    },
    /// Designate a regulator council and start its key generation (governance approves). The
    /// members are governance members; the plan is the ledger's record of their regulator role.
    /// (Appended after the kinds above: they keep their encodings.)
    #[schema(rename_all = "camelCase")]
    StartCouncil {
        /// The plan.
        plan: CouncilPlan,
    },
    /// One member's step in its council's key generation (`docs/escrow.md`), signed by the
    /// member's governance key.
    #[schema(rename_all = "camelCase")]
    CouncilStep {
        /// The council's id.
        council: String,
        /// The step.
        step: CouncilStep,
    },
    /// Ask to open an escrow ciphertext (governance approves): a public act with its legal basis.
    #[schema(rename_all = "camelCase")]
    ProposeOpening {
        /// What to open and why.
        opening: OpeningRequest,
    },
    /// A council member's decryption share for an approved opening, with its proof.
    #[schema(rename_all = "camelCase")]
    PublishShare {
        /// The hash of the approved `ProposeOpening` transaction.
        opening: Hash,
        /// The share (`docs/escrow.md`, 98 bytes).
        #[serde(with = "crate::bytes::variable")]
        #[schema(value_type = crate::bytes::Bytes)]
        share: Vec<u8>,
    },
    /// Abandon a council whose key generation has stalled (governance approves): it ends
    /// without a key, no further step is accepted, and governance plans another council.
    #[schema(rename_all = "camelCase")]
    AbortCouncil {
        /// The council's id.
        council: String,
        /// Why, for the record.
        reason: String,
    },
}

/// A regulator council: which governance members hold shares of its key, and how many must act
/// together to open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CouncilPlan {
    /// A fresh id (a-z, 0-9, '-'), never reused: it is hashed into every proof of the key
    /// generation.
    pub id: String,
    /// Display name (e.g. "Financial regulators 2027").
    pub name: String,
    /// The members, in share order (member `i + 1` is `members[i]`).
    pub members: Vec<Did>,
    /// Shares needed to open.
    pub threshold: u16,
}

/// A member's step in its council's key generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum CouncilStep {
    /// Publish the key others encrypt this member's shares to (first, every member).
    #[schema(rename_all = "camelCase")]
    Enrol {
        #[serde(alias = "receiving_key")]
        /// A Baby Jubjub point, 32 bytes.
        #[serde(with = "crate::bytes::variable")]
        #[schema(value_type = crate::bytes::Bytes)]
        receiving_key: Vec<u8>,
    },
    /// Publish this member's dealing (once every member enrolled).
    #[schema(rename_all = "camelCase")]
    Deal {
        /// The dealing.
        #[serde(with = "crate::bytes::variable")]
        #[schema(value_type = crate::bytes::Bytes)]
        dealing: Vec<u8>,
    },
    /// Accuse a dealer of a bad share (while dealings are checked).
    #[schema(rename_all = "camelCase")]
    Complain {
        /// The complaint (100 bytes).
        #[serde(with = "crate::bytes::variable")]
        #[schema(value_type = crate::bytes::Bytes)]
        complaint: Vec<u8>,
    },
    /// This member checked every dealing (and complained where it had to); when every member
    /// is ready the council's key is computed and the council is in force.
    Ready,
}

/// Where a council's key generation stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CouncilRecord {
    /// The approved plan.
    pub plan: CouncilPlan,
    /// Each member's receiving key, once enrolled.
    pub receiving_keys: Vec<Option<crate::bytes::Bytes>>,
    /// Each member's dealing, once dealt.
    pub dealings: Vec<Option<crate::bytes::Bytes>>,
    /// Dealers disqualified by a complaint that held, ascending.
    pub disqualified: Vec<u16>,
    /// Members that declared themselves ready.
    pub ready: Vec<bool>,
    /// The council's key, once every member is ready (32 bytes).
    pub key: Option<crate::bytes::Bytes>,
    /// Each member's verification key `X_j`, once the key is set.
    pub verification_keys: Vec<crate::bytes::Bytes>,
    /// Why the key generation ended without a key (fewer than `threshold` qualified dealers);
    /// governance then plans a new council.
    pub failed: Option<String>,
}

/// What an opening proposal asks to open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpeningRequest {
    /// The council whose key the ciphertext is under.
    pub council: String,
    /// The escrow ciphertext (64 bytes), as the presentation carried it.
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub ciphertext: Vec<u8>,
    /// The verifier that received the presentation.
    pub verifier: Did,
    /// The presentation's request digest (which answer this was).
    pub request: Hash,
    /// That request as the verifier signed it: validators check it is the named verifier's and
    /// that its digest is `request`, so an opening names an answer to a request that verifier
    /// made, not one the proposer made up.
    pub answered: Box<crate::presentation::SignedRequest>,
    /// The issuer of the credential that answered.
    pub issuer: Did,
    /// The anchored batch (its SM3 root) whose Poseidon root the escrow proof is against.
    pub batch: Hash,
    /// The legal basis, stated for the record.
    pub legal_basis: String,
    /// The presentation's escrow proof with its public inputs: validators check that it proves
    /// this ciphertext under this council's key for this request, so a ciphertext derived from
    /// a presented one (hashed ElGamal is malleable) cannot be put to the vote.
    pub evidence: EscrowEvidence,
}

/// An escrow proof as an opening proposal carries it (`docs/escrow.md`, "Evidence").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscrowEvidence {
    /// The escrow circuit shape.
    pub circuit: String,
    /// Its key version (a registered verifying key).
    pub version: u32,
    /// Every public input, canonical 32-byte little-endian field encodings, circuit order.
    pub inputs: Vec<Hash>,
    /// The Groth16 proof (128 bytes).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub proof: Vec<u8>,
}

/// An approved opening: the shares published so far and, with enough of them, the handle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpeningRecord {
    /// What was approved.
    pub request: OpeningRequest,
    /// The shares, in the order published, each checked.
    pub shares: Vec<crate::bytes::Bytes>,
    /// The opened handle (an attribute value), once `threshold` shares are in.
    pub handle: Option<i64>,
}

/// What a setup ceremony makes: keys of `circuits` at `version`, from powers of tau of size
/// `2^power`, with at least `min_contributions` contributors in each chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyPlan {
    /// The ceremony's id (1 to 64 characters of `a-z0-9-`).
    pub id: String,
    /// The key version every circuit's key is registered under.
    pub version: u32,
    /// The circuit shapes (at most [`crate::limits::MAX_CEREMONY_CIRCUITS`]).
    pub circuits: Vec<String>,
    /// log2 of the phase-1 domain.
    pub power: u8,
    /// Contributions each chain needs before it can end (at least the governance quorum).
    pub min_contributions: u16,
    /// Registered issuers admitted as contributors besides the governance members.
    pub contributors: Vec<Did>,
}

/// A contribution as the ledger records it: the file's digest (the file lives beside the ledger,
/// served by the nodes), the digest it extends, its heads and proofs of knowledge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyContribution {
    /// The ceremony's id.
    pub ceremony: String,
    /// Empty for the powers of tau; a circuit's id for its phase 2.
    pub circuit: String,
    /// Position in the chain, from 1.
    pub index: u32,
    /// Digest of the state it extends.
    pub previous: Hash,
    /// Digest of the contribution's file.
    pub file: Hash,
    /// The points carrying the secrets after it (`zk::ceremony::Heads`).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub heads: Vec<u8>,
    /// Its proofs of knowledge (`zk::ceremony::ContributionProof`).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub proof: Vec<u8>,
}

/// A ceremony on the ledger (at `state_keys::ceremony`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyRecord {
    /// The approved plan.
    pub plan: CeremonyPlan,
    /// Digest of the initial powers of tau (every secret 1), which the first contribution extends.
    pub initial: Hash,
    /// The powers-of-tau chain.
    pub powers: CeremonyChain,
    /// Each circuit's chain, in the plan's order.
    pub circuits: Vec<CeremonyChain>,
}

/// One chain of contributions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyChain {
    /// The contributions in order.
    pub contributions: Vec<CeremonyStep>,
    /// The heads after the last contribution (empty before the first).
    #[serde(with = "crate::bytes::variable")]
    #[schema(value_type = crate::bytes::Bytes)]
    pub heads: Vec<u8>,
    /// The verifying key's registration ended the chain (circuit chains only).
    pub finished: bool,
}

/// One recorded contribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyStep {
    /// Who contributed.
    pub contributor: Did,
    /// The digest it extends.
    pub previous: Hash,
    /// Its file's digest.
    pub file: Hash,
    /// The transaction that recorded it.
    pub tx: Hash,
}

/// The record that a verifying key version is retired (at `state_keys::retired_verifying_key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRetirement {
    /// The circuit shape's id.
    pub circuit: String,
    /// The key version.
    pub version: u32,
}

/// A transaction before signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// The consortium's chain id (a transaction for one chain is void on another).
    pub chain_id: String,
    /// Who submits it.
    pub sender: Did,
    /// The sender's next nonce (replay protection).
    pub nonce: u64,
    /// What it does.
    pub payload: TxPayload,
}

impl Canonical for Transaction {
    const DOMAIN: Domain = domains::TRANSACTION;
}

/// One signer's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignerSignature {
    /// The signer's key.
    pub public_key: PublicKey,
    /// Signature over the transaction digest.
    pub signature: Signature,
}

/// A transaction with its signatures (the sender's, or m of an issuer's officers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// Signatures over `tx.digest()`.
    pub signatures: Vec<SignerSignature>,
}

impl Canonical for SignedTransaction {
    const DOMAIN: Domain = Domain::new("credence/signed-transaction/v1");
}

impl SignedTransaction {
    /// Signs `tx` with each key, once per key, in the order [`crate::limits`] requires
    /// (sorted by public key).
    pub fn sign(tx: Transaction, keys: &[&SecretKey]) -> Self {
        let digest = tx.digest();
        let mut signatures: Vec<SignerSignature> = keys
            .iter()
            .map(|k| SignerSignature {
                public_key: k.public_key().clone(),
                signature: k.sign(domains::TRANSACTION, &digest.0),
            })
            .collect();
        signatures.sort_by_key(|s| s.public_key.to_sec1());
        signatures.dedup_by(|a, b| a.public_key == b.public_key);
        SignedTransaction { tx, signatures }
    }

    /// The transaction's identity: the digest of the unsigned transaction. Two signature lists
    /// over one transaction are one transaction (receipts, mempools and dedup key on this).
    pub fn id(&self) -> Hash {
        self.tx.digest()
    }

    /// Checks every signature (not who may sign: that is the ledger's rule).
    pub fn verify_signatures(&self) -> Result<(), KeyError> {
        let digest = self.tx.digest();
        self.signatures
            .iter()
            .try_for_each(|s| s.public_key.verify(domains::TRANSACTION, &digest.0, &s.signature))
    }
}

/// A block header; its digest is the block hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockHeader {
    /// The chain id.
    pub chain_id: String,
    /// Height.
    pub height: Height,
    /// Hash of the previous header (zero for genesis).
    pub prev_hash: Hash,
    /// Root of the batch tree ([`crate::merkle`]) of the transactions' digests.
    pub tx_root: Hash,
    /// State root after applying the block.
    pub state_root: Hash,
    /// Digest of the validator set that certifies this block.
    pub validator_set_hash: Hash,
    /// Block time, ms since the Unix epoch: proposed by the primary and certified by the
    /// validators that accepted it only within [parent time, own clock + drift bound] (the time
    /// rule in ARCHITECTURE.md), so freshness checks may rely on it.
    pub timestamp_ms: u64,
    /// PBFT view in which the block was proposed.
    pub view: u64,
}

impl Canonical for BlockHeader {
    const DOMAIN: Domain = domains::BLOCK_HEADER;
}

/// A block's transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockBody {
    /// Transactions in order.
    pub transactions: Vec<SignedTransaction>,
}

impl Canonical for BlockBody {
    const DOMAIN: Domain = domains::BLOCK_BODY;
}

impl BlockBody {
    /// The `tx_root` a header must carry for this body.
    pub fn tx_root(&self) -> Hash {
        let leaves: Vec<Vec<u8>> = self.transactions.iter().map(|t| t.digest().0.to_vec()).collect();
        crate::merkle::MerkleTree::from_leaves(&leaves).root()
    }
}

/// A block: header and transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    /// The header (its digest is the block hash).
    pub header: BlockHeader,
    /// The transactions.
    pub body: BlockBody,
}

/// What a commit vote signs: the block at a height.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitVote {
    /// The chain id.
    pub chain_id: String,
    /// Height.
    pub height: Height,
    /// The block hash (header digest).
    pub block_hash: Hash,
}

impl Canonical for CommitVote {
    const DOMAIN: Domain = domains::COMMIT_VOTE;
}

impl CommitVote {
    /// The vote for `header`.
    pub fn for_header(header: &BlockHeader) -> Self {
        CommitVote {
            chain_id: header.chain_id.clone(),
            height: header.height,
            block_hash: header.digest(),
        }
    }

    /// Signs the vote.
    pub fn sign(&self, key: &SecretKey) -> SignerSignature {
        SignerSignature {
            public_key: key.public_key().clone(),
            signature: key.sign(domains::COMMIT_VOTE, &self.digest().0),
        }
    }
}

/// 2f+1 (more precisely `n - f`) validators' commit votes for one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitCertificate {
    /// Height.
    pub height: Height,
    /// The block hash.
    pub block_hash: Hash,
    /// The votes.
    pub signatures: Vec<SignerSignature>,
}

/// What a light client needs to trust ledger state: a certified header and state proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerProof {
    /// The header whose state root the proofs use.
    pub header: BlockHeader,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// Proofs of the values read.
    pub state: Vec<StateProof>,
}

/// A governance member (a ministry, a regulator): approves registrations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceMember {
    /// Display name.
    pub name: String,
    /// Its DID (derived from the key).
    pub did: Did,
    /// The key that signs approvals.
    pub public_key: PublicKey,
}

/// Consortium rules fixed at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policies {
    /// Governance approvals that make a proposal (issuer, verifier, suspension, verifying key,
    /// validator-set change) take effect.
    pub approvals_needed: u16,
    /// Credential types an issuer may be allowed to issue.
    pub credential_types: Vec<String>,
}

/// A supervisory (non-voting) node the consortium admits to its network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObserverInfo {
    /// Display name (e.g. the regulator running it).
    pub name: String,
    /// SM2 key of the node (signs its block requests).
    pub public_key: PublicKey,
    /// libp2p peer id.
    pub peer_id: String,
    /// Multiaddress to dial.
    pub address: String,
    /// SM2 signature by `public_key` over the peer id (as for validators).
    pub peer_binding: Signature,
}

impl ObserverInfo {
    /// Checks the peer-id binding.
    pub fn verify_binding(&self) -> Result<(), KeyError> {
        self.public_key
            .verify(domains::PEER_BINDING, self.peer_id.as_bytes(), &self.peer_binding)
    }
}

/// The governance record in the state: members and policies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Governance {
    /// Members.
    pub members: Vec<GovernanceMember>,
    /// Policies.
    pub policies: Policies,
}

/// A consortium's genesis: everything every node must agree on before block 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Genesis {
    /// Chain id.
    pub chain_id: String,
    /// Genesis time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Epoch-0 validators.
    pub validators: ValidatorSet,
    /// Supervisory nodes.
    pub observers: Vec<ObserverInfo>,
    /// Governance members and policies.
    pub governance: Governance,
    /// Schemas published at genesis.
    pub schemas: Vec<SchemaRecord>,
}

impl Canonical for Genesis {
    const DOMAIN: Domain = Domain::new("credence/genesis/v1");
}

/// An account's replay protection: the highest nonce used and which of the
/// [`NONCE_WINDOW`] nonces below it were used (RFC 4303's anti-replay window), so
/// transactions reordered on their way to the primary still commit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    /// Highest nonce used, if any.
    pub highest: Option<u64>,
    /// Bit `i` set: nonce `highest - i` was used (bit 0 is `highest` itself). A JSON integer up
    /// to 2^128 − 1: readers whose numbers are doubles (JavaScript) need a big-integer parser.
    pub window: u128,
    /// Rejected transactions recorded since the last applied one (a receipt each, up to
    /// [`crate::limits::MAX_REJECTED_RECEIPTS`]).
    pub rejected: u32,
}

/// Width of the nonce window.
pub const NONCE_WINDOW: u64 = 128;

impl AccountRecord {
    /// Whether `nonce` may be used; if not, why.
    pub fn check(&self, nonce: u64) -> Result<(), String> {
        let Some(h) = self.highest else { return Ok(()) };
        if nonce > h {
            return Ok(());
        }
        let back = h - nonce;
        if back >= NONCE_WINDOW {
            return Err(format!(
                "nonce {nonce} is too old: the account has used nonce {h}; use a nonce above {h}"
            ));
        }
        if self.window & (1u128 << back) != 0 {
            return Err(format!(
                "nonce {nonce} was already used (replay); use a nonce above {h}"
            ));
        }
        Ok(())
    }

    /// Marks `nonce` used (after [`AccountRecord::check`] passed).
    pub fn use_nonce(&mut self, nonce: u64) {
        match self.highest {
            Some(h) if nonce <= h => self.window |= 1u128 << (h - nonce),
            Some(h) => {
                let shift = nonce - h;
                self.window = if shift >= NONCE_WINDOW {
                    0
                } else {
                    self.window << shift
                };
                self.window |= 1;
                self.highest = Some(nonce);
            }
            None => {
                self.window = 1;
                self.highest = Some(nonce);
            }
        }
    }

    /// The smallest nonce certainly unused.
    pub fn next_nonce(&self) -> u64 {
        self.highest.map_or(0, |h| h + 1)
    }
}

/// A proposal waiting for governance approvals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposalRecord {
    /// The proposing transaction.
    pub tx: SignedTransaction,
    /// Members that approved, sorted.
    pub approvals: Vec<Did>,
    /// Whether it has taken effect.
    pub executed: bool,
}

/// What became of a committed transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum TxOutcome {
    /// It took effect (for a proposal: it was recorded, or executed when approved enough).
    Applied,
    /// It was rejected; the state is as if it never happened.
    #[schema(rename_all = "camelCase")]
    Rejected {
        /// Why, as a stable code (its text is [`RejectCode`]'s `Display`).
        code: RejectCode,
    },
}

/// Why the ledger rejected a transaction, as stored in its receipt.
///
/// Receipts are hashed into the state root, so this is consensus data: the encoding is the
/// variant's position (the BCS enum tag; in JSON the camelCase name), new codes are appended
/// at the end, and none is ever reordered or removed. The English text is derived for display
/// and never hashed; the submitter gets the detailed reason from the API's pre-check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RejectCode {
    /// The admission rule ([`crate::limits`]): size, signatures, chain id, a field's bound.
    Limit,
    /// The nonce was used already or is older than the account's window.
    Nonce,
    /// Not sent or not signed by the party the rule needs.
    NotAuthorised,
    /// The sender is not a governance member.
    NotGovernanceMember,
    /// A record's content is invalid (an empty field, a threshold, a count).
    InvalidRecord,
    /// A credential type the policy or the issuer's registration does not allow.
    TypeNotAllowed,
    /// The issuer is not registered.
    IssuerNotRegistered,
    /// The issuer is suspended.
    IssuerSuspended,
    /// The issuer or verifier is registered already.
    AlreadyRegistered,
    /// The issuer is suspended already.
    AlreadySuspended,
    /// The schema is not published.
    SchemaNotPublished,
    /// The schema defines another credential type.
    SchemaMismatch,
    /// A schema with this id is published already.
    SchemaExists,
    /// The schema's JSON, hash or ids are invalid.
    InvalidSchema,
    /// This batch root is anchored already.
    AnchorExists,
    /// No such proposal.
    NoProposal,
    /// The proposal has taken effect already.
    ProposalDone,
    /// This member approved the proposal already.
    AlreadyApproved,
    /// The transaction is not a proposal.
    NotAProposal,
    /// A status index beyond the list's size.
    StatusIndexOutOfRange,
    /// The verifying key does not parse or fails its checks.
    InvalidVerifyingKey,
    /// The new validator set is invalid.
    InvalidValidatorSet,
    /// Too few current validators signed a validator-set change.
    ValidatorQuorum,
    /// Too few officer signatures for the issuer's policy.
    OfficerQuorum,
    /// A transaction kind this ledger version does not know.
    UnknownKind,
    /// The transaction is in the chain already.
    AlreadyInChain,
    /// A validator-set change is waiting for its checkpoint; send the next one after it.
    ValidatorSetChangePending,
    /// The sender has too many proposals waiting for approvals.
    TooManyOpenProposals,
    /// The status list has recorded as many revoked ids as it may.
    RevokedListFull,
    /// A setup ceremony step out of order, for an unknown ceremony, or failing its checks.
    CeremonyRefused,
    /// A council step out of order, from a non-member, for an unknown council, or failing its
    /// checks.
    CouncilRefused,
    /// An opening step without an approved opening, or a share that does not verify.
    OpeningRefused,
}

impl std::fmt::Display for RejectCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RejectCode::Limit => {
                "the transaction breaks an admission limit (size, signatures, chain id or a field's bound)"
            }
            RejectCode::Nonce => "the nonce was used already or is too old; use the account's next nonce",
            RejectCode::NotAuthorised => "not sent or not signed by the party this transaction needs",
            RejectCode::NotGovernanceMember => "the sender is not a governance member",
            RejectCode::InvalidRecord => "a field of the record is invalid",
            RejectCode::TypeNotAllowed => "the credential type is not allowed",
            RejectCode::IssuerNotRegistered => "the issuer is not registered",
            RejectCode::IssuerSuspended => "the issuer is suspended",
            RejectCode::AlreadyRegistered => "already registered",
            RejectCode::AlreadySuspended => "the issuer is already suspended",
            RejectCode::SchemaNotPublished => "the schema is not published",
            RejectCode::SchemaMismatch => "the schema defines another credential type",
            RejectCode::SchemaExists => {
                "a schema with this id is already published; publish a new version id"
            }
            RejectCode::InvalidSchema => "the schema is invalid",
            RejectCode::AnchorExists => "the batch root is already anchored",
            RejectCode::NoProposal => "no such proposal",
            RejectCode::ProposalDone => "the proposal has already taken effect",
            RejectCode::AlreadyApproved => "this member already approved the proposal",
            RejectCode::NotAProposal => "this transaction kind is not a proposal",
            RejectCode::StatusIndexOutOfRange => "a status index is beyond the list size",
            RejectCode::InvalidVerifyingKey => "the verifying key is invalid",
            RejectCode::InvalidValidatorSet => "the new validator set is invalid",
            RejectCode::ValidatorQuorum => "too few current validators signed the validator-set change",
            RejectCode::OfficerQuorum => "too few officer signatures for the issuer's policy",
            RejectCode::UnknownKind => "unknown transaction kind for this ledger version",
            RejectCode::AlreadyInChain => "the transaction is already in the chain",
            RejectCode::TooManyOpenProposals => {
                "the sender has too many proposals waiting for approvals; wait for governance to act on them"
            }
            RejectCode::RevokedListFull => {
                "the status list has recorded as many revoked ids as it may; use another list"
            }
            RejectCode::CeremonyRefused => {
                "the setup ceremony step is refused (out of order, unknown ceremony, or its checks fail)"
            }
            RejectCode::CouncilRefused => {
                "the council step is refused (out of order, not a member, unknown council, or its checks fail)"
            }
            RejectCode::OpeningRefused => {
                "the opening step is refused (no approved opening, or the share does not verify)"
            }
            RejectCode::ValidatorSetChangePending => {
                "a validator-set change is waiting for its checkpoint; send the next one after it"
            }
        })
    }
}

/// A committed transaction's receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxReceipt {
    /// The block.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
    /// Outcome.
    pub outcome: TxOutcome,
}

/// The revocation state of one issuer's status list: how many indexes it has revoked and the
/// root of the Poseidon revocation tree that unlinkable proofs show non-membership in. A fixed
/// size whatever the list holds: the revoked indexes themselves are the set bits of the list's
/// [`StatusListChunk`]s (bounded records of [`STATUS_CHUNK_BITS`] bits), from which anyone
/// rebuilds the tree and checks it against this root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevocationRoot {
    /// The issuer.
    pub issuer: Did,
    /// Status list.
    pub list_id: u32,
    /// How many indexes are revoked (at most [`crate::limits::MAX_REVOKED_PER_LIST`]).
    pub count: u32,
    /// Root of the revocation tree (BN254 field element, 32 bytes little-endian).
    pub root: Hash,
}

/// Keys of the ledger state, so every part names a record the same way.
pub mod state_keys {
    use crate::did::Did;
    use crate::hash::Hash;

    /// `governance` → [`super::Governance`].
    pub const GOVERNANCE: &[u8] = b"governance";
    /// `validators` → the current [`super::ValidatorSet`].
    pub const VALIDATORS: &[u8] = b"validators";
    /// `validators/switch` → the checkpoint height (`u64`) at which consensus switches to the
    /// set last recorded in `validators`; no other change applies until then.
    pub const VALIDATORS_SWITCH: &[u8] = b"validators/switch";
    /// `account/<did>` → [`super::AccountRecord`].
    pub fn account(did: &Did) -> Vec<u8> {
        format!("account/{did}").into_bytes()
    }
    /// `proposal/<tx hash>` → [`super::ProposalRecord`].
    pub fn proposal(tx: &Hash) -> Vec<u8> {
        format!("proposal/{tx}").into_bytes()
    }
    /// `open-proposals/<did>` → `u32`: the sender's proposals not yet in effect.
    pub fn open_proposals(did: &Did) -> Vec<u8> {
        format!("open-proposals/{did}").into_bytes()
    }
    /// `tx/<tx hash>` → [`super::TxReceipt`].
    pub fn receipt(tx: &Hash) -> Vec<u8> {
        format!("tx/{tx}").into_bytes()
    }
    /// `revoked/<issuer>/<list>` → [`super::RevocationRoot`].
    pub fn revoked(issuer: &Did, list_id: u32) -> Vec<u8> {
        format!("revoked/{issuer}/{list_id}").into_bytes()
    }

    /// `issuer/<did>` → [`super::IssuerRecord`].
    pub fn issuer(did: &Did) -> Vec<u8> {
        format!("issuer/{did}").into_bytes()
    }
    /// `nullifier-scope/<scope>` → the [`Did`] of the verifier that registered it (a scope
    /// is registered once).
    pub fn nullifier_scope(scope: &str) -> Vec<u8> {
        format!("nullifier-scope/{scope}").into_bytes()
    }
    /// `verifier/<did>` → [`super::VerifierRecord`].
    pub fn verifier(did: &Did) -> Vec<u8> {
        format!("verifier/{did}").into_bytes()
    }
    /// `schema/<id>` → [`super::SchemaRecord`].
    pub fn schema(id: &str) -> Vec<u8> {
        format!("schema/{id}").into_bytes()
    }
    /// `anchor/<issuer>/<root hex>` → [`super::AnchorRecord`].
    pub fn anchor(issuer: &Did, root: &crate::hash::Hash) -> Vec<u8> {
        format!("anchor/{issuer}/{root}").into_bytes()
    }
    /// `status/<issuer>/<list>/<chunk>` → [`super::StatusListChunk`].
    pub fn status_chunk(issuer: &Did, list_id: u32, chunk: u32) -> Vec<u8> {
        format!("status/{issuer}/{list_id}/{chunk}").into_bytes()
    }
    /// `vk/<circuit>/<version>` → [`super::VerifyingKeyRecord`].
    pub fn verifying_key(circuit: &str, version: u32) -> Vec<u8> {
        format!("vk/{circuit}/{version}").into_bytes()
    }

    /// `ceremony/<id>` → [`super::CeremonyRecord`].
    pub fn ceremony(id: &str) -> Vec<u8> {
        format!("ceremony/{id}").into_bytes()
    }

    /// `vk-ceremony/<circuit>/<version>` → the id (a JSON string) of the ceremony whose
    /// transcript the key ends.
    pub fn verifying_key_ceremony(circuit: &str, version: u32) -> Vec<u8> {
        format!("vk-ceremony/{circuit}/{version}").into_bytes()
    }

    /// A regulator council's key generation ([`super::CouncilRecord`]).
    pub fn council(id: &str) -> Vec<u8> {
        format!("council/{id}").into_bytes()
    }

    /// The opening proposals naming one escrow ciphertext (a list of proposal hashes), by the
    /// SM3 of the ciphertext's 64 bytes.
    pub fn openings_of(ciphertext: &crate::hash::Hash) -> Vec<u8> {
        format!("openings-of/{}", ciphertext.to_hex()).into_bytes()
    }

    /// An approved opening ([`super::OpeningRecord`]), by its proposal's hash.
    pub fn opening(proposal: &crate::hash::Hash) -> Vec<u8> {
        format!("opening/{}", proposal.to_hex()).into_bytes()
    }

    /// A verifying key version's retirement ([`super::KeyRetirement`]); absent while it is in use.
    pub fn retired_verifying_key(circuit: &str, version: u32) -> Vec<u8> {
        format!("vk-retired/{circuit}/{version}").into_bytes()
    }
}

//! The unlinkable tier: Groth16 proofs that a holder owns an unrevoked credential of an issuer
//! whose hidden attributes satisfy the request's predicates, with a verifier-scoped nullifier.
//!
//! Circuits come in a few shapes ([`CircuitShape::SHAPES`]), each with its own keys, named by
//! [`CircuitShape::id`] and [`KEY_VERSION`], so a verifier knows which registered verifying key
//! applies. [`setup`] draws the toxic waste from the RNG it is given (OS randomness in
//! production; a seeded RNG only in tests).

use crate::ZkError;
use crate::circuit::{Assignment, CircuitPredicate, RANGE_BITS, UnlinkableCircuit};
use crate::escrow::{Ciphertext, CouncilKey, EscrowRandomness};
use crate::poseidon::{TAG_LEAF, TAG_NULLIFIER, TAG_SECRET, fr_from_digest, fr_from_i64, hash};
use crate::tree::{CREDENTIAL_TREE_DEPTH, MerklePath, REVOCATION_TREE_DEPTH};
use ark_bn254::{Bn254, Fr};
use ark_ff::{UniformRand, Zero};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, prepare_verifying_key};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use core::fmt;
use rand_core::CryptoRngCore;
use schemas::Hash;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Version of the keys of every shape (bumped when the circuit changes). Version 2 added the
/// issuer binding, the validity period at a public time and the attributes' presence bits.
pub const KEY_VERSION: u32 = 2;

/// Size of a compressed proof.
pub const PROOF_BYTES: usize = 128;

/// Largest verifying key accepted.
const MAX_VK_BYTES: usize = 64 * 1024;

/// Number of hidden attributes and predicates a circuit handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CircuitShape {
    /// Attributes `a_1..a_A` (besides the revocation id).
    pub attributes: usize,
    /// Predicates (a range `a <= x <= b` takes two).
    pub predicates: usize,
    /// Whether the proof also shows an escrow ciphertext of the holder's identity handle
    /// (`crate::escrow`).
    pub escrow: bool,
}

impl CircuitShape {
    /// The shapes Credence registers keys for.
    pub const SHAPES: [CircuitShape; 2] = [
        CircuitShape {
            attributes: 4,
            predicates: 2,
            escrow: false,
        },
        CircuitShape {
            attributes: 8,
            predicates: 4,
            escrow: false,
        },
    ];

    /// The escrow shapes (the same, plus the escrow ciphertext).
    pub const ESCROW_SHAPES: [CircuitShape; 2] = [
        CircuitShape {
            attributes: 4,
            predicates: 2,
            escrow: true,
        },
        CircuitShape {
            attributes: 8,
            predicates: 4,
            escrow: true,
        },
    ];

    /// `unlinkable-a{A}-p{P}-d20-r32`, or `escrow-a{A}-p{P}-d20-r32` for an escrow shape.
    pub fn id(&self) -> String {
        format!(
            "{}-a{}-p{}-d{CREDENTIAL_TREE_DEPTH}-r{REVOCATION_TREE_DEPTH}",
            if self.escrow { "escrow" } else { "unlinkable" },
            self.attributes,
            self.predicates
        )
    }

    /// The shape named `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::SHAPES
            .into_iter()
            .chain(Self::ESCROW_SHAPES)
            .find(|s| s.id() == id)
    }

    /// Public inputs of its circuit (the verifying key has one more point).
    pub fn public_inputs(&self) -> usize {
        4 + 3 * self.predicates + 3 + if self.escrow { 6 } else { 0 }
    }

    /// The smallest shape that fits, with or without escrow.
    pub fn fitting(attributes: usize, predicates: usize, escrow: bool) -> Option<Self> {
        let shapes = if escrow { Self::ESCROW_SHAPES } else { Self::SHAPES };
        shapes
            .into_iter()
            .find(|s| s.attributes >= attributes && s.predicates >= predicates)
    }

    /// An all-zero assignment of this shape.
    pub(crate) fn blank(&self) -> Assignment {
        Assignment::blank(self.attributes, self.predicates, self.escrow)
    }
}

/// The holder's secret bound into every unlinkable credential.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct HolderSecret(Fr);

impl HolderSecret {
    /// A fresh secret.
    pub fn random(rng: &mut impl CryptoRngCore) -> Self {
        HolderSecret(Fr::rand(&mut RngAdapter(rng)))
    }

    /// Restores a secret from its 32-byte encoding.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, ZkError> {
        crate::poseidon::fr_from_bytes(bytes)
            .map(HolderSecret)
            .ok_or(ZkError::InvalidBlinding)
    }

    /// The 32-byte encoding (for the wallet's encrypted store), zeroized on drop.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(crate::poseidon::fr_to_bytes(&self.0))
    }

    /// What the issuer puts in the leaf: `Poseidon(TAG_SECRET, secret)`. Reveals nothing of it.
    pub fn commitment(&self) -> Fr {
        hash(&[Fr::from(TAG_SECRET), self.0])
    }

    /// [`HolderSecret::commitment`] as the issuer's row and the credential carry it.
    pub fn commitment_hash(&self) -> Hash {
        crate::poseidon::to_hash(&self.commitment())
    }

    /// The nullifier for a verifier scope.
    pub fn nullifier(&self, scope: &Fr) -> Fr {
        hash(&[Fr::from(TAG_NULLIFIER), self.0, *scope])
    }
}

impl fmt::Debug for HolderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HolderSecret").finish_non_exhaustive()
    }
}

/// ark's RNG traits are rand 0.8's, whose `RngCore` is rand_core 0.6's: the same family as ours.
pub(crate) struct RngAdapter<'a, R: CryptoRngCore>(pub(crate) &'a mut R);

impl<R: CryptoRngCore> rand_core::RngCore for RngAdapter<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}
impl<R: CryptoRngCore> rand_core::CryptoRng for RngAdapter<'_, R> {}

/// What an issuer attests in a credential's leaf (besides the salt and the holder's commitment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafData {
    /// The issuer and schema ([`binding_element`]).
    pub binding: Fr,
    /// The revocation id (the credential's status index).
    pub id: u32,
    /// First second of validity ([`circuit_period`]).
    pub valid_from: u32,
    /// Last second of validity, inclusive.
    pub valid_until: u32,
    /// Attribute values `a_1..a_A` in the schema's order; `None`: not attested, so no predicate
    /// on it can be proven (it enters the leaf as 0 with its presence bit clear).
    pub attributes: Vec<Option<i64>>,
}

impl LeafData {
    /// The presence bits: bit `i` set when `a_{i+1}` is attested.
    fn presence(&self) -> u64 {
        self.attributes
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_some())
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    fn values(&self) -> impl Iterator<Item = Fr> + '_ {
        self.attributes.iter().map(|a| fr_from_i64(a.unwrap_or(0)))
    }
}

/// A credential's leaf in its issuer's tree:
/// `Poseidon(TAG_LEAF, binding, id, from, until, presence, a_1..a_A, salt, holder_commitment)`.
pub fn credential_leaf(data: &LeafData, salt: &Fr, holder_commitment: &Fr) -> Fr {
    let mut input = vec![
        Fr::from(TAG_LEAF),
        data.binding,
        Fr::from(u64::from(data.id)),
        Fr::from(u64::from(data.valid_from)),
        Fr::from(u64::from(data.valid_until)),
        Fr::from(data.presence()),
    ];
    input.extend(data.values());
    input.extend([*salt, *holder_commitment]);
    hash(&input)
}

/// [`credential_leaf`] from the hashes a credential carries (its salt and the holder's
/// commitment); `None` if either is not a canonical field element.
pub fn credential_leaf_hash(data: &LeafData, salt: &Hash, holder_commitment: &Hash) -> Option<Hash> {
    let salt = crate::poseidon::from_hash(salt)?;
    let commitment = crate::poseidon::from_hash(holder_commitment)?;
    Some(crate::poseidon::to_hash(&credential_leaf(
        data,
        &salt,
        &commitment,
    )))
}

/// A credential's validity period (seconds since 1970, `until` inclusive and open when `None`)
/// as the circuit reads it: clamped to `0..=u32::MAX`, which changes no answer for a time the
/// circuit can take ([`circuit_time`]).
pub fn circuit_period(valid_from: i64, valid_until: Option<i64>) -> (u32, u32) {
    let clamp = |t: i64| u32::try_from(t.max(0)).unwrap_or(u32::MAX);
    (clamp(valid_from), valid_until.map_or(u32::MAX, clamp))
}

/// A time (seconds since 1970) as the circuit's public `now`: `None` before 1970 or after 2106.
pub fn circuit_time(t: i64) -> Option<u32> {
    u32::try_from(t).ok()
}

/// The issuer and schema a leaf belongs to, as a field element:
/// `SM3("credence/unlinkable-binding/v1" ‖ len(issuer) as u32 LE ‖ issuer ‖ schema_id)`.
pub fn binding_element(issuer: &str, schema_id: &str) -> Fr {
    let mut bytes = Vec::with_capacity(4 + issuer.len() + schema_id.len());
    bytes.extend_from_slice(&(issuer.len() as u32).to_le_bytes());
    bytes.extend_from_slice(issuer.as_bytes());
    bytes.extend_from_slice(schema_id.as_bytes());
    fr_from_digest(schemas::hash::hash_domain(BINDING_DOMAIN, &bytes).as_bytes())
}

const BINDING_DOMAIN: schemas::hash::Domain = schemas::hash::Domain::new("credence/unlinkable-binding/v1");

/// The scope string of a verifier as a field element.
pub fn scope_element(scope: &str) -> Fr {
    fr_from_digest(schemas::hash::hash_domain(SCOPE_DOMAIN, scope.as_bytes()).as_bytes())
}

const SCOPE_DOMAIN: schemas::hash::Domain = schemas::hash::Domain::new("credence/nullifier-scope/v1");

/// A proving key of one shape.
pub struct ProvingKey {
    shape: CircuitShape,
    inner: ark_groth16::ProvingKey<Bn254>,
}

impl ProvingKey {
    /// Its shape.
    pub fn shape(&self) -> CircuitShape {
        self.shape
    }

    /// Serialised size in bytes (compressed).
    pub fn size_bytes(&self) -> usize {
        self.inner.compressed_size()
    }

    /// The key as a file: shape id, then the arkworks compressed key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let id = self.shape.id();
        let mut out = Vec::with_capacity(2 + id.len() + self.inner.compressed_size());
        out.extend_from_slice(&(id.len() as u16).to_le_bytes());
        out.extend_from_slice(id.as_bytes());
        self.inner
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Parses a proving-key file written by [`ProvingKey::to_bytes`], checking every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ZkError> {
        let bad = |reason: String| ZkError::MalformedKey {
            what: "proving key",
            reason,
        };
        let (len, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or_else(|| bad("the file is empty".into()))?;
        let len = usize::from(u16::from_le_bytes(*len));
        if rest.len() < len {
            return Err(bad("the file ends inside the circuit id".into()));
        }
        let (id, key) = rest.split_at(len);
        let id = core::str::from_utf8(id).map_err(|_| bad("the circuit id is not UTF-8".into()))?;
        let shape = CircuitShape::from_id(id).ok_or_else(|| bad(format!("unknown circuit {id:?}")))?;
        let inner =
            ark_groth16::ProvingKey::<Bn254>::deserialize_compressed(key).map_err(|e| bad(e.to_string()))?;
        if inner.vk.gamma_abc_g1.len() != shape.public_inputs() + 1 {
            return Err(bad(format!("it is not a key of circuit {id}")));
        }
        Ok(ProvingKey { shape, inner })
    }

    /// Whether this proving key belongs to `vk` (the key registered on the ledger): a holder
    /// proves only with a key whose verifying half governance registered.
    pub fn matches(&self, vk: &VerifyingKey) -> bool {
        self.shape == vk.shape && self.inner.vk == vk.raw
    }
}

/// A prepared verifying key of one shape and version.
pub struct VerifyingKey {
    shape: CircuitShape,
    version: u32,
    raw: ark_groth16::VerifyingKey<Bn254>,
    prepared: PreparedVerifyingKey<Bn254>,
}

impl VerifyingKey {
    /// Its shape.
    pub fn shape(&self) -> CircuitShape {
        self.shape
    }

    /// Its version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The arkworks key (for the setup ceremony's checks).
    pub(crate) fn raw(&self) -> &ark_groth16::VerifyingKey<Bn254> {
        &self.raw
    }

    /// The key bytes registered on the ledger (arkworks compressed; shape and version travel
    /// beside it in the ledger record).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.compressed_size());
        self.raw
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Parses a registered key, checking every point.
    pub fn from_bytes(circuit: &str, version: u32, bytes: &[u8]) -> Result<Self, ZkError> {
        let shape = CircuitShape::from_id(circuit).ok_or_else(|| ZkError::MalformedKey {
            what: "verifying key",
            reason: format!("unknown circuit {circuit:?}"),
        })?;
        if bytes.len() > MAX_VK_BYTES {
            return Err(ZkError::MalformedKey {
                what: "verifying key",
                reason: format!("{} bytes is too large", bytes.len()),
            });
        }
        let raw = ark_groth16::VerifyingKey::<Bn254>::deserialize_compressed(bytes).map_err(|e| {
            ZkError::MalformedKey {
                what: "verifying key",
                reason: e.to_string(),
            }
        })?;
        check_structure(&raw)?;
        let expected_inputs = shape.public_inputs() + 1;
        if raw.gamma_abc_g1.len() != expected_inputs {
            return Err(ZkError::MalformedKey {
                what: "verifying key",
                reason: format!(
                    "{} input points; circuit {circuit} needs {expected_inputs}",
                    raw.gamma_abc_g1.len()
                ),
            });
        }
        Ok(VerifyingKey {
            shape,
            version,
            prepared: prepare_verifying_key(&raw),
            raw,
        })
    }
}

/// The structural checks a verifying key must pass beyond being points of the right groups
/// (which decoding checks: on the curve, in the prime-order subgroup). A Groth16 key whose δ
/// equals γ — as when the circuit-specific phase of a setup was never run and both are left at
/// the G2 generator — lets anyone forge proofs of any statement (live verifiers were drained
/// this way in February 2026), so such a key is refused, as is a δ still at the generator or
/// any of α, β, γ, δ at the identity.
fn check_structure(raw: &ark_groth16::VerifyingKey<Bn254>) -> Result<(), ZkError> {
    use ark_ec::AffineRepr as _;
    let refuse = |reason: &str| {
        Err(ZkError::MalformedKey {
            what: "verifying key",
            reason: reason.to_owned(),
        })
    };
    if raw.alpha_g1.is_zero() || raw.beta_g2.is_zero() || raw.gamma_g2.is_zero() || raw.delta_g2.is_zero() {
        return refuse("one of α, β, γ, δ is the identity");
    }
    if raw.delta_g2 == raw.gamma_g2 {
        return refuse(
            "δ equals γ: the setup's circuit-specific phase was not done, and anyone could forge proofs",
        );
    }
    if raw.delta_g2 == ark_bn254::G2Affine::generator() {
        return refuse("δ is the G2 generator: no one contributed to the setup's circuit-specific phase");
    }
    Ok(())
}

/// Makes the keys of a shape.
pub fn setup(
    shape: CircuitShape,
    rng: &mut impl CryptoRngCore,
) -> Result<(ProvingKey, VerifyingKey), ZkError> {
    let circuit = UnlinkableCircuit { a: shape.blank() };
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(circuit, &mut RngAdapter(rng)).map_err(|e| {
        ZkError::Internal {
            reason: e.to_string(),
        }
    })?;
    let prepared = prepare_verifying_key(&vk);
    Ok((
        ProvingKey { shape, inner: pk },
        VerifyingKey {
            shape,
            version: KEY_VERSION,
            raw: vk,
            prepared,
        },
    ))
}

/// Public inputs of a shape's circuit.
pub(crate) fn public_input_count(shape: CircuitShape) -> usize {
    shape.public_inputs()
}

/// The keys of a shape from a finished setup ceremony (`crate::ceremony`).
pub(crate) fn keys_from_ceremony(
    shape: CircuitShape,
    version: u32,
    inner: ark_groth16::ProvingKey<Bn254>,
) -> Result<(ProvingKey, VerifyingKey), ZkError> {
    check_structure(&inner.vk)?;
    if inner.vk.gamma_abc_g1.len() != shape.public_inputs() + 1 {
        return Err(ZkError::MalformedKey {
            what: "verifying key",
            reason: format!("it is not a key of circuit {}", shape.id()),
        });
    }
    let raw = inner.vk.clone();
    Ok((
        ProvingKey { shape, inner },
        VerifyingKey {
            shape,
            version,
            prepared: prepare_verifying_key(&raw),
            raw,
        },
    ))
}

/// Number of constraints of a shape.
pub fn constraint_count(shape: CircuitShape) -> Result<usize, ZkError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    UnlinkableCircuit { a: shape.blank() }
        .generate_constraints(cs.clone())
        .map_err(|e| ZkError::Internal {
            reason: e.to_string(),
        })?;
    cs.finalize();
    Ok(cs.num_constraints())
}

/// What the verifier knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlinkableStatement {
    /// The issuer's anchored Poseidon root (as the anchor carries it).
    pub issuer_root: Hash,
    /// The issuer's revocation-tree root (recent, from the ledger).
    pub revocation_root: Hash,
    /// The issuer and schema of the anchored batch ([`binding_element`]).
    pub binding: Fr,
    /// The time at which the credential must be valid (the request's creation, [`circuit_time`]).
    pub now: u32,
    /// Predicates on hidden attributes.
    pub predicates: Vec<CircuitPredicate>,
    /// The verifier's registered nullifier scope.
    pub scope: String,
    /// The request digest.
    pub request: Hash,
}

/// What the holder knows.
pub struct UnlinkableWitness<'a> {
    /// What the leaf attests.
    pub leaf: &'a LeafData,
    /// The leaf salt (as the credential carries it).
    pub salt: Hash,
    /// The holder secret.
    pub secret: &'a HolderSecret,
    /// Path in the issuer's tree.
    pub credential_path: &'a MerklePath,
    /// Path at `id` in the revocation tree.
    pub revocation_path: &'a MerklePath,
}

/// The padding predicate (`id >= 0`, always true) that fills unused predicate slots.
const PAD: CircuitPredicate = CircuitPredicate {
    attribute: 0,
    at_most: false,
    threshold: 0,
};

fn predicate_inputs(
    shape: CircuitShape,
    predicates: &[CircuitPredicate],
) -> Result<Vec<CircuitPredicate>, ZkError> {
    let mismatch = |reason: String| ZkError::ShapeMismatch {
        circuit: shape.id(),
        reason,
    };
    if predicates.len() > shape.predicates {
        return Err(mismatch(format!(
            "{} predicates; it takes at most {}",
            predicates.len(),
            shape.predicates
        )));
    }
    if let Some(p) = predicates.iter().find(|p| p.attribute > shape.attributes) {
        return Err(mismatch(format!(
            "predicate on attribute {}; it has {}",
            p.attribute, shape.attributes
        )));
    }
    let mut all = predicates.to_vec();
    all.resize(shape.predicates, PAD);
    Ok(all)
}

/// A carried hash as the field element it encodes, or which value is not one.
fn field(h: &Hash, what: &'static str) -> Result<Fr, ZkError> {
    crate::poseidon::from_hash(h).ok_or(ZkError::NotAFieldElement { what })
}

fn statement_assignment(
    shape: CircuitShape,
    s: &UnlinkableStatement,
    escrow: Option<&EscrowStatement>,
    nullifier: Fr,
) -> Result<Assignment, ZkError> {
    let mismatch = |reason: String| ZkError::ShapeMismatch {
        circuit: shape.id(),
        reason,
    };
    let mut a = shape.blank();
    match (escrow, &mut a.escrow) {
        (Some(e), Some(slot)) => {
            if !(1..=shape.attributes).contains(&e.handle_attribute) {
                return Err(mismatch(format!(
                    "the identity handle is attribute {}; it has attributes 1 to {}",
                    e.handle_attribute, shape.attributes
                )));
            }
            slot.handle_attribute = e.handle_attribute as u64;
            slot.council = e.council.coordinates();
            slot.ciphertext = e.ciphertext.coordinates();
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(mismatch(
                "the statement asks for escrow; this circuit has none (use an escrow shape)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(mismatch(
                "this circuit proves an escrow ciphertext; the statement has none".into(),
            ));
        }
    }
    a.issuer_root = field(&s.issuer_root, "issuer's Poseidon root")?;
    a.revocation_root = field(&s.revocation_root, "revocation root")?;
    a.binding = s.binding;
    a.now = s.now;
    a.predicates = predicate_inputs(shape, &s.predicates)?
        .iter()
        .map(|p| {
            (
                Fr::from(p.attribute as u64),
                Fr::from(u64::from(p.at_most)),
                fr_from_i64(p.threshold),
            )
        })
        .collect();
    a.scope = scope_element(&s.scope);
    a.request = fr_from_digest(s.request.as_bytes());
    a.nullifier = nullifier;
    Ok(a)
}

/// What an escrow shape adds to a statement: which attribute is the holder's identity handle,
/// the council key it is encrypted to, and the ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowStatement {
    /// The attribute (1..=A, in the schema's order) the schema names as the identity handle.
    pub handle_attribute: usize,
    /// The regulator council's key, from the ledger.
    pub council: CouncilKey,
    /// The ciphertext the presentation carries.
    pub ciphertext: Ciphertext,
}

/// Proves the statement; returns the 128-byte proof and the nullifier.
pub fn prove_unlinkable(
    pk: &ProvingKey,
    statement: &UnlinkableStatement,
    witness: &UnlinkableWitness<'_>,
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; PROOF_BYTES], Hash), ZkError> {
    prove(pk, statement, None, witness, rng).map(|(proof, nullifier, _)| (proof, nullifier))
}

/// Proves the statement with an escrow shape: encrypts the credential's identity handle
/// (attribute `handle_attribute`) to `council` with fresh randomness, and proves that too.
/// Returns the proof, the nullifier and the ciphertext (the verifier's [`EscrowStatement`]).
pub fn prove_escrowed(
    pk: &ProvingKey,
    statement: &UnlinkableStatement,
    handle_attribute: usize,
    council: &CouncilKey,
    witness: &UnlinkableWitness<'_>,
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; PROOF_BYTES], Hash, Ciphertext), ZkError> {
    let (proof, nullifier, ct) = prove(pk, statement, Some((handle_attribute, council)), witness, rng)?;
    let ct = ct.ok_or(ZkError::Internal {
        reason: "an escrow proof without its ciphertext".into(),
    })?;
    Ok((proof, nullifier, ct))
}

fn prove(
    pk: &ProvingKey,
    statement: &UnlinkableStatement,
    escrow: Option<(usize, &CouncilKey)>,
    witness: &UnlinkableWitness<'_>,
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; PROOF_BYTES], Hash, Option<Ciphertext>), ZkError> {
    let shape = pk.shape;
    let data = witness.leaf;
    if data.attributes.len() != shape.attributes {
        return Err(ZkError::ShapeMismatch {
            circuit: shape.id(),
            reason: format!(
                "{} attributes; it takes exactly {}",
                data.attributes.len(),
                shape.attributes
            ),
        });
    }
    // Check natively first: a false statement gets a clear error, not a proof that fails later.
    // Every carried value is a field element first, so a bad one is named as such.
    let nullifier = witness.secret.nullifier(&scope_element(&statement.scope));
    // The ciphertext, if asked for: the handle must be an attested attribute.
    let escrowed = match escrow {
        None => None,
        Some((handle_attribute, council)) => {
            let handle = handle_attribute
                .checked_sub(1)
                .and_then(|i| data.attributes.get(i))
                .copied()
                .flatten()
                .ok_or(ZkError::UnsatisfiedWitness {
                    reason: "the credential has no identity handle at the attribute the schema names",
                })?;
            let r = EscrowRandomness::random(rng);
            let ciphertext = crate::escrow::encrypt(council, fr_from_i64(handle), &r);
            let statement = EscrowStatement {
                handle_attribute,
                council: *council,
                ciphertext,
            };
            Some((statement, r))
        }
    };
    let mut a = statement_assignment(shape, statement, escrowed.as_ref().map(|(s, _)| s), nullifier)?;
    if let (Some(slot), Some((_, r))) = (&mut a.escrow, &escrowed) {
        slot.randomness = r.0;
    }
    let salt = field(&witness.salt, "leaf salt")?;
    let leaf = credential_leaf(data, &salt, &witness.secret.commitment());
    if data.binding != statement.binding {
        return Err(ZkError::UnsatisfiedWitness {
            reason: "the credential is not of the statement's issuer and schema",
        });
    }
    let outside = |reason| ZkError::NotValidAt {
        reason,
        now: statement.now,
        from: data.valid_from,
        until: data.valid_until,
    };
    if statement.now < data.valid_from {
        return Err(outside("not valid yet"));
    }
    if statement.now > data.valid_until {
        return Err(outside("expired"));
    }
    if witness.credential_path.siblings.len() != CREDENTIAL_TREE_DEPTH
        || witness.credential_path.root_from(leaf) != a.issuer_root
    {
        return Err(ZkError::UnsatisfiedWitness {
            reason: "the credential is not in the issuer's tree",
        });
    }
    if witness.revocation_path.siblings.len() != REVOCATION_TREE_DEPTH
        || witness.revocation_path.index != u64::from(data.id)
        || witness.revocation_path.root_from(Fr::zero()) != a.revocation_root
    {
        return Err(ZkError::UnsatisfiedWitness {
            reason: "the credential is revoked, or the revocation path is not for its id",
        });
    }
    let mut values = vec![Some(i64::from(data.id))];
    values.extend_from_slice(&data.attributes);
    for (index, p) in predicate_inputs(shape, &statement.predicates)?.iter().enumerate() {
        let x = i128::from(values[p.attribute].ok_or(ZkError::AttributeAbsent { index })?);
        let t = i128::from(p.threshold);
        let d = if p.at_most { t - x } else { x - t };
        if !(0..1i128 << RANGE_BITS).contains(&d) {
            return Err(if d < 0 {
                ZkError::PredicateFalse { index }
            } else {
                ZkError::OutOfRange {
                    index,
                    bits: RANGE_BITS as u8,
                }
            });
        }
        a.differences[index] = d as u64;
    }
    a.attributes = data.values().collect();
    a.presence = data.presence();
    a.valid_from = data.valid_from;
    a.valid_until = data.valid_until;
    a.id = data.id;
    a.salt = salt;
    a.secret = witness.secret.0;
    a.credential_siblings = witness.credential_path.siblings.clone();
    a.credential_index = witness.credential_path.index;
    a.revocation_siblings = witness.revocation_path.siblings.clone();
    let proof =
        Groth16::<Bn254>::prove(&pk.inner, UnlinkableCircuit { a }, &mut RngAdapter(rng)).map_err(|e| {
            ZkError::Internal {
                reason: e.to_string(),
            }
        })?;
    let mut bytes = [0u8; PROOF_BYTES];
    proof
        .serialize_compressed(&mut bytes[..])
        .map_err(|e| ZkError::Internal {
            reason: e.to_string(),
        })?;
    Ok((
        bytes,
        crate::poseidon::to_hash(&nullifier),
        escrowed.map(|(s, _)| s.ciphertext),
    ))
}

/// The public inputs of a statement and nullifier, in circuit order (for other verifiers).
pub(crate) fn public_inputs(
    vk: &VerifyingKey,
    statement: &UnlinkableStatement,
    escrow: Option<&EscrowStatement>,
    nullifier: &Hash,
) -> Result<Vec<Fr>, ZkError> {
    let nullifier = field(nullifier, "nullifier")?;
    Ok(statement_assignment(vk.shape, statement, escrow, nullifier)?.public_inputs())
}

/// Verifies an unlinkable proof for the statement and nullifier.
pub fn verify_unlinkable(
    vk: &VerifyingKey,
    statement: &UnlinkableStatement,
    nullifier: &Hash,
    proof: &[u8],
) -> Result<(), ZkError> {
    verify(vk, statement, None, nullifier, proof)
}

/// Verifies a proof of an escrow shape: the statement, and that `escrow.ciphertext` encrypts the
/// credential's identity handle (attribute `escrow.handle_attribute`) to `escrow.council`.
pub fn verify_escrowed(
    vk: &VerifyingKey,
    statement: &UnlinkableStatement,
    escrow: &EscrowStatement,
    nullifier: &Hash,
    proof: &[u8],
) -> Result<(), ZkError> {
    verify(vk, statement, Some(escrow), nullifier, proof)
}

fn verify(
    vk: &VerifyingKey,
    statement: &UnlinkableStatement,
    escrow: Option<&EscrowStatement>,
    nullifier: &Hash,
    proof: &[u8],
) -> Result<(), ZkError> {
    // The statement first: a carried value that is not a field element is named as such.
    let nullifier = field(nullifier, "nullifier")?;
    let inputs = statement_assignment(vk.shape, statement, escrow, nullifier)?.public_inputs();
    groth16_verify(vk, &inputs, proof)
}

/// What an opening proposal carries so that validators can check, without the presentation's
/// ledger context, that its ciphertext is one a holder proved (`docs/escrow.md`, "Evidence"):
/// every public input of an escrow proof, as canonical 32-byte field encodings, in circuit
/// order. The statement's values are not checked against the ledger here; what the check
/// guarantees is that whoever made the proof knew the ciphertext's randomness and an attested
/// handle, so a ciphertext derived from another one (hashed ElGamal is malleable) has no
/// evidence.
pub fn escrow_evidence(
    vk: &VerifyingKey,
    statement: &UnlinkableStatement,
    escrow: &EscrowStatement,
    nullifier: &Hash,
) -> Result<Vec<Hash>, ZkError> {
    Ok(public_inputs(vk, statement, Some(escrow), nullifier)?
        .iter()
        .map(crate::poseidon::to_hash)
        .collect())
}

/// What an opening proposal claims its evidence proves, each value from the ledger or the
/// proposal: which ciphertext under which council key, for which request, from a credential
/// under which anchored root and issuer binding, to which verifier's scope, with the handle in
/// which attribute.
#[derive(Clone, Copy)]
pub struct EvidenceClaim<'a> {
    /// The council's key.
    pub council: &'a CouncilKey,
    /// The ciphertext to open.
    pub ciphertext: &'a Ciphertext,
    /// The answered request's digest.
    pub request: &'a Hash,
    /// The anchored batch's Poseidon root.
    pub issuer_root: &'a Hash,
    /// [`binding_element`] of the anchor's issuer and schema.
    pub binding: Fr,
    /// The verifier's nullifier domain (`VerifierRecord::nullifier_domain`).
    pub scope: &'a str,
    /// The schema's identity-handle attribute.
    pub handle_attribute: usize,
}

/// Checks evidence made by [`escrow_evidence`]: `vk` is an escrow shape's, the inputs are as
/// many as its circuit has and each a field element, the inputs are what `claim` says (every
/// input but the revocation root, the time, the predicates and the nullifier, which bind
/// nothing an opening depends on), and the proof verifies for them.
pub fn verify_escrow_evidence(
    vk: &VerifyingKey,
    inputs: &[Hash],
    proof: &[u8],
    claim: &EvidenceClaim<'_>,
) -> Result<(), ZkError> {
    let shape = vk.shape;
    let mismatch = |reason: String| ZkError::ShapeMismatch {
        circuit: shape.id(),
        reason,
    };
    if !shape.escrow {
        return Err(mismatch("it is not an escrow shape".into()));
    }
    if inputs.len() != shape.public_inputs() {
        return Err(mismatch(format!(
            "{} public inputs; the circuit has {}",
            inputs.len(),
            shape.public_inputs()
        )));
    }
    let inputs = inputs
        .iter()
        .map(|h| field(h, "public input"))
        .collect::<Result<Vec<Fr>, _>>()?;
    // Layout (`Assignment::public_inputs`): issuer root, revocation root, binding, time, 3 per
    // predicate, scope, request, nullifier, then handle attribute, council (x, y), ciphertext
    // (x, y, body).
    let at = 4 + 3 * shape.predicates;
    let (k, c) = (claim.council.coordinates(), claim.ciphertext.coordinates());
    if inputs[0] != field(claim.issuer_root, "issuer's Poseidon root")? {
        return Err(mismatch(
            "its inputs name another issuer root than the anchor's".into(),
        ));
    }
    if inputs[2] != claim.binding {
        return Err(mismatch(
            "its inputs name another issuer or schema than the anchor's".into(),
        ));
    }
    if inputs[at] != scope_element(claim.scope) {
        return Err(mismatch("its inputs are scoped to another verifier".into()));
    }
    if inputs[at + 1] != fr_from_digest(claim.request.as_bytes()) {
        return Err(mismatch("its inputs answer another request".into()));
    }
    if inputs[at + 3] != Fr::from(claim.handle_attribute as u64) {
        return Err(mismatch(
            "its inputs name another attribute than the schema's identity handle".into(),
        ));
    }
    if (inputs[at + 4], inputs[at + 5]) != k {
        return Err(mismatch("its inputs name another council key".into()));
    }
    if (inputs[at + 6], inputs[at + 7], inputs[at + 8]) != c {
        return Err(mismatch("its inputs name another ciphertext".into()));
    }
    groth16_verify(vk, &inputs, proof)
}

fn groth16_verify(vk: &VerifyingKey, inputs: &[Fr], proof: &[u8]) -> Result<(), ZkError> {
    if proof.len() != PROOF_BYTES {
        return Err(ZkError::MalformedProof {
            reason: format!("{} bytes; a proof is {PROOF_BYTES}", proof.len()),
        });
    }
    let proof = Proof::<Bn254>::deserialize_compressed(proof).map_err(|e| ZkError::MalformedProof {
        reason: e.to_string(),
    })?;
    match Groth16::<Bn254>::verify_with_processed_vk(&vk.prepared, inputs, &proof) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ZkError::VerificationFailed { what: "unlinkable" }),
        Err(e) => Err(ZkError::MalformedProof {
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{CredentialTree, RevocationTree};

    /// A key with δ = γ (an unfinished setup), δ at the generator or a point at the identity
    /// is refused on parsing, so neither the ledger nor a verifier accepts it; the real key
    /// passes. (With δ = γ a proof of any statement can be forged without the toxic waste.)
    #[test]
    fn keys_of_an_unfinished_setup_are_refused() {
        use ark_ec::AffineRepr as _;
        let shape = CircuitShape::SHAPES[0];
        let (_, vk) = setup(shape, &mut rand_core::OsRng).expect("setup");
        let parse = |raw: &ark_groth16::VerifyingKey<Bn254>| {
            let mut bytes = Vec::new();
            raw.serialize_compressed(&mut bytes).expect("serialises");
            VerifyingKey::from_bytes(&shape.id(), KEY_VERSION, &bytes)
        };
        assert!(parse(&vk.raw).is_ok());
        let refused = |raw: ark_groth16::VerifyingKey<Bn254>, why: &str| match parse(&raw) {
            Err(ZkError::MalformedKey { reason, .. }) => assert!(!reason.is_empty(), "{why}"),
            Err(e) => panic!("{why}: {e}"),
            Ok(_) => panic!("{why}: accepted"),
        };
        let mut k = vk.raw.clone();
        k.delta_g2 = k.gamma_g2;
        refused(k, "δ = γ");
        let mut k = vk.raw.clone();
        k.delta_g2 = ark_bn254::G2Affine::generator();
        refused(k, "δ at the generator");
        let mut k = vk.raw.clone();
        k.gamma_g2 = ark_bn254::G2Affine::generator();
        k.delta_g2 = ark_bn254::G2Affine::generator();
        refused(k, "both at the generator");
        let mut k = vk.raw.clone();
        k.alpha_g1 = ark_bn254::G1Affine::zero();
        refused(k, "α at the identity");
    }

    /// An honest assignment of the 4-attribute, 2-predicate shape for a credential with these
    /// attributes, with escrow of attribute `handle_attribute` to `council` when given.
    struct Fixture {
        good: Assignment,
        revoked: RevocationTree,
    }

    fn fixture(
        attributes: Vec<Option<i64>>,
        escrow: Option<(usize, CouncilKey, &EscrowRandomness)>,
    ) -> Fixture {
        let shape = CircuitShape {
            attributes: 4,
            predicates: 2,
            escrow: escrow.is_some(),
        };
        let secret = HolderSecret(Fr::from(42u64));
        let data = LeafData {
            binding: binding_element("did:credence:bank", "kyc/v1"),
            id: 9,
            valid_from: 1_000,
            valid_until: 2_000,
            attributes,
        };
        let salt = Fr::from(5u64);
        let leaf = credential_leaf(&data, &salt, &secret.commitment());
        let tree = CredentialTree::build(vec![Fr::from(1u64), leaf]).expect("fits");
        let revoked = RevocationTree::from_revoked([3]);
        let statement = UnlinkableStatement {
            issuer_root: tree.root_hash(),
            revocation_root: revoked.root_hash(),
            binding: data.binding,
            now: 1_500,
            predicates: vec![CircuitPredicate {
                attribute: 2,
                at_most: false,
                threshold: 2,
            }],
            scope: "s".into(),
            request: Hash([1; 32]),
        };
        let escrow_statement = escrow.map(|(handle_attribute, council, r)| {
            let handle = data.attributes[handle_attribute - 1].unwrap_or(0);
            EscrowStatement {
                handle_attribute,
                council,
                ciphertext: crate::escrow::encrypt(&council, fr_from_i64(handle), r),
            }
        });
        let nullifier = secret.nullifier(&scope_element("s"));
        let mut a =
            statement_assignment(shape, &statement, escrow_statement.as_ref(), nullifier).expect("fits");
        a.attributes = data.values().collect();
        a.presence = data.presence();
        a.valid_from = data.valid_from;
        a.valid_until = data.valid_until;
        a.id = 9;
        a.salt = salt;
        a.secret = secret.0;
        let p = tree.path(1).expect("exists");
        a.credential_siblings = p.siblings;
        a.credential_index = 1;
        a.revocation_siblings = revoked.path(9).siblings;
        a.differences = vec![0, 9];
        if let (Some(slot), Some((_, _, r))) = (&mut a.escrow, escrow) {
            slot.randomness = r.0;
        }
        Fixture { good: a, revoked }
    }

    fn satisfied(a: Assignment) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        UnlinkableCircuit { a }
            .generate_constraints(cs.clone())
            .expect("synthesises");
        cs.is_satisfied().expect("checkable")
    }

    /// Soundness below the native checks: a witness breaking any rule leaves the constraint
    /// system unsatisfied, so no proof could verify.
    #[test]
    fn constraints_reject_bad_witnesses() {
        // The fourth attribute is not attested.
        let Fixture { good, revoked } = fixture(vec![Some(7_300), Some(2), Some(156), None], None);
        assert!(
            satisfied(good.clone()),
            "the honest witness satisfies the circuit"
        );
        let mut bad = good.clone();
        bad.attributes[1] = Fr::from(1u64); // KYC level 1 >= 2 claimed
        assert!(!satisfied(bad));
        let mut bad = good.clone();
        bad.differences[0] = 1;
        assert!(!satisfied(bad));
        let mut bad = good.clone();
        bad.nullifier += Fr::from(1u64);
        assert!(!satisfied(bad));
        let mut bad = good.clone();
        bad.secret += Fr::from(1u64);
        assert!(!satisfied(bad));
        let mut bad = good.clone();
        bad.id = 3; // a revoked id
        bad.revocation_siblings = revoked.path(3).siblings;
        assert!(!satisfied(bad));
        let mut bad = good.clone();
        bad.predicates[0].0 = Fr::from(7u64); // attribute index out of range
        assert!(!satisfied(bad));
        // Expired: the same leaf at a time after its last valid second (finding 6).
        let mut bad = good.clone();
        bad.now = 2_001;
        assert!(!satisfied(bad));
        let mut bad = good.clone();
        bad.now = 999; // not valid yet
        assert!(!satisfied(bad));
        let mut at_edges = good.clone();
        at_edges.now = 2_000;
        assert!(satisfied(at_edges), "the last second is inside the period");
        // Another issuer's binding: the leaf does not hash to the root (finding 18).
        let mut bad = good.clone();
        bad.binding = binding_element("did:credence:other", "kyc/v1");
        assert!(!satisfied(bad));
        // A predicate on the unattested attribute: `a_4 <= 0` would hold for its stored 0, but
        // its presence bit is clear (finding 19); setting the bit changes the leaf.
        let mut bad = good.clone();
        bad.predicates[0] = (Fr::from(4u64), Fr::from(1u64), Fr::zero());
        bad.differences[0] = 0;
        assert!(!satisfied(bad.clone()));
        bad.presence |= 1 << 3;
        assert!(!satisfied(bad));
    }

    /// The escrow part: the ciphertext must be the encryption, with the witness's `r`, of the
    /// attested attribute the public index names, under the public council key.
    #[test]
    fn escrow_constraints_bind_the_handle_the_key_and_the_randomness() {
        use crate::escrow::{Scalar, encrypt, generator};
        use ark_ec::CurveGroup;
        let key = CouncilKey((generator() * Scalar::from(1234u64)).into_affine());
        let other_key = CouncilKey((generator() * Scalar::from(99u64)).into_affine());
        let r = EscrowRandomness::random(&mut rand_core::OsRng);
        let handle = 4_411_000_017;
        let attributes = vec![Some(7_300), Some(2), Some(156), Some(handle)];
        let good = fixture(attributes.clone(), Some((4, key, &r))).good;
        assert!(
            satisfied(good.clone()),
            "the honest witness satisfies the circuit"
        );
        let with = |f: &dyn Fn(&mut crate::circuit::EscrowAssignment)| {
            let mut a = good.clone();
            f(a.escrow.as_mut().expect("an escrow shape"));
            satisfied(a)
        };
        // Another handle in the body.
        let other = encrypt(&key, fr_from_i64(handle + 1), &r);
        assert!(!with(&|e| e.ciphertext = other.coordinates()));
        // The same ciphertext claimed under another key; or made under another key.
        assert!(!with(&|e| e.council = other_key.coordinates()));
        let under_other = encrypt(&other_key, fr_from_i64(handle), &r);
        assert!(!with(&|e| e.ciphertext = under_other.coordinates()));
        // Another `r` than the ciphertext's.
        assert!(!with(&|e| e.randomness += Scalar::from(1u64)));
        // Another attribute named as the handle, or the revocation id (index 0), or none.
        assert!(!with(&|e| e.handle_attribute = 3));
        assert!(!with(&|e| e.handle_attribute = 0));
        assert!(!with(&|e| e.handle_attribute = 5));
        // The honest encryption of another attested attribute, named by its index: satisfied.
        assert!(satisfied(fixture(attributes, Some((3, key, &r))).good));
        // A handle attribute the issuer did not attest cannot be escrowed (its 0 is not a handle).
        assert!(!satisfied(
            fixture(vec![Some(7_300), Some(2), Some(156), None], Some((4, key, &r))).good
        ));
        // Extreme randomness: the gadgets agree with the native arithmetic at `ℓ − 1` and 1.
        for r in [-Scalar::from(1u64), Scalar::from(1u64)] {
            let r = EscrowRandomness(r);
            let attributes = vec![Some(1), Some(2), Some(3), Some(-5)];
            assert!(satisfied(fixture(attributes, Some((4, key, &r))).good));
        }
    }

    #[test]
    fn periods_and_times_clamp_into_the_circuit() {
        assert_eq!(circuit_period(-5, None), (0, u32::MAX));
        assert_eq!(circuit_period(10, Some(1 << 40)), (10, u32::MAX));
        assert_eq!(circuit_time(-1), None);
        assert_eq!(circuit_time(1 << 33), None);
        assert_eq!(circuit_time(1_800_000_000), Some(1_800_000_000));
        assert_ne!(
            binding_element("did:a", "bc/v1"),
            binding_element("did:ab", "c/v1"),
            "the issuer's length separates it from the schema"
        );
    }
}

//! The unlinkable-credential circuit (R1CS over BN254's scalar field).
//!
//! Public inputs, in order:
//! `issuer_root, revocation_root, binding, now, (attribute_index, kind, threshold) × P, scope,
//! request, nullifier`.
//!
//! Witness: the attributes `a_1..a_A` and their presence bits `p_1..p_A`, the validity period
//! `from..=until`, the revocation id, the salt, the holder secret, the credential's path in the
//! issuer's tree and the revocation tree's path at the id.
//!
//! Constraints:
//! 1. `secret_commitment = Poseidon(TAG_SECRET, secret)`;
//! 2. `leaf = Poseidon(TAG_LEAF, binding, id, from, until, presence, a_1..a_A, salt,
//!    secret_commitment)` with `presence = Σ p_i·2^(i−1)` and each `p_i` a bit;
//! 3. the leaf's path of depth 20 leads to `issuer_root`;
//! 4. `id` is 32 bits, and the leaf at `id` in the revocation tree (depth 32, path chosen by the
//!    id's own bits) is 0 under `revocation_root`;
//! 5. `now − from` and `until − now` are 32-bit numbers: the credential is inside its validity
//!    period at the public time `now`. `now` is below 2^32 (the verifier sets it); `from` and
//!    `until` are not range-checked here but fixed by the leaf, which the issuer built from
//!    32-bit values (`unlinkable::circuit_period`), so neither difference can wrap around the
//!    field;
//! 6. for each predicate: `attribute_index ∈ {0..A}` selects `x` from `(id, a_1..a_A)` and its
//!    presence from `(1, p_1..p_A)`, which must be 1 (an attribute the issuer never attested
//!    passes no predicate); `kind` is a bit, and `d = (x − threshold)·(1 − 2·kind)` is a 32-bit
//!    number (`kind` 0: `x ≥ t`, 1: `x ≤ t`);
//! 7. `nullifier = Poseidon(TAG_NULLIFIER, secret, scope)`;
//! 8. `request` is squared into a constraint, so the proof is bound to it even though nothing
//!    else uses it.
//!
//! Escrow shapes (controllable anonymity, `crate::escrow`) add the public inputs
//! `handle_attribute, K.x, K.y, C1.x, C1.y, body` (after `nullifier`) and the witness `r` as
//! 251 bits, and:
//!
//! 9. `handle_attribute ∈ {1..A}` selects the handle `h` from `a_1..a_A`, whose presence bit must
//!    be 1 (the verifier sets the index from the schema, which names the attribute the issuer
//!    assigned as the holder's identity handle);
//! 10. `C1 = [r]G` on Baby Jubjub (fixed base, its doublings precomputed);
//! 11. `S = [r]K` (variable base; `K` is the council key the verifier takes from the ledger,
//!     which checked it is a subgroup point);
//! 12. `body = h + Poseidon(TAG_ESCROW, S.x, S.y)`.
//!
//! So the ciphertext is the encryption, under exactly the key `K`, of exactly the handle the
//! issuer put in the leaf; `C1` is a subgroup point because the circuit computed it from `G`.
//!
//! `binding` names the issuer and the schema (see `unlinkable::binding_element`): a leaf made for
//! one issuer's tree proves nothing under another issuer's anchor, even if that issuer anchored
//! the same Poseidon root (security review, finding 18).

use crate::escrow::{self, RANDOMNESS_BITS};
use crate::poseidon::{TAG_ESCROW, TAG_LEAF, TAG_NULLIFIER, TAG_SECRET, params};
use crate::tree::{CREDENTIAL_TREE_DEPTH, REVOCATION_TREE_DEPTH};
use ark_bn254::Fr;
use ark_crypto_primitives::crh::poseidon::constraints::{CRHGadget, CRHParametersVar, TwoToOneCRHGadget};
use ark_crypto_primitives::crh::{CRHSchemeGadget, TwoToOneCRHSchemeGadget};
use ark_ec::{AdditiveGroup, PrimeGroup};
use ark_ed_on_bn254::EdwardsProjective;
use ark_ed_on_bn254::constraints::EdwardsVar;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

/// Bits of a predicate's difference and of a revocation id.
pub const RANGE_BITS: usize = 32;

/// One predicate as the circuit sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitPredicate {
    /// 0 = the revocation id, `i` = attribute `a_i`.
    pub attribute: usize,
    /// `false`: `x >= threshold`; `true`: `x <= threshold`.
    pub at_most: bool,
    /// The bound.
    pub threshold: i64,
}

/// Every value the circuit reads. For key generation all may be zero.
#[derive(Clone)]
pub(crate) struct Assignment {
    pub(crate) issuer_root: Fr,
    pub(crate) revocation_root: Fr,
    pub(crate) binding: Fr,
    pub(crate) now: u32,
    pub(crate) predicates: Vec<(Fr, Fr, Fr)>,
    pub(crate) scope: Fr,
    pub(crate) request: Fr,
    pub(crate) nullifier: Fr,
    pub(crate) attributes: Vec<Fr>,
    /// Bit `i` set: attribute `a_{i+1}` is present.
    pub(crate) presence: u64,
    pub(crate) valid_from: u32,
    pub(crate) valid_until: u32,
    pub(crate) id: u32,
    pub(crate) salt: Fr,
    pub(crate) secret: Fr,
    pub(crate) credential_siblings: Vec<Fr>,
    pub(crate) credential_index: u64,
    pub(crate) revocation_siblings: Vec<Fr>,
    /// Bits of each predicate's difference, computed natively by the prover.
    pub(crate) differences: Vec<u64>,
    /// The escrow part, in escrow shapes only.
    pub(crate) escrow: Option<EscrowAssignment>,
}

/// What an escrow shape adds.
#[derive(Clone)]
pub(crate) struct EscrowAssignment {
    /// Which attribute (1..=A) is the identity handle.
    pub(crate) handle_attribute: u64,
    /// The council key `K`.
    pub(crate) council: (Fr, Fr),
    /// `C1.x, C1.y, body`.
    pub(crate) ciphertext: (Fr, Fr, Fr),
    /// `r` (witness).
    pub(crate) randomness: escrow::Scalar,
}

impl EscrowAssignment {
    /// A consistent blank: `K = G`, `r = 0`, handle 0 (curve formulas need points on the curve
    /// even for key generation).
    fn blank() -> Self {
        let key = escrow::CouncilKey(escrow::generator());
        let r = escrow::EscrowRandomness(escrow::Scalar::zero());
        let ct = escrow::encrypt(&key, Fr::zero(), &r);
        EscrowAssignment {
            handle_attribute: 1,
            council: key.coordinates(),
            ciphertext: ct.coordinates(),
            randomness: escrow::Scalar::zero(),
        }
    }
}

impl Assignment {
    /// An all-zero assignment of a shape (for setup).
    pub(crate) fn blank(attributes: usize, predicates: usize, escrow: bool) -> Self {
        Assignment {
            issuer_root: Fr::zero(),
            revocation_root: Fr::zero(),
            binding: Fr::zero(),
            now: 0,
            predicates: vec![(Fr::zero(), Fr::zero(), Fr::zero()); predicates],
            scope: Fr::zero(),
            request: Fr::zero(),
            nullifier: Fr::zero(),
            attributes: vec![Fr::zero(); attributes],
            presence: 0,
            valid_from: 0,
            valid_until: 0,
            id: 0,
            salt: Fr::zero(),
            secret: Fr::zero(),
            credential_siblings: vec![Fr::zero(); CREDENTIAL_TREE_DEPTH],
            credential_index: 0,
            revocation_siblings: vec![Fr::zero(); REVOCATION_TREE_DEPTH],
            differences: vec![0; predicates],
            escrow: escrow.then(EscrowAssignment::blank),
        }
    }

    /// The public inputs in circuit order.
    pub(crate) fn public_inputs(&self) -> Vec<Fr> {
        let mut v = vec![
            self.issuer_root,
            self.revocation_root,
            self.binding,
            Fr::from(u64::from(self.now)),
        ];
        for (i, k, t) in &self.predicates {
            v.extend([*i, *k, *t]);
        }
        v.extend([self.scope, self.request, self.nullifier]);
        if let Some(e) = &self.escrow {
            v.extend([
                Fr::from(e.handle_attribute),
                e.council.0,
                e.council.1,
                e.ciphertext.0,
                e.ciphertext.1,
                e.ciphertext.2,
            ]);
        }
        v
    }
}

/// The circuit.
pub(crate) struct UnlinkableCircuit {
    pub(crate) a: Assignment,
}

/// `2^i` bits of `value`, little endian, as witnesses.
fn witness_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: u64,
    n: usize,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    (0..n)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok((value >> i) & 1 == 1)))
        .collect()
}

/// The little-endian bits of the escrow randomness, as witnesses.
fn scalar_bits(cs: &ConstraintSystemRef<Fr>, r: &escrow::Scalar) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let bits = r.into_bigint().to_bits_le();
    (0..RANDOMNESS_BITS)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(bits[i])))
        .collect()
}

/// `[2^i]G` for each bit of the randomness (the fixed-base multiplication's table).
fn generator_doublings() -> &'static [EdwardsProjective] {
    static DOUBLINGS: std::sync::OnceLock<Vec<EdwardsProjective>> = std::sync::OnceLock::new();
    DOUBLINGS.get_or_init(|| {
        let mut g = EdwardsProjective::generator();
        (0..RANDOMNESS_BITS)
            .map(|_| {
                let cur = g;
                g.double_in_place();
                cur
            })
            .collect()
    })
}

/// Selects `values[j]` and `present[j]` where `index = first + j`, enforcing that exactly one
/// `j` matches (so an index outside the list is unsatisfiable).
fn select(
    index: &FpVar<Fr>,
    first: u64,
    values: &[FpVar<Fr>],
    present: &[FpVar<Fr>],
) -> Result<(FpVar<Fr>, FpVar<Fr>), SynthesisError> {
    let mut selected = FpVar::zero();
    let mut selected_present = FpVar::zero();
    let mut hits = FpVar::zero();
    for (j, (v, p)) in values.iter().zip(present).enumerate() {
        let is_j = FpVar::from(index.is_eq(&FpVar::constant(Fr::from(first + j as u64)))?);
        selected += is_j.clone() * v;
        selected_present += is_j.clone() * p;
        hits += is_j;
    }
    hits.enforce_equal(&FpVar::one())?;
    Ok((selected, selected_present))
}

/// Walks a fixed-depth path from `leaf`, choosing sides by `bits`.
fn root_from(
    p: &CRHParametersVar<Fr>,
    leaf: FpVar<Fr>,
    siblings: &[FpVar<Fr>],
    bits: &[Boolean<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut cur = leaf;
    for (sib, bit) in siblings.iter().zip(bits) {
        let left = FpVar::conditionally_select(bit, sib, &cur)?;
        let right = FpVar::conditionally_select(bit, &cur, sib)?;
        cur = TwoToOneCRHGadget::<Fr>::compress(p, &left, &right)?;
    }
    Ok(cur)
}

impl ConstraintSynthesizer<Fr> for UnlinkableCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let a = self.a;
        let p = CRHParametersVar::new_constant(cs.clone(), params())?;
        let input = |v: Fr| FpVar::new_input(cs.clone(), || Ok(v));
        let witness = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v));

        // Public inputs, in the order of `Assignment::public_inputs`.
        let issuer_root = input(a.issuer_root)?;
        let revocation_root = input(a.revocation_root)?;
        let binding = input(a.binding)?;
        let now = input(Fr::from(u64::from(a.now)))?;
        let predicates = a
            .predicates
            .iter()
            .map(|(i, k, t)| Ok((input(*i)?, input(*k)?, input(*t)?)))
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        let scope = input(a.scope)?;
        let request = input(a.request)?;
        let nullifier = input(a.nullifier)?;
        let escrow_inputs = match &a.escrow {
            Some(e) => Some((
                input(Fr::from(e.handle_attribute))?,
                EdwardsVar::new(input(e.council.0)?, input(e.council.1)?),
                input(e.ciphertext.0)?,
                input(e.ciphertext.1)?,
                input(e.ciphertext.2)?,
            )),
            None => None,
        };

        // Witness.
        let attributes = a
            .attributes
            .iter()
            .map(|v| witness(*v))
            .collect::<Result<Vec<_>, _>>()?;
        let presence_bits = witness_bits(&cs, a.presence, a.attributes.len())?;
        let valid_from = witness(Fr::from(u64::from(a.valid_from)))?;
        let valid_until = witness(Fr::from(u64::from(a.valid_until)))?;
        let id_bits = witness_bits(&cs, u64::from(a.id), RANGE_BITS)?;
        let id = Boolean::le_bits_to_fp(&id_bits)?;
        let salt = witness(a.salt)?;
        let secret = witness(a.secret)?;
        let cred_siblings = a
            .credential_siblings
            .iter()
            .map(|v| witness(*v))
            .collect::<Result<Vec<_>, _>>()?;
        let cred_bits = witness_bits(&cs, a.credential_index, CREDENTIAL_TREE_DEPTH)?;
        let rev_siblings = a
            .revocation_siblings
            .iter()
            .map(|v| witness(*v))
            .collect::<Result<Vec<_>, _>>()?;

        // 1–2. The leaf.
        let tag = |t: u64| FpVar::constant(Fr::from(t));
        let secret_commitment = CRHGadget::<Fr>::evaluate(&p, &[tag(TAG_SECRET), secret.clone()])?;
        let mut leaf_input = vec![
            tag(TAG_LEAF),
            binding,
            id.clone(),
            valid_from.clone(),
            valid_until.clone(),
            Boolean::le_bits_to_fp(&presence_bits)?,
        ];
        leaf_input.extend(attributes.iter().cloned());
        leaf_input.extend([salt, secret_commitment]);
        let leaf = CRHGadget::<Fr>::evaluate(&p, &leaf_input)?;

        // 3. Issued: the leaf is in the issuer's anchored tree.
        root_from(&p, leaf, &cred_siblings, &cred_bits)?.enforce_equal(&issuer_root)?;

        // 4. Not revoked: the leaf at `id` is empty.
        root_from(&p, FpVar::zero(), &rev_siblings, &id_bits)?.enforce_equal(&revocation_root)?;

        // 5. Valid at `now`: from ≤ now ≤ until, each difference 32 bits.
        let since = u64::from(a.now.wrapping_sub(a.valid_from));
        let left = u64::from(a.valid_until.wrapping_sub(a.now));
        Boolean::le_bits_to_fp(&witness_bits(&cs, since, RANGE_BITS)?)?
            .enforce_equal(&(now.clone() - &valid_from))?;
        Boolean::le_bits_to_fp(&witness_bits(&cs, left, RANGE_BITS)?)?
            .enforce_equal(&(valid_until - &now))?;

        // 6. Predicates, each on a present attribute.
        let mut values = vec![id];
        values.extend(attributes);
        let mut present = vec![FpVar::one()];
        present.extend(presence_bits.iter().map(|b| FpVar::from(b.clone())));
        for ((index, kind, threshold), diff) in predicates.iter().zip(&a.differences) {
            let (selected, selected_present) = select(index, 0, &values, &present)?;
            selected_present.enforce_equal(&FpVar::one())?;
            // kind ∈ {0, 1}
            (kind.clone() * (kind.clone() - FpVar::one())).enforce_equal(&FpVar::zero())?;
            let signed = (selected - threshold) * (FpVar::one() - kind.double()?);
            let bits = witness_bits(&cs, *diff, RANGE_BITS)?;
            Boolean::le_bits_to_fp(&bits)?.enforce_equal(&signed)?;
        }

        // 7. The nullifier.
        CRHGadget::<Fr>::evaluate(&p, &[tag(TAG_NULLIFIER), secret, scope])?.enforce_equal(&nullifier)?;

        // 8. Bind the request.
        let _ = request.square()?;

        // 9–12. The escrow ciphertext.
        if let (Some(e), Some((handle_attribute, council, c1x, c1y, body))) = (&a.escrow, escrow_inputs) {
            let (handle, handle_present) = select(&handle_attribute, 1, &values[1..], &present[1..])?;
            handle_present.enforce_equal(&FpVar::one())?;
            let r = scalar_bits(&cs, &e.randomness)?;
            let mut c1 = EdwardsVar::zero();
            c1.precomputed_base_scalar_mul_le(r.iter().zip(generator_doublings()))?;
            c1.x.enforce_equal(&c1x)?;
            c1.y.enforce_equal(&c1y)?;
            let shared = council.scalar_mul_le(r.iter())?;
            let pad = CRHGadget::<Fr>::evaluate(&p, &[tag(TAG_ESCROW), shared.x, shared.y])?;
            (handle + pad).enforce_equal(&body)?;
        }
        Ok(())
    }
}

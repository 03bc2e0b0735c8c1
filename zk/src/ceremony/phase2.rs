//! Phase 2: a circuit's keys, derived from the powers of tau, then randomised in δ.

use super::{CeremonyError, ContributionProof, Heads, Knowledge, Powers, combine_g1, nonzero_secret};
use crate::circuit::UnlinkableCircuit;
use crate::unlinkable::CircuitShape;
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, One};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, R1CS_PREDICATE_LABEL, SynthesisMode,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_core::CryptoRngCore;
use rayon::prelude::*;
use schemas::Hash;

/// A circuit's keys during phase 2: an arkworks proving key (which holds the verifying key).
#[derive(Clone, Debug, PartialEq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Params {
    pub(super) key: ark_groth16::ProvingKey<Bn254>,
}

impl Params {
    /// The points that carry δ.
    pub(super) fn heads(&self) -> Heads {
        Heads::Circuit {
            delta_g1: self.key.delta_g1,
            delta_g2: self.key.vk.delta_g2,
        }
    }

    /// The keys of `shape` these parameters are (usable once enough contributions are in).
    pub fn keys(
        &self,
        shape: CircuitShape,
        version: u32,
    ) -> Result<(crate::unlinkable::ProvingKey, crate::unlinkable::VerifyingKey), crate::ZkError> {
        crate::unlinkable::keys_from_ceremony(shape, version, self.key.clone())
    }

    /// Applies a fresh δ-factor `d` drawn from `rng` and proves knowledge of it for `challenge`;
    /// `d` is wiped before this returns.
    pub(super) fn contribute(
        &self,
        challenge: &Hash,
        rng: &mut impl CryptoRngCore,
        progress: &(dyn Fn(f64) + Sync),
    ) -> (Params, ContributionProof) {
        let d = zeroize::Zeroizing::new(nonzero_secret(rng));
        let d_inv = zeroize::Zeroizing::new(d.inverse().expect("a nonzero secret has an inverse"));
        let proof = ContributionProof {
            secrets: vec![Knowledge::prove(&d, challenge, "delta", rng)],
        };
        let mut key = self.key.clone();
        key.delta_g1 = (key.delta_g1 * *d).into_affine();
        key.vk.delta_g2 = (key.vk.delta_g2 * *d).into_affine();
        progress(0.05);
        key.l_query = scale(&key.l_query, &d_inv);
        progress(0.5);
        key.h_query = scale(&key.h_query, &d_inv);
        progress(1.0);
        (Params { key }, proof)
    }
}

fn scale(points: &[G1Affine], x: &Fr) -> Vec<G1Affine> {
    let scaled: Vec<G1Projective> = points.par_iter().map(|p| *p * x).collect();
    G1Projective::normalize_batch(&scaled)
}

/// Checks every point of `next` against `previous` (whose δ heads [`super::check_step`] has
/// already related by the proven `d`): everything but δ, L and H is unchanged, and L and H are
/// divided by the same `d`, batched in random linear combinations.
pub(super) fn verify_update(
    previous: &Params,
    next: &Params,
    rng: &mut impl CryptoRngCore,
) -> Result<(), CeremonyError> {
    let (a, b) = (&previous.key, &next.key);
    let fixed = a.vk.alpha_g1 == b.vk.alpha_g1
        && a.vk.beta_g2 == b.vk.beta_g2
        && a.vk.gamma_g2 == b.vk.gamma_g2
        && a.vk.gamma_abc_g1 == b.vk.gamma_abc_g1
        && a.beta_g1 == b.beta_g1
        && a.a_query == b.a_query
        && a.b_g1_query == b.b_g1_query
        && a.b_g2_query == b.b_g2_query;
    if !fixed {
        return Err(CeremonyError::Inconsistent {
            what: "a point other than δ, L and H changed",
        });
    }
    if a.l_query.len() != b.l_query.len() || a.h_query.len() != b.h_query.len() {
        return Err(CeremonyError::Inconsistent {
            what: "the L or H query changed length",
        });
    }
    // Lᵢ' = Lᵢ/d with δ' = d·δ: e(ΣrᵢLᵢ', δ') = e(ΣrᵢLᵢ, δ).
    for (old, new, what) in [
        (&a.l_query, &b.l_query, "the L query"),
        (&a.h_query, &b.h_query, "the H query"),
    ] {
        let (new_sum, old_sum) = combine_g1(new, old, rng);
        super::same_ratio(&old_sum, &new_sum, &b.vk.delta_g2, &a.vk.delta_g2, what)?;
    }
    Ok(())
}

/// The circuit's matrices as the arkworks generator and prover build them (setup mode, the same
/// optimisation goal), so the derived keys fit the prover's witness map.
struct Qap {
    num_instance: usize,
    num_variables: usize,
    num_constraints: usize,
    matrices: Vec<Vec<Vec<(Fr, usize)>>>,
}

fn synthesize(shape: CircuitShape) -> Result<Qap, CeremonyError> {
    synthesize_circuit(UnlinkableCircuit { a: shape.blank() })
}

fn synthesize_circuit(circuit: impl ConstraintSynthesizer<Fr>) -> Result<Qap, CeremonyError> {
    let circuit_error = |e: ark_relations::gr1cs::SynthesisError| CeremonyError::Circuit {
        reason: e.to_string(),
    };
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    circuit.generate_constraints(cs.clone()).map_err(circuit_error)?;
    cs.finalize();
    let mut all = cs.to_matrices().map_err(circuit_error)?;
    let matrices = all
        .remove(R1CS_PREDICATE_LABEL)
        .ok_or_else(|| CeremonyError::Circuit {
            reason: "the circuit has no R1CS constraints".into(),
        })?;
    Ok(Qap {
        num_instance: cs.num_instance_variables(),
        num_variables: cs.num_instance_variables() + cs.num_witness_variables(),
        num_constraints: cs.num_constraints(),
        matrices,
    })
}

/// `Σⱼ rowⱼ[v]·basisⱼ` for every variable `v`: per basis point, its row's products by one
/// fixed-base table (rows in parallel), then added into the variables.
fn spread<G: CurveGroup<ScalarField = Fr>>(basis: &[G], rows: &[&Vec<Vec<(Fr, usize)>>], n: usize) -> Vec<G> {
    let products: Vec<Vec<(usize, G::Affine)>> = basis
        .par_iter()
        .enumerate()
        .map(|(j, base)| {
            let terms: Vec<(Fr, usize)> = rows.iter().flat_map(|r| r[j].iter().copied()).collect();
            let scalars: Vec<Fr> = terms.iter().map(|t| t.0).collect();
            let points = if terms.len() < 4 {
                G::normalize_batch(&scalars.iter().map(|s| *base * s).collect::<Vec<_>>())
            } else {
                BatchMulPreprocessing::new(*base, terms.len()).batch_mul(&scalars)
            };
            terms.iter().map(|t| t.1).zip(points).collect()
        })
        .collect();
    let mut out = vec![G::zero(); n];
    for (v, p) in products.into_iter().flatten() {
        out[v] += p.into_group();
    }
    out
}

/// The parameters have the lengths of `shape`'s circuit (a decoded file is checked with this).
pub(super) fn check_lengths(shape: CircuitShape, p: &Params) -> Result<(), CeremonyError> {
    let q = synthesize(shape)?;
    let m = (q.num_constraints + q.num_instance).next_power_of_two();
    let k = &p.key;
    let ok = k.vk.gamma_abc_g1.len() == q.num_instance
        && k.a_query.len() == q.num_variables
        && k.b_g1_query.len() == q.num_variables
        && k.b_g2_query.len() == q.num_variables
        && k.l_query.len() == q.num_variables - q.num_instance
        && k.h_query.len() == m - 1;
    if ok {
        return Ok(());
    }
    Err(CeremonyError::Malformed {
        what: "circuit parameters",
        reason: format!("the queries' lengths are not those of circuit {}", shape.id()),
    })
}

/// log2 of the domain a shape's circuit needs (constraints plus public inputs).
pub(super) fn domain_power(shape: CircuitShape) -> Result<u32, CeremonyError> {
    let q = synthesize(shape)?;
    Ok((q.num_constraints + q.num_instance)
        .next_power_of_two()
        .trailing_zeros())
}

/// The parameters of `shape` before any phase-2 contribution, from the final powers of tau:
/// the Lagrange basis of the circuit's domain by an inverse FFT over the group, the A, B and
/// `(βA + αB + C)` queries as the generator of arkworks computes them from `τ` (the LibsnarkReduction,
/// public inputs as extra constraints), `H` from `[τ^i·(τ^m − 1)]₁`, and `γ = δ = 1`.
/// Deterministic: anyone recomputes it from the powers and checks the first contribution against
/// it.
pub fn derive(shape: CircuitShape, powers: &Powers, power: u8) -> Result<Params, CeremonyError> {
    derive_qap(&synthesize(shape)?, &shape.id(), powers, power)
}

/// [`derive`] for any circuit (the tests use small ones).
#[cfg(test)]
pub(super) fn derive_circuit(
    circuit: impl ConstraintSynthesizer<Fr>,
    id: &str,
    powers: &Powers,
    power: u8,
) -> Result<Params, CeremonyError> {
    derive_qap(&synthesize_circuit(circuit)?, id, powers, power)
}

fn derive_qap(q: &Qap, id: &str, powers: &Powers, power: u8) -> Result<Params, CeremonyError> {
    let domain = GeneralEvaluationDomain::<Fr>::new(q.num_constraints + q.num_instance).ok_or_else(|| {
        CeremonyError::Circuit {
            reason: "no evaluation domain fits the circuit".into(),
        }
    })?;
    let m = domain.size();
    if m > 1usize << power {
        return Err(CeremonyError::TooLarge {
            circuit: id.to_owned(),
            needed: m.trailing_zeros(),
            power,
        });
    }
    let lagrange_g1 = |points: &[G1Affine]| -> Vec<G1Projective> {
        let mut v: Vec<G1Projective> = points[..m].iter().map(|p| p.into_group()).collect();
        domain.ifft_in_place(&mut v);
        v
    };
    let l_tau = lagrange_g1(&powers.tau_g1);
    let l_alpha = lagrange_g1(&powers.alpha_g1);
    let l_beta = lagrange_g1(&powers.beta_g1);
    let l_tau_g2 = {
        let mut v: Vec<G2Projective> = powers.tau_g2[..m].iter().map(|p| p.into_group()).collect();
        domain.ifft_in_place(&mut v);
        v
    };

    // Each Lagrange point is multiplied by every coefficient of its constraint's row (a few
    // dozen): one fixed-base table per point makes those products cheap. The products are then
    // added into the variables' queries.
    let nc = q.num_constraints;
    let empty = Vec::new();
    let row = |k: usize, j: usize| -> &Vec<(Fr, usize)> { if j < nc { &q.matrices[k][j] } else { &empty } };
    // The input rows: a public input `v` has `A` coefficient 1 at row `nc + v`.
    let input = |j: usize| -> Option<(Fr, usize)> {
        (j >= nc && j - nc < q.num_instance).then(|| (Fr::one(), j - nc))
    };
    let (a_rows, b_rows, c_rows): (Vec<_>, Vec<_>, Vec<_>) = (0..m)
        .map(|j| {
            let mut a = row(0, j).clone();
            a.extend(input(j));
            (a, row(1, j).clone(), row(2, j).clone())
        })
        .fold((vec![], vec![], vec![]), |(mut x, mut y, mut z), (a, b, c)| {
            x.push(a);
            y.push(b);
            z.push(c);
            (x, y, z)
        });
    let n = q.num_variables;
    let a_query = spread(&l_tau, &[&a_rows], n);
    let b_g1_query = spread(&l_tau, &[&b_rows], n);
    let b_g2_query = spread(&l_tau_g2, &[&b_rows], n);
    // βAᵥ(τ) + αBᵥ(τ) + Cᵥ(τ).
    let abc: Vec<G1Projective> = {
        let x = spread(&l_beta, &[&a_rows], n);
        let y = spread(&l_alpha, &[&b_rows], n);
        let z = spread(&l_tau, &[&c_rows], n);
        x.into_iter().zip(y).zip(z).map(|((x, y), z)| x + y + z).collect()
    };
    let h_query: Vec<G1Projective> = (0..m - 1)
        .into_par_iter()
        .map(|i| powers.tau_g1[i + m].into_group() - powers.tau_g1[i])
        .collect();
    let abc = G1Projective::normalize_batch(&abc);
    let (gamma_abc_g1, l_query) = abc.split_at(q.num_instance);
    let key = ark_groth16::ProvingKey {
        vk: ark_groth16::VerifyingKey {
            alpha_g1: powers.alpha_g1[0],
            beta_g2: powers.beta_g2,
            gamma_g2: G2Affine::generator(),
            delta_g2: G2Affine::generator(),
            gamma_abc_g1: gamma_abc_g1.to_vec(),
        },
        beta_g1: powers.beta_g1[0],
        delta_g1: G1Affine::generator(),
        a_query: G1Projective::normalize_batch(&a_query),
        b_g1_query: G1Projective::normalize_batch(&b_g1_query),
        b_g2_query: G2Projective::normalize_batch(&b_g2_query),
        h_query: G1Projective::normalize_batch(&h_query),
        l_query: l_query.to_vec(),
    };
    Ok(Params { key })
}

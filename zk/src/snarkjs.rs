//! A verifying key, a proof and its public inputs in the JSON that snarkjs reads (`snarkjs
//! groth16 verify vk.json public.json proof.json`), so an independent Groth16 implementation can
//! check what the ceremony's keys and the holder's prover make. Points are affine, coordinates
//! in decimal; G2 coordinates as `[c0, c1]`.

use crate::ZkError;
use crate::unlinkable::{UnlinkableStatement, VerifyingKey};
use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_serialize::CanonicalDeserialize;

fn g1(p: &G1Affine) -> String {
    match p.xy() {
        Some((x, y)) => format!("[\"{x}\",\"{y}\",\"1\"]"),
        None => "[\"0\",\"1\",\"0\"]".into(),
    }
}

fn g2(p: &G2Affine) -> String {
    match p.xy() {
        Some((x, y)) => format!(
            "[[\"{}\",\"{}\"],[\"{}\",\"{}\"],[\"1\",\"0\"]]",
            x.c0, x.c1, y.c0, y.c1
        ),
        None => "[[\"0\",\"0\"],[\"1\",\"0\"],[\"0\",\"0\"]]".into(),
    }
}

/// The verifying key as snarkjs's `verification_key.json`.
pub fn verification_key(vk: &VerifyingKey) -> String {
    let raw = vk.raw();
    let ic: Vec<String> = raw.gamma_abc_g1.iter().map(g1).collect();
    format!(
        "{{\"protocol\":\"groth16\",\"curve\":\"bn128\",\"nPublic\":{},\"vk_alpha_1\":{},\"vk_beta_2\":{},\"vk_gamma_2\":{},\"vk_delta_2\":{},\"IC\":[{}]}}",
        raw.gamma_abc_g1.len() - 1,
        g1(&raw.alpha_g1),
        g2(&raw.beta_g2),
        g2(&raw.gamma_g2),
        g2(&raw.delta_g2),
        ic.join(",")
    )
}

/// A 128-byte unlinkable proof as snarkjs's `proof.json`.
pub fn proof(bytes: &[u8]) -> Result<String, ZkError> {
    let p =
        ark_groth16::Proof::<Bn254>::deserialize_compressed(bytes).map_err(|e| ZkError::MalformedProof {
            reason: e.to_string(),
        })?;
    Ok(format!(
        "{{\"protocol\":\"groth16\",\"curve\":\"bn128\",\"pi_a\":{},\"pi_b\":{},\"pi_c\":{}}}",
        g1(&p.a),
        g2(&p.b),
        g1(&p.c)
    ))
}

/// The statement's public inputs (with the escrow part for an escrow shape), in circuit order, as
/// snarkjs's `public.json`.
pub fn public_signals(
    vk: &VerifyingKey,
    statement: &UnlinkableStatement,
    escrow: Option<&crate::unlinkable::EscrowStatement>,
    nullifier: &schemas::Hash,
) -> Result<String, ZkError> {
    let inputs = crate::unlinkable::public_inputs(vk, statement, escrow, nullifier)?;
    let quoted: Vec<String> = inputs.iter().map(|x| format!("\"{x}\"")).collect();
    Ok(format!("[{}]", quoted.join(",")))
}

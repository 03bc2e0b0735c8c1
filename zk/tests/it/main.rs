//! Integration tests of `zk`: completeness and soundness of predicates and unlinkable proofs.

mod ceremony;
mod escrow;
mod predicates;
mod unlinkable;

/// A second implementation: snarkjs (npm; `.ci/setup` installs it and `.ci/test` names it in
/// CREDENCE_SNARKJS) verifies `proof` under `vk` for the public inputs `public` (snarkjs's
/// `public.json`). `None` when CREDENCE_SNARKJS is not set (CI sets it).
fn snarkjs_verifies(vk: &zk::unlinkable::VerifyingKey, proof: &[u8], public: String) -> Option<bool> {
    let Ok(snarkjs) = std::env::var("CREDENCE_SNARKJS") else {
        println!("CREDENCE_SNARKJS is not set: the snarkjs cross-check did not run (CI sets it)");
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("writes");
        path
    };
    let vk_json = write("verification_key.json", zk::snarkjs::verification_key(vk));
    let proof_json = write("proof.json", zk::snarkjs::proof(proof).expect("a proof"));
    let public = write("public.json", public);
    let out = std::process::Command::new(&snarkjs)
        .args(["groth16", "verify"])
        .arg(&vk_json)
        .arg(&public)
        .arg(&proof_json)
        .output()
        .expect("snarkjs runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    println!("snarkjs groth16 verify: {}", text.trim());
    Some(out.status.success() && text.contains("OK"))
}

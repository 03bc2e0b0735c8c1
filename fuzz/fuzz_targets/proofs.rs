//! Proof verifiers on arbitrary input: state proofs (the compact encoding, which must also be
//! canonical: what decodes encodes to the same bytes), inclusion proofs,
//! commit certificates and ledger proofs decoded from canonical bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::codec::decode;
use schemas::hash::Hash;
use schemas::ledger::{LedgerProof, ValidatorSet};
use schemas::light_client::verify_ledger_proof;
use schemas::merkle::InclusionProof;
use schemas::state::StateProof;

fuzz_target!(|data: &[u8]| {
    let root = Hash([0x5a; 32]);
    let _ = StateProof { key: b"k".to_vec(), value: None, proof: data.to_vec() }.verify(&root);
    let _ = StateProof {
        key: b"k".to_vec(),
        value: Some(schemas::state::StateValue(b"v".to_vec())),
        proof: data.to_vec(),
    }
    .verify(&root);
    if let Ok(p) = schemas::state::compact::Proof::decode(data) {
        assert_eq!(p.encode(), data, "a state proof has one encoding");
    }
    if let Ok(p) = decode::<InclusionProof>(data) {
        let _ = p.verify(&root, &root);
    }
    if let Ok((proof, set)) = decode::<(LedgerProof, ValidatorSet)>(data) {
        let _ = verify_ledger_proof(&proof, &set);
    }
});

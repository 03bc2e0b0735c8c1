//! The setup ceremony's decoders and the validators' check on arbitrary bytes: a file (what a
//! node decodes on upload), heads and proofs (what a `Contribute` transaction carries) and the
//! step check between them. None may panic; no random proof may pass the step check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemas::Hash;
use zk::ceremony::{ContributionProof, File, Heads, Phase, challenge, check_step};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 3 {
        0 => {
            if let Ok(f) = File::from_bytes(rest) {
                // What decodes re-encodes to the same bytes (one encoding per file).
                assert_eq!(f.to_bytes(), rest, "a file decodes and re-encodes differently");
            }
        }
        1 => {
            let _ = Heads::from_bytes(rest);
        }
        _ => {
            let (heads, proof) = rest.split_at(rest.len().min(225));
            let (Ok(after), Ok(proof)) = (Heads::from_bytes(heads), ContributionProof::from_bytes(proof)) else {
                return;
            };
            for phase in [Phase::Powers, Phase::Circuit("c")] {
                let c = challenge("fuzz", phase, "did:credence:fuzz", &Hash([3; 32]));
                assert!(
                    check_step(&Heads::initial(phase), &after, &proof, &c).is_err(),
                    "a contribution proof made of arbitrary bytes passed the step check"
                );
            }
        }
    }
});

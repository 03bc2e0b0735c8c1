use super::*;
use crate::unlinkable::CircuitShape;
use ark_groth16::Groth16;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::SNARK;
use rand_core::OsRng;

/// `x²·y + y = z` with `z` public: small enough for a ceremony of power 4.
#[derive(Clone)]
struct Small {
    x: Fr,
    y: Fr,
    z: Fr,
}

impl ConstraintSynthesizer<Fr> for Small {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let z = FpVar::new_input(cs.clone(), || Ok(self.z))?;
        let x = FpVar::new_witness(cs.clone(), || Ok(self.x))?;
        let y = FpVar::new_witness(cs, || Ok(self.y))?;
        let q = &(&x * &x) * &y;
        (q + &y).enforce_equal(&z)
    }
}

fn small(x: u64, y: u64) -> Small {
    let (x, y) = (Fr::from(x), Fr::from(y));
    Small {
        x,
        y,
        z: x * x * y + y,
    }
}

const POWER: u8 = 4;

fn quiet(_: f64) {}

/// A named change to one point of a file.
type Tamper<T> = (&'static str, fn(&mut T, &dyn Fn(&mut G1Affine)));

/// A chain of `n` contributions from `start`, each checked against the one before.
fn chain(start: &File, n: usize) -> Vec<File> {
    let mut files = vec![start.clone()];
    for i in 0..n {
        let next = files[i]
            .contribute(&format!("did:credence:member-{i}"), &mut OsRng, &quiet)
            .expect("contributes");
        verify_contribution(&files[i], &next, &mut OsRng).expect("an honest contribution verifies");
        files.push(next);
    }
    files
}

fn circuit_file(powers: &File) -> File {
    let FileKind::Powers(p) = &powers.kind else {
        panic!("powers")
    };
    File {
        ceremony: powers.ceremony.clone(),
        circuit: CircuitShape::SHAPES[0].id(),
        power: powers.power,
        index: 0,
        contributor: String::new(),
        previous: powers.digest(),
        proof: None,
        kind: FileKind::Circuit(
            phase2::derive_circuit(small(0, 0), "small", p, powers.power).expect("derives"),
        ),
    }
}

fn params(f: &File) -> &Params {
    match &f.kind {
        FileKind::Circuit(p) => p,
        FileKind::Powers(_) => panic!("a circuit file"),
    }
}

fn powers(f: &mut File) -> &mut Powers {
    match &mut f.kind {
        FileKind::Powers(p) => p,
        FileKind::Circuit(_) => panic!("a powers file"),
    }
}

fn params_mut(f: &mut File) -> &mut Params {
    match &mut f.kind {
        FileKind::Circuit(p) => p,
        FileKind::Powers(_) => panic!("a circuit file"),
    }
}

/// Three contributors in each phase: the final keys prove a true statement, refuse a false one,
/// and pass the verifying key's structural checks (δ ≠ γ); the initial keys (nobody
/// contributed to phase 2) are refused by those checks.
#[test]
fn a_ceremony_makes_keys_that_prove_and_verify() {
    let phase1 = chain(&File::initial_powers("test", POWER).expect("initial"), 3);
    let start = circuit_file(&phase1[3]);
    let phase2 = chain(&start, 3);
    let key = &params(&phase2[3]).key;
    let proof = Groth16::<Bn254>::prove(key, small(3, 5), &mut OsRng).expect("proves");
    let z = Fr::from(3 * 3 * 5 + 5u64);
    assert!(Groth16::<Bn254>::verify(&key.vk, &[z], &proof).expect("verifies"));
    assert!(!Groth16::<Bn254>::verify(&key.vk, &[z + Fr::from(1u64)], &proof).expect("verifies"));
    let shape = CircuitShape::SHAPES[0];
    assert!(
        crate::unlinkable::keys_from_ceremony(shape, 3, params(&start).key.clone()).is_err(),
        "δ = γ = the generator before phase 2"
    );
    // The same checks hold from the bytes: every file decodes to itself.
    for f in phase1.iter().chain(&phase2[..1]) {
        if f.circuit.is_empty() {
            assert_eq!(&File::from_bytes(&f.to_bytes()).expect("decodes"), f);
        }
    }
}

/// A contribution with one point changed — in any sequence of phase 1, or in phase 2's L, H or
/// a query that must not change — is refused by the full check.
#[test]
fn a_tampered_contribution_is_refused() {
    let phase1 = chain(&File::initial_powers("test", POWER).expect("initial"), 1);
    let g1 = G1Affine::generator();
    let bump = |p: &mut G1Affine| *p = (*p + g1).into_affine();
    let tamper: [Tamper<Powers>; 3] = [
        ("a high power of τ", |p, f| f(&mut p.tau_g1[9])),
        ("a power of ατ", |p, f| f(&mut p.alpha_g1[3])),
        ("a power of βτ", |p, f| f(&mut p.beta_g1[7])),
    ];
    for (what, change) in tamper {
        let mut bad = phase1[0]
            .contribute("did:credence:m", &mut OsRng, &quiet)
            .expect("contributes");
        change(powers(&mut bad), &bump);
        assert!(
            matches!(
                verify_contribution(&phase1[0], &bad, &mut OsRng),
                Err(CeremonyError::Inconsistent { .. })
            ),
            "{what}"
        );
    }
    let mut bad = phase1[0]
        .contribute("did:credence:m", &mut OsRng, &quiet)
        .expect("contributes");
    let p = powers(&mut bad);
    p.tau_g2[5] = (p.tau_g2[5] + G2Affine::generator()).into_affine();
    assert!(
        verify_contribution(&phase1[0], &bad, &mut OsRng).is_err(),
        "a power of τ in G2"
    );

    let start = circuit_file(&phase1[1]);
    let tamper: [Tamper<Params>; 4] = [
        ("L", |p, f| f(&mut p.key.l_query[0])),
        ("H", |p, f| f(&mut p.key.h_query[2])),
        ("A", |p, f| f(&mut p.key.a_query[1])),
        ("an input point", |p, f| f(&mut p.key.vk.gamma_abc_g1[0])),
    ];
    for (what, change) in tamper {
        let mut bad = start
            .contribute("did:credence:m", &mut OsRng, &quiet)
            .expect("contributes");
        change(params_mut(&mut bad), &bump);
        assert!(
            matches!(
                verify_contribution(&start, &bad, &mut OsRng),
                Err(CeremonyError::Inconsistent { .. })
            ),
            "{what}"
        );
    }
}

/// A contribution presented out of order (after a later state, or one that skips a state) or
/// built on a stale state is refused, by the full check and by the ledger's check of heads.
#[test]
fn a_contribution_out_of_order_is_refused() {
    let files = chain(&File::initial_powers("test", POWER).expect("initial"), 2);
    // The second contribution built on the initial state instead of the first contribution.
    let stale = files[0]
        .contribute("did:credence:late", &mut OsRng, &quiet)
        .expect("contributes");
    assert!(matches!(
        verify_contribution(&files[1], &stale, &mut OsRng),
        Err(CeremonyError::Order { .. })
    ));
    assert!(matches!(
        verify_contribution(&files[0], &files[2], &mut OsRng),
        Err(CeremonyError::Order { .. })
    ));
    // Relabelled as if it followed the first: its proofs were made for another transcript.
    let mut relabelled = stale.clone();
    relabelled.index = 2;
    relabelled.previous = files[1].digest();
    assert!(matches!(
        verify_contribution(&files[1], &relabelled, &mut OsRng),
        Err(CeremonyError::Knowledge { .. })
    ));
    let c = challenge("test", Phase::Powers, "did:credence:late", &files[1].digest());
    let proof = stale.proof.as_ref().expect("a proof");
    assert!(check_step(&files[1].heads(), &stale.heads(), proof, &c).is_err());
    // Another ceremony's file.
    let other = chain(&File::initial_powers("other", POWER).expect("initial"), 1);
    assert!(matches!(
        verify_contribution(&files[0], &other[1], &mut OsRng),
        Err(CeremonyError::Order { .. })
    ));
}

/// A proof of knowledge that is wrong — made for another contributor, taken from another
/// contribution, or with one point changed — is refused, by the full check and by the ledger's.
#[test]
fn a_wrong_proof_of_knowledge_is_refused() {
    let files = chain(&File::initial_powers("test", POWER).expect("initial"), 1);
    let good = &files[1];
    let check = |f: &File| {
        let c = challenge(&f.ceremony, f.phase(), &f.contributor, &f.previous);
        let ledger = check_step(
            &files[0].heads(),
            &f.heads(),
            f.proof.as_ref().expect("a proof"),
            &c,
        );
        (verify_contribution(&files[0], f, &mut OsRng), ledger)
    };
    assert!(matches!(check(good), (Ok(()), Ok(()))));
    // Claimed by someone else: the challenge names the contributor.
    let mut claimed = good.clone();
    claimed.contributor = "did:credence:thief".into();
    assert!(matches!(
        check(&claimed),
        (
            Err(CeremonyError::Knowledge { .. }),
            Err(CeremonyError::Knowledge { .. })
        )
    ));
    // The proofs of another contribution to the same state.
    let other = files[0]
        .contribute("did:credence:member-0", &mut OsRng, &quiet)
        .expect("contributes");
    let mut swapped = good.clone();
    swapped.proof = other.proof.clone();
    assert!(matches!(check(&swapped), (Err(_), Err(_))));
    // One point of a proof changed.
    let mut forged = good.clone();
    let p = forged.proof.as_mut().expect("a proof");
    p.secrets[1].sx_g1 = (p.secrets[1].sx_g1 + G1Affine::generator()).into_affine();
    assert!(matches!(
        check(&forged),
        (
            Err(CeremonyError::Knowledge { .. }),
            Err(CeremonyError::Knowledge { .. })
        )
    ));
    // Heads that skip the proven secret: τ squared instead of multiplied by t.
    let Heads::Powers {
        tau_g1,
        tau_g2,
        alpha_g1,
        beta_g1,
        beta_g2,
    } = good.heads()
    else {
        panic!("powers")
    };
    let doubled = Heads::Powers {
        tau_g1: (tau_g1 + tau_g1).into_affine(),
        tau_g2: (tau_g2 + tau_g2).into_affine(),
        alpha_g1,
        beta_g1,
        beta_g2,
    };
    let c = challenge("test", Phase::Powers, &good.contributor, &good.previous);
    assert!(matches!(
        check_step(
            &files[0].heads(),
            &doubled,
            good.proof.as_ref().expect("a proof"),
            &c
        ),
        Err(CeremonyError::Inconsistent { .. })
    ));
}

/// Bad files get a clear error, never a panic: truncated anywhere, another magic, an
/// impossible power, lengths that are not the power's.
#[test]
fn malformed_files_are_refused() {
    let files = chain(&File::initial_powers("test", 2).expect("initial"), 1);
    let bytes = files[1].to_bytes();
    for cut in [0, 5, 16, 40, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(File::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut wrong = bytes.clone();
    wrong[0] ^= 1;
    assert!(File::from_bytes(&wrong).is_err());
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(File::from_bytes(&trailing).is_err());
    assert!(File::initial_powers("test", MAX_POWER + 1).is_err());
    let mut short = files[1].clone();
    powers(&mut short).tau_g1.pop();
    assert!(File::from_bytes(&short.to_bytes()).is_err());
    assert!(Heads::from_bytes(&[3]).is_err());
    assert!(ContributionProof::from_bytes(&[0xff; 600]).is_err());
}

/// The heads the ledger keeps round-trip, and the initial heads are the generators.
#[test]
fn heads_round_trip() {
    let files = chain(&File::initial_powers("test", 2).expect("initial"), 1);
    for h in [
        files[0].heads(),
        files[1].heads(),
        Heads::initial(Phase::Circuit("c")),
    ] {
        assert_eq!(Heads::from_bytes(&h.to_bytes()).expect("decodes"), h);
    }
    assert_eq!(files[0].heads(), Heads::initial(Phase::Powers));
}

/// The test vectors of `docs/ceremony.md`: an independent implementation computes the same.
#[test]
fn test_vectors_of_the_format_document() {
    let initial = File::initial_powers("vectors", 2).expect("initial");
    let bytes = initial.to_bytes();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let c = challenge("vectors", Phase::Powers, "did:credence:member", &initial.digest());
    let vectors = [
        ("initial powers (power 2) length", bytes.len().to_string()),
        (
            "initial powers header",
            hex(&bytes[..bytes.len() - initial_body(2)]),
        ),
        ("initial powers digest", initial.digest().to_hex()),
        ("challenge", c.to_hex()),
        (
            "initial heads, powers",
            hex(&Heads::initial(Phase::Powers).to_bytes()),
        ),
        (
            "initial heads, circuit",
            hex(&Heads::initial(Phase::Circuit("c")).to_bytes()),
        ),
    ];
    let doc = include_str!("../../../docs/ceremony.md");
    for (name, value) in vectors {
        assert!(doc.contains(&value), "docs/ceremony.md lacks the {name}: {value}");
    }
}

fn initial_body(power: u8) -> usize {
    let m = 1usize << power;
    8 + (2 * m - 1) * 32 + 8 + m * 64 + 2 * (8 + m * 32) + 64
}

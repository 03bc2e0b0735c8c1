//! Controllable anonymity: the council's key generation, opening by `t` shares, and the escrow
//! shape of the unlinkable proof (the ciphertext must encrypt the credential's own handle under
//! the council's own key).

use super::unlinkable::{ID, INDEX, World, statement, world_with};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use schemas::Hash;
use zk::ZkError;
use zk::escrow::council::{
    Complaint, Council, CouncilParams, CouncilShare, Dealing, DecryptionShare, ReceivedShare, ReceivingKey,
    ReceivingSecret, deal,
};
use zk::escrow::{Ciphertext, CouncilKey, EscrowRandomness, encrypt, handle_value};
use zk::poseidon::{fr_from_i64, fr_to_bytes};
use zk::unlinkable::{
    CircuitShape, EscrowStatement, EvidenceClaim, UnlinkableWitness, escrow_evidence, prove_escrowed, setup,
    verify_escrow_evidence, verify_escrowed, verify_unlinkable,
};

const HANDLE: i64 = 4_411_000_017;
const OPENING: Hash = Hash([0x0b; 32]);

/// A council of `n` members after an honest key generation: the council and each member's share.
struct Generated {
    params: CouncilParams,
    keys: Vec<ReceivingKey>,
    dealings: Vec<Dealing>,
    council: Council,
    shares: Vec<CouncilShare>,
}

fn generate(t: u16, n: u16, rng: &mut ChaCha20Rng) -> Generated {
    let params = CouncilParams::new(Hash([7; 32]), t, n).expect("valid");
    let secrets: Vec<ReceivingSecret> = (0..n).map(|_| ReceivingSecret::random(rng)).collect();
    let keys: Vec<ReceivingKey> = secrets.iter().map(ReceivingSecret::public).collect();
    let dealings: Vec<Dealing> = (1..=n)
        .map(|i| deal(&params, i, &keys, rng).expect("deals"))
        .collect();
    let council = Council::from_transcript(&params, &dealings, &[]).expect("council");
    let shares = (1..=n)
        .map(|j| {
            let received: Vec<(u16, ReceivedShare)> = dealings
                .iter()
                .map(|d| {
                    let s = d
                        .share_for(&params, j, &secrets[usize::from(j) - 1], rng)
                        .expect("an honest dealer's share checks");
                    (d.dealer(), s)
                })
                .collect();
            CouncilShare::new(&council, j, &received).expect("sums to its key")
        })
        .collect();
    Generated {
        params,
        keys,
        dealings,
        council,
        shares,
    }
}

fn ciphertext(key: &CouncilKey, handle: i64, rng: &mut ChaCha20Rng) -> Ciphertext {
    encrypt(key, fr_from_i64(handle), &EscrowRandomness::random(rng))
}

fn decrypt_by(
    g: &Generated,
    members: &[u16],
    ct: &Ciphertext,
    rng: &mut ChaCha20Rng,
) -> Vec<DecryptionShare> {
    members
        .iter()
        .map(|j| g.shares[usize::from(*j) - 1].decrypt(&g.council, ct, &OPENING, rng))
        .collect()
}

#[test]
fn any_t_members_open_and_fewer_open_nothing() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let g = generate(3, 5, &mut rng);
    let ct = ciphertext(&g.council.key(), HANDLE, &mut rng);
    for members in [[1u16, 2, 3], [5, 3, 1], [2, 4, 5]] {
        let shares = decrypt_by(&g, &members, &ct, &mut rng);
        let opened = g.council.open(&ct, &OPENING, &shares).expect("opens");
        assert_eq!(handle_value(&opened), Some(HANDLE), "members {members:?}");
    }
    // Every share round-trips through its published form.
    let shares = decrypt_by(&g, &[1, 2, 3, 4, 5], &ct, &mut rng);
    for s in &shares {
        assert_eq!(DecryptionShare::from_bytes(&s.to_bytes()).as_ref(), Ok(s));
    }
    // t − 1 shares: refused.
    assert_eq!(
        g.council.open(&ct, &OPENING, &shares[..2]),
        Err(ZkError::TooFewShares { have: 2, need: 3 })
    );
    // Two shares from one member count once.
    let twice = [shares[0], shares[0], shares[1]];
    assert!(matches!(
        g.council.open(&ct, &OPENING, &twice),
        Err(ZkError::Council { .. })
    ));
}

#[test]
fn shares_with_a_bad_proof_or_for_another_opening_or_ciphertext_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let g = generate(2, 3, &mut rng);
    let ct = ciphertext(&g.council.key(), HANDLE, &mut rng);
    let good = decrypt_by(&g, &[1, 2], &ct, &mut rng);
    // A share's point replaced by another member's: its proof no longer matches.
    let mut forged = good[0].to_bytes();
    forged[2..34].copy_from_slice(&good[1].to_bytes()[2..34]);
    let forged = DecryptionShare::from_bytes(&forged).expect("still well formed");
    assert_eq!(
        g.council.check_share(&ct, &OPENING, &forged),
        Err(ZkError::BadShare { member: 1 })
    );
    assert_eq!(
        g.council.open(&ct, &OPENING, &[forged, good[1]]),
        Err(ZkError::BadShare { member: 1 })
    );
    // A share claimed by another member.
    let mut renamed = good[0].to_bytes();
    renamed[..2].copy_from_slice(&3u16.to_le_bytes());
    let renamed = DecryptionShare::from_bytes(&renamed).expect("well formed");
    assert_eq!(
        g.council.check_share(&ct, &OPENING, &renamed),
        Err(ZkError::BadShare { member: 3 })
    );
    // A valid share made for another opening, or for another ciphertext.
    assert_eq!(
        g.council.check_share(&ct, &Hash([0x0c; 32]), &good[0]),
        Err(ZkError::BadShare { member: 1 })
    );
    let other = ciphertext(&g.council.key(), HANDLE, &mut rng);
    assert_eq!(
        g.council.check_share(&other, &OPENING, &good[0]),
        Err(ZkError::BadShare { member: 1 })
    );
    // A share from member 4 of a 3-member council.
    let mut stranger = good[0].to_bytes();
    stranger[..2].copy_from_slice(&4u16.to_le_bytes());
    let stranger = DecryptionShare::from_bytes(&stranger).expect("well formed");
    assert!(matches!(
        g.council.check_share(&ct, &OPENING, &stranger),
        Err(ZkError::Council { .. })
    ));
    // Truncated bytes.
    assert!(DecryptionShare::from_bytes(&good[0].to_bytes()[..97]).is_err());
}

#[test]
fn a_cheating_dealer_is_disqualified_by_a_complaint_and_the_rest_still_open() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let params = CouncilParams::new(Hash([9; 32]), 2, 4).expect("valid");
    let secrets: Vec<ReceivingSecret> = (0..4).map(|_| ReceivingSecret::random(&mut rng)).collect();
    let keys: Vec<ReceivingKey> = secrets.iter().map(ReceivingSecret::public).collect();
    let mut dealings: Vec<Dealing> = (1..=4)
        .map(|i| deal(&params, i, &keys, &mut rng).expect("deals"))
        .collect();
    // Dealer 2 sends member 4 a share off its polynomial (the masked share's last byte changed).
    let mut bytes = dealings[1].to_bytes();
    let share4 = 6 + 32 * 2 + 32 + 32 * 3;
    bytes[share4] ^= 1;
    dealings[1] = Dealing::from_bytes(&bytes).expect("still well formed");
    dealings[1]
        .check(&params)
        .expect("the public checks cannot see it");
    let complaint = match dealings[1].share_for(&params, 4, &secrets[3], &mut rng) {
        Err(c) => *c,
        Ok(_) => panic!("member 4 accepted a bad share"),
    };
    let complaint = Complaint::from_bytes(&complaint.to_bytes()).expect("round trip");
    assert_eq!((complaint.dealer(), complaint.accuser()), (2, 4));
    assert_eq!(complaint.holds(&params, &dealings[1], &keys[3]), Ok(true));
    // The complaint proves nothing against another dealing, or as another member's.
    assert!(complaint.holds(&params, &dealings[0], &keys[3]).is_err());
    assert!(complaint.holds(&params, &dealings[1], &keys[2]).is_err());

    // An unfounded complaint: member 3 complains about dealer 1's good share (it made the
    // complaint from a copy it altered). Its revealed key is genuine, so the proof verifies, and
    // the check finds the share good.
    let mut altered = dealings[0].to_bytes();
    altered[6 + 32 * 2 + 32 + 32 * 2] ^= 1;
    let altered = Dealing::from_bytes(&altered).expect("well formed");
    let unfounded = match altered.share_for(&params, 3, &secrets[2], &mut rng) {
        Err(c) => *c,
        Ok(_) => panic!("the altered share cannot check"),
    };
    assert_eq!(unfounded.holds(&params, &dealings[0], &keys[2]), Ok(false));

    // Without dealer 2 the council still forms and opens.
    let council = Council::from_transcript(&params, &dealings, &[2]).expect("council");
    assert_eq!(council.qualified(), &[1, 3, 4]);
    let share_of = |j: u16, rng: &mut ChaCha20Rng| {
        let received: Vec<(u16, ReceivedShare)> = dealings
            .iter()
            .filter(|d| d.dealer() != 2)
            .map(|d| {
                (
                    d.dealer(),
                    d.share_for(&params, j, &secrets[usize::from(j) - 1], rng)
                        .expect("good"),
                )
            })
            .collect();
        CouncilShare::new(&council, j, &received).expect("sums")
    };
    let ct = ciphertext(&council.key(), -17, &mut rng);
    let shares: Vec<DecryptionShare> = [4u16, 1]
        .iter()
        .map(|j| share_of(*j, &mut rng).decrypt(&council, &ct, &OPENING, &mut rng))
        .collect();
    let opened = council.open(&ct, &OPENING, &shares).expect("opens");
    assert_eq!(handle_value(&opened), Some(-17));

    // Counting dealer 2's dealing makes member 4's sum disagree with its verification key.
    let with_cheat = Council::from_transcript(&params, &dealings, &[]).expect("forms");
    let received: Vec<(u16, ReceivedShare)> = dealings
        .iter()
        .filter(|d| d.dealer() != 2)
        .map(|d| {
            (
                d.dealer(),
                d.share_for(&params, 4, &secrets[3], &mut rng).expect("good"),
            )
        })
        .collect();
    assert!(CouncilShare::new(&with_cheat, 4, &received).is_err());
}

#[test]
fn a_council_needs_t_qualified_dealers_and_sane_parameters() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let g = generate(3, 4, &mut rng);
    assert!(matches!(
        Council::from_transcript(&g.params, &g.dealings[..2], &[]),
        Err(ZkError::Council { .. })
    ));
    assert!(matches!(
        Council::from_transcript(&g.params, &g.dealings, &[1, 2]),
        Err(ZkError::Council { .. })
    ));
    let twice = [
        g.dealings[0].clone(),
        g.dealings[0].clone(),
        g.dealings[1].clone(),
    ];
    assert!(Council::from_transcript(&g.params, &twice, &[]).is_err());
    for (t, n) in [(0, 3), (4, 3), (1, 0), (1, 65)] {
        assert!(CouncilParams::new(Hash([0; 32]), t, n).is_err(), "{t} of {n}");
    }
    // A dealing for another council generation: its proof of knowledge is bound to the context.
    let other = CouncilParams::new(Hash([8; 32]), 3, 4).expect("valid");
    assert!(g.dealings[0].check(&other).is_err());
    // Dealings survive their published form; truncations and trailing bytes are refused.
    let bytes = g.dealings[2].to_bytes();
    assert_eq!(Dealing::from_bytes(&bytes).as_ref(), Ok(&g.dealings[2]));
    assert!(Dealing::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(Dealing::from_bytes(&long).is_err());
    assert_eq!(g.keys.len(), 4);
}

fn witness_for<'a>(
    w: &'a World,
    paths: &'a (zk::tree::MerklePath, zk::tree::MerklePath),
) -> UnlinkableWitness<'a> {
    UnlinkableWitness {
        leaf: &w.data,
        salt: Hash(fr_to_bytes(&w.salt)),
        secret: &w.secret,
        credential_path: &paths.0,
        revocation_path: &paths.1,
    }
}

/// The escrow shape end to end: the proof verifies for its ciphertext and council key only, and
/// the council opens the ciphertext to the handle the issuer put in the credential.
#[test]
fn the_escrow_proof_binds_the_handle_and_the_key_and_the_council_opens_it() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let shape = CircuitShape::fitting(4, 2, true).expect("an escrow shape");
    assert!(shape.escrow);
    assert_eq!(CircuitShape::from_id(&shape.id()), Some(shape));
    let (pk, vk) = setup(shape, &mut rng).expect("setup");
    // The handle is the credential's fourth attribute.
    let w = world_with(&mut rng, vec![Some(7_300), Some(2), Some(156), Some(HANDLE)]);
    let paths = (w.tree.path(INDEX).expect("exists"), w.revoked.path(ID));
    let s = statement(&w, "bank-b/kyc", Hash([3; 32]));
    let g = generate(2, 3, &mut rng);
    let council = g.council.key();
    let (proof, nullifier, ct) =
        prove_escrowed(&pk, &s, 4, &council, &witness_for(&w, &paths), &mut rng).expect("proves");
    let escrow = EscrowStatement {
        handle_attribute: 4,
        council,
        ciphertext: ct,
    };
    verify_escrowed(&vk, &s, &escrow, &nullifier, &proof).expect("verifies");

    // What an opening proposal carries: the proof with its public inputs. Validators accept it
    // for this ciphertext, council and request only; a ciphertext derived from this one (the
    // body shifted by one: a valid encryption of handle + 1 under the same randomness) has no
    // evidence, whether the inputs are left alone or patched to name it.
    let evidence = escrow_evidence(&vk, &s, &escrow, &nullifier).expect("inputs");
    let claim = EvidenceClaim {
        council: &council,
        ciphertext: &ct,
        request: &s.request,
        issuer_root: &s.issuer_root,
        binding: s.binding,
        scope: &s.scope,
        handle_attribute: 4,
    };
    verify_escrow_evidence(&vk, &evidence, &proof, &claim).expect("accepted");
    let mut mauled = ct.to_bytes();
    mauled[32] ^= 1;
    let mauled = Ciphertext::from_bytes(&mauled).expect("still a ciphertext");
    let mauled_claim = EvidenceClaim {
        ciphertext: &mauled,
        ..claim
    };
    assert!(matches!(
        verify_escrow_evidence(&vk, &evidence, &proof, &mauled_claim),
        Err(ZkError::ShapeMismatch { reason, .. }) if reason.contains("another ciphertext")
    ));
    let patched = escrow_evidence(
        &vk,
        &s,
        &EscrowStatement {
            ciphertext: mauled,
            ..escrow.clone()
        },
        &nullifier,
    )
    .expect("inputs");
    assert_eq!(
        verify_escrow_evidence(&vk, &patched, &proof, &mauled_claim),
        Err(ZkError::VerificationFailed { what: "unlinkable" })
    );
    // Each claimed value is compared: another request, root, binding, verifier scope or handle
    // attribute than the inputs name is refused, as are inputs of the wrong count.
    let other_root = Hash([0; 32]);
    let other_binding = zk::unlinkable::binding_element("did:credence:other", "kyc/v1");
    for (other, why) in [
        (
            EvidenceClaim {
                request: &Hash([4; 32]),
                ..claim
            },
            "another request",
        ),
        (
            EvidenceClaim {
                issuer_root: &other_root,
                ..claim
            },
            "another issuer root",
        ),
        (
            EvidenceClaim {
                binding: other_binding,
                ..claim
            },
            "another issuer or schema",
        ),
        (
            EvidenceClaim {
                scope: "bank-c/kyc",
                ..claim
            },
            "another verifier",
        ),
        (
            EvidenceClaim {
                handle_attribute: 3,
                ..claim
            },
            "identity handle",
        ),
    ] {
        assert!(
            matches!(
                verify_escrow_evidence(&vk, &evidence, &proof, &other),
                Err(ZkError::ShapeMismatch { reason, .. }) if reason.contains(why)
            ),
            "{why}"
        );
    }
    assert!(verify_escrow_evidence(&vk, &evidence[1..], &proof, &claim).is_err());

    // A ciphertext of another handle, under the same key.
    let other_handle = EscrowStatement {
        ciphertext: ciphertext(&council, HANDLE + 1, &mut rng),
        ..escrow.clone()
    };
    assert_eq!(
        verify_escrowed(&vk, &s, &other_handle, &nullifier, &proof),
        Err(ZkError::VerificationFailed { what: "unlinkable" })
    );
    // The same ciphertext claimed under another council's key.
    let other_council = generate(2, 3, &mut rng).council.key();
    let other_key = EscrowStatement {
        council: other_council,
        ..escrow.clone()
    };
    assert_eq!(
        verify_escrowed(&vk, &s, &other_key, &nullifier, &proof),
        Err(ZkError::VerificationFailed { what: "unlinkable" })
    );
    // Another attribute named as the handle.
    let other_attribute = EscrowStatement {
        handle_attribute: 3,
        ..escrow.clone()
    };
    assert!(verify_escrowed(&vk, &s, &other_attribute, &nullifier, &proof).is_err());
    // The escrow key does not verify a statement without escrow, and the handle must exist.
    assert!(matches!(
        verify_unlinkable(&vk, &s, &nullifier, &proof),
        Err(ZkError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        verify_escrowed(
            &vk,
            &s,
            &EscrowStatement {
                handle_attribute: 5,
                ..escrow.clone()
            },
            &nullifier,
            &proof
        ),
        Err(ZkError::ShapeMismatch { .. })
    ));
    let no_handle = world_with(&mut rng, vec![Some(7_300), Some(2), Some(156), None]);
    let no_handle_paths = (
        no_handle.tree.path(INDEX).expect("exists"),
        no_handle.revoked.path(ID),
    );
    let s2 = statement(&no_handle, "bank-b/kyc", Hash([3; 32]));
    assert!(matches!(
        prove_escrowed(
            &pk,
            &s2,
            4,
            &council,
            &witness_for(&no_handle, &no_handle_paths),
            &mut rng
        ),
        Err(ZkError::UnsatisfiedWitness { .. })
    ));

    // Two presentations of one credential carry unrelated ciphertexts.
    let (_, _, ct2) =
        prove_escrowed(&pk, &s, 4, &council, &witness_for(&w, &paths), &mut rng).expect("proves again");
    assert_ne!(ct.to_bytes()[..32], ct2.to_bytes()[..32]);

    // A second implementation: snarkjs accepts the escrow proof for its ciphertext and refuses
    // it for a ciphertext of another handle.
    let public = zk::snarkjs::public_signals(&vk, &s, Some(&escrow), &nullifier).expect("inputs");
    if let Some(accepted) = super::snarkjs_verifies(&vk, &proof, public) {
        assert!(accepted, "snarkjs accepts the escrow proof");
        let wrong = zk::snarkjs::public_signals(&vk, &s, Some(&other_handle), &nullifier).expect("inputs");
        assert_eq!(
            super::snarkjs_verifies(&vk, &proof, wrong),
            Some(false),
            "snarkjs refuses it for another handle's ciphertext"
        );
    }

    // The council opens what the verifier received.
    let received = Ciphertext::from_bytes(&ct.to_bytes()).expect("parses");
    let shares = decrypt_by(&g, &[3, 1], &received, &mut rng);
    let opened = g.council.open(&received, &OPENING, &shares).expect("opens");
    assert_eq!(handle_value(&opened), Some(HANDLE));
    assert_eq!(
        g.council.open(&received, &OPENING, &shares[..1]),
        Err(ZkError::TooFewShares { have: 1, need: 2 })
    );
}

/// The vectors of `docs/escrow.md`: a council of three with threshold two, from a seeded RNG;
/// each published value, and an opening by members 1 and 3. (`CREDENCE_PRINT_VECTORS=1` prints
/// them instead of checking.)
#[test]
fn escrow_vectors_match_the_document() {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let params = CouncilParams::new(Hash([0x11; 32]), 2, 3).expect("valid");
    let secrets: Vec<ReceivingSecret> = (0..3).map(|_| ReceivingSecret::random(&mut rng)).collect();
    let keys: Vec<ReceivingKey> = secrets.iter().map(ReceivingSecret::public).collect();
    let dealings: Vec<Dealing> = (1..=3)
        .map(|i| deal(&params, i, &keys, &mut rng).expect("deals"))
        .collect();
    let council = Council::from_transcript(&params, &dealings, &[]).expect("council");
    let member_share = |j: u16, rng: &mut ChaCha20Rng| {
        let received: Vec<(u16, ReceivedShare)> = dealings
            .iter()
            .map(|d| {
                let s = d
                    .share_for(&params, j, &secrets[usize::from(j) - 1], rng)
                    .expect("honest");
                (d.dealer(), s)
            })
            .collect();
        CouncilShare::new(&council, j, &received).expect("sums")
    };
    let ct = encrypt(
        &council.key(),
        fr_from_i64(HANDLE),
        &EscrowRandomness::random(&mut rng),
    );
    let shares: Vec<DecryptionShare> = [1u16, 3]
        .iter()
        .map(|j| member_share(*j, &mut rng).decrypt(&council, &ct, &OPENING, &mut rng))
        .collect();
    assert_eq!(
        handle_value(&council.open(&ct, &OPENING, &shares).expect("opens")),
        Some(HANDLE)
    );
    let doc = include_str!("../../../docs/escrow.md");
    for (name, value) in [
        ("receiving key of member 1", hex::encode(keys[0].to_bytes())),
        ("dealing of member 1", hex::encode(dealings[0].to_bytes())),
        ("council key", hex::encode(council.key().to_bytes())),
        (
            "verification key of member 3",
            hex::encode(council.verification_key(3).expect("member")),
        ),
        ("ciphertext", hex::encode(ct.to_bytes())),
        ("decryption share of member 1", hex::encode(shares[0].to_bytes())),
        ("decryption share of member 3", hex::encode(shares[1].to_bytes())),
    ] {
        println!("{name}: {value}");
        if std::env::var_os("CREDENCE_PRINT_VECTORS").is_some() {
            continue;
        }
        assert!(
            doc.contains(&value),
            "docs/escrow.md lacks the {name} vector {value}"
        );
    }
}

/// The ledger's admission bounds (in `schemas`, which cannot see `zk`) are the sizes here.
#[test]
fn the_ledger_bounds_match_the_formats() {
    use zk::escrow::council::{
        COMPLAINT_BYTES, DECRYPTION_SHARE_BYTES, MAX_COUNCIL_MEMBERS, MAX_DEALING_BYTES,
    };
    assert_eq!(schemas::limits::MAX_COUNCIL_DEALING, MAX_DEALING_BYTES);
    assert_eq!(schemas::limits::COUNCIL_COMPLAINT_BYTES, COMPLAINT_BYTES);
    assert_eq!(schemas::limits::DECRYPTION_SHARE_BYTES, DECRYPTION_SHARE_BYTES);
    assert_eq!(
        schemas::limits::MAX_COUNCIL_MEMBERS,
        usize::from(MAX_COUNCIL_MEMBERS)
    );
    assert_eq!(schemas::limits::ESCROW_CIPHERTEXT_BYTES, Ciphertext::BYTES);
    assert_eq!(
        schemas::limits::MAX_ESCROW_INPUTS,
        CircuitShape::ESCROW_SHAPES
            .iter()
            .map(CircuitShape::public_inputs)
            .max()
            .expect("escrow shapes")
    );
    assert_eq!(schemas::limits::ESCROW_PROOF_BYTES, zk::unlinkable::PROOF_BYTES);
}

/// Hostile review of issue 18, finding 1: a dealer that copies another dealer's ephemeral `R`
/// (or a multiple of it) and sends garbage shares would make every honest member's complaint
/// reveal `[e_j]R`, unmasking the honest dealer's shares. A dealing must prove knowledge of its
/// ephemeral secret, so such a dealing is refused before anyone complains.
#[test]
fn a_dealing_that_reuses_another_dealers_ephemeral_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let g = generate(2, 3, &mut rng);
    let honest = g.dealings[0].to_bytes();
    let t = 2;
    let r_at = 6 + 32 * t;
    for replacement in [honest[r_at..r_at + 32].to_vec(), {
        // [2]R of dealer 1.
        let mut doubled = honest[r_at..r_at + 32].to_vec();
        let p =
            <ark_ed_on_bn254::EdwardsAffine as ark_serialize::CanonicalDeserialize>::deserialize_compressed(
                &doubled[..],
            )
            .expect("a point");
        let twice = ark_ec::CurveGroup::into_affine(p + p);
        doubled.clear();
        ark_serialize::CanonicalSerialize::serialize_compressed(&twice, &mut doubled).expect("32 bytes");
        doubled
    }] {
        let mut cheat = g.dealings[1].to_bytes();
        cheat[r_at..r_at + 32].copy_from_slice(&replacement);
        let cheat = Dealing::from_bytes(&cheat).expect("well formed");
        assert!(
            matches!(cheat.check(&g.params), Err(ZkError::Council { reason }) if reason.contains("ephemeral")),
            "a copied ephemeral passed the dealing's checks"
        );
    }
}

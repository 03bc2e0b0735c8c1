//! The demo story as a test, and the end-to-end run of verification: against a devnet of four
//! validators and an observer started in this process (real sled, libp2p over loopback, the HTTP
//! API). The tampering battery itself (every field of both tiers, every bad case that needs no
//! network) is a unit test of verification, `wallet::tampering`, against an in-memory certified
//! ledger; here are what only a network shows: the ledger's own refusals, revocation and
//! suspension through transactions, and a node replaying an old certified answer.
//!
//! Ports: 14600-14704 (story), 14800-14904 (end-to-end run), 15000-15104 (the ceremony's
//! files) and 16200-16304 (the regulator council), below the ephemeral range.

use credctl::demo::{DemoOptions, Devnet, start_devnet};
use rand_core::OsRng;
use schemas::credential_schema::CredentialSchema;
use schemas::ledger::{ScopeItem, TxPayload};
use schemas::presentation::{Presentation, Tier};
use serde_json::json;
use wallet::holder::Holder;
use wallet::issuer::{HolderBinding, Row};
use wallet::ledger::{Ledger, LedgerError};
use wallet::roles::{ActionError, Identity, approve};
use wallet::tier::parse_predicate;
use wallet::verifier::{Check, Context, ReplayGuard, Report, RequestSpec, Source};

const COST: schemas::seal::Cost = schemas::seal::Cost {
    memory_kib: 1024,
    iterations: 1,
};
const PW: &str = "test-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_story_behaves_as_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lines = Vec::new();
    let summary = credctl::demo::run(
        &DemoOptions {
            dir: Some(dir.path().to_path_buf()),
            diplomas: 1_000,
            base_port: 14_600,
        },
        &mut |l| lines.push(l),
    )
    .await
    .unwrap_or_else(|e| panic!("the demo failed: {e}\n{}", lines.join("\n")));
    assert_eq!(summary.diplomas, 1_000);
    let (check, reason) = summary.revoked_refusal.expect("the revoked diploma was refused");
    assert_eq!(check, Check::Revocation);
    assert!(reason.contains("revoked"), "{reason}");
    assert_eq!(summary.nullifiers.len(), 2);
    assert_ne!(summary.nullifiers[0], summary.nullifiers[1]);
    assert_eq!(summary.replay_refusal.map(|r| r.0), Some(Check::Nonce));
    // Issue 18: the escrowed answer opened only after the vote, to the bank's customer number.
    assert_eq!(summary.escrow_handle, Some(4_411_000_017));
    assert!(
        summary
            .unapproved_opening_refusal
            .is_some_and(|r| r.contains("not approved"))
    );
    assert!(lines.iter().any(|l| l.contains("Every step behaved as stated")));
}

fn diploma_row(line: usize, holder: HolderBinding) -> Row {
    Row::new(
        line,
        json!({"name": "Li Hua", "student_id": "2022010001", "degree": "Bachelor of Engineering",
               "major": "Computer Science", "gpa": 3.62, "graduation_date": "2026-07-01"}),
        holder,
    )
}

struct World {
    devnet: Devnet,
    university: Identity,
    /// The diplomas issued: the student's first, two others after it.
    batch: wallet::issuer::IssuedBatch,
    student: Holder,
    employer: Identity,
    guard: ReplayGuard,
    spec: RequestSpec,
    _dir: tempfile::TempDir,
}

async fn registered(devnet: &Devnet, proposal: schemas::Hash) {
    for g in devnet.governance.iter().take(2) {
        approve(&devnet.ledger, g, proposal).await.expect("approved");
    }
}

async fn world() -> World {
    world_on(14_800).await
}

async fn world_on(base_port: u16) -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let devnet = start_devnet(&dir.path().join("devnet"), base_port, &mut |_| {})
        .await
        .expect("devnet");
    let ledger = &devnet.ledger;
    let (university, _) =
        Identity::create(&dir.path().join("uni"), "Test University", PW, COST).expect("identity");
    let p = university
        .register_issuer(ledger, vec!["UniversityDiploma".into()])
        .await
        .expect("proposed");
    registered(&devnet, p).await;
    let (employer, _) =
        Identity::create(&dir.path().join("employer"), "Employer", PW, COST).expect("identity");
    let p = employer
        .register_verifier(
            ledger,
            vec![ScopeItem {
                credential_type: "UniversityDiploma".into(),
                disclose: vec!["degree".into(), "name".into()],
                predicates: vec!["gpa".into()],
                escrow: None,
            }],
            vec!["hiring".into()],
            "employer/v1".into(),
        )
        .await
        .expect("proposed");
    registered(&devnet, p).await;
    let guard = ReplayGuard::open(&dir.path().join("employer")).expect("guard");
    let (student, _) = Holder::create(&dir.path().join("student"), PW, COST).expect("wallet");
    let diploma = CredentialSchema::builtin("university-diploma").expect("schema");
    let rows = vec![
        diploma_row(2, student.binding()),
        diploma_row(3, HolderBinding::fresh(false)),
        diploma_row(4, HolderBinding::fresh(false)),
    ];
    let (batch, _) = university
        .issue_and_anchor(ledger, &diploma, rows, (wallet::now() - 60, None), false, &|_| {})
        .await
        .expect("issued");
    student
        .import(
            &batch.credentials[0].1.to_json().to_string(),
            ledger,
            wallet::now(),
        )
        .await
        .expect("imported");
    let spec = RequestSpec {
        credential_type: "UniversityDiploma".into(),
        accepted_issuers: vec![],
        disclose: vec!["degree".into()],
        predicates: vec![parse_predicate("gpa>=300").expect("predicate")],
        purpose: "hiring".into(),
        ttl_secs: 600,
        tier: Tier::Selective,
    };
    World {
        devnet,
        university,
        batch,
        student,
        employer,
        guard,
        spec,
        _dir: dir,
    }
}

impl World {
    async fn presentation_for(&self, spec: &RequestSpec) -> Presentation {
        // Answered on a channel, so the battery alters its response address and session too.
        let channel = schemas::presentation::Channel {
            response_uri: "https://verify.employer.example/v1/verify".into(),
            session: "482-913".into(),
        };
        let r = wallet::verifier::make_request_on(
            self.employer.key(),
            spec,
            Some(channel),
            wallet::now(),
            &mut OsRng,
        );
        self.guard.remember(&r).expect("remembered");
        let pending = self
            .student
            .prepare(r, None, &self.devnet.ledger, wallet::now())
            .await
            .expect("prepared");
        self.student
            .present(&pending, None, wallet::now())
            .expect("presented")
    }

    async fn presentation(&self) -> Presentation {
        self.presentation_for(&self.spec).await
    }

    fn verify_at(&self, p: &Presentation, now: i64, guard: Option<&ReplayGuard>) -> Report {
        verify_offline(p, &self.devnet, &self.employer, now, guard)
    }

    fn verify(&self, p: &Presentation) -> Report {
        self.verify_at(p, wallet::now(), Some(&self.guard))
    }
}

/// A node in the middle: forwards every request to `upstream`, except `/v1/proofs`, which it
/// answers with `replay` (a validly certified, old answer). Returns its base URL.
async fn replaying_proxy(upstream: String, replay: schemas::ledger::LedgerProof) -> String {
    use axum::extract::State;
    // Under a fallback the request's URI is the original one.
    let forward = |State(up): State<String>, uri: axum::http::Uri| async move {
        let r = reqwest::get(format!("{up}{uri}")).await.expect("upstream");
        let status = axum::http::StatusCode::from_u16(r.status().as_u16()).expect("status");
        (status, r.bytes().await.expect("body"))
    };
    let app = axum::Router::new()
        .route(
            "/v1/proofs",
            axum::routing::get(move || async move { axum::Json(replay) }),
        )
        .fallback(forward)
        .with_state(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// `verifier` checks `p` at `now` against the devnet's pinned trust, with the proofs inside it.
fn verify_offline(
    p: &Presentation,
    devnet: &Devnet,
    verifier: &Identity,
    now: i64,
    guard: Option<&ReplayGuard>,
) -> Report {
    let me = verifier.did();
    wallet::verifier::verify(
        p,
        &Context {
            source: Source::Offline {
                trust: &devnet.trust,
                max_status_age_secs: 3600,
            },
            now,
            verifier: Some(&me),
            guard,
            cache: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_a_presentation_verifies_and_the_ledger_and_nodes_refuse_what_they_must() {
    let w = world().await;
    let good = w.presentation().await;
    // The untouched presentation passes offline (without consuming its nonce: no guard) and
    // online, with the records read fresh from a node.
    let report = w.verify_at(&good, wallet::now(), None);
    assert!(report.passed(), "{:?}", report.lines());
    let facts = wallet::verifier::fetch_facts(&w.devnet.ledger, &good)
        .await
        .expect("a fresh read");
    let me = w.employer.did();
    let report = wallet::verifier::verify(
        &good,
        &Context {
            source: Source::Online(facts),
            now: wallet::now(),
            verifier: Some(&me),
            guard: None,
            cache: None,
        },
    );
    assert!(report.passed(), "{:?}", report.lines());

    // An unregistered issuer cannot anchor, and the ledger says why.
    let diploma = CredentialSchema::builtin("university-diploma").expect("schema");
    let dir = tempfile::tempdir().expect("dir");
    let (rogue, _) = Identity::create(dir.path(), "Diploma Mill", PW, COST).expect("identity");
    let e = rogue
        .issue_and_anchor(
            &w.devnet.ledger,
            &diploma,
            vec![diploma_row(2, HolderBinding::fresh(false))],
            (wallet::now(), None),
            false,
            &|_| {},
        )
        .await
        .err()
        .expect("refused");
    let ActionError::Ledger(LedgerError::Rejected { reason }) = e else {
        panic!("{e}")
    };
    assert!(reason.contains("not registered"), "{reason}");

    // An issuer not allowed for the type cannot anchor it.
    let kyc = CredentialSchema::builtin("kyc-attestation").expect("schema");
    let kyc_row = Row::new(
        2,
        json!({"name": "A", "birth_date": "1990-01-01", "residence_country": "CN", "kyc_level": 2,
               "verified_on": "2026-01-01"}),
        HolderBinding::fresh(false),
    );
    let e = w
        .university
        .issue_and_anchor(
            &w.devnet.ledger,
            &kyc,
            vec![kyc_row],
            (wallet::now(), None),
            false,
            &|_| {},
        )
        .await
        .err()
        .expect("refused");
    let ActionError::Ledger(LedgerError::Rejected { reason }) = e else {
        panic!("{e}")
    };
    assert!(reason.contains("KycAttestation"), "{reason}");

    // A revoked credential.
    let mut keys = wallet::verifier::needed_keys(&good);
    keys.truncate(ledger_api::MAX_PROOF_KEYS);
    let before_revocation = w.devnet.ledger.client.proofs(&keys).await.expect("read");
    let index = w.student.list().expect("list")[0].status.index;
    w.university
        .revoke(&w.devnet.ledger, 0, vec![index])
        .await
        .expect("revoked");
    let p = w.presentation().await;
    let r = w.verify(&p);
    assert_eq!(r.failure().map(|f| f.0), Some(Check::Revocation));
    assert!(r.failure().expect("failed").1.contains("revoked"));

    // The same revoked credential online, through a node that replays the certified answer it
    // gave before the revocation: a verifier that has seen a newer block refuses it as below
    // that block, and one that has not refuses it once it is older than its maximum age.
    let node = w.devnet.ledger.client.base().to_owned();
    let proxy = replaying_proxy(node.clone(), before_revocation).await;
    let direct = Ledger::connect(&node, w.devnet.trust.clone())
        .await
        .expect("connected");
    wallet::verifier::fetch_facts(&direct, &p)
        .await
        .expect("a fresh read");
    let replayed = Ledger::connect(&proxy, direct.trust()).await.expect("connected");
    let e = wallet::verifier::fetch_facts(&replayed, &p)
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, LedgerError::Stale(m) if m.contains("below block")),
        "{e}"
    );
    let mut forgetful = Ledger::connect(&proxy, w.devnet.trust.clone())
        .await
        .expect("connected");
    forgetful.max_read_age_secs = 1;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let e = wallet::verifier::fetch_facts(&forgetful, &p)
        .await
        .expect_err("refused");
    assert!(matches!(&e, LedgerError::Stale(m) if m.contains("s old")), "{e}");

    // A suspended issuer: governance suspends the university; its credentials are refused.
    let (p, _) = w
        .devnet
        .ledger
        .submit(
            &w.devnet.governance[0],
            &[],
            TxPayload::SuspendIssuer {
                issuer: w.university.did(),
                reason: "accreditation withdrawn".into(),
            },
        )
        .await
        .expect("proposed");
    approve(&w.devnet.ledger, &w.devnet.governance[1], p)
        .await
        .expect("approved");
    let p = w.presentation().await;
    let r = w.verify(&p);
    assert_eq!(r.failure().map(|f| f.0), Some(Check::Issuer));
    assert!(r.failure().expect("failed").1.contains("suspended"));

    w.devnet.stop().await;
}

/// The nodes keep the setup ceremony's files and check each against the one it extends (issue
/// 16): a file with two points swapped or whose proof of knowledge names another contributor is
/// refused by the node; a contribution out of order is refused by the ledger even with a file
/// the node accepted; a contribution whose file the node does not hold is not admitted; and
/// `Setup::verify` walks the transcript from the initial powers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nodes_check_the_ceremony_files_and_the_transcript_verifies() {
    use wallet::ceremony::Setup;
    use zk::ceremony::File;
    let dir = tempfile::tempdir().expect("temp dir");
    let devnet = start_devnet(&dir.path().join("devnet"), 15_000, &mut |_| {})
        .await
        .expect("devnet");
    let (ledger, gov) = (&devnet.ledger, &devnet.governance);
    let setup = Setup::new(ledger, dir.path().join("cache"));
    let shape = zk::unlinkable::CircuitShape::SHAPES[0];
    let power = u8::try_from(zk::ceremony::domain_power(shape).expect("synthesises")).expect("small");
    let plan = schemas::ledger::CeremonyPlan {
        id: "t".into(),
        version: 7,
        circuits: vec![shape.id()],
        power,
        min_contributions: 2,
        contributors: vec![],
    };
    let p = setup.propose(&gov[0], plan).await.expect("proposed");
    approve(ledger, &gov[1], p).await.expect("approved");
    let quiet = |_: f64| {};
    let first = setup
        .contribute(&gov[0], "t", None, &quiet)
        .await
        .expect("contributes");
    assert_eq!(first.index, 1);
    let previous = setup.file(&first.file).await.expect("the node serves it");
    let member = |i: usize| schemas::Did::from_public_key(gov[i].public_key()).to_string();
    let good = previous
        .contribute(&member(1), &mut OsRng, &quiet)
        .expect("contributes");
    let refused = |r: Result<schemas::Hash, ledger_api::client::ClientError>, phrase: &str| match r {
        Err(ledger_api::client::ClientError::Refused {
            status: 400, message, ..
        }) => {
            assert!(message.contains(phrase), "{message:?} lacks {phrase:?}")
        }
        other => panic!("expected a refusal with {phrase:?}, got {other:?}"),
    };
    // Two powers of τ swapped: every point valid, the sequence not.
    let mut swapped = good.to_bytes();
    let m = 1usize << power;
    let body = 8 + (2 * m - 1) * 32 + 8 + m * 64 + 2 * (8 + m * 32) + 64;
    let at = swapped.len() - body + 8 + 5 * 32;
    let (a, b) = swapped[at..at + 64].split_at(32);
    let (a, b) = (a.to_vec(), b.to_vec());
    swapped[at..at + 32].copy_from_slice(&b);
    swapped[at + 32..at + 64].copy_from_slice(&a);
    refused(
        ledger.client.put_ceremony_file(swapped).await,
        "not the previous state updated",
    );
    // Claimed by another member: the proofs of knowledge name the contributor.
    let mut claimed = good.clone();
    claimed.contributor = member(2);
    refused(
        ledger.client.put_ceremony_file(claimed.to_bytes()).await,
        "proof of knowledge",
    );
    // A second "first" contribution: a valid file, but the ledger has a first already.
    let initial = File::initial_powers("t", power).expect("initial");
    let late = initial
        .contribute(&member(1), &mut OsRng, &quiet)
        .expect("contributes");
    let late_digest = ledger
        .client
        .put_ceremony_file(late.to_bytes())
        .await
        .expect("a valid file is kept");
    let contribution = |f: &File, digest| schemas::ledger::CeremonyContribution {
        ceremony: "t".into(),
        circuit: String::new(),
        index: f.index,
        previous: f.previous,
        file: digest,
        heads: f.heads().to_bytes(),
        proof: f.proof.as_ref().expect("a proof").to_bytes(),
    };
    match ledger
        .submit(
            &gov[1],
            &[],
            TxPayload::Contribute {
                contribution: contribution(&late, late_digest),
            },
        )
        .await
    {
        Err(LedgerError::Rejected { reason }) => assert!(reason.contains("out of order"), "{reason}"),
        other => panic!("expected out of order, got {other:?}"),
    }
    // The honest second contribution, sent before its file is on the node, is not admitted.
    match ledger
        .submit(
            &gov[1],
            &[],
            TxPayload::Contribute {
                contribution: contribution(&good, good.digest()),
            },
        )
        .await
    {
        Err(LedgerError::Rejected { reason }) => assert!(reason.contains("upload it first"), "{reason}"),
        other => panic!("expected the missing file refused, got {other:?}"),
    }
    // The file on the node, but a contribution carrying another file's heads and proofs (valid
    // ones, so the ledger's own check passes): the node does not admit it.
    let good_digest = ledger
        .client
        .put_ceremony_file(good.to_bytes())
        .await
        .expect("kept");
    let other = previous
        .contribute(&member(1), &mut OsRng, &quiet)
        .expect("contributes");
    let mut mixed = contribution(&good, good_digest);
    mixed.heads = other.heads().to_bytes();
    mixed.proof = other.proof.as_ref().expect("a proof").to_bytes();
    match ledger
        .submit(&gov[1], &[], TxPayload::Contribute { contribution: mixed })
        .await
    {
        Err(LedgerError::Rejected { reason }) => {
            assert!(reason.contains("does not say what its file"), "{reason}")
        }
        other => panic!("expected the mismatch refused, got {other:?}"),
    }
    let second = setup
        .contribute(&gov[1], "t", None, &quiet)
        .await
        .expect("contributes");
    assert_eq!(second.index, 2);
    let verified = setup
        .verify("t", &|_: &str| {})
        .await
        .expect("the transcript verifies");
    assert_eq!(verified.contributions, 2);
    assert!(
        verified.lines[0].contains("2 contributions verified"),
        "{:?}",
        verified.lines
    );

    // A Byzantine node operator puts a tampered file (two powers swapped; the heads untouched,
    // so the ledger's check passes) straight into its folder and a member records it: the
    // transcript no longer verifies, and `verify` names the contribution.
    let second_file = setup.file(&second.file).await.expect("served");
    let third = second_file
        .contribute(&member(2), &mut OsRng, &quiet)
        .expect("contributes");
    let mut bytes = third.to_bytes();
    let at = bytes.len() - body + 8 + 7 * 32;
    let chunk = bytes[at..at + 32].to_vec();
    bytes.copy_within(at + 32..at + 64, at);
    bytes[at + 32..at + 64].copy_from_slice(&chunk);
    let digest = zk::ceremony::file_digest(&bytes);
    let folder = walk(dir.path())
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == first.file.to_hex().as_str()))
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        .expect("the node's ceremony folder");
    std::fs::write(folder.join(digest.to_hex()), &bytes).expect("planted");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let meta = json!({
        "ceremony": "t", "circuit": "", "index": 3, "previous": second.file.to_hex(),
        "contributor": member(2), "heads": hex(&third.heads().to_bytes()),
        "proof": hex(&third.proof.as_ref().expect("a proof").to_bytes()),
    });
    std::fs::write(folder.join(format!("{}.meta", digest.to_hex())), meta.to_string()).expect("planted");
    ledger
        .submit(
            &gov[2],
            &[],
            TxPayload::Contribute {
                contribution: contribution(&third, digest),
            },
        )
        .await
        .expect("the ledger sees only the heads, which are right");
    let refused = setup
        .verify("t", &|_: &str| {})
        .await
        .expect_err("the tampered file is refused");
    assert!(refused.to_string().contains("contribution 3"), "{refused}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Issue 18 on a real devnet: the three governance members form a regulator council (2 of 3)
/// through the ledger, each with its secrets in its own keystore; a ciphertext of a customer's
/// handle under the council's key opens only after governance approves the opening — a share
/// before the vote is refused — and two members' shares put the handle on the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regulator_council_forms_on_the_ledger_and_opens_only_after_the_vote() {
    use schemas::codec::Canonical as _;
    use schemas::ledger::{CouncilPlan, OpeningRequest};
    use wallet::council::{Member, council, propose_council, propose_opening};
    use wallet::keystore::Keystore;
    use zk::escrow::{CouncilKey, EscrowRandomness, encrypt};

    let dir = tempfile::tempdir().expect("temp dir");
    let devnet = start_devnet(&dir.path().join("devnet"), 16_200, &mut |_| {})
        .await
        .expect("devnet");
    let ledger = &devnet.ledger;
    let gov = &devnet.governance;
    let stores: Vec<Keystore> = (0..3)
        .map(|i| {
            Keystore::create(&dir.path().join(format!("member-{i}")), PW, COST, &mut OsRng)
                .expect("keystore")
                .0
        })
        .collect();
    let members: Vec<Member<'_>> = gov
        .iter()
        .zip(&stores)
        .map(|(key, store)| Member { key, store })
        .collect();
    let plan = CouncilPlan {
        id: "regulators-2027".into(),
        name: "Financial regulators".into(),
        members: gov
            .iter()
            .map(|k| schemas::did::Did::from_public_key(k.public_key()))
            .collect(),
        threshold: 2,
    };
    let p = propose_council(ledger, &gov[0], plan.clone())
        .await
        .expect("proposed");
    approve(ledger, &gov[1], p).await.expect("approved");
    for m in &members {
        m.enrol(ledger, &plan.id).await.expect("enrols");
    }
    for m in &members {
        m.deal(ledger, &plan.id).await.expect("deals");
    }
    for m in &members {
        assert_eq!(
            m.check(ledger, &plan.id).await.expect("checks"),
            Vec::<u16>::new()
        );
    }
    let record = council(ledger, &plan.id).await.expect("read");
    let key: [u8; 32] = record.key.expect("in force").0.try_into().expect("32 bytes");
    let council_key = CouncilKey::from_bytes(&key).expect("a point");

    // A bank to name in the opening.
    let (bank, _) = Identity::create(&dir.path().join("bank"), "Bank", PW, COST).expect("id");
    let v = bank
        .register_verifier(
            ledger,
            vec![ScopeItem {
                credential_type: "KycAttestation".into(),
                disclose: vec![],
                predicates: vec!["age".into()],
                escrow: None,
            }],
            vec!["account opening".into()],
            "bank-council-test".into(),
        )
        .await
        .expect("proposed");
    registered(&devnet, v).await;

    // An opening must carry a real answer's escrow proof: a bare ciphertext (which anyone can
    // derive from a presented one) is refused by the validators. The whole opening — a bank
    // that requires escrow, the answer, the vote, the shares — runs in the demo story.
    let ct = encrypt(
        &council_key,
        zk::poseidon::fr_from_i64(4_411_000_017),
        &EscrowRandomness::random(&mut OsRng),
    );
    let answered = wallet::verifier::make_request(
        bank.key(),
        &RequestSpec {
            credential_type: "KycAttestation".into(),
            accepted_issuers: vec![],
            disclose: vec![],
            predicates: vec![],
            purpose: "account opening".into(),
            ttl_secs: 600,
            tier: Tier::Unlinkable,
        },
        wallet::now(),
        &mut OsRng,
    );
    let request = OpeningRequest {
        council: plan.id.clone(),
        ciphertext: ct.to_bytes().to_vec(),
        verifier: bank.did(),
        request: answered.request.digest(),
        answered: Box::new(answered),
        issuer: bank.did(),
        batch: schemas::Hash([1; 32]),
        legal_basis: "AML investigation 2027-114, court order 88".into(),
        evidence: schemas::ledger::EscrowEvidence {
            circuit: zk::unlinkable::CircuitShape::ESCROW_SHAPES[0].id(),
            version: zk::unlinkable::KEY_VERSION,
            inputs: vec![],
            proof: vec![0; 128],
        },
    };
    let refused = propose_opening(ledger, &gov[2], request).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("evidence")),
        "{refused:?}"
    );
    let t = devnet
        .ledger
        .submit(
            &gov[0],
            &[],
            TxPayload::PublishShare {
                opening: schemas::Hash([9; 32]),
                share: vec![0; 98],
            },
        )
        .await;
    assert!(
        matches!(&t, Err(LedgerError::Rejected { reason }) if reason.contains("no opening proposal")),
        "{t:?}"
    );
    devnet.stop().await;
}

/// Runs the npm checker (`tests/interop/check.mjs`, independent JSON-LD, JSON Schema and
/// Bitstring Status List libraries) with `args`; panics with its output unless it passes.
fn interop(args: &[&str]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    assert!(
        root.join("node_modules").is_dir(),
        "{}: npm packages missing; run `npm ci` there (.ci/setup does)",
        root.display()
    );
    let out = std::process::Command::new("node")
        .arg(root.join("check.mjs"))
        .args(args)
        .output()
        .expect("node runs (Node 20; .ci/setup installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "check.mjs {args:?} failed:\n{text}");
    eprintln!("{text}");
}

/// Issue 19: what Credence emits reads in software nobody here wrote. A diploma issued on a
/// real devnet shows its values, validates against the schema its `credentialSchema.id` serves,
/// and expands as JSON-LD with the shipped context; the status list its `statusListCredential`
/// names decodes (GZIP, multibase, left-most bit first) to the ledger's state before and after
/// a revocation, and its proof is the ledger's; a presentation expands; DIDs resolve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_credentials_read_in_independent_tools() {
    let w = world_on(16_400).await;
    let (devnet, ledger, university, batch) = (&w.devnet, &w.devnet.ledger, &w.university, &w.batch);
    let diploma = CredentialSchema::builtin("university-diploma").expect("schema");
    let dir = tempfile::tempdir().expect("temp dir");
    let files = dir.path().join("interop");
    std::fs::create_dir_all(&files).expect("dir");
    let write = |name: &str, v: &serde_json::Value| {
        let path = files.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(v).expect("json")).expect("write");
        path.to_string_lossy().into_owned()
    };
    let vc = batch.credentials[0].1.to_json();
    // The values as the schema describes them, not their encodings.
    assert_eq!(vc["credentialSubject"]["gpa"], json!(3.62));
    assert_eq!(vc["credentialSubject"]["graduation_date"], "2026-07-01");
    let credential = write("credential.json", &vc);

    // The URLs the credential names are served by the node.
    let http = reqwest::Client::new();
    let fetch = |url: String| {
        let http = http.clone();
        async move {
            let r = http.get(&url).send().await.expect("reachable");
            assert!(r.status().is_success(), "{url}: {}", r.status());
            r.text().await.expect("body")
        }
    };
    let schema_text = fetch(
        vc["credentialSchema"]["id"]
            .as_str()
            .expect("schema URL")
            .to_owned(),
    )
    .await;
    assert_eq!(schema_text, diploma.json(), "the schema as published");
    let schema = files.join("schema.json");
    std::fs::write(&schema, &schema_text).expect("write");
    let schema = schema.to_string_lossy().into_owned();
    let list_url = vc["credentialStatus"]["statusListCredential"]
        .as_str()
        .expect("list URL")
        .to_owned();
    let offsets: Vec<String> = batch
        .credentials
        .iter()
        .map(|(_, c)| (c.envelope.status.index % schemas::ledger::STATUS_CHUNK_BITS).to_string())
        .collect();
    let before: serde_json::Value = serde_json::from_str(&fetch(list_url.clone()).await).expect("json");
    assert_eq!(before["id"], list_url);
    // Its id names the host it was asked at: shared caches must key on it.
    let r = http.get(&list_url).send().await.expect("reachable");
    assert_eq!(
        r.headers().get("vary").and_then(|v| v.to_str().ok()),
        Some("Host")
    );
    assert_eq!(
        r.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/vc")
    );
    let before_file = write("status-before.json", &before);

    // Revoke the second diploma; the served list shows it, and only it.
    let revoked = batch.credentials[1].1.envelope.status;
    university
        .revoke(ledger, revoked.list_id, vec![revoked.index])
        .await
        .expect("revoked");
    let after: serde_json::Value = serde_json::from_str(&fetch(list_url.clone()).await).expect("json");
    let after_file = write("status-after.json", &after);
    // Its proof is the ledger's: it verifies against the pinned genesis and holds exactly the
    // bits served (reversed per byte).
    let proof_value = after["proof"]["proofValue"].as_str().expect("proofValue");
    let proof: schemas::ledger::LedgerProof = schemas::codec::decode(
        &schemas::credential::from_multibase_base64url(proof_value, 1 << 20).expect("multibase"),
    )
    .expect("a ledger proof");
    let key = revoked.chunk_key(&university.did());
    let facts = wallet::ledger::Facts::verify_read(&proof, std::slice::from_ref(&key), &devnet.trust)
        .expect("proof verifies");
    let chunk: schemas::ledger::StatusListChunk =
        facts.get(&key, "the chunk").expect("covered").expect("present");
    let served =
        schemas::status_list::decode_list(after["credentialSubject"]["encodedList"].as_str().expect("list"))
            .expect("decodes");
    assert_eq!(served, schemas::status_list::w3c_bitstring(&chunk));

    // A presentation (selective tier) of the imported diploma.
    let p = w.presentation().await;
    let presentation = write("presentation.json", &serde_json::to_value(&p).expect("json"));

    // Kept for CI's artifacts (and README's example) when asked.
    if let Some(keep) = std::env::var_os("CREDENCE_INTEROP_OUT") {
        std::fs::create_dir_all(&keep).expect("artifact dir");
        for f in std::fs::read_dir(&files).expect("files") {
            let f = f.expect("entry").path();
            std::fs::copy(&f, std::path::Path::new(&keep).join(f.file_name().expect("name")))
                .expect("copied");
        }
    }
    let openapi: serde_json::Value =
        serde_json::from_str(&fetch(format!("{}/openapi.json", devnet.apis[0])).await).expect("json");
    let openapi = write("openapi.json", &openapi);
    // The independent tools.
    interop(&["openapi", &openapi]);
    interop(&["expand", &credential, &presentation, &before_file, &after_file]);
    interop(&["schema", &schema, &credential]);
    interop(&["status-list", &before_file, "--clear", &offsets.join(",")]);
    interop(&[
        "status-list",
        &after_file,
        "--set",
        &offsets[1],
        "--clear",
        &format!("{},{}", offsets[0], offsets[2]),
    ]);

    // DIDs resolve to DID Resolution results; the issuer's document names its key by its
    // multibase.
    let url = format!("{}/v1/dids/{}", devnet.apis[0], university.did());
    let resolved: serde_json::Value = serde_json::from_str(&fetch(url).await).expect("json");
    assert_eq!(resolved["didDocument"]["id"], university.did().to_string());
    assert_eq!(resolved["didDocumentMetadata"]["deactivated"], false);
    assert_eq!(
        resolved["didDocument"]["assertionMethod"][0],
        format!(
            "{}#{}",
            university.did(),
            schemas::did::multikey(university.key().public_key())
        )
    );
    let unknown = schemas::Did::from_public_key(schemas::sm2::SecretKey::generate(&mut OsRng).public_key());
    let r = http
        .get(format!("{}/v1/dids/{unknown}", devnet.apis[0]))
        .send()
        .await
        .expect("reachable");
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["didResolutionMetadata"]["error"], "notFound", "{body}");
    assert!(body["didDocument"].is_null());
    // The absence is proven: the issuer and verifier keys absent, governance without the DID.
    let proof: schemas::ledger::LedgerProof =
        serde_json::from_value(body["ledgerProof"].clone()).expect("a proof");
    let keys = [
        schemas::ledger::state_keys::issuer(&unknown),
        schemas::ledger::state_keys::verifier(&unknown),
        schemas::ledger::state_keys::GOVERNANCE.to_vec(),
    ];
    let facts = wallet::ledger::Facts::verify_read(&proof, &keys, &devnet.trust).expect("verifies");
    assert!(
        facts
            .get::<schemas::ledger::IssuerRecord>(&keys[0], "issuer")
            .expect("covered")
            .is_none()
    );
    assert!(
        facts
            .get::<schemas::ledger::VerifierRecord>(&keys[1], "verifier")
            .expect("covered")
            .is_none()
    );
    let governance: schemas::ledger::Governance = facts
        .get(&keys[2], "governance")
        .expect("covered")
        .expect("present");
    assert!(governance.members.iter().all(|m| m.did != unknown));

    // The wire: the node's answers, errors included, match the OpenAPI document generated from
    // its handlers, checked by Ajv (not by the generator); so do the verifier service's.
    let api = &devnet.apis[0];
    let uni = university.did();
    let list = revoked.list_id;
    let chunk = revoked.index / schemas::ledger::STATUS_CHUNK_BITS;
    let height: u64 = {
        let status: serde_json::Value =
            serde_json::from_str(&fetch(format!("{api}/v1/status")).await).expect("json");
        status["height"].as_u64().expect("height")
    };
    let mut gets: Vec<(&str, String)> = vec![
        ("/health", "/health".into()),
        ("/v1/status", "/v1/status".into()),
        ("/v1/genesis", "/v1/genesis".into()),
        ("/v1/validators", "/v1/validators".into()),
        ("/v1/validators/changes", "/v1/validators/changes?after=0".into()),
        ("/v1/governance", "/v1/governance".into()),
        ("/v1/blocks/latest", "/v1/blocks/latest".into()),
        ("/v1/blocks/{height}", "/v1/blocks/99999999".into()),
        ("/v1/blocks/{height}", "/v1/blocks/x".into()),
        ("/v1/accounts/{did}", format!("/v1/accounts/{uni}")),
        ("/v1/issuers/{did}", format!("/v1/issuers/{uni}")),
        ("/v1/issuers/{did}", "/v1/issuers/did:x".into()),
        (
            "/v1/verifiers/{did}",
            format!("/v1/verifiers/{}", w.employer.did()),
        ),
        ("/v1/dids/{did}", format!("/v1/dids/{uni}")),
        ("/v1/dids/{did}", format!("/v1/dids/{unknown}")),
        ("/v1/dids/{did}", "/v1/dids/did:x".into()),
        ("/v1/schemas/{id}", "/v1/schemas/university-diploma".into()),
        (
            "/v1/schemas/{id}/document",
            "/v1/schemas/university-diploma/document".into(),
        ),
        (
            "/v1/schemas/{id}/document",
            "/v1/schemas/no-such-schema/document".into(),
        ),
        (
            "/v1/contexts/credentials/v1",
            "/v1/contexts/credentials/v1".into(),
        ),
        (
            "/v1/anchors/{issuer}/{root}",
            format!("/v1/anchors/{uni}/{}", batch.root),
        ),
        (
            "/v1/status-lists/{issuer}/{list}/{chunk}",
            format!("/v1/status-lists/{uni}/{list}/{chunk}"),
        ),
        (
            "/v1/status-lists/{issuer}/{list}/{chunk}/credential",
            format!("/v1/status-lists/{uni}/{list}/{chunk}/credential"),
        ),
        ("/v1/revoked/{issuer}/{list}", format!("/v1/revoked/{uni}/{list}")),
        (
            "/v1/revoked/{issuer}/{list}/ids",
            format!("/v1/revoked/{uni}/{list}/ids"),
        ),
        (
            "/v1/verifying-keys/{circuit}/{version}",
            "/v1/verifying-keys/none/1".into(),
        ),
        ("/v1/proposals/{hash}", format!("/v1/proposals/{}", batch.root)),
        ("/v1/councils/{id}", "/v1/councils/none".into()),
        ("/v1/openings/{hash}", format!("/v1/openings/{}", batch.root)),
        (
            "/v1/transactions/{hash}",
            format!("/v1/transactions/{}", batch.root),
        ),
        ("/v1/proofs", format!("/v1/proofs?keys={}", hex::encode(&key))),
        ("/v1/proofs", "/v1/proofs?keys=zz".into()),
    ];
    // Every block of the story so far: each kind of transaction it committed, as served.
    for h in 0..=height {
        gets.push(("/v1/blocks/{height}", format!("/v1/blocks/{h}")));
    }
    let mut answers = Vec::new();
    for (template, path) in &gets {
        answers.push(answer(&http, "get", template, format!("{api}{path}"), None, None).await);
    }
    let garbage = Some("{\"tx\": 1}".to_owned());
    answers.push(
        answer(
            &http,
            "post",
            "/v1/transactions",
            format!("{api}/v1/transactions"),
            garbage,
            None,
        )
        .await,
    );
    for a in &answers {
        assert!(a["status"].as_u64().is_some_and(|s| s < 500), "{a}");
    }
    let node_answers = write("node-answers.json", &json!(answers));
    interop(&["answers", &openapi, &node_answers]);

    // The verifier service: a staff client's request, the student's answer, the errors.
    let service_dir = dir.path().join("service");
    let service_guard = ReplayGuard::open(&service_dir).expect("guard");
    let token = "0123456789abcdef0123456789abcdef".to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let service = format!("http://{}", listener.local_addr().expect("address"));
    let app = credctl::service::router(
        w.employer,
        service_guard,
        credctl::service::ServeSource::Online(devnet.ledger.clone()),
        std::slice::from_ref(&token),
        &service,
        Vec::new(),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let spec = serde_json::to_string(&w.spec).expect("json");
    let requests = format!("{service}/v1/requests");
    let made = answer(
        &http,
        "post",
        "/v1/requests",
        requests.clone(),
        Some(spec.clone()),
        Some(&token),
    )
    .await;
    let request: schemas::presentation::SignedRequest =
        serde_json::from_value(made["body"].clone()).expect("a signed request");
    let pending = w
        .student
        .prepare(request, None, &devnet.ledger, wallet::now())
        .await
        .expect("prepared");
    let p = w
        .student
        .present(&pending, None, wallet::now())
        .expect("presented");
    let p = serde_json::to_string(&p).expect("json");
    let verify = format!("{service}/v1/verify");
    let passed = answer(&http, "post", "/v1/verify", verify.clone(), Some(p.clone()), None).await;
    assert_eq!(passed["status"], 200, "{passed}");
    let replayed = answer(&http, "post", "/v1/verify", verify.clone(), Some(p), None).await;
    assert_eq!(replayed["status"], 422, "{replayed}");
    // A refusal is the report, typed, not an error: which check refused and why.
    assert_eq!(replayed["contentType"], "application/json", "{replayed}");
    assert!(
        replayed["body"]["checks"]
            .as_array()
            .is_some_and(|c| c.iter().any(|l| l["status"] == "failed" && l["check"] == "nonce")),
        "{replayed}"
    );
    // Issue 20, OpenID4VP: the staff client starts an exchange; the wallet opens the link,
    // fetches the signed request object by reference, checks it, answers by direct_post; the
    // staff client reads the result.
    let oid4vp = format!("{service}/v1/oid4vp/requests");
    let started = answer(
        &http,
        "post",
        "/v1/oid4vp/requests",
        oid4vp,
        Some(spec.clone()),
        Some(&token),
    )
    .await;
    assert_eq!(started["status"], 200, "{started}");
    let link = started["body"]["link"].as_str().expect("link").to_owned();
    let state = started["body"]["state"].as_str().expect("state").to_owned();
    let query = link.strip_prefix("openid4vp://?").expect("an openid4vp link");
    let params: std::collections::HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    // What the wallet fetches, as the service serves it.
    let object = http.get(&params["request_uri"]).send().await.expect("reachable");
    assert_eq!(
        object.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/oauth-authz-req+jwt")
    );
    let result = |state: String| {
        let http = http.clone();
        let url = format!("{service}/v1/oid4vp/results/{state}");
        let token = token.clone();
        async move {
            let url_path = "/v1/oid4vp/results/{state}";
            let a = answer(&http, "get", url_path, url, None, Some(&token)).await;
            assert_eq!(a["status"], 200, "{a}");
            a
        }
    };
    let waiting = result(state.clone()).await;
    assert_eq!(waiting["body"]["status"], "waiting");
    let opened = wallet::exchange::open(&link)
        .await
        .expect("a valid request object, of the verifier the link names");
    assert_eq!(opened.state, state);
    assert_eq!(
        opened
            .credence_request
            .request
            .channel
            .as_ref()
            .map(|c| c.session.as_str()),
        started["body"]["session"].as_str()
    );
    // Anyone with the link can post a refused answer or a refusal; the exchange stays open for
    // the holder's, and the staff client sees the latest word.
    let post_form = |body: String| {
        http.post(&opened.response_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let junk = form_urlencoded::Serializer::new(String::new())
        .append_pair("vp_token", r#"{"credential": [{"not": "a presentation"}]}"#)
        .append_pair("state", &opened.state)
        .finish();
    assert_eq!(post_form(junk).await.expect("reachable").status(), 400);
    let told = wallet::exchange::refuse(&opened)
        .await
        .expect("the refusal is delivered");
    assert!(told.accepted(), "{}", told.line());
    let declined = result(state.clone()).await;
    assert_eq!(declined["body"]["status"], "declined", "{declined}");
    assert_eq!(declined["body"]["errorDescription"], wallet::exchange::DECLINED);
    let pending = w
        .student
        .prepare(
            opened.credence_request.clone(),
            None,
            &devnet.ledger,
            wallet::now(),
        )
        .await
        .expect("prepared");
    let p = w
        .student
        .present(&pending, None, wallet::now())
        .expect("presented");
    let delivered = wallet::exchange::send(&opened, &p).await.expect("delivered");
    assert!(delivered.accepted(), "{}", delivered.line());
    assert_eq!(delivered.status, 200, "the direct_post answer passes every check");
    let passed_result = result(state.clone()).await;
    assert_eq!(passed_result["body"]["status"], "passed", "{passed_result}");
    let report: Report = serde_json::from_value(passed_result["body"]["report"].clone()).expect("a report");
    assert!(report.passed(), "{:?}", report.failure());
    let again = wallet::exchange::send(&opened, &p).await.expect("delivered");
    assert_eq!(again.status, 409, "an exchange is answered once");
    let unknown = post_form("vp_token=%7B%7D&state=nope".into())
        .await
        .expect("reachable");
    assert_eq!(unknown.status(), 404);
    let service_answers = vec![
        started,
        waiting,
        declined,
        passed_result,
        made,
        passed,
        replayed,
        answer(&http, "post", "/v1/requests", requests.clone(), Some(spec), None).await,
        answer(
            &http,
            "post",
            "/v1/requests",
            requests,
            Some("[]".into()),
            Some(&token),
        )
        .await,
        answer(
            &http,
            "post",
            "/v1/verify",
            verify,
            Some("not a presentation".into()),
            None,
        )
        .await,
        answer(&http, "get", "/health", format!("{service}/health"), None, None).await,
    ];
    let service_doc = write(
        "service-openapi.json",
        &serde_json::from_str(&fetch(format!("{service}/openapi.json")).await).expect("json"),
    );
    let service_answers = write("service-answers.json", &json!(service_answers));
    interop(&["openapi", &service_doc]);
    interop(&["answers", &service_doc, &service_answers]);
}

/// One answer as `check.mjs answers` reads it: the route's template, the status, the media type
/// (without parameters) and the body (JSON).
async fn answer(
    http: &reqwest::Client,
    method: &str,
    template: &str,
    url: String,
    body: Option<String>,
    token: Option<&str>,
) -> serde_json::Value {
    let mut r = match method {
        "post" => http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.unwrap_or_default()),
        _ => http.get(&url),
    };
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.expect("reachable");
    let status = r.status().as_u16();
    let media = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_owned();
    let text = r.text().await.expect("body");
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {url}: not JSON ({e}): {text}"));
    json!({ "method": method, "path": template, "status": status, "contentType": media, "body": body })
}

/// A consortium founded before the built-in schemas' newest versions (its genesis holds only the
/// older ones): the first issuer to issue under a newest version publishes its built-in text,
/// and the batch anchors; a ledger holding another text under a built-in id makes issuers
/// refuse to issue under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_in_schema_newer_than_the_genesis_is_published_by_its_first_issuer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let diploma = CredentialSchema::builtin("university-diploma").expect("newest diploma");
    let kyc = CredentialSchema::builtin("kyc-attestation").expect("newest KYC");
    let newest = [diploma.id().to_owned(), kyc.id().to_owned()];
    let devnet = credctl::demo::start_devnet_with(&dir.path().join("devnet"), 15_200, &mut |_| {}, |g| {
        g.schemas.retain(|s| !newest.contains(&s.id));
    })
    .await
    .expect("devnet");
    let ledger = &devnet.ledger;
    let on_ledger = async |id: &str| -> Option<schemas::ledger::SchemaRecord> {
        let key = schemas::ledger::state_keys::schema(id);
        let (_, facts) = ledger.read(vec![key.clone()]).await.expect("read");
        facts.get(&key, "the schema").expect("decodes")
    };

    let (university, _) =
        Identity::create(&dir.path().join("uni"), "Old Consortium University", PW, COST).expect("identity");
    let p = university
        .register_issuer(ledger, vec!["UniversityDiploma".into(), "KycAttestation".into()])
        .await
        .expect("proposed");
    registered(&devnet, p).await;
    assert!(on_ledger(diploma.id()).await.is_none(), "the genesis predates it");
    let rows = vec![diploma_row(2, HolderBinding::fresh(false))];
    university
        .issue_and_anchor(ledger, &diploma, rows, (wallet::now() - 60, None), false, &|_| {})
        .await
        .expect("the first batch publishes the schema, then anchors");
    let published = on_ledger(diploma.id()).await.expect("published");
    assert_eq!(published.json, diploma.json(), "the built-in text, byte for byte");
    // The second batch finds it published.
    let rows = vec![diploma_row(3, HolderBinding::fresh(false))];
    university
        .issue_and_anchor(ledger, &diploma, rows, (wallet::now() - 60, None), false, &|_| {})
        .await
        .expect("the second batch");

    // Another issuer got there first with another text under the newest KYC id.
    let (bank, _) = Identity::create(&dir.path().join("bank"), "Squatting Bank", PW, COST).expect("identity");
    let p = bank
        .register_issuer(ledger, vec!["KycAttestation".into()])
        .await
        .expect("proposed");
    registered(&devnet, p).await;
    let other = kyc
        .json()
        .replacen("Full legal name", "Full name, as the bank likes it", 1);
    let other = CredentialSchema::from_json(&other).expect("another text under the same id");
    bank.publish_schema(ledger, &other)
        .await
        .expect("published first");
    let row = Row::new(
        2,
        json!({"name": "Li Hua", "birth_date": "1990-01-01", "customer_handle": 7,
               "residence_country": "CN", "kyc_level": 2, "verified_on": "2026-11-01"}),
        HolderBinding::fresh(false),
    );
    let e = university
        .issue_and_anchor(
            ledger,
            &kyc,
            vec![row],
            (wallet::now() - 60, None),
            false,
            &|_| {},
        )
        .await
        .err();
    assert!(
        matches!(e, Some(ActionError::SchemaShadowed { .. })),
        "a shadowed built-in id must be refused: {e:?}"
    );
    devnet.stop().await;
}

//! The tampering battery, as unit tests of verification against the in-memory certified ledger
//! of [`crate::fixture`]: every field of a presentation of each tier altered in turn, and each
//! bad case (forged ledger proof, expiry, another verifier, replay, scope, revocation,
//! suspension, a raised value, a tampered request), refused by the check that owns it. No
//! network and no node: the whole battery runs in seconds. `tests/story.rs` keeps one
//! end-to-end run against a real devnet, with what only a network can show (a node replaying an
//! old answer, the ledger's own refusals).

use crate::fixture::Chain;
use crate::holder::{Holder, HolderError};
use crate::issuer::{BatchPlan, HolderBinding, Row, issue_batch};
use crate::ledger::ReadLedger as _;
use crate::tier::parse_predicate;
use crate::verifier::{
    Check, Context, Refusal, ReplayGuard, Report, RequestSpec, Source, make_request, make_request_on,
};
use rand_core::OsRng;
use schemas::credential_schema::CredentialSchema;
use schemas::did::Did;
use schemas::ledger::ScopeItem;
use schemas::presentation::{Channel, Presentation, SignedRequest, Tier};
use schemas::sm2::SecretKey;
use serde_json::{Value, json};

const COST: schemas::seal::Cost = schemas::seal::Cost {
    memory_kib: 1024,
    iterations: 1,
};
const PW: &str = "test-password";

/// Every JSON leaf's path, in document order.
fn leaves(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| leaves(v, format!("{path}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{path}/{i}"), out)),
        _ => out.push(path),
    }
}

/// Alters one leaf so it means something else but keeps its JSON type.
fn alter(v: &mut Value) {
    *v = match v.take() {
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit()) => {
            let mut b = s.into_bytes();
            let last = b.len() - 1;
            b[last] = if b[last] == b'0' { b'1' } else { b'0' };
            Value::String(String::from_utf8(b).expect("ascii"))
        }
        Value::String(s) => Value::String(format!("{s}x")),
        Value::Number(n) => json!(n.as_i64().map_or(1, |x| x.wrapping_add(1))),
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => json!(1),
        other => other,
    };
}

/// Alters every leaf of `good` in turn and asserts each altered presentation is refused, by a
/// check `owners` allows for its path (the first matching prefix rules). Returns how many
/// alterations reached verification (the rest were refused as malformed by the parser, which
/// names the field).
fn alteration_battery(
    good: &Value,
    owners: &[(&str, &[Check])],
    verify: impl Fn(&Presentation) -> Report,
) -> usize {
    let mut paths = Vec::new();
    leaves(good, String::new(), &mut paths);
    let mut verified = 0;
    for path in &paths {
        let mut doc = good.clone();
        alter(doc.pointer_mut(path).expect("leaf exists"));
        let Ok(p) = Presentation::from_json(&doc.to_string()) else {
            continue;
        };
        verified += 1;
        let report = verify(&p);
        let (check, reason) = report
            .failure()
            .unwrap_or_else(|| panic!("altering {path} was not noticed"));
        // An absence proof shows every key whose hash leads to the same empty subtree or other
        // leaf: an altered key may still be proven absent (the test ledger's tree is shallow),
        // and then the check that needed the original key refuses it as not covered (the status
        // chunk, or an issuer's revocation root).
        let proven_absent = path.starts_with("/ledgerProofs/")
            && path
                .strip_suffix("/key")
                .and_then(|entry| good.pointer(&format!("{entry}/value")))
                .is_some_and(Value::is_null);
        let allowed = if proven_absent {
            &[Check::LedgerProof, Check::Revocation][..]
        } else {
            owners
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix))
                .map_or(&[][..], |(_, c)| c)
        };
        assert!(
            allowed.contains(&check),
            "altering {path}: refused by {check:?} ({reason}); expected one of {allowed:?}"
        );
    }
    verified
}

/// Which checks may refuse an alteration of a selective presentation under a path.
const SELECTIVE_OWNERS: &[(&str, &[Check])] = &[
    ("/request/", &[Check::RequestSignature]),
    ("/proof/proofValue", &[Check::HolderBinding]),
    ("/proof/disclosure/disclosed", &[Check::Openings]),
    ("/proof/disclosure/predicateProof", &[Check::Predicates]),
    ("/proof/disclosure/envelope/issuer", &[Check::Issuer]),
    ("/proof/disclosure/envelope/credentialType", &[Check::Issuer]),
    ("/proof/disclosure/envelope/status", &[Check::Anchor]),
    ("/proof/disclosure/", &[Check::Anchor]),
    ("/ledgerProofs/", &[Check::LedgerProof]),
];

/// Which checks may refuse an alteration of an unlinkable presentation under a path. The
/// request's time, the verifier (whose DID and scope the nullifier is bound to) and the issuer
/// (bound into the leaf) are among the fields.
const UNLINKABLE_OWNERS: &[(&str, &[Check])] = &[
    ("/request/", &[Check::RequestSignature]),
    ("/proof/unlinkable/issuer", &[Check::Issuer, Check::Anchor]),
    ("/proof/unlinkable/poseidon", &[Check::Anchor]),
    ("/proof/proofValue", &[Check::ZeroKnowledge]),
    ("/proof/unlinkable/", &[Check::ZeroKnowledge]),
    ("/ledgerProofs/", &[Check::LedgerProof]),
];

/// `verifier` checks `p` at `now` against `trust`, with the proofs inside it only.
fn verify_offline(
    p: &Presentation,
    chain: &Chain,
    verifier: &Did,
    now: i64,
    guard: Option<&ReplayGuard>,
) -> Report {
    crate::verifier::verify(
        p,
        &Context {
            source: Source::Offline {
                trust: &chain.trust,
                max_status_age_secs: 3600,
            },
            now,
            verifier: Some(verifier),
            guard,
            cache: None,
        },
    )
}

/// The state keys whose proofs a presentation carries, in order.
fn carried_keys(p: &Presentation) -> Vec<Vec<u8>> {
    p.ledger_proofs
        .iter()
        .flat_map(|lp| lp.state.iter().map(|s| s.key.clone()))
        .collect()
}

/// A university, a student holding its diploma, and an employer, on a fixture ledger.
struct Diplomas {
    chain: Chain,
    university: SecretKey,
    student: Holder,
    employer: SecretKey,
    employer_did: Did,
    guard: ReplayGuard,
    spec: RequestSpec,
    /// The student's diploma as issued (JSON).
    diploma: String,
    _dir: tempfile::TempDir,
}

fn diploma_row(line: usize, holder: HolderBinding) -> Row {
    Row::new(
        line,
        json!({"name": "Li Hua", "student_id": "2022010001", "degree": "Bachelor of Engineering",
               "major": "Computer Science", "gpa": 3.62, "graduation_date": "2026-07-01"}),
        holder,
    )
}

impl Diplomas {
    async fn new() -> Diplomas {
        let dir = tempfile::tempdir().expect("temp dir");
        let chain = Chain::new();
        let university = SecretKey::generate(&mut OsRng);
        chain.register_issuer(&university, "Test University", &["UniversityDiploma"]);
        let employer = SecretKey::generate(&mut OsRng);
        let employer_did = Did::from_public_key(employer.public_key());
        chain.register_verifier(
            &employer,
            "Employer",
            vec![ScopeItem {
                credential_type: "UniversityDiploma".into(),
                disclose: vec!["degree".into(), "name".into()],
                predicates: vec!["gpa".into()],
                escrow: None,
            }],
            "hiring",
        );
        let (student, _) = Holder::create(&dir.path().join("student"), PW, COST).expect("wallet");
        let schema = CredentialSchema::builtin("university-diploma").expect("schema");
        let plan = BatchPlan {
            schema: &schema,
            issuer: Did::from_public_key(university.public_key()),
            valid_from: crate::now() - 60,
            valid_until: None,
            list_id: 0,
            first_index: 0,
            unlinkable: false,
            public_url: "https://ledger.example.edu",
        };
        let rows = vec![
            diploma_row(2, student.binding()),
            diploma_row(3, HolderBinding::fresh(false)),
            diploma_row(4, HolderBinding::fresh(false)),
        ];
        let batch = issue_batch(&plan, rows, &|_| {}).expect("issued");
        chain.anchor(&batch.anchor_record(&plan));
        chain.commit();
        let diploma = batch.credentials[0].1.to_json().to_string();
        student
            .import(&diploma, &chain, crate::now())
            .await
            .expect("imported");
        let guard = ReplayGuard::open(&dir.path().join("employer")).expect("guard");
        let spec = RequestSpec {
            credential_type: "UniversityDiploma".into(),
            accepted_issuers: vec![],
            disclose: vec!["degree".into()],
            predicates: vec![parse_predicate("gpa>=300").expect("predicate")],
            purpose: "hiring".into(),
            ttl_secs: 600,
            tier: Tier::Selective,
        };
        Diplomas {
            chain,
            university,
            student,
            employer,
            employer_did,
            guard,
            spec,
            diploma,
            _dir: dir,
        }
    }

    fn request(&self, spec: &RequestSpec) -> SignedRequest {
        // Answered on a channel, so the battery alters its response address and session too.
        let channel = Channel {
            response_uri: "https://verify.employer.example/v1/verify".into(),
            session: "482-913".into(),
        };
        let r = make_request_on(&self.employer, spec, Some(channel), crate::now(), &mut OsRng);
        self.guard.remember(&r).expect("remembered");
        r
    }

    async fn presentation(&self) -> Presentation {
        let pending = self
            .student
            .prepare(self.request(&self.spec), None, &self.chain, crate::now())
            .await
            .expect("prepared");
        self.student
            .present(&pending, None, crate::now())
            .expect("presented")
    }

    fn verify_at(&self, p: &Presentation, now: i64, guard: Option<&ReplayGuard>) -> Report {
        verify_offline(p, &self.chain, &self.employer_did, now, guard)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_of_a_selective_presentation_altered_is_refused_by_its_check() {
    let w = Diplomas::new().await;
    let good = w.presentation().await;
    let report = w.verify_at(&good, crate::now(), None);
    assert!(report.passed(), "{:?}", report.lines());
    // One plan: the holder carries exactly the records the verifier reads.
    assert_eq!(carried_keys(&good), crate::verifier::needed_keys(&good));
    let good_json = serde_json::to_value(&good).expect("json");
    let mut paths = Vec::new();
    leaves(&good_json, String::new(), &mut paths);
    assert!(paths.len() > 40, "{} fields", paths.len());
    for field in [
        "/request/request/channel/session",
        "/request/request/channel/responseUri",
        "/request/request/createdAt",
        "/proof/proofValue",
        "/proof/challenge",
        "/holder",
    ] {
        assert!(paths.iter().any(|p| p == field), "{field} is not among {paths:?}");
    }
    let verified = alteration_battery(&good_json, SELECTIVE_OWNERS, |p| {
        w.verify_at(p, crate::now(), None)
    });
    assert!(verified > 30, "only {verified} alterations reached verification");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_case_of_the_selective_tier_is_refused_with_its_reason() {
    let w = Diplomas::new().await;
    let good = w.presentation().await;

    // A forged ledger proof: a value changed and its state proof left as it was.
    let mut forged = good.clone();
    let state = &mut forged.ledger_proofs[0].state;
    let i = state.iter().position(|s| s.value.is_some()).expect("a value");
    if let Some(v) = &mut state[i].value {
        v.0[0] ^= 1;
    }
    let r = w.verify_at(&forged, crate::now(), None);
    assert!(
        matches!(
            r.refusal(),
            Some((Check::LedgerProof, Refusal::LedgerProof { .. }))
        ),
        "{:?}",
        r.lines()
    );

    // Expired request.
    let r = w.verify_at(&good, crate::now() + 601, None);
    assert!(
        matches!(r.refusal(), Some((Check::Expiry, Refusal::RequestExpired { secs_ago })) if *secs_ago >= 1),
        "{:?}",
        r.refusal()
    );
    assert!(r.failure().expect("failed").1.contains("expired"));

    // Another verifier receives the answer.
    let other = Did::from_public_key(SecretKey::generate(&mut OsRng).public_key());
    let r = verify_offline(&good, &w.chain, &other, crate::now(), None);
    assert!(matches!(
        r.refusal(),
        Some((Check::Request, Refusal::AnotherVerifier { verifier })) if *verifier == w.employer_did.to_string()
    ));
    assert!(r.failure().expect("failed").1.contains("another verifier"));

    // A reused nonce: the first verification passes, the second is a replay.
    assert!(w.verify_at(&good, crate::now(), Some(&w.guard)).passed());
    let r = w.verify_at(&good, crate::now(), Some(&w.guard));
    assert_eq!(r.refusal(), Some((Check::Nonce, &Refusal::Replay)));
    assert!(r.failure().expect("failed").1.contains("replay"));

    // A request beyond the verifier's registered scope: shown, and refused by the wallet.
    let mut wide = w.spec.clone();
    wide.disclose.push("student_id".into());
    let req = make_request(&w.employer, &wide, crate::now(), &mut OsRng);
    let pending = w
        .student
        .prepare(req, None, &w.chain, crate::now())
        .await
        .expect("prepared");
    assert!(!pending.consent.in_scope());
    assert!(
        pending.consent.scope_violations[0]
            .to_string()
            .contains("student_id")
    );
    assert!(matches!(
        w.student.present(&pending, None, crate::now()),
        Err(HolderError::OutOfScope(_))
    ));

    // A tampered request is refused by the wallet before anything is shown.
    let mut req = make_request(&w.employer, &w.spec, crate::now(), &mut OsRng);
    req.request.disclose.push("name".into());
    let e = w
        .student
        .prepare(req, None, &w.chain, crate::now())
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, HolderError::BadRequest(_)), "{e}");

    // A diploma whose GPA was raised wherever it is written no longer opens its Pedersen
    // commitment: the wallet refuses to import it (finding 21).
    let mut doc: Value = serde_json::from_str(&w.diploma).expect("json");
    *doc.pointer_mut("/credentialSubject/gpa").expect("a gpa") = json!(3.79);
    let e = w
        .student
        .import(&doc.to_string(), &w.chain, crate::now())
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, HolderError::BadOpening(m) if m.contains("gpa")),
        "{e}"
    );

    // Revoked: the consent warns, and the verifier refuses it with the new proofs.
    let index = w.student.list().expect("list")[0].status.index;
    let university = Did::from_public_key(w.university.public_key());
    w.chain.revoke(&university, 0, index);
    w.chain.commit();
    let pending = w
        .student
        .prepare(w.request(&w.spec), None, &w.chain, crate::now())
        .await
        .expect("prepared");
    assert!(pending.consent.revoked);
    let p = w
        .student
        .present(&pending, None, crate::now())
        .expect("presented");
    let r = w.verify_at(&p, crate::now(), Some(&w.guard));
    assert!(
        matches!(
            r.refusal(),
            Some((Check::Revocation, Refusal::Revoked { list_id: 0, .. }))
        ),
        "{:?}",
        r.refusal()
    );
    assert!(r.failure().expect("failed").1.contains("revoked"));
    // ... and fetched fresh (online), the same.
    let facts = crate::verifier::fetch_facts(&w.chain, &good).await.expect("read");
    let r = crate::verifier::verify(
        &good,
        &Context {
            source: Source::Online(facts),
            now: crate::now(),
            verifier: Some(&w.employer_did),
            guard: None,
            cache: None,
        },
    );
    assert!(
        matches!(r.refusal(), Some((Check::Revocation, Refusal::Revoked { .. }))),
        "{:?}",
        r.lines()
    );

    // A suspended issuer: its credentials are refused.
    w.chain.suspend_issuer(&university);
    w.chain.commit();
    let (proof, _) = w
        .chain
        .read(crate::verifier::needed_keys(&good))
        .await
        .expect("read");
    let mut current = good.clone();
    current.ledger_proofs = vec![proof];
    let r = w.verify_at(&current, crate::now(), None);
    assert!(
        matches!(r.refusal(), Some((Check::Issuer, Refusal::IssuerSuspended { name, .. })) if name == "Test University"),
        "{:?}",
        r.lines()
    );
    assert!(r.failure().expect("failed").1.contains("suspended"));
}

/// A bank's unlinkable request: `kyc_level ≥ 2`, nothing disclosed.
fn kyc_level_request() -> RequestSpec {
    RequestSpec {
        credential_type: "KycAttestation".into(),
        accepted_issuers: vec![],
        disclose: vec![],
        predicates: vec![parse_predicate("kyc_level>=2").expect("predicate")],
        purpose: "account opening".into(),
        ttl_secs: 600,
        tier: Tier::Unlinkable,
    }
}

/// A KYC attestation's row for `holder`.
fn kyc_row(line: usize, holder: HolderBinding) -> Row {
    Row::new(
        line,
        json!({"name": "Zhang San", "birth_date": "1990-03-15", "residence_country": "CN",
               "kyc_level": 3, "verified_on": "2026-11-02"}),
        holder,
    )
}

/// The unlinkable tier on a fixture ledger: a KYC attestation valid for a few more seconds, a
/// registered circuit, a bank verifying. Every field altered is refused by its check; after the
/// credential's last valid second no proof can be made for a new request, even with the
/// wallet's clock set back, because the circuit's time is the request's (security finding 6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unlinkable_tier_refuses_every_alteration_and_an_expired_credential() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chain = Chain::new();
    let bank = SecretKey::generate(&mut OsRng);
    let bank_did = Did::from_public_key(bank.public_key());
    chain.register_issuer(&bank, "Bank", &["KycAttestation"]);
    let shape = zk::unlinkable::CircuitShape::SHAPES[0];
    let (pk, vk) = zk::unlinkable::setup(shape, &mut OsRng).expect("setup");
    chain.register_verifying_key(&vk);
    let other_bank = SecretKey::generate(&mut OsRng);
    let other_did = Did::from_public_key(other_bank.public_key());
    chain.register_verifier(
        &other_bank,
        "Other Bank",
        vec![ScopeItem {
            credential_type: "KycAttestation".into(),
            disclose: vec![],
            predicates: vec!["kyc_level".into()],
            escrow: None,
        }],
        "account opening",
    );
    let (customer, _) = Holder::create(&dir.path().join("customer"), PW, COST).expect("wallet");
    let now = crate::now();
    let until = now + 8;
    let kyc = CredentialSchema::builtin("kyc-attestation").expect("schema");
    let plan = BatchPlan {
        schema: &kyc,
        issuer: bank_did.clone(),
        valid_from: now - 60,
        valid_until: Some(until),
        list_id: 0,
        first_index: 0,
        unlinkable: true,
        public_url: "https://ledger.example.edu",
    };
    let batch = issue_batch(
        &plan,
        vec![
            kyc_row(2, customer.binding()),
            kyc_row(3, HolderBinding::fresh(true)),
        ],
        &|_| {},
    )
    .expect("issued");
    chain.anchor(&batch.anchor_record(&plan));
    chain.commit();
    customer
        .import(&batch.credentials[0].1.to_json().to_string(), &chain, now)
        .await
        .expect("imported");
    let spec = kyc_level_request();
    let request_at = |t: i64| make_request(&other_bank, &spec, t, &mut OsRng);

    // While valid: proven and accepted, the validity line saying how.
    let pending = customer
        .prepare(request_at(now), None, &chain, now)
        .await
        .expect("prepared");
    let p = customer
        .present(&pending, Some(&pk), now)
        .expect("presented while valid");
    let report = verify_offline(&p, &chain, &other_did, now, None);
    assert!(report.passed(), "{:?}", report.failure());
    let validity = report
        .checks
        .iter()
        .find(|l| l.check == Check::Validity)
        .expect("a validity line");
    assert!(validity.detail.contains("request's time"), "{}", validity.detail);

    // One plan: the holder carries every record the verifier reads.
    let carried = carried_keys(&p);
    let missing: Vec<_> = crate::verifier::needed_keys(&p)
        .into_iter()
        .filter(|k| !carried.contains(k))
        .collect();
    assert!(missing.is_empty(), "not carried: {missing:?}");

    let good_json = serde_json::to_value(&p).expect("json");
    assert!(good_json.pointer("/request/request/createdAt").is_some());
    let verified = alteration_battery(&good_json, UNLINKABLE_OWNERS, |p| {
        verify_offline(p, &chain, &other_did, now, None)
    });
    assert!(verified > 20, "only {verified} alterations reached verification");

    // After the last valid second: the wallet finds nothing that fits, and with its clock set
    // back it still cannot prove, because the request's time is in the circuit.
    let late = request_at(until + 1);
    assert!(matches!(
        customer.prepare(late.clone(), None, &chain, until + 1).await,
        Err(HolderError::NoMatch(_))
    ));
    let set_back = until - 1;
    let pending = customer
        .prepare(late, None, &chain, set_back)
        .await
        .expect("prepared with the clock set back");
    let err = customer
        .present(&pending, Some(&pk), set_back)
        .expect_err("an expired credential cannot be presented in the unlinkable tier");
    assert!(
        matches!(
            err,
            HolderError::Zk(zk::ZkError::NotValidAt {
                reason: "expired",
                ..
            })
        ),
        "{err}"
    );

    // Governance retires the key version: the holder makes no new answer under it, and the
    // answer made before is refused by the verifier (who reads the retirement fresh).
    chain.retire_verifying_key(&vk.shape().id(), vk.version());
    chain.commit();
    let pending = customer
        .prepare(request_at(now), None, &chain, now)
        .await
        .expect("prepared");
    let err = customer
        .present(&pending, Some(&pk), now)
        .expect_err("no answer under a retired key");
    assert!(err.to_string().contains("retired"), "{err}");
    let (proof, _) = chain.read(crate::verifier::needed_keys(&p)).await.expect("read");
    let mut current = p.clone();
    current.ledger_proofs = vec![proof];
    let r = verify_offline(&current, &chain, &other_did, now, None);
    assert!(
        matches!(
            r.refusal(),
            Some((Check::ZeroKnowledge, Refusal::RetiredKey { .. }))
        ),
        "{:?}",
        r.failure()
    );
}

/// A schema an issuer published on the ledger (not built in) serves both tiers on both sides
/// by one rule (`plan::resolve_schema`): before, the verifier accepted such a schema in the
/// unlinkable tier while the holder refused to import or prove with it, and the verifier showed
/// a published schema's disclosed values encoded (a date as a day count). A schema the ledger
/// does not hold is refused by the holder with the reason, not guessed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_published_on_the_ledger_serves_both_tiers_on_both_sides() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chain = Chain::new();
    let bank = SecretKey::generate(&mut OsRng);
    let bank_did = Did::from_public_key(bank.public_key());
    chain.register_issuer(&bank, "Bank", &["KycAttestation"]);
    let text = schemas::credential_schema::BUILTIN_SCHEMAS
        .iter()
        .find(|(n, _)| *n == "kyc-attestation")
        .expect("built in")
        .1;
    let custom = |id: &str| {
        CredentialSchema::from_json(&text.replace("credence:schema:kyc-attestation:3", id)).expect("a schema")
    };
    let published = custom("credence:schema:bank-kyc:7");
    assert!(CredentialSchema::builtin_by_id(published.id()).is_none());
    chain.put(
        schemas::ledger::state_keys::schema(published.id()),
        &published.record(bank_did.clone()),
    );
    let unpublished = custom("credence:schema:bank-kyc:8");
    let (pk, vk) = zk::unlinkable::setup(zk::unlinkable::CircuitShape::SHAPES[0], &mut OsRng).expect("setup");
    chain.register_verifying_key(&vk);
    let verifier = SecretKey::generate(&mut OsRng);
    chain.register_verifier(
        &verifier,
        "Other Bank",
        vec![ScopeItem {
            credential_type: "KycAttestation".into(),
            disclose: vec!["verified_on".into()],
            predicates: vec!["kyc_level".into()],
            escrow: None,
        }],
        "account opening",
    );
    let (customer, _) = Holder::create(&dir.path().join("customer"), PW, COST).expect("wallet");
    let now = crate::now();
    let issue = |schema: &CredentialSchema, list_start: u32| {
        let plan = BatchPlan {
            schema,
            issuer: bank_did.clone(),
            valid_from: now - 60,
            valid_until: None,
            list_id: 0,
            first_index: list_start,
            unlinkable: true,
            public_url: "https://ledger.example.edu",
        };
        let batch = issue_batch(&plan, vec![kyc_row(2, customer.binding())], &|_| {}).expect("issued");
        chain.anchor(&batch.anchor_record(&plan));
        batch.credentials[0].1.to_json().to_string()
    };
    let good = issue(&published, 0);
    let orphan = issue(&unpublished, 1);
    chain.commit();

    let err = customer
        .import(&orphan, &chain, now)
        .await
        .expect_err("a schema the ledger does not hold");
    assert!(
        matches!(
            err,
            HolderError::Schema(crate::plan::SchemaUnresolved::NotPublished { .. })
        ),
        "{err}"
    );
    let summary = customer.import(&good, &chain, now).await.expect("imported");
    assert!(summary.unlinkable);
    // The detail screen shows values as the published schema kept at import describes them.
    let (_, shown) = customer.show(&summary.id.to_string()).expect("shown");
    assert!(
        shown.contains(&("verified_on".to_owned(), "2026-11-02".to_owned())),
        "{shown:?}"
    );
    // Answers `spec` with the customer's credential and verifies the answer offline.
    let answer = async |spec: &RequestSpec| {
        let pending = customer
            .prepare(make_request(&verifier, spec, now, &mut OsRng), None, &chain, now)
            .await
            .expect("prepared");
        let p = customer.present(&pending, Some(&pk), now).expect("presented");
        let report = verify_offline(
            &p,
            &chain,
            &Did::from_public_key(verifier.public_key()),
            now,
            None,
        );
        assert!(report.passed(), "{:?}", report.failure());
        (pending.consent, report)
    };
    let spec = kyc_level_request();
    let (consent, _) = answer(&spec).await;
    assert_eq!(consent.proven[0].to_string(), "kyc_level ≥ 2");
    assert_eq!(consent.proven.len(), 1);

    // The selective tier: the published schema travels with the proofs, so the verifier shows
    // the disclosed date as the schema describes it, as the holder's consent screen did.
    let spec = RequestSpec {
        disclose: vec!["verified_on".into()],
        tier: Tier::Selective,
        ..spec
    };
    let (consent, report) = answer(&spec).await;
    let shown = vec![("verified_on".to_owned(), "2026-11-02".to_owned())];
    assert_eq!(consent.disclosed, shown);
    assert_eq!(report.disclosed, shown);
}

/// A 1-of-1 regulator council recorded on `chain` as `id` (its key generation done here; the
/// ledger's rules for it are tested in `ledger-node`). Returns what opens its ciphertexts.
fn council_on(
    chain: &Chain,
    id: &str,
    member: &SecretKey,
) -> (zk::escrow::council::Council, zk::escrow::council::CouncilShare) {
    use zk::escrow::council::{Council, CouncilParams, CouncilShare, ReceivingSecret, deal};
    let params = CouncilParams::new(schemas::hash::Hash([3; 32]), 1, 1).expect("params");
    let secret = ReceivingSecret::random(&mut OsRng);
    let dealing = deal(&params, 1, &[secret.public()], &mut OsRng).expect("deals");
    let council = Council::from_transcript(&params, std::slice::from_ref(&dealing), &[]).expect("council");
    let received = dealing.share_for(&params, 1, &secret, &mut OsRng).expect("share");
    let share = CouncilShare::new(&council, 1, &[(1, received)]).expect("share");
    let plan = schemas::ledger::CouncilPlan {
        id: id.into(),
        name: "Financial regulators".into(),
        members: vec![Did::from_public_key(member.public_key())],
        threshold: 1,
    };
    chain.put(
        schemas::ledger::state_keys::council(id),
        &schemas::ledger::CouncilRecord {
            plan,
            receiving_keys: vec![Some(schemas::bytes::Bytes(secret.public().to_bytes().to_vec()))],
            dealings: vec![Some(schemas::bytes::Bytes(dealing.to_bytes()))],
            disqualified: vec![],
            ready: vec![true],
            key: Some(schemas::bytes::Bytes(council.key().to_bytes().to_vec())),
            verification_keys: vec![],
            failed: None,
        },
    );
    (council, share)
}

/// Issue 18 at the wallet: a bank whose scope requires escrow gets an answer whose proof binds
/// the customer's handle to the council's key; the consent screen says who can open it. An
/// answer with the escrow stripped, renamed to another council, its ciphertext replaced by an
/// encryption of another handle, or proven without escrow is refused; a request that would show
/// the handle or put a predicate on it is refused by the wallet; the opening proposal built from
/// the answer carries evidence the council's ciphertext passes, and the council opens it to the
/// handle the bank issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escrowed_answer_binds_the_handle_to_the_council_the_verifier_names() {
    use schemas::presentation::PresentationProof;
    let dir = tempfile::tempdir().expect("temp dir");
    let chain = Chain::new();
    let issuer = SecretKey::generate(&mut OsRng);
    let issuer_did = Did::from_public_key(issuer.public_key());
    chain.register_issuer(&issuer, "Bank", &["KycAttestation"]);
    let escrow_shape = zk::unlinkable::CircuitShape::fitting(4, 2, true).expect("escrow shape");
    let (pk, vk) = zk::unlinkable::setup(escrow_shape, &mut OsRng).expect("setup");
    chain.register_verifying_key(&vk);
    let (plain_pk, plain_vk) =
        zk::unlinkable::setup(zk::unlinkable::CircuitShape::SHAPES[0], &mut OsRng).expect("setup");
    chain.register_verifying_key(&plain_vk);
    let regulator = SecretKey::generate(&mut OsRng);
    let (council, share) = council_on(&chain, "regulators", &regulator);
    council_on(&chain, "other-council", &regulator);
    let bank = SecretKey::generate(&mut OsRng);
    let bank_did = Did::from_public_key(bank.public_key());
    chain.register_verifier(
        &bank,
        "Industrial Bank",
        vec![ScopeItem {
            credential_type: "KycAttestation".into(),
            disclose: vec!["customer_handle".into()],
            predicates: vec!["kyc_level".into(), "customer_handle".into()],
            escrow: Some("regulators".into()),
        }],
        "account opening",
    );
    let (customer, _) = Holder::create(&dir.path().join("customer"), PW, COST).expect("wallet");
    let now = crate::now();
    let kyc = CredentialSchema::builtin("kyc-attestation").expect("schema");
    assert_eq!(kyc.identity_handle(), Some("customer_handle"));
    let plan = BatchPlan {
        schema: &kyc,
        issuer: issuer_did,
        valid_from: now - 60,
        valid_until: None,
        list_id: 0,
        first_index: 0,
        unlinkable: true,
        public_url: "https://ledger.example.edu",
    };
    let handle = 4_411_000_017i64;
    let row = Row::new(
        2,
        json!({"name": "Zhang San", "birth_date": "1990-03-15", "residence_country": "CN",
               "kyc_level": 3, "verified_on": "2026-11-02", "customer_handle": handle}),
        customer.binding(),
    );
    let batch = issue_batch(&plan, vec![row], &|_| {}).expect("issued");
    chain.anchor(&batch.anchor_record(&plan));
    chain.commit();
    customer
        .import(&batch.credentials[0].1.to_json().to_string(), &chain, now)
        .await
        .expect("imported");

    // The handle is never shown or used in a predicate, whatever the verifier registered.
    for spec in [
        RequestSpec {
            predicates: vec![parse_predicate("customer_handle>=4411000000").expect("predicate")],
            ..kyc_level_request()
        },
        RequestSpec {
            disclose: vec!["customer_handle".into()],
            tier: Tier::Selective,
            ..kyc_level_request()
        },
    ] {
        let err = customer
            .prepare(make_request(&bank, &spec, now, &mut OsRng), None, &chain, now)
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(&err, HolderError::BadRequest(why) if why.contains("identity handle")),
            "{err}"
        );
    }

    let pending = customer
        .prepare(
            make_request(&bank, &kyc_level_request(), now, &mut OsRng),
            None,
            &chain,
            now,
        )
        .await
        .expect("prepared");
    let escrow = pending
        .consent
        .escrow
        .clone()
        .expect("the consent names the council");
    assert_eq!((escrow.council.as_str(), escrow.threshold), ("regulators", 1));
    assert!(
        pending
            .consent
            .lines()
            .iter()
            .any(|l| l.contains("public governance vote")),
        "{:?}",
        pending.consent.lines()
    );
    // The wallet will not answer with a key of a circuit without escrow.
    let err = customer
        .present(&pending, Some(&plain_pk), now)
        .expect_err("a circuit without escrow");
    assert!(err.to_string().contains(&escrow_shape.id()), "{err}");
    let p = customer.present(&pending, Some(&pk), now).expect("presented");
    let report = verify_offline(&p, &chain, &bank_did, now, None);
    assert!(report.passed(), "{:?}", report.failure());

    let altered = |f: &dyn Fn(&mut schemas::presentation::UnlinkableProof)| {
        let mut q = p.clone();
        let PresentationProof::Unlinkable { proof } = &mut q.proof else {
            panic!("unlinkable")
        };
        f(proof);
        verify_offline(&q, &chain, &bank_did, now, None)
    };
    let refusal = |r: Report| r.refusal().map(|(c, why)| (c, why.clone()));
    assert!(matches!(
        refusal(altered(&|u| u.escrow = None)),
        Some((Check::ZeroKnowledge, Refusal::EscrowMissing { .. }))
    ));
    assert!(matches!(
        refusal(altered(&|u| {
            if let Some(e) = &mut u.escrow {
                e.council = "other-council".into();
            }
        })),
        Some((Check::ZeroKnowledge, Refusal::EscrowMismatch { .. }))
    ));
    let another_handle = zk::escrow::encrypt(
        &council.key(),
        zk::poseidon::fr_from_i64(handle + 1),
        &zk::escrow::EscrowRandomness::random(&mut OsRng),
    );
    assert!(matches!(
        refusal(altered(&|u| {
            if let Some(e) = &mut u.escrow {
                e.ciphertext = another_handle.to_bytes().to_vec();
            }
        })),
        Some((Check::ZeroKnowledge, Refusal::Groth16 { .. }))
    ));
    assert!(matches!(
        refusal(altered(&|u| {
            if let Some(e) = &mut u.escrow {
                e.ciphertext.truncate(63);
            }
        })),
        Some((Check::ZeroKnowledge, Refusal::Escrow { .. }))
    ));

    // The opening proposal from the answer: its evidence names this ciphertext, and the council
    // opens the ciphertext to the handle the bank issued.
    let (_, facts) = chain.read(crate::verifier::needed_keys(&p)).await.expect("read");
    let opening = crate::verifier::opening_request(&p, &facts, "court order 88".into()).expect("a proposal");
    let ct_bytes: [u8; 64] = opening.ciphertext.clone().try_into().expect("64 bytes");
    let ct = zk::escrow::Ciphertext::from_bytes(&ct_bytes).expect("a ciphertext");
    // What validators check: the evidence names this anchor's root and binding, this verifier's
    // scope, the schema's handle attribute, the council's key, the ciphertext and the request
    // the verifier signed.
    assert_eq!(*opening.answered, p.request);
    let anchor = facts
        .find_anchor(&opening.issuer, |a| a.root == opening.batch)
        .expect("the batch is anchored");
    let scope = facts
        .get::<schemas::ledger::VerifierRecord>(&schemas::ledger::state_keys::verifier(&bank_did), "verifier")
        .expect("proven")
        .expect("registered")
        .nullifier_domain();
    let claim = zk::unlinkable::EvidenceClaim {
        council: &council.key(),
        ciphertext: &ct,
        request: &opening.request,
        issuer_root: &anchor.poseidon_root.expect("a Poseidon root"),
        binding: zk::unlinkable::binding_element(opening.issuer.as_str(), &anchor.schema_id),
        scope: &scope,
        handle_attribute: kyc.identity_handle_attribute().expect("a handle"),
    };
    zk::unlinkable::verify_escrow_evidence(&vk, &opening.evidence.inputs, &opening.evidence.proof, &claim)
        .expect("the evidence holds");
    let id = schemas::hash::Hash([8; 32]);
    let d = share.decrypt(&council, &ct, &id, &mut OsRng);
    let opened = council.open(&ct, &id, &[d]).expect("opens");
    assert_eq!(zk::escrow::handle_value(&opened), Some(handle));
    // The customer's history keeps the ciphertext, so its wallet can find openings of it.
    let history = customer.history().expect("history");
    assert_eq!(
        history[0].escrow.as_ref().map(|e| e.ciphertext.clone()),
        Some(ct_bytes.to_vec())
    );
}

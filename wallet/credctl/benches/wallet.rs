//! Wallet benchmarks: batch issuance; presentation build (both tiers); verification (both
//! tiers, offline from the carried proofs and online against a node); and the verifier service
//! under concurrent load. Everything after issuance runs against a devnet started in this
//! process (ports 15600-15704).
//!
//! `cargo bench -p wallet --bench wallet`; under `cargo test --benches` each part runs once
//! and the service load is a short slice.

use credctl::demo::start_devnet;
use criterion::{BatchSize, Criterion, Throughput};
use rand_core::OsRng;
use schemas::credential_schema::CredentialSchema;
use schemas::ledger::ScopeItem;
use schemas::presentation::{Presentation, Tier};
use schemas::seal::Cost;
use schemas::sm2::SecretKey;
use serde_json::json;
use std::time::{Duration, Instant};
use wallet::holder::Holder;
use wallet::issuer::{BatchPlan, HolderBinding, Row, issue_batch};
use wallet::ledger::CertificateCache;
use wallet::roles::{Identity, approve};
use wallet::tier::parse_predicate;
use wallet::verifier::{Context, ReplayGuard, RequestSpec, Source, fetch_facts, make_request};

const COST: Cost = Cost {
    memory_kib: 1024,
    iterations: 1,
};
const PW: &str = "bench-password";

fn diploma(i: usize, holder: HolderBinding) -> Row {
    Row::new(
        i + 2,
        json!({"name": format!("Graduate {i}"), "student_id": format!("{}", 2026000000 + i),
               "degree": "Bachelor of Science", "major": "Mathematics",
               "gpa": 3.0 + (i % 100) as f64 / 100.0, "graduation_date": "2026-07-01"}),
        holder,
    )
}

fn kyc(i: usize, holder: HolderBinding) -> Row {
    Row::new(
        i + 1,
        json!({"name": format!("Customer {i}"), "birth_date": "1990-03-15", "residence_country": "CN",
               "kyc_level": 3, "verified_on": "2026-11-02"}),
        holder,
    )
}

fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn bench_issue(c: &mut Criterion) {
    let schema = CredentialSchema::builtin("university-diploma").expect("schema");
    let n = 10_000;
    let holders: Vec<HolderBinding> = (0..n).map(|_| HolderBinding::fresh(false)).collect();
    let plan = BatchPlan {
        schema: &schema,
        issuer: schemas::Did::from_public_key(SecretKey::generate(&mut OsRng).public_key()),
        valid_from: 1_780_000_000,
        valid_until: None,
        list_id: 0,
        first_index: 0,
        unlinkable: false,
        public_url: "https://ledger.example.edu",
    };
    let mut g = c.benchmark_group("issue");
    g.sample_size(10).throughput(Throughput::Elements(n as u64));
    g.bench_function("10000 diplomas (validate, commit, batch tree, paths)", |b| {
        b.iter_batched(
            || {
                holders
                    .iter()
                    .enumerate()
                    .map(|(i, h)| diploma(i, h.clone()))
                    .collect::<Vec<_>>()
            },
            |rows| issue_batch(&plan, rows, &|_| {}).expect("issued"),
            BatchSize::LargeInput,
        )
    });
    let kyc_schema = CredentialSchema::builtin("kyc-attestation").expect("schema");
    let kyc_holders: Vec<HolderBinding> = (0..n).map(|_| HolderBinding::fresh(true)).collect();
    let kyc_plan = BatchPlan {
        schema: &kyc_schema,
        unlinkable: true,
        ..plan.clone()
    };
    g.bench_function(
        "10000 KYC attestations with the unlinkable tier (+ Poseidon tree)",
        |b| {
            b.iter_batched(
                || {
                    kyc_holders
                        .iter()
                        .enumerate()
                        .map(|(i, h)| kyc(i, h.clone()))
                        .collect::<Vec<_>>()
                },
                |rows| issue_batch(&kyc_plan, rows, &|_| {}).expect("issued"),
                BatchSize::LargeInput,
            )
        },
    );
    g.finish();
}

/// The length of a value's JSON.
fn json_len<T: serde::Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map_or(0, |v| v.len())
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_issue(&mut c);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let devnet = rt
        .block_on(start_devnet(&d.join("devnet"), 15_600, &mut |_| {}))
        .expect("devnet");
    let ledger = &devnet.ledger;
    let gov = &devnet.governance;
    let registered = |p| {
        rt.block_on(async {
            for g in gov.iter().take(2) {
                approve(ledger, g, p).await.expect("approved");
            }
        })
    };
    // A university with a student, a bank with a customer, an employer and a second bank.
    let (uni, _) = Identity::create(&d.join("uni"), "University", PW, COST).expect("id");
    registered(
        rt.block_on(uni.register_issuer(ledger, vec!["UniversityDiploma".into()]))
            .expect("proposed"),
    );
    let (bank, _) = Identity::create(&d.join("bank"), "Bank A", PW, COST).expect("id");
    registered(
        rt.block_on(bank.register_issuer(ledger, vec!["KycAttestation".into()]))
            .expect("proposed"),
    );
    let (employer, _) = Identity::create(&d.join("employer"), "Employer", PW, COST).expect("id");
    registered(
        rt.block_on(employer.register_verifier(
            ledger,
            vec![ScopeItem {
                credential_type: "UniversityDiploma".into(),
                disclose: vec!["degree".into()],
                predicates: vec!["gpa".into()],
                escrow: None,
            }],
            vec!["hiring".into()],
            "employer".into(),
        ))
        .expect("proposed"),
    );
    let (bank_b, _) = Identity::create(&d.join("bank-b"), "Bank B", PW, COST).expect("id");
    registered(
        rt.block_on(bank_b.register_verifier(
            ledger,
            vec![ScopeItem {
                credential_type: "KycAttestation".into(),
                disclose: vec![],
                predicates: vec!["birth_date".into(), "kyc_level".into()],
                escrow: None,
            }],
            vec!["account opening".into()],
            "bank-b".into(),
        ))
        .expect("proposed"),
    );
    let shape = wallet::tier::shape_for(4, 2, false).expect("shape");
    // The circuit's keys from a two-member setup ceremony (the quorum's number of contributions).
    let setup = wallet::ceremony::Setup::new(ledger, d.join("ceremony"));
    let plan = schemas::ledger::CeremonyPlan {
        id: "bench".into(),
        version: zk::unlinkable::KEY_VERSION,
        circuits: vec![shape.id()],
        power: u8::try_from(zk::ceremony::domain_power(shape).expect("synthesises")).expect("small"),
        min_contributions: 2,
        contributors: vec![],
    };
    let p = rt.block_on(setup.propose(&gov[0], plan)).expect("proposed");
    rt.block_on(approve(ledger, &gov[1], p)).expect("approved");
    for chain in [None, Some(shape.id())] {
        for member in &gov[..2] {
            rt.block_on(setup.contribute(member, "bench", chain.as_deref(), &|_| {}))
                .expect("contributed");
        }
    }
    let (p, pk, _) = rt
        .block_on(setup.propose_finish(&gov[0], "bench", &shape.id()))
        .expect("proposed");
    rt.block_on(approve(ledger, &gov[1], p)).expect("registered");

    let (student, _) = Holder::create(&d.join("student"), PW, COST).expect("wallet");
    let (customer, _) = Holder::create(&d.join("customer"), PW, COST).expect("wallet");
    let diploma_schema = CredentialSchema::builtin("university-diploma").expect("schema");
    let kyc_schema = CredentialSchema::builtin("kyc-attestation").expect("schema");
    let mut rows = vec![diploma(0, student.binding())];
    rows.extend((1..1000).map(|i| diploma(i, HolderBinding::fresh(false))));
    let (batch, _) = rt
        .block_on(uni.issue_and_anchor(
            ledger,
            &diploma_schema,
            rows,
            (wallet::now() - 60, None),
            false,
            &|_| {},
        ))
        .expect("issued");
    rt.block_on(student.import(
        &batch.credentials[0].1.to_json().to_string(),
        ledger,
        wallet::now(),
    ))
    .expect("imported");
    let mut rows = vec![kyc(0, customer.binding())];
    rows.extend((1..1000).map(|i| kyc(i, HolderBinding::fresh(true))));
    let (batch, _) = rt
        .block_on(bank.issue_and_anchor(
            ledger,
            &kyc_schema,
            rows,
            (wallet::now() - 60, None),
            true,
            &|_| {},
        ))
        .expect("issued");
    rt.block_on(customer.import(
        &batch.credentials[0].1.to_json().to_string(),
        ledger,
        wallet::now(),
    ))
    .expect("imported");

    let selective_spec = RequestSpec {
        credential_type: "UniversityDiploma".into(),
        accepted_issuers: vec![],
        disclose: vec!["degree".into()],
        predicates: vec![parse_predicate("gpa>=300").expect("predicate")],
        purpose: "hiring".into(),
        ttl_secs: 3600,
        tier: Tier::Selective,
    };
    let unlinkable_spec = RequestSpec {
        credential_type: "KycAttestation".into(),
        accepted_issuers: vec![],
        disclose: vec![],
        predicates: vec![
            parse_predicate("birth_date<=14000").expect("predicate"),
            parse_predicate("kyc_level>=2").expect("predicate"),
        ],
        purpose: "account opening".into(),
        ttl_secs: 3600,
        tier: Tier::Unlinkable,
    };
    let selective_pending = rt
        .block_on(student.prepare(
            make_request(employer.key(), &selective_spec, wallet::now(), &mut OsRng),
            None,
            ledger,
            wallet::now(),
        ))
        .expect("prepared");
    let unlinkable_pending = rt
        .block_on(customer.prepare(
            make_request(bank_b.key(), &unlinkable_spec, wallet::now(), &mut OsRng),
            None,
            ledger,
            wallet::now(),
        ))
        .expect("prepared");

    let mut g = c.benchmark_group("present");
    g.sample_size(10);
    g.bench_function("prepare (request checks + one ledger read)", |b| {
        b.iter(|| {
            rt.block_on(student.prepare(
                make_request(employer.key(), &selective_spec, wallet::now(), &mut OsRng),
                None,
                ledger,
                wallet::now(),
            ))
            .expect("prepared")
        })
    });
    g.bench_function("selective: disclose 1 + gpa >= 300 (Bulletproofs) + SM2", |b| {
        b.iter(|| {
            student
                .present(&selective_pending, None, wallet::now())
                .expect("presented")
        })
    });
    g.bench_function("unlinkable: age + KYC level (Groth16)", |b| {
        b.iter(|| {
            customer
                .present(&unlinkable_pending, Some(&pk), wallet::now())
                .expect("presented")
        })
    });
    g.finish();

    let selective = student
        .present(&selective_pending, None, wallet::now())
        .expect("presented");
    let unlinkable = customer
        .present(&unlinkable_pending, Some(&pk), wallet::now())
        .expect("presented");
    // Sizes (issue 17's target: a selective presentation ≤ 6 KB with its ledger proofs).
    for (name, p) in [("selective", &selective), ("unlinkable", &unlinkable)] {
        let total = json_len(p);
        let ledger: usize = p.ledger_proofs.iter().map(json_len).sum();
        let state: usize = p.ledger_proofs.iter().flat_map(|l| &l.state).map(json_len).sum();
        let keys: usize = p.ledger_proofs.iter().map(|l| l.state.len()).sum();
        for sp in p.ledger_proofs.iter().flat_map(|l| &l.state) {
            println!(
                "size:   state proof of {}: key {} B, value {} B, proof {} B (binary)",
                String::from_utf8_lossy(&sp.key)
                    .chars()
                    .take(24)
                    .collect::<String>(),
                sp.key.len(),
                sp.value.as_ref().map_or(0, |v| v.0.len()),
                sp.proof.len()
            );
        }
        println!(
            "size: {name} presentation {total} bytes of JSON: ledger proofs {ledger} ({keys} state proofs {state}, \
             headers and certificates {}), the rest {}; {} bytes in the canonical binary encoding",
            ledger - state,
            total - ledger,
            schemas::codec::encode(p).len()
        );
    }
    let employer_did = employer.did();
    let bank_did = bank_b.did();
    let offline = |p: &Presentation, me, cache: Option<&CertificateCache>| {
        wallet::verifier::verify(
            p,
            &Context {
                source: Source::Offline {
                    trust: &devnet.trust,
                    max_status_age_secs: 3600,
                },
                now: wallet::now(),
                verifier: Some(me),
                guard: None,
                cache,
            },
        )
    };
    let online = |p: &Presentation, me| {
        let facts = rt.block_on(fetch_facts(ledger, p)).expect("facts");
        wallet::verifier::verify(
            p,
            &Context {
                source: Source::Online(facts),
                now: wallet::now(),
                verifier: Some(me),
                guard: None,
                cache: None,
            },
        )
    };
    assert!(offline(&selective, &employer_did, None).passed());
    assert!(offline(&unlinkable, &bank_did, None).passed());
    assert!(online(&selective, &employer_did).passed());
    assert!(online(&unlinkable, &bank_did).passed());
    let cache = CertificateCache::default();
    let mut g = c.benchmark_group("verify");
    g.sample_size(20);
    g.bench_function("selective offline (certificate checked)", |b| {
        b.iter(|| offline(&selective, &employer_did, None))
    });
    g.bench_function("selective offline (certificate cached)", |b| {
        b.iter(|| offline(&selective, &employer_did, Some(&cache)))
    });
    g.bench_function("selective online (fresh read from a node)", |b| {
        b.iter(|| online(&selective, &employer_did))
    });
    g.bench_function("unlinkable offline (certificate checked)", |b| {
        b.iter(|| offline(&unlinkable, &bank_did, None))
    });
    g.bench_function("unlinkable online (fresh read from a node)", |b| {
        b.iter(|| online(&unlinkable, &bank_did))
    });
    g.finish();

    // The verifier service under concurrent load: fresh presentations (one per request, so no
    // replay), posted 16 at a time over HTTP to the employer's service (offline mode).
    let n = if full() { 1_200 } else { 40 };
    let guard = ReplayGuard::open(&d.join("employer")).expect("guard");
    let service_url = "http://127.0.0.1:15790";
    let presentations: Vec<String> = (0..n)
        .map(|_| {
            let channel = wallet::verifier::new_channel(format!("{service_url}/v1/verify"), &mut OsRng);
            let r = wallet::verifier::make_request_on(
                employer.key(),
                &selective_spec,
                Some(channel),
                wallet::now(),
                &mut OsRng,
            );
            guard.remember(&r).expect("remembered");
            let pending = rt
                .block_on(student.prepare(r, None, ledger, wallet::now()))
                .expect("prepared");
            serde_json::to_string(&student.present(&pending, None, wallet::now()).expect("presented"))
                .expect("json")
        })
        .collect();
    let app = credctl::service::router(
        employer,
        guard,
        credctl::service::ServeSource::Offline(devnet.trust.clone()),
        &[],
        service_url,
        Vec::new(),
    );
    let (ok, secs) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:15790")
            .await
            .expect("bind");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let started = Instant::now();
        let mut ok = 0usize;
        let mut in_flight = futures_like::Pool::new(16);
        for body in presentations {
            let http = http.clone();
            in_flight
                .push(tokio::spawn(async move {
                    http.post("http://127.0.0.1:15790/v1/verify")
                        .header("content-type", "application/json")
                        .body(body)
                        .timeout(Duration::from_secs(60))
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false)
                }))
                .await;
        }
        for passed in in_flight.drain().await {
            ok += usize::from(passed);
        }
        (ok, started.elapsed().as_secs_f64())
    });
    println!(
        "verifier service (selective tier, offline, 16 concurrent clients, 2 cores shared with the devnet): \
         {ok}/{n} verified in {secs:.2} s = {:.0} verifications/s",
        n as f64 / secs
    );
    assert_eq!(ok, n, "every fresh presentation verifies");
    rt.block_on(devnet.stop());
    c.final_summary();
}

/// A bounded set of spawned tasks.
mod futures_like {
    pub(crate) struct Pool {
        limit: usize,
        tasks: std::collections::VecDeque<tokio::task::JoinHandle<bool>>,
        done: Vec<bool>,
    }

    impl Pool {
        pub(crate) fn new(limit: usize) -> Self {
            Pool {
                limit,
                tasks: Default::default(),
                done: Vec::new(),
            }
        }

        pub(crate) async fn push(&mut self, t: tokio::task::JoinHandle<bool>) {
            if self.tasks.len() >= self.limit
                && let Some(first) = self.tasks.pop_front()
            {
                self.done.push(first.await.unwrap_or(false));
            }
            self.tasks.push_back(t);
        }

        pub(crate) async fn drain(mut self) -> Vec<bool> {
            while let Some(t) = self.tasks.pop_front() {
                self.done.push(t.await.unwrap_or(false));
            }
            self.done
        }
    }
}

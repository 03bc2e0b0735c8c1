//! The whole story on an embedded devnet: what `credctl demo` runs and the story test checks.
//!
//! Four validators and an observer run in this process (sled in a temporary folder, real
//! libp2p connections over loopback, the real HTTP API); every role talks to them through
//! the API exactly as `credctl` does. Each step checks that what happened is what the story
//! says, and the run fails at the first step that does not behave.

use ledger_node::config::{NodeFile, create_devnet, open_governance_key, password};
use ledger_node::node::NodeHandle;
use rand_core::OsRng;
use schemas::credential_schema::CredentialSchema;
use schemas::hash::Hash;
use schemas::ledger::{IssuerRecord, IssuerStatus, SchemaRecord, ScopeItem, state_keys};
use schemas::presentation::{Presentation, Tier};
use schemas::seal::Cost;
use schemas::sm2::SecretKey;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wallet::holder::Holder;
use wallet::issuer::{HolderBinding, Row};
use wallet::ledger::{CertificateCache, Ledger, Trust};
use wallet::roles::{Identity, approve};
use wallet::tier::parse_predicate;
use wallet::verifier::{
    Check, Context, DEFAULT_MAX_STATUS_AGE_SECS, ReplayGuard, Report, RequestSpec, Source, make_request,
};

/// How to run the demo.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where to keep the devnet and wallets (a temporary folder when `None`).
    pub dir: Option<PathBuf>,
    /// Diplomas in the class.
    pub diplomas: usize,
    /// First p2p port (HTTP ports are 100 above).
    pub base_port: u16,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            dir: None,
            diplomas: 1_000,
            base_port: 27_600,
        }
    }
}

/// What the escrow part of the story starts from.
struct EscrowStory<'a> {
    customer: &'a Holder,
    kyc_scope: ScopeItem,
    kyc_spec: &'a RequestSpec,
    pk: &'a zk::unlinkable::ProvingKey,
    /// The customer handle in the bank's issued attestation (its records).
    issued_handle: Option<i64>,
}

/// Issue 18's story: a regulator council forms on the ledger; a bank requires escrow; the
/// customer's unlinkable answer carries its identity handle encrypted to the council; an opening
/// without a vote is refused; after the vote two members' shares recover the handle, which is
/// the one in the bank's records; the customer's wallet sees the opening.
async fn escrow_story(
    dir: &Path,
    devnet: &Devnet,
    e: EscrowStory<'_>,
    summary: &mut DemoSummary,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<(), DemoError> {
    use wallet::council::{Member, council, opening, propose_council, propose_opening};
    let (ledger, trust, governance) = (&devnet.ledger, &devnet.trust, &devnet.governance);

    let step = "a regulator council forms: key generation among the governance members, on the ledger";
    say(format!("\n[12] {step}"));
    let t = Instant::now();
    let stores = (0..governance.len())
        .map(|i| {
            wallet::keystore::Keystore::create(
                &dir.join(format!("council-member-{}", i + 1)),
                DEMO_PASSWORD,
                DEMO_COST,
                &mut OsRng,
            )
            .map(|(s, _)| s)
        })
        .collect::<Result<Vec<_>, _>>()
        .step(step)?;
    let members: Vec<Member<'_>> = governance
        .iter()
        .zip(&stores)
        .map(|(key, store)| Member { key, store })
        .collect();
    let plan = schemas::ledger::CouncilPlan {
        id: "regulators-2027".into(),
        name: "Financial regulators".into(),
        members: governance
            .iter()
            .map(|k| schemas::Did::from_public_key(k.public_key()))
            .collect(),
        threshold: 2,
    };
    let proposal = propose_council(ledger, &governance[0], plan.clone())
        .await
        .step(step)?;
    approve(ledger, &governance[1], proposal).await.step(step)?;
    say(format!(
        "    governance approved council {} ({} of {}; proposal {proposal})",
        plan.id,
        plan.threshold,
        plan.members.len()
    ));
    for m in &members {
        m.enrol(ledger, &plan.id).await.step(step)?;
    }
    for m in &members {
        m.deal(ledger, &plan.id).await.step(step)?;
    }
    for m in &members {
        let complaints = m.check(ledger, &plan.id).await.step(step)?;
        if !complaints.is_empty() {
            return fail(step, format!("an honest member complained of {complaints:?}"));
        }
    }
    let record = council(ledger, &plan.id).await.step(step)?;
    if record.key.is_none() {
        return fail(step, "the council has no key after every member was ready");
    }
    say(format!(
        "    every member enrolled, dealt, checked every dealing and is ready: the ledger computed the council's key from the transcript ({:.1} s); no member and no node holds its secret",
        t.elapsed().as_secs_f64()
    ));

    let step = "a bank requires escrow; the customer answers";
    say(format!("\n[13] {step}"));
    let scope = ScopeItem {
        escrow: Some(plan.id.clone()),
        ..e.kyc_scope
    };
    let (bank_d, guard_d) = registered_verifier(
        devnet,
        dir,
        "Industrial Bank",
        scope,
        "account opening",
        step,
        say,
    )
    .await?;
    let request = make_request(bank_d.key(), e.kyc_spec, wallet::now(), &mut OsRng);
    guard_d.remember(&request).step(step)?;
    let pending = e
        .customer
        .prepare(request, None, ledger, wallet::now())
        .await
        .step(step)?;
    for l in pending.consent.lines() {
        say(format!("      {l}"));
    }
    if pending.consent.escrow.is_none() {
        return fail(step, "the consent screen does not say the answer is escrowed");
    }
    let t = Instant::now();
    let answer =
        tokio::task::block_in_place(|| e.customer.present(&pending, Some(e.pk), wallet::now())).step(step)?;
    say(format!(
        "    Groth16 proof with escrow made in {:.2} s",
        t.elapsed().as_secs_f64()
    ));
    let report = verify_offline(&answer, trust, &bank_d, &guard_d);
    show_report(&report, say);
    if !report.passed() {
        return fail(step, format!("{:?}", report.failure()));
    }

    let step = "an opening is proposed; before the vote, no share is accepted";
    say(format!("\n[14] {step}"));
    let facts = wallet::verifier::fetch_facts(ledger, &answer).await.step(step)?;
    let request = wallet::verifier::opening_request(
        &answer,
        &facts,
        "AML investigation 2027-114, court order 88".into(),
    )
    .step(step)?;
    let proposal = propose_opening(ledger, &governance[2], request)
        .await
        .step(step)?;
    say(format!(
        "    member 3 proposes opening the answer {} received (proposal {proposal}); the validators checked its escrow proof",
        bank_d.name()
    ));
    let early = devnet
        .ledger
        .submit(
            &governance[0],
            &[],
            schemas::ledger::TxPayload::PublishShare {
                opening: proposal,
                share: vec![0; schemas::limits::DECRYPTION_SHARE_BYTES],
            },
        )
        .await;
    match early {
        Err(wallet::ledger::LedgerError::Rejected { reason }) if reason.contains("not approved") => {
            say(format!(
                "    a share sent before the vote: refused by the ledger ({reason})"
            ));
            summary.unapproved_opening_refusal = Some(reason);
        }
        other => return fail(step, format!("expected the ledger to refuse, got {other:?}")),
    }

    let step = "governance approves; two members' shares recover the identity handle";
    say(format!("\n[15] {step}"));
    let h = approve(ledger, &governance[0], proposal).await.step(step)?;
    say(format!(
        "    member 1 approved the opening (block {h}); it is on the ledger for anyone to see"
    ));
    let t = Instant::now();
    for i in [0, 2] {
        members[i].publish_share(ledger, proposal).await.step(step)?;
        say(format!(
            "    member {} published its decryption share with its Chaum-Pedersen proof",
            i + 1
        ));
    }
    let opened = opening(ledger, &proposal)
        .await
        .step(step)?
        .and_then(|r| r.handle);
    match (opened, e.issued_handle) {
        (Some(h), Some(issued)) if h == issued => say(format!(
            "    the ledger combined 2 checked shares ({:.1} s): identity handle {h}, the customer number in {}'s records",
            t.elapsed().as_secs_f64(),
            "the issuing bank"
        )),
        other => return fail(step, format!("opened {other:?}")),
    }
    summary.escrow_handle = opened;
    let seen = e.customer.openings(ledger).await.step(step)?;
    for o in &seen {
        say(format!("    the customer's wallet: {}", o.line()));
    }
    if !seen.iter().any(|o| o.proposal == proposal && o.opened) {
        return fail(step, "the customer's wallet does not list the opening");
    }
    Ok(())
}

/// A step that did not behave as the story says.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {reason}")]
pub struct DemoError {
    /// The step.
    pub step: String,
    /// What happened instead.
    pub reason: String,
}

/// What the demo measured and saw.
#[derive(Clone, Debug, Default)]
pub struct DemoSummary {
    /// Diplomas issued and anchored.
    pub diplomas: usize,
    /// Seconds to issue them (build + anchor).
    pub issue_secs: f64,
    /// The check that refused the revoked diploma and its reason.
    pub revoked_refusal: Option<(Check, String)>,
    /// The two banks' nullifiers.
    pub nullifiers: Vec<Hash>,
    /// The check that refused the replay and its reason.
    pub replay_refusal: Option<(Check, String)>,
    /// The ledger's refusal of a decryption share before the opening was approved.
    pub unapproved_opening_refusal: Option<String>,
    /// The identity handle the council recovered from the escrowed answer.
    pub escrow_handle: Option<i64>,
}

/// The three members' ceremony for `shapes`: proposed and approved, three contributions to the
/// powers of tau and three to each circuit, each transcript verified, the keys registered.
/// Returns the proving keys holders use, in the order of `shapes`.
async fn setup_ceremony(
    ledger: &Ledger,
    governance: &[SecretKey],
    dir: &Path,
    shapes: &[zk::unlinkable::CircuitShape],
    step: &str,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<Vec<zk::unlinkable::ProvingKey>, DemoError> {
    let started = Instant::now();
    let setup = wallet::ceremony::Setup::new(ledger, dir);
    let id = "demo-setup";
    let mut power = 0;
    for shape in shapes {
        power = power.max(zk::ceremony::domain_power(*shape).step(step)?);
    }
    let ids: Vec<String> = shapes.iter().map(|s| s.id()).collect();
    let plan = schemas::ledger::CeremonyPlan {
        id: id.into(),
        version: zk::unlinkable::KEY_VERSION,
        circuits: ids.clone(),
        power: u8::try_from(power).step(step)?,
        min_contributions: u16::try_from(governance.len()).step(step)?,
        contributors: vec![],
    };
    let proposal = setup.propose(&governance[0], plan).await.step(step)?;
    let h = approve(ledger, &governance[1], proposal).await.step(step)?;
    say(format!(
        "    governance opened setup ceremony {id} for {} (powers of tau to 2^{power}, block {h})",
        ids.join(" and ")
    ));
    let quiet = |_: f64| {};
    let chains = std::iter::once(None).chain(ids.iter().cloned().map(Some));
    for chain in chains {
        let name = chain.as_deref().unwrap_or("powers of tau");
        for (i, member) in governance.iter().enumerate() {
            let c = setup
                .contribute(member, id, chain.as_deref(), &quiet)
                .await
                .step(step)?;
            if !c.derive.is_zero() {
                say(format!(
                    "    {name}: initial parameters derived from the final powers in {:.1} s",
                    c.derive.as_secs_f64()
                ));
            }
            say(format!(
                "    {name}: member {} contributed in {:.1} s ({} KB, block {}), its randomness wiped",
                i + 1,
                c.compute.as_secs_f64(),
                c.bytes / 1024,
                c.height
            ));
        }
    }
    let mut keys = Vec::new();
    for shape in shapes {
        let (proposal, pk, vk) = setup
            .propose_finish(&governance[2], id, &shape.id())
            .await
            .step(step)?;
        say(format!(
            "    member 3 proposes registering the {} key the transcript ends with ({proposal})",
            shape.id()
        ));
        let t = Instant::now();
        let (verified, h) = setup
            .approve_finish(&governance[0], proposal, &|_: &str| {})
            .await
            .step(step)?;
        say(format!(
            "    member 1 verified the transcript from the initial powers to the last file ({} contributions, {} MB, the circuit's start derived again, {:.1} s) and approved",
            verified.contributions,
            verified.bytes / (1024 * 1024),
            t.elapsed().as_secs_f64()
        ));
        say(format!(
            "    {} version {} registered from the transcript (block {h})",
            vk.shape().id(),
            vk.version(),
        ));
        keys.push(pk);
    }
    say(format!(
        "    the ceremony took {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(keys)
}

trait Step<T> {
    fn step(self, step: &str) -> Result<T, DemoError>;
}

impl<T, E: std::fmt::Display> Step<T> for Result<T, E> {
    fn step(self, step: &str) -> Result<T, DemoError> {
        self.map_err(|e| DemoError {
            step: step.into(),
            reason: e.to_string(),
        })
    }
}

fn fail<T>(step: &str, reason: impl Into<String>) -> Result<T, DemoError> {
    Err(DemoError {
        step: step.into(),
        reason: reason.into(),
    })
}

/// Keystores in the demo are throwaway: a light Argon2id cost keeps the story quick.
const DEMO_COST: Cost = Cost {
    memory_kib: 8 * 1024,
    iterations: 1,
};
const DEMO_PASSWORD: &str = "demo-password-not-secret";

/// The bank's customer number for the demo's customer: the identity handle its KYC attestation
/// carries, which only the regulator council can recover from an escrowed answer.
const CUSTOMER_HANDLE: i64 = 4_411_000_017;

/// Runs the story; `say` receives every line meant for the screen.
pub async fn run(opts: &DemoOptions, say: &mut (dyn FnMut(String) + Send)) -> Result<DemoSummary, DemoError> {
    let temp;
    let dir: &Path = match &opts.dir {
        Some(d) => d,
        None => {
            temp = tempfile::tempdir().step("creating a temporary folder")?;
            temp.path()
        }
    };
    let devnet = start_devnet(dir, opts.base_port, say).await?;
    let story = story(opts, dir, &devnet, say).await;
    devnet.stop().await;
    story
}

/// A devnet running inside this process.
pub struct Devnet {
    /// A connection to validator 0.
    pub ledger: Ledger,
    /// What every party of the demo trusts: the devnet's genesis file, pinned.
    pub trust: Trust,
    /// That genesis file (`credctl --genesis FILE` pins it).
    pub genesis_file: PathBuf,
    /// The governance members' keys.
    pub governance: Vec<SecretKey>,
    /// Each node's API address (`http://…`), validators 0-3, then the observer, in the order
    /// [`Devnet::stop_node`] counts them.
    pub apis: Vec<String>,
    /// The nodes, in the same order; `None` once stopped on its own.
    nodes: Vec<Option<NodeHandle>>,
}

impl Devnet {
    /// Stops node `i` (0-3 the validators, 4 the observer) while the others keep running, as
    /// when one consortium member's machine goes down. Stopping it twice does nothing.
    pub async fn stop_node(&mut self, i: usize) {
        if let Some(n) = self.nodes.get_mut(i).and_then(Option::take) {
            let _ = n.stop().await;
        }
    }

    /// Stops every node.
    pub async fn stop(self) {
        for n in self.nodes.into_iter().flatten() {
            let _ = n.stop().await;
        }
    }
}

/// Creates a 4-validator + 1-observer devnet under `dir` and starts it in this process
/// (p2p ports from `base`, HTTP ports from `base + 100`); returns once every node sees its peers.
pub async fn start_devnet(
    dir: &Path,
    base: u16,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<Devnet, DemoError> {
    start_devnet_with(dir, base, say, |_| {}).await
}

/// [`start_devnet`], with the genesis changed by `adjust` before the nodes start: a consortium
/// founded with other software (say, before a built-in schema's newest version).
pub async fn start_devnet_with(
    dir: &Path,
    base: u16,
    say: &mut (dyn FnMut(String) + Send),
    adjust: impl FnOnce(&mut schemas::ledger::Genesis),
) -> Result<Devnet, DemoError> {
    const STEP: &str = "consortium genesis";
    say(format!("\n[1] {STEP}"));
    let devnet = create_devnet(&dir.join("devnet"), 4, 1, base, base + 100).step(STEP)?;
    let mut genesis: schemas::ledger::Genesis = std::fs::read_to_string(&devnet.genesis)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .step(STEP)?;
    adjust(&mut genesis);
    let text = serde_json::to_string_pretty(&genesis)
        .map_err(|e| e.to_string())
        .step(STEP)?;
    wallet::keystore::write_atomic(&devnet.genesis, text.as_bytes()).step(STEP)?;
    let mut nodes = Vec::new();
    for n in &devnet.nodes {
        let config = NodeFile::load(&n.config)
            .and_then(|f| f.node_config())
            .step(STEP)?;
        let handle = ledger_node::node::start(config).await.map_err(|e| DemoError {
            step: STEP.into(),
            reason: format!(
                "{e:#} (another program may use ports {base}-{}; pass --base-port)",
                base + 104
            ),
        })?;
        say(format!("    {} up: API {}, p2p {}", n.name, n.api, n.p2p));
        nodes.push(Some(handle));
    }
    let api = devnet.nodes[0].api.clone();
    // Every party pins the genesis file the devnet wrote: the demo trusts no node's word.
    let genesis = std::fs::read_to_string(&devnet.genesis)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .step(STEP)?;
    let trust = Trust::new(genesis);
    let ledger = Ledger::connect(&api, trust.clone()).await.step(STEP)?;
    // Wait until every validator sees its peers.
    let ready_by = Instant::now() + Duration::from_secs(60);
    for n in &devnet.nodes {
        let c = ledger_api::Client::new(&n.api);
        loop {
            match c.status().await {
                Ok(s) if s.peers >= 4 => break,
                _ if Instant::now() > ready_by => {
                    return fail(STEP, format!("{} did not see its peers in a minute", n.name));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    let pw = password(Some(&devnet.password_file)).step(STEP)?;
    let governance = devnet
        .governance_keys
        .iter()
        .map(|p| open_governance_key(p, &pw))
        .collect::<Result<Vec<_>, _>>()
        .step(STEP)?;
    say(format!(
        "    chain {}: {} validators (PBFT, f = 1), 1 observer, {} governance members, 2 approvals to register",
        ledger.chain_id,
        trust.validators.len(),
        governance.len()
    ));
    Ok(Devnet {
        ledger,
        trust,
        genesis_file: devnet.genesis.clone(),
        governance,
        apis: devnet.nodes.iter().map(|n| n.api.clone()).collect(),
        nodes,
    })
}

async fn registered(
    devnet: &Devnet,
    proposal: Hash,
    step: &str,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<(), DemoError> {
    for (i, g) in devnet.governance.iter().take(2).enumerate() {
        let h = approve(&devnet.ledger, g, proposal).await.step(step)?;
        say(format!("    governance member {} approved (block {h})", i + 1));
    }
    Ok(())
}

async fn registered_verifier(
    devnet: &Devnet,
    dir: &Path,
    name: &str,
    scope: ScopeItem,
    purpose: &str,
    step: &str,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<(Identity, ReplayGuard), DemoError> {
    let slug: String = name.to_lowercase().replace(' ', "-");
    let (v, _) = Identity::create(&dir.join(&slug), name, DEMO_PASSWORD, DEMO_COST).step(step)?;
    let proposal = v
        .register_verifier(
            &devnet.ledger,
            vec![scope],
            vec![purpose.into()],
            format!("{slug}/v1"),
        )
        .await
        .step(step)?;
    say(format!(
        "    {name} asks to be registered as a verifier (proposal {proposal})"
    ));
    registered(devnet, proposal, step, say).await?;
    let guard = ReplayGuard::open(&dir.join(&slug)).step(step)?;
    Ok((v, guard))
}

fn verify_offline(p: &Presentation, trust: &Trust, me: &Identity, guard: &ReplayGuard) -> Report {
    let me = me.did();
    wallet::verifier::verify(
        p,
        &Context {
            source: Source::Offline {
                trust,
                max_status_age_secs: DEFAULT_MAX_STATUS_AGE_SECS,
            },
            now: wallet::now(),
            verifier: Some(&me),
            guard: Some(guard),
            cache: Some(&CertificateCache::default()),
        },
    )
}

fn show_report(r: &Report, say: &mut (dyn FnMut(String) + Send)) {
    for l in r.lines() {
        say(format!("      {l}"));
    }
}

/// Days since 1970-01-01 of the day `years` before today.
fn days_years_ago(years: i32) -> i64 {
    let today = time::OffsetDateTime::now_utc().date();
    let then = today
        .replace_year(today.year() - years)
        .or_else(|_| {
            today
                .replace_day(28)
                .and_then(|d| d.replace_year(today.year() - years))
        })
        .unwrap_or(today);
    i64::from(then.to_julian_day()) - i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day())
}

#[allow(clippy::too_many_lines)]
async fn story(
    opts: &DemoOptions,
    dir: &Path,
    devnet: &Devnet,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<DemoSummary, DemoError> {
    let (ledger, trust, governance) = (&devnet.ledger, &devnet.trust, &devnet.governance);
    let mut summary = DemoSummary::default();

    let step = "a university registered by governance";
    say(format!("\n[2] {step}"));
    let (uni, _) = Identity::create(
        &dir.join("university"),
        "Tsinghua University",
        DEMO_PASSWORD,
        DEMO_COST,
    )
    .step(step)?;
    let proposal = uni
        .register_issuer(ledger, vec!["UniversityDiploma".into()])
        .await
        .step(step)?;
    say(format!(
        "    {} ({}) asks to issue UniversityDiploma (proposal {proposal})",
        uni.name(),
        uni.did()
    ));
    registered(devnet, proposal, step, say).await?;
    let (_, facts) = ledger
        .read(vec![state_keys::issuer(&uni.did())])
        .await
        .step(step)?;
    match facts
        .get::<IssuerRecord>(&state_keys::issuer(&uni.did()), "the issuer")
        .step(step)?
    {
        Some(r) if r.status == IssuerStatus::Active => say(format!(
            "    the ledger now proves: {} is an active issuer (block {})",
            r.name, facts.newest_height
        )),
        _ => return fail(step, "the university is not an active issuer after two approvals"),
    }

    let step = "diploma schema";
    say(format!("\n[3] {step}"));
    let diploma = CredentialSchema::builtin("university-diploma").step(step)?;
    let (_, facts) = ledger
        .read(vec![state_keys::schema(diploma.id())])
        .await
        .step(step)?;
    match facts
        .get::<SchemaRecord>(&state_keys::schema(diploma.id()), "the schema")
        .step(step)?
    {
        Some(s) if s.schema_hash == diploma.hash() => say(format!(
            "    {} is published on the ledger (SM3 {}); gpa and graduation_date are predicate-capable",
            s.id, s.schema_hash
        )),
        _ => return fail(step, "the ledger's diploma schema is not the built-in one"),
    }

    let step = "diplomas issued and anchored in one transaction";
    say(format!("\n[4] {} {step}", opts.diplomas));
    let (student, phrase) = Holder::create(&dir.join("student"), DEMO_PASSWORD, DEMO_COST).step(step)?;
    say(format!(
        "    the student's wallet: {} (recovery phrase of {} words shown once)",
        student.did(),
        phrase.words().split(' ').count()
    ));
    let mut rows = vec![Row::new(
        2,
        json!({"name": "Li Hua", "student_id": "2022010001", "degree": "Bachelor of Engineering",
               "major": "Computer Science", "gpa": 3.62, "graduation_date": "2026-07-01"}),
        student.binding(),
    )];
    for i in 1..opts.diplomas {
        rows.push(Row::new(
            i + 2,
            json!({"name": format!("Graduate {i}"), "student_id": format!("{}", 2022010001 + i),
                   "degree": "Bachelor of Science", "major": "Mathematics",
                   "gpa": 2.0 + (i % 200) as f64 / 100.0, "graduation_date": "2026-07-01"}),
            HolderBinding::fresh(false),
        ));
    }
    // One bad row, to show it is reported while the rest proceed.
    rows.push(Row::new(
        opts.diplomas + 2,
        json!({"name": "Wang Wei", "student_id": "x", "degree": "BSc", "major": "Physics", "gpa": 5.1,
               "graduation_date": "2026-07-01"}),
        HolderBinding::fresh(false),
    ));
    let started = Instant::now();
    let (batch, height) = uni
        .issue_and_anchor(ledger, &diploma, rows, (wallet::now() - 60, None), false, &|_| {})
        .await
        .step(step)?;
    summary.issue_secs = started.elapsed().as_secs_f64();
    summary.diplomas = batch.credentials.len();
    if batch.credentials.len() != opts.diplomas || batch.rejected.len() != 1 {
        return fail(
            step,
            format!(
                "{} issued, {} rejected",
                batch.credentials.len(),
                batch.rejected.len()
            ),
        );
    }
    say(format!(
        "    {} diplomas issued and anchored in block {height} in {:.2} s ({:.0}/s); root {}",
        batch.credentials.len(),
        summary.issue_secs,
        batch.credentials.len() as f64 / summary.issue_secs,
        batch.root
    ));
    for r in &batch.rejected {
        say(format!("    line {} refused: {}", r.line, r.reason));
    }
    let diploma_json = batch.credentials[0].1.to_json().to_string();
    let diploma_index = batch.credentials[0].1.envelope.status.index;
    let imported = student
        .import(&diploma_json, ledger, wallet::now())
        .await
        .step(step)?;
    say(format!(
        "    the student imports the diploma: anchor checked against the ledger (block {})",
        imported.anchored_at
    ));

    let step = "the student presents degree and gpa >= 300 to an employer";
    say(format!("\n[5] {step}"));
    let (employer, employer_guard) = registered_verifier(
        devnet,
        dir,
        "Huawei Recruiting",
        ScopeItem {
            credential_type: "UniversityDiploma".into(),
            disclose: vec!["name".into(), "degree".into(), "major".into()],
            predicates: vec!["gpa".into(), "graduation_date".into()],
            escrow: None,
        },
        "employment screening",
        step,
        say,
    )
    .await?;
    let spec = RequestSpec {
        credential_type: "UniversityDiploma".into(),
        accepted_issuers: vec![uni.did()],
        disclose: vec!["degree".into()],
        predicates: vec![parse_predicate("gpa>=300").step(step)?],
        purpose: "employment screening".into(),
        ttl_secs: 600,
        tier: Tier::Selective,
    };
    let ask = |guard: &ReplayGuard| {
        let r = make_request(employer.key(), &spec, wallet::now(), &mut OsRng);
        guard.remember(&r).map(|()| r)
    };
    let request = ask(&employer_guard).step(step)?;
    let pending = student
        .prepare(request, None, ledger, wallet::now())
        .await
        .step(step)?;
    say("    the wallet shows, before anything leaves it:".into());
    for l in pending.consent.lines() {
        say(format!("      {l}"));
    }
    if !pending.consent.in_scope() || pending.consent.disclosed.len() != 1 {
        return fail(
            step,
            "the consent screen does not show an in-scope request disclosing one attribute",
        );
    }
    let presentation = student.present(&pending, None, wallet::now()).step(step)?;
    let text = serde_json::to_string(&presentation).step(step)?;
    say(format!(
        "    presentation built: {} bytes with the ledger proofs inside",
        text.len()
    ));

    let step = "verified offline";
    say(format!(
        "\n[6] {step} (the employer knows only the validator set)"
    ));
    let received = Presentation::from_json(&text).step(step)?;
    let report = verify_offline(&received, trust, &employer, &employer_guard);
    show_report(&report, say);
    if !report.passed() {
        return fail(step, format!("{:?}", report.failure()));
    }
    say(format!(
        "    employer learns: {:?}, proven: {:?}",
        report.disclosed, report.proven
    ));

    let step = "the university revokes that diploma";
    say(format!("\n[7] {step}"));
    let h = uni.revoke(ledger, 0, vec![diploma_index]).await.step(step)?;
    say(format!(
        "    status list 0, index {diploma_index} set in block {h}"
    ));
    let request = ask(&employer_guard).step(step)?;
    let pending = student
        .prepare(request, None, ledger, wallet::now())
        .await
        .step(step)?;
    if !pending.consent.revoked {
        return fail(step, "the wallet does not warn that the diploma is revoked");
    }
    say("    the wallet warns: the issuer has revoked this credential".into());
    let presentation = student.present(&pending, None, wallet::now()).step(step)?;
    let report = verify_offline(&presentation, trust, &employer, &employer_guard);
    show_report(&report, say);
    match report.failure() {
        Some((Check::Revocation, reason)) if reason.contains("revoked") => {
            say(format!("    verification now fails: {reason}"));
            summary.revoked_refusal = Some((Check::Revocation, reason.to_owned()));
        }
        other => return fail(step, format!("expected a refusal for revocation, got {other:?}")),
    }

    let step = "a bank issues a KYC attestation";
    say(format!("\n[8] {step}"));
    let (bank_a, _) =
        Identity::create(&dir.join("bank-a"), "Bank of Beijing", DEMO_PASSWORD, DEMO_COST).step(step)?;
    let proposal = bank_a
        .register_issuer(ledger, vec!["KycAttestation".into()])
        .await
        .step(step)?;
    say(format!(
        "    {} asks to issue KycAttestation (proposal {proposal})",
        bank_a.name()
    ));
    registered(devnet, proposal, step, say).await?;
    // The unlinkable tier's circuit keys come from a setup ceremony among the three governance
    // members: no one of them ever holds the toxic waste.
    let shapes = [false, true].map(|escrow| wallet::tier::shape_for(4, 2, escrow));
    let [Some(shape), Some(escrow_shape)] = shapes else {
        return fail(step, "no a4-p2 circuit");
    };
    let mut keys = setup_ceremony(
        ledger,
        governance,
        &dir.join("ceremony"),
        &[shape, escrow_shape],
        step,
        say,
    )
    .await?
    .into_iter();
    let (Some(pk), Some(escrow_pk)) = (keys.next(), keys.next()) else {
        return fail(step, "the ceremony made fewer keys than circuits");
    };
    let (customer, _) = Holder::create(&dir.join("customer"), DEMO_PASSWORD, DEMO_COST).step(step)?;
    let mut rows = vec![Row::new(
        1,
        json!({"name": "Zhang San", "birth_date": "1990-03-15", "residence_country": "CN", "kyc_level": 3,
               "verified_on": "2026-11-02", "customer_handle": CUSTOMER_HANDLE}),
        customer.binding(),
    )];
    for i in 1..16 {
        rows.push(Row::new(
            i + 1,
            json!({"name": format!("Customer {i}"), "birth_date": "2001-01-01", "residence_country": "CN",
                   "kyc_level": 1 + (i % 3), "verified_on": "2026-11-02",
                   "customer_handle": CUSTOMER_HANDLE + i as i64}),
            HolderBinding::fresh(true),
        ));
    }
    let kyc = CredentialSchema::builtin("kyc-attestation").step(step)?;
    let (batch, height) = bank_a
        .issue_and_anchor(ledger, &kyc, rows, (wallet::now() - 60, None), true, &|_| {})
        .await
        .step(step)?;
    say(format!(
        "    {} KYC attestations anchored in block {height} with SM3 root and Poseidon root",
        batch.credentials.len()
    ));
    customer
        .import(
            &batch.credentials[0].1.to_json().to_string(),
            ledger,
            wallet::now(),
        )
        .await
        .step(step)?;
    say("    the customer imports it (Poseidon leaf and path checked against the anchor)".into());
    // Two other customers' attestations are revoked, so the customer's proof of non-revocation
    // is against a list that is not empty (its wallet rebuilds the list's tree from the node's
    // revoked indexes and checks it against the proven root).
    let others: Vec<u32> = batch.credentials[1..3]
        .iter()
        .map(|(_, c)| c.envelope.status.index)
        .collect();
    let h = bank_a.revoke(ledger, 0, others).await.step(step)?;
    say(format!(
        "    {} revokes two other customers' attestations (block {h})",
        bank_a.name()
    ));

    let step = "a second bank verifies age >= 18 and kyc_level >= 2 through the unlinkable tier";
    say(format!("\n[9] {step}"));
    let kyc_scope = ScopeItem {
        credential_type: "KycAttestation".into(),
        disclose: vec![],
        predicates: vec!["birth_date".into(), "kyc_level".into()],
        escrow: None,
    };
    let (bank_b, guard_b) = registered_verifier(
        devnet,
        dir,
        "China Merchants Bank",
        kyc_scope.clone(),
        "account opening",
        step,
        say,
    )
    .await?;
    let kyc_spec = RequestSpec {
        credential_type: "KycAttestation".into(),
        accepted_issuers: vec![],
        disclose: vec![],
        predicates: vec![
            parse_predicate(&format!("birth_date<={}", days_years_ago(18))).step(step)?,
            parse_predicate("kyc_level>=2").step(step)?,
        ],
        purpose: "account opening".into(),
        ttl_secs: 600,
        tier: Tier::Unlinkable,
    };
    let request = make_request(bank_b.key(), &kyc_spec, wallet::now(), &mut OsRng);
    guard_b.remember(&request).step(step)?;
    let pending = customer
        .prepare(request, None, ledger, wallet::now())
        .await
        .step(step)?;
    for l in pending.consent.lines() {
        say(format!("      {l}"));
    }
    let t = Instant::now();
    let to_b =
        tokio::task::block_in_place(|| customer.present(&pending, Some(&pk), wallet::now())).step(step)?;
    say(format!(
        "    Groth16 proof made in {:.2} s",
        t.elapsed().as_secs_f64()
    ));
    let report = verify_offline(&to_b, trust, &bank_b, &guard_b);
    show_report(&report, say);
    let Some(n_b) = report.nullifier.filter(|_| report.passed()) else {
        return fail(step, format!("{:?}", report.failure()));
    };
    say(format!("    {} sees nullifier {n_b}", bank_b.name()));

    let step = "a third verifier sees a different nullifier";
    say(format!("\n[10] {step}"));
    let (bank_c, guard_c) = registered_verifier(
        devnet,
        dir,
        "Ping An Insurance",
        kyc_scope.clone(),
        "account opening",
        step,
        say,
    )
    .await?;
    let request = make_request(bank_c.key(), &kyc_spec, wallet::now(), &mut OsRng);
    guard_c.remember(&request).step(step)?;
    let pending = customer
        .prepare(request, None, ledger, wallet::now())
        .await
        .step(step)?;
    let to_c =
        tokio::task::block_in_place(|| customer.present(&pending, Some(&pk), wallet::now())).step(step)?;
    let report = verify_offline(&to_c, trust, &bank_c, &guard_c);
    let Some(n_c) = report.nullifier.filter(|_| report.passed()) else {
        return fail(step, format!("{:?}", report.failure()));
    };
    if n_c == n_b {
        return fail(step, "both verifiers saw the same nullifier");
    }
    say(format!(
        "    {} sees nullifier {n_c}: the two cannot link the customer",
        bank_c.name()
    ));
    summary.nullifiers = vec![n_b, n_c];

    let step = "a replay to the second bank is refused";
    say(format!("\n[11] {step}"));
    let report = verify_offline(&to_b, trust, &bank_b, &guard_b);
    show_report(&report, say);
    match report.failure() {
        Some((Check::Nonce, reason)) => {
            say(format!("    refused: {reason}"));
            summary.replay_refusal = Some((Check::Nonce, reason.to_owned()));
        }
        other => return fail(step, format!("expected a nonce refusal, got {other:?}")),
    }
    let escrow = EscrowStory {
        customer: &customer,
        kyc_scope,
        kyc_spec: &kyc_spec,
        pk: &escrow_pk,
        issued_handle: batch.credentials[0]
            .1
            .openings
            .iter()
            .find(|o| o.name == "customer_handle")
            .and_then(|o| match o.value {
                schemas::credential_schema::AttributeValue::Integer(h) => Some(h),
                schemas::credential_schema::AttributeValue::Text(_) => None,
            }),
    };
    escrow_story(dir, devnet, escrow, &mut summary, say).await?;
    let history = customer.history().step(step)?;
    say(format!(
        "\nThe customer's wallet recorded {} disclosures; the student's {}. Every step behaved as stated.",
        history.len(),
        student.history().step(step)?.len()
    ));
    Ok(summary)
}

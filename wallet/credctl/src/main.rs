//! `credctl`: issuers, holders, verifiers and governance members on the command line, and the
//! one-command demo.

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use credctl::service::ServeSource;
use indicatif::{ProgressBar, ProgressStyle};
use rand_core::OsRng;
use schemas::credential_schema::CredentialSchema;
use schemas::hash::Hash;
use schemas::ledger::{Genesis, ScopeItem, TxPayload};
use schemas::presentation::{Presentation, SignedRequest, Tier};
use schemas::seal::Cost;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use wallet::holder::Holder;
use wallet::ledger::{Ledger, Trust};
use wallet::pinning::{PinError, PinSource, TrustFile};
use wallet::roles::{Identity, approve, propose_retirement};
use wallet::verifier::{
    Context, DEFAULT_MAX_STATUS_AGE_SECS, ReplayGuard, Report, RequestSpec, Source, fetch_facts,
};

/// Prints a line to stdout; a closed pipe (`credctl wallet list | head -1`) ends the program
/// quietly instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        print_line(format_args!($($arg)*))
    };
}

fn print_line(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Environment variable holding the keystore password.
const PASSWORD_ENV: &str = "CREDENCE_PASSWORD";

#[derive(Parser)]
#[command(
    name = "credctl",
    version,
    about = "Credence: issue, hold, present and verify credentials"
)]
struct Cli {
    /// Folder of this user's keystores (issuer/, wallet/, verifier/).
    #[arg(long, global = true, env = "CREDENCE_HOME", default_value = ".credence")]
    home: PathBuf,
    /// A ledger node's API; several, separated by commas, for failover (the first that
    /// answers and proves itself is used).
    #[arg(
        long,
        global = true,
        env = "CREDENCE_LEDGER",
        default_value = "http://127.0.0.1:26700"
    )]
    ledger: String,
    /// File holding the keystore password (otherwise $CREDENCE_PASSWORD).
    #[arg(long, global = true)]
    password_file: Option<PathBuf>,
    /// The consortium's genesis file: pinned in the home folder the first time (`trust.json`);
    /// afterwards every ledger read is checked against it and a node of another chain refused.
    #[arg(long, global = true, env = "CREDENCE_GENESIS")]
    genesis: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole story on an embedded devnet (4 validators + 1 observer).
    Demo {
        /// Keep the devnet and wallets in this folder (default: a temporary one).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Diplomas in the class.
        #[arg(long, default_value_t = 1_000)]
        diplomas: usize,
        /// First p2p port; HTTP ports are 100 above.
        #[arg(long, default_value_t = 27_600)]
        base_port: u16,
    },
    /// An issuer's identity and registration.
    #[command(subcommand)]
    Issuer(IssuerCmd),
    /// Issue a batch from a CSV or JSONL file and anchor it in one transaction.
    Issue(IssueArgs),
    /// Revoke credentials by status index.
    Revoke {
        /// Status indexes (from the batch's index.csv).
        #[arg(long = "index", required = true, num_args = 1..)]
        indexes: Vec<u32>,
        /// Status list.
        #[arg(long, default_value_t = 0)]
        list: u32,
    },
    /// Governance members' actions.
    #[command(subcommand)]
    Governance(GovernanceCmd),
    /// The holder's wallet.
    #[command(subcommand)]
    Wallet(WalletCmd),
    /// A verifier's identity, registration and HTTP service.
    #[command(subcommand)]
    Verifier(VerifierCmd),
    /// Make a signed presentation request (the verifier remembers its nonce).
    Request(RequestArgs),
    /// Verify a presentation; one line per check, exit 0 only when every check passes.
    Verify {
        /// The presentation file.
        presentation: PathBuf,
        /// Check only with the proofs inside, against the pinned genesis and the validator set
        /// followed from it (no node is asked).
        #[arg(long)]
        offline: bool,
        /// Oldest revocation status accepted offline, seconds.
        #[arg(long, default_value_t = DEFAULT_MAX_STATUS_AGE_SECS)]
        max_status_age: i64,
    },
    /// Pin the genesis of the node at --ledger after comparing its fingerprint with the one
    /// the consortium published (as SSH asks about a host key); or show what is pinned.
    Trust {
        /// The fingerprint the consortium published (64 hex digits): pin without asking when
        /// the node's genesis has it.
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// Development helpers.
    #[command(subcommand)]
    Dev(DevCmd),
}

#[derive(Subcommand)]
enum IssuerCmd {
    /// Create the issuer's key.
    Init {
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Ask the consortium to register this issuer; prints the proposal governance approves.
    Register {
        /// Credential types to issue.
        #[arg(long, value_delimiter = ',', required = true)]
        types: Vec<String>,
    },
    /// Publish a credential schema (JSON Schema with Credence's x-credence block).
    PublishSchema {
        /// The schema file.
        file: PathBuf,
    },
    /// Make an OpenID4VCI credential offer for each credential of an issued batch: writes
    /// offers.csv (credential id, offer link, 6-digit transaction code — send the link and the
    /// code by different channels) and offers.json (what `issuer serve` keeps) into the batch.
    Offer {
        /// The batch folder (`credctl issue --out`).
        #[arg(long)]
        batch: PathBuf,
        /// The issuer service's address as holders reach it (`credctl issuer serve`).
        #[arg(long)]
        public_url: String,
        /// Days the offers stay redeemable.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Make new offers for a batch that has some (the links and codes sent before stop
        /// working; stop `issuer serve` first).
        #[arg(long)]
        replace: bool,
    },
    /// Serve a batch's offers by OpenID4VCI (pre-authorized code flow): the issuer's metadata,
    /// /token, /nonce, /credential.
    Serve {
        /// The batch folder, after `credctl issuer offer`.
        #[arg(long)]
        batch: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: String,
        /// Speak HTTPS with this certificate chain (PEM; with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
}

#[derive(Args)]
struct IssueArgs {
    /// Built-in schema name (diploma, university-diploma, kyc-attestation, ...) or a schema file.
    #[arg(long)]
    schema: String,
    /// Rows: .csv with a header, or .jsonl.
    #[arg(long)]
    input: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Also build the unlinkable tier (rows need holder_commitment).
    #[arg(long)]
    unlinkable: bool,
    /// Days the credentials stay valid (default: no end).
    #[arg(long)]
    valid_days: Option<i64>,
    /// Also write one credential-<line>.json per credential.
    #[arg(long)]
    files: bool,
    /// The consortium's public API URL the credentials link to (their status list and schema,
    /// e.g. https://ledger.example.edu); default: the --ledger URL.
    #[arg(long)]
    public_url: Option<String>,
}

#[derive(Subcommand)]
enum GovernanceCmd {
    /// Approve a proposal.
    Approve {
        /// The proposal (transaction hash).
        #[arg(value_parser = parse_hash)]
        proposal: Hash,
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// The Groth16 setup ceremony that makes the unlinkable circuits' keys, so that no single
    /// party ever holds their toxic waste (ARCHITECTURE.md, "The setup ceremony").
    #[command(subcommand)]
    Ceremony(CeremonyCmd),
    /// The regulator council: its key generation among governance members, and openings of
    /// escrowed identity handles, each a public, voted ledger act (docs/escrow.md).
    #[command(subcommand)]
    Council(CouncilCmd),
    /// Propose retiring a circuit's key version: once governance approves, no holder proves
    /// under it and no verifier accepts a proof made under it (the key stays on the ledger).
    RetireCircuit {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// Circuit id.
        #[arg(long)]
        circuit: String,
        /// The key version to retire.
        #[arg(long)]
        version: u32,
    },
}

#[derive(Subcommand)]
enum CouncilCmd {
    /// Propose a council (other members approve with `credctl governance approve`).
    Propose {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The council's id (a-z, 0-9, '-'; never reused).
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The members' DIDs, in share order (governance members; comma-separated).
        #[arg(long, value_delimiter = ',', value_parser = parse_did)]
        members: Vec<schemas::Did>,
        /// Shares needed to open.
        #[arg(long)]
        threshold: u16,
    },
    /// Key generation, step 1: a fresh receiving key (its secret sealed in the member's council
    /// keystore, `HOME/council`).
    Enrol {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The council's id.
        #[arg(long)]
        id: String,
    },
    /// Key generation, step 2 (once every member enrolled): this member's dealing.
    Deal {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The council's id.
        #[arg(long)]
        id: String,
    },
    /// Key generation, step 3 (once every member dealt): check every dealing, complain of bad
    /// shares, declare this member ready.
    Check {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The council's id.
        #[arg(long)]
        id: String,
    },
    /// Propose abandoning a council whose key generation has stalled (governance approves).
    Abort {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The council's id.
        #[arg(long)]
        id: String,
        /// Why, for the record.
        #[arg(long)]
        reason: String,
    },
    /// A council's state on the ledger (read with proof).
    Show {
        /// The council's id.
        #[arg(long)]
        id: String,
    },
    /// Propose opening an escrowed unlinkable answer, with its legal basis (governance
    /// approves). The presentation is verified against the ledger first; the proposal carries
    /// its escrow proof, which validators check.
    Open {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The presentation file the verifier received.
        #[arg(long)]
        presentation: PathBuf,
        /// The legal basis, for the record.
        #[arg(long)]
        legal_basis: String,
    },
    /// Publish this member's decryption share for an approved opening.
    Share {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The opening proposal (transaction hash).
        #[arg(value_parser = parse_hash)]
        opening: Hash,
    },
    /// An opening's state: approved or not, shares published, the handle once opened.
    Opening {
        /// The opening proposal (transaction hash).
        #[arg(value_parser = parse_hash)]
        opening: Hash,
    },
}

#[derive(Subcommand)]
enum CeremonyCmd {
    /// Propose a ceremony (governance approves it like any proposal).
    Start {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The ceremony's id (a-z, 0-9, '-').
        #[arg(long)]
        id: String,
        /// Circuits to make keys for (comma-separated; default: every circuit shape).
        #[arg(long, value_delimiter = ',')]
        circuits: Vec<String>,
        /// The key version the circuits' keys are registered under.
        #[arg(long, default_value_t = zk::unlinkable::KEY_VERSION)]
        version: u32,
        /// Contributions each chain needs (at least the governance quorum).
        #[arg(long)]
        min_contributions: u16,
        /// Registered issuers admitted as contributors besides the members (comma-separated DIDs).
        #[arg(long, value_delimiter = ',')]
        contributors: Vec<String>,
    },
    /// Contribute to a chain with fresh randomness (wiped when done): the powers of tau, or a
    /// circuit's phase with --circuit. Uploads the file to the node, then records it.
    Contribute {
        /// The contributor's sealed key file (a governance member's or an admitted issuer's).
        #[arg(long)]
        key: PathBuf,
        /// The ceremony's id.
        #[arg(long)]
        id: String,
        /// A circuit's phase instead of the powers of tau.
        #[arg(long)]
        circuit: Option<String>,
    },
    /// Verify the whole transcript from the ledger's record and the node's files.
    Verify {
        /// The ceremony's id.
        #[arg(long)]
        id: String,
    },
    /// Propose registering the verifying key a circuit's chain ends with, and write the proving
    /// key. Members approve with `credctl governance approve`, which verifies the whole transcript
    /// first.
    Finish {
        /// The member's sealed key file.
        #[arg(long)]
        key: PathBuf,
        /// The ceremony's id.
        #[arg(long)]
        id: String,
        /// The circuit.
        #[arg(long)]
        circuit: String,
        /// Where to write the proving key holders use.
        #[arg(long)]
        proving_key_out: PathBuf,
    },
    /// Write the proving key a finished circuit's chain ends with (for holders).
    Keys {
        /// The ceremony's id.
        #[arg(long)]
        id: String,
        /// The circuit.
        #[arg(long)]
        circuit: String,
        /// Where to write the proving key.
        #[arg(long)]
        proving_key_out: PathBuf,
    },
}

#[derive(Subcommand)]
enum WalletCmd {
    /// Create the wallet; prints the recovery phrase once.
    Init,
    /// What to give an issuer (holder key and unlinkable commitment).
    Id,
    /// Import a credential (checked against the ledger).
    Import {
        /// Credential JSON file.
        file: PathBuf,
    },
    /// Accept an issuer's OpenID4VCI credential offer (`openid-credential-offer://…`): redeems
    /// it, proves this wallet holds the key the credential is bound to, and imports it (checked
    /// against the ledger).
    Accept {
        /// The offer link (quote it in the shell).
        offer: String,
        /// The transaction code the issuer sent another way (asked for when needed and absent).
        #[arg(long)]
        tx_code: Option<String>,
    },
    /// List credentials.
    List,
    /// Show one credential.
    Show {
        /// Credential id (or a unique prefix).
        id: String,
    },
    /// Answer a request: shows what will be disclosed, proven and hidden, then builds it.
    ///
    /// REQUEST is a request file, or a verifier's `openid4vp://` link: the wallet fetches the
    /// signed request object, and sends the answer itself — or, declined or beyond the
    /// verifier's registered scope, tells the verifier it will not answer.
    Answer {
        /// The request file, or an `openid4vp://…` link (quote it in the shell).
        request: String,
        /// Where to write the presentation (required for a request file).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Which credential (default: the newest that fits).
        #[arg(long)]
        credential: Option<String>,
        /// Proving key of the unlinkable circuit.
        #[arg(long)]
        proving_key: Option<PathBuf>,
        /// Consent without asking.
        #[arg(long)]
        yes: bool,
        /// Only tell the verifier of an `openid4vp://` link that you decline ("the holder
        /// declined", nothing else); no credential is looked at.
        #[arg(long, conflicts_with_all = ["yes", "out", "credential", "proving_key"])]
        decline: bool,
    },
    /// Disclosure history.
    History,
    /// Opening proposals on the ledger that name an answer this wallet gave with its identity
    /// handle escrowed (approved or not, opened or not).
    Openings,
    /// Write an encrypted backup.
    Backup {
        /// The backup file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum VerifierCmd {
    /// Create the verifier's key.
    Init {
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Ask the consortium to register this verifier and its scope; prints the proposal.
    Register {
        /// Credential type it asks for.
        #[arg(long = "type")]
        credential_type: String,
        /// Attributes it may ask to see.
        #[arg(long, value_delimiter = ',')]
        disclose: Vec<String>,
        /// Attributes it may ask predicates about: `NAME` allows one bound (`>=` or `<=`),
        /// `NAME:range:WIDTH` also ranges at least WIDTH wide (in the predicate's encoding).
        #[arg(long, value_delimiter = ',')]
        predicates: Vec<String>,
        /// Purposes it may state.
        #[arg(long = "purpose", required = true)]
        purposes: Vec<String>,
        /// Its unlinkable-tier nullifier scope.
        #[arg(long)]
        nullifier_scope: String,
        /// Require unlinkable answers to escrow the holder's identity handle to this regulator
        /// council (its id); holders are told at consent.
        #[arg(long)]
        escrow: Option<String>,
    },
    /// Print the verifier service's OpenAPI 3.1 document (what its `/openapi.json` serves).
    Openapi,
    /// Verify over HTTP: the staff's page at `/`, POST /v1/requests (RequestSpec), POST /v1/verify
    /// (presentation), and OpenID4VP exchanges (`docs/openid4vp.md`).
    Serve {
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8600")]
        listen: String,
        /// Verify with the proofs inside each presentation (against the pinned genesis), instead
        /// of reading the ledger.
        #[arg(long)]
        offline: bool,
        /// Staff clients' tokens for POST /v1/requests, one per line (`NAME TOKEN`); without
        /// it the service verifies but makes no requests.
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// The service's address as holders reach it (behind a proxy: `https://verify.bank.cn`);
        /// requests name its `/v1/verify` as their answer address. Default: http://LISTEN, or
        /// https://LISTEN with --tls-cert.
        #[arg(long)]
        public_url: Option<String>,
        /// Speak HTTPS with this certificate chain (PEM; with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The requests the staff may make from the page at `/`: a JSON array of
        /// `{"title": …, "request": {…a request spec…}}`.
        #[arg(long)]
        templates: Option<PathBuf>,
    },
}

#[derive(Args)]
struct RequestArgs {
    /// Credential type.
    #[arg(long = "type")]
    credential_type: String,
    /// Attributes to disclose.
    #[arg(long, value_delimiter = ',')]
    disclose: Vec<String>,
    /// Predicates on encoded values: gpa>=300, birth_date<=12000, kyc_level=2..5.
    #[arg(long = "predicate")]
    predicates: Vec<String>,
    /// Accepted issuer DIDs (default: any registered for the type).
    #[arg(long = "issuer", value_parser = parse_did)]
    issuers: Vec<schemas::Did>,
    /// Purpose (one of the registered ones).
    #[arg(long)]
    purpose: String,
    /// Tier.
    #[arg(long, value_enum, default_value_t = TierArg::Selective)]
    tier: TierArg,
    /// Seconds the request stays answerable.
    #[arg(long, default_value_t = 600)]
    ttl: i64,
    /// The address where the answer is to be sent (e.g. a verifier service's
    /// https://…/v1/verify); the request then also carries a fresh session value, printed here,
    /// that the holder's wallet shows at consent: tell it to the holder by a channel you trust.
    #[arg(long, value_name = "URL")]
    answer_at: Option<String>,
    /// Where to write it.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum TierArg {
    Selective,
    Unlinkable,
}

#[derive(Subcommand)]
enum DevCmd {
    /// Write a CSV class of N diplomas with fresh holder keys (for trying `credctl issue`).
    SampleClass {
        /// Rows.
        #[arg(long)]
        count: usize,
        /// Output .csv.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(&cli));
    // What this run proved (the validator set followed, the highest block seen) is kept for
    // the next, so an answer older than one already seen is refused then too.
    let saved = LEDGER.get().map(|l| trust_file(&cli).save(&l.trust()));
    match result.and_then(|code| saved.transpose().map(|_| code).map_err(Into::into)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}{}", hint(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// What to do about a library error, in this front end's words (the library's errors name no
/// command or flag: the desktop app gives its own hints).
fn hint(e: &anyhow::Error) -> &'static str {
    use wallet::holder::HolderError;
    match e.chain().find_map(|c| c.downcast_ref::<HolderError>()) {
        Some(HolderError::Unknown(_)) => "\nhint: `credctl wallet list` shows the credentials and their ids",
        Some(HolderError::ProvingKeyNeeded) => {
            "\nhint: pass the circuit's proving key with --proving-key FILE"
        }
        _ => "",
    }
}

fn parse_hash(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|_| format!("{s:?} is not a 64-hex-digit hash"))
}

fn parse_did(s: &str) -> Result<schemas::Did, String> {
    schemas::Did::parse(s).map_err(|e| e.to_string())
}

fn password(cli: &Cli) -> Result<zeroize::Zeroizing<String>> {
    if let Some(f) = &cli.password_file {
        return ledger_node::config::read_password_file(f);
    }
    std::env::var(PASSWORD_ENV)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| anyhow::anyhow!("no password: pass --password-file FILE or set {PASSWORD_ENV}"))
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    wallet::keystore::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn schema_arg(name: &str) -> Result<CredentialSchema> {
    let builtin = match name {
        "diploma" => "university-diploma",
        "kyc" => "kyc-attestation",
        other => other,
    };
    if let Ok(s) = CredentialSchema::builtin(builtin) {
        return Ok(s);
    }
    let text = read_text(Path::new(name))
        .with_context(|| format!("{name:?} is neither a built-in schema nor a readable schema file"))?;
    Ok(CredentialSchema::from_json(&text)?)
}

/// Where a home folder keeps what its user trusts.
fn trust_file(cli: &Cli) -> TrustFile {
    TrustFile::new(cli.home.join("trust.json"))
}

fn read_genesis(path: &Path) -> Result<Genesis> {
    serde_json::from_str(&read_text(path)?)
        .with_context(|| format!("{} is not a Credence genesis file", path.display()))
}

/// What this home trusts: the pinned genesis (pinning `--genesis FILE` the first time) and
/// what was proven from it since.
fn trust(cli: &Cli) -> Result<Trust> {
    let given = cli.genesis.as_deref().map(read_genesis).transpose()?;
    let file = trust_file(cli);
    let trusted = file.trusted(given.as_ref()).map_err(|e| match e {
        PinError::OtherConsortium {
            pinned_chain,
            pinned,
            given_chain,
            given,
        } => anyhow::anyhow!(
            "{} pins chain {pinned_chain} (genesis fingerprint {pinned}), but --genesis names chain \
             {given_chain} ({given}): use another --home for another consortium, or delete {} to pin again",
            cli.home.display(),
            file.path().display()
        ),
        e => e.into(),
    })?;
    trusted.ok_or_else(|| {
        anyhow::anyhow!(
            "no genesis is pinned in {}: pass --genesis FILE (the genesis.json your consortium \
             published) once, or run `credctl trust --fingerprint HEX` against one of its nodes",
            cli.home.display()
        )
    })
}

/// The nodes of --ledger, in order.
fn nodes(cli: &Cli) -> impl Iterator<Item = &str> {
    cli.ledger.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The connection this run made, so what it proved is saved when it ends.
static LEDGER: std::sync::OnceLock<Ledger> = std::sync::OnceLock::new();

/// Connects to the first node of --ledger that answers and proves itself against the pinned
/// genesis.
/// `credctl governance ceremony …`.
/// The member's council keystore (`HOME/council`), created on first use.
fn council_store(cli: &Cli) -> Result<wallet::keystore::Keystore> {
    let dir = cli.home.join("council");
    let pw = password(cli)?;
    if dir.join("wallet.sled").exists() {
        return Ok(wallet::keystore::Keystore::open(&dir, &pw)?);
    }
    let (store, phrase) = wallet::keystore::Keystore::create(&dir, &pw, Cost::default(), &mut OsRng)?;
    out!(
        "council keystore created in {}; recovery phrase (write it down; it is not shown again):\n{}",
        dir.display(),
        phrase.words()
    );
    Ok(store)
}

async fn council_cmd(cli: &Cli, ledger: &Ledger, cmd: &CouncilCmd) -> Result<()> {
    use wallet::council::{Member, council, opening, propose_council, propose_opening};
    let key_of = |key: &PathBuf| -> Result<schemas::sm2::SecretKey> {
        ledger_node::config::open_governance_key(key, &password(cli)?)
    };
    match cmd {
        CouncilCmd::Propose {
            key,
            id,
            name,
            members,
            threshold,
        } => {
            let plan = schemas::ledger::CouncilPlan {
                id: id.clone(),
                name: name.clone(),
                members: members.clone(),
                threshold: *threshold,
            };
            let p = propose_council(ledger, &key_of(key)?, plan).await?;
            out!("council {id} ({threshold} of {}) proposed: {p}", members.len());
        }
        CouncilCmd::Enrol { key, id } | CouncilCmd::Deal { key, id } | CouncilCmd::Check { key, id } => {
            let k = key_of(key)?;
            let store = council_store(cli)?;
            let member = Member {
                key: &k,
                store: &store,
            };
            match cmd {
                CouncilCmd::Enrol { .. } => {
                    member.enrol(ledger, id).await?;
                    out!("enrolled in council {id}");
                }
                CouncilCmd::Deal { .. } => {
                    member.deal(ledger, id).await?;
                    out!("dealt in council {id}");
                }
                _ => {
                    let complained = member.check(ledger, id).await?;
                    if complained.is_empty() {
                        out!("every dealing checked; ready in council {id}");
                    } else {
                        out!("complained of dealer(s) {complained:?}; ready in council {id}");
                    }
                }
            }
        }
        CouncilCmd::Abort { key, id, reason } => {
            let (p, _) = ledger
                .submit(
                    &key_of(key)?,
                    &[],
                    TxPayload::AbortCouncil {
                        council: id.clone(),
                        reason: reason.clone(),
                    },
                )
                .await?;
            out!("abandoning council {id} proposed: {p}");
        }
        CouncilCmd::Show { id } => {
            let r = council(ledger, id).await?;
            out!(
                "council {} ({}): {} of {}",
                r.plan.id,
                r.plan.name,
                r.plan.threshold,
                r.plan.members.len()
            );
            for (i, m) in r.plan.members.iter().enumerate() {
                out!(
                    "  member {}: {m}{}{}{}",
                    i + 1,
                    if r.receiving_keys[i].is_some() {
                        ", enrolled"
                    } else {
                        ""
                    },
                    if r.dealings[i].is_some() { ", dealt" } else { "" },
                    if r.ready[i] { ", ready" } else { "" },
                );
            }
            if !r.disqualified.is_empty() {
                out!("  disqualified dealers: {:?}", r.disqualified);
            }
            match (&r.key, &r.failed) {
                (Some(k), _) => out!("  in force; key {}", hex::encode(&k.0)),
                (None, Some(why)) => out!("  failed: {why}"),
                (None, None) => out!("  key generation under way"),
            }
        }
        CouncilCmd::Open {
            key,
            presentation,
            legal_basis,
        } => {
            let p = Presentation::from_json(&read_text(presentation)?)
                .with_context(|| format!("{} is not a presentation", presentation.display()))?;
            let facts = fetch_facts(ledger, &p).await?;
            let request = wallet::verifier::opening_request(&p, &facts, legal_basis.clone())
                .map_err(|why| anyhow::anyhow!("{} cannot be opened: {why}", presentation.display()))?;
            out!(
                "the answer's escrow proof verifies against the ledger; its identity handle is escrowed to council {}",
                request.council
            );
            let p = propose_opening(ledger, &key_of(key)?, request).await?;
            out!("opening proposed: {p} (approve with `credctl governance approve {p}`)");
        }
        CouncilCmd::Share { key, opening } => {
            let k = key_of(key)?;
            let store = council_store(cli)?;
            Member {
                key: &k,
                store: &store,
            }
            .publish_share(ledger, *opening)
            .await?;
            out!("decryption share published for opening {opening}");
        }
        CouncilCmd::Opening { opening: o } => match opening(ledger, o).await? {
            None => out!("opening {o} is not approved (see /v1/proposals/{o} for its votes)"),
            Some(r) => {
                out!(
                    "opening {o}: council {}, verifier {}, legal basis {:?}; {} share(s)",
                    r.request.council,
                    r.request.verifier,
                    r.request.legal_basis,
                    r.shares.len()
                );
                match r.handle {
                    Some(h) => out!("  opened: identity handle {h}"),
                    None => out!("  not opened yet"),
                }
            }
        },
    }
    Ok(())
}

async fn ceremony_cmd(cli: &Cli, ledger: &Ledger, cmd: &CeremonyCmd) -> Result<()> {
    let setup = wallet::ceremony::Setup::new(ledger, cli.home.join("ceremony"));
    // A contribution takes seconds to minutes: a bar shows how far it is.
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos} % of the contribution ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |f: f64| bar.set_position((f * 100.0) as u64);
    match cmd {
        CeremonyCmd::Start {
            key,
            id,
            circuits,
            version,
            min_contributions,
            contributors,
        } => {
            let k = ledger_node::config::open_governance_key(key, &password(cli)?)?;
            let plan = ceremony_plan(id, circuits, *version, *min_contributions, contributors)?;
            let power = plan.power;
            let p = setup.propose(&k, plan).await?;
            out!(
                "ceremony {id} proposed (powers of tau to 2^{power}): {p}\ngovernance members approve it with `credctl governance approve {p} --key KEY`"
            );
        }
        CeremonyCmd::Contribute { key, id, circuit } => {
            let k = Contributor::open(cli, key)?;
            let c = setup.contribute(k.key(), id, circuit.as_deref(), &progress).await;
            bar.finish_and_clear();
            let c = c?;
            let chain = circuit.as_deref().unwrap_or("the powers of tau");
            if !c.derive.is_zero() {
                out!(
                    "{chain}: initial parameters derived from the final powers in {:.1} s",
                    c.derive.as_secs_f64()
                );
            }
            out!(
                "contribution {} to {chain} computed in {:.1} s ({} bytes, file {}), recorded in block {}; your randomness is wiped",
                c.index,
                c.compute.as_secs_f64(),
                c.bytes,
                c.file,
                c.height
            );
        }
        CeremonyCmd::Verify { id } => {
            let v = setup.verify(id, &|step: &str| eprintln!("  {step}")).await?;
            for line in &v.lines {
                out!("{line}");
            }
            out!(
                "ceremony {id}: {} contributions verified, {} bytes of files",
                v.contributions,
                v.bytes
            );
        }
        CeremonyCmd::Finish {
            key,
            id,
            circuit,
            proving_key_out,
        } => {
            let k = ledger_node::config::open_governance_key(key, &password(cli)?)?;
            let (p, pk, vk) = setup.propose_finish(&k, id, circuit).await?;
            wallet::keystore::write_atomic(proving_key_out, &pk.to_bytes())?;
            out!(
                "registration of {circuit} version {} proposed: {p}; proving key written to {}\nmembers approve with `credctl governance approve {p} --key KEY` (it verifies the transcript first)",
                vk.version(),
                proving_key_out.display()
            );
        }
        CeremonyCmd::Keys {
            id,
            circuit,
            proving_key_out,
        } => {
            let (pk, _) = setup.keys(id, circuit).await?;
            wallet::keystore::write_atomic(proving_key_out, &pk.to_bytes())?;
            out!(
                "proving key of {circuit} written to {}",
                proving_key_out.display()
            );
        }
    }
    Ok(())
}

/// A ceremony plan from the command line: every circuit shape by default, powers of tau sized
/// for the largest circuit named.
fn ceremony_plan(
    id: &str,
    circuits: &[String],
    version: u32,
    min_contributions: u16,
    contributors: &[String],
) -> Result<schemas::ledger::CeremonyPlan> {
    let circuits: Vec<String> = if circuits.is_empty() {
        zk::unlinkable::CircuitShape::SHAPES
            .iter()
            .map(|s| s.id())
            .collect()
    } else {
        circuits.to_vec()
    };
    let mut power = zk::ceremony::MIN_POWER;
    for c in &circuits {
        let shape =
            zk::unlinkable::CircuitShape::from_id(c).with_context(|| format!("unknown circuit {c:?}"))?;
        let p = zk::ceremony::domain_power(shape)?;
        power = power.max(u8::try_from(p).unwrap_or(u8::MAX));
    }
    let contributors = contributors
        .iter()
        .map(|d| {
            d.parse::<schemas::Did>()
                .map_err(|e| anyhow::anyhow!("contributor {d:?}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(schemas::ledger::CeremonyPlan {
        id: id.to_owned(),
        version,
        circuits,
        power,
        min_contributions,
        contributors,
    })
}

/// A ceremony contributor: a governance member (its sealed key file) or an admitted issuer (its
/// folder).
enum Contributor {
    Member(schemas::sm2::SecretKey),
    Issuer(Identity),
}

impl Contributor {
    fn open(cli: &Cli, key: &Path) -> Result<Self> {
        if key.is_dir() {
            return Ok(Contributor::Issuer(Identity::open(key, &password(cli)?)?));
        }
        Ok(Contributor::Member(ledger_node::config::open_governance_key(
            key,
            &password(cli)?,
        )?))
    }

    fn key(&self) -> &schemas::sm2::SecretKey {
        match self {
            Contributor::Member(k) => k,
            Contributor::Issuer(id) => id.key(),
        }
    }
}

async fn connect(cli: &Cli) -> Result<Ledger> {
    if let Some(l) = LEDGER.get() {
        return Ok(l.clone());
    }
    trust(cli)?;
    let (ledger, _) = trust_file(cli)
        .connect_any(nodes(cli), &PinSource::default())
        .await?;
    Ok(LEDGER.get_or_init(|| ledger).clone())
}

/// Asks a yes/no `question` on the terminal; only "y" is yes.
fn confirm(question: &str) -> Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("y"))
}

/// `credctl trust`: shows the node's genesis and pins it once its fingerprint is confirmed;
/// on a home that pins one already, shows it (and refuses another fingerprint or genesis).
async fn pin(cli: &Cli, fingerprint: Option<&str>) -> Result<()> {
    let fingerprint = fingerprint
        .map(|f| parse_hash(f.trim()).map_err(anyhow::Error::msg))
        .transpose()?;
    let file = trust_file(cli);
    if cli.genesis.is_some() || file.load()?.is_some() {
        // A damaged file is an error here too, never "nothing pinned".
        let t = trust(cli)?;
        if let Some(f) = fingerprint.filter(|f| *f != t.fingerprint()) {
            bail!(
                "{} pins chain {} (genesis fingerprint {}), not the fingerprint given ({f}): use \
                 another --home for another consortium",
                cli.home.display(),
                t.genesis.chain_id,
                t.fingerprint()
            );
        }
        out!("{} pins chain {}", cli.home.display(), t.genesis.chain_id);
        out!("genesis fingerprint {}", t.fingerprint());
        out!(
            "validator set epoch {} ({} validators); highest block seen {}",
            t.validators.epoch,
            t.validators.len(),
            t.height
        );
        return Ok(());
    }
    let node = nodes(cli).next().ok_or(PinError::NoNodes)?;
    let served = Ledger::served_genesis(node).await?;
    let t = Trust::new(served);
    out!(
        "the node at {} serves chain {} with {} genesis validators\ngenesis fingerprint {}",
        node,
        t.genesis.chain_id,
        t.validators.len(),
        t.fingerprint()
    );
    match fingerprint {
        Some(f) if f != t.fingerprint() => bail!(
            "the node's genesis does not have the fingerprint given: nothing pinned; ask the consortium which node to trust"
        ),
        Some(_) => {}
        None => {
            if !confirm("Is this the fingerprint your consortium published?")? {
                bail!("not confirmed: nothing pinned");
            }
        }
    }
    file.save(&t)?;
    // From here on the node is checked like any other: its validator-set changes must prove.
    connect(cli).await?;
    out!("pinned in {}", file.path().display());
    Ok(())
}

async fn run(cli: &Cli) -> Result<std::process::ExitCode> {
    let ok = std::process::ExitCode::SUCCESS;
    let cost = Cost::default();
    match &cli.command {
        Command::Demo {
            dir,
            diplomas,
            base_port,
        } => {
            let opts = credctl::demo::DemoOptions {
                dir: dir.clone(),
                diplomas: *diplomas,
                base_port: *base_port,
            };
            out!("Credence demo: an embedded consortium and the whole credential story");
            let mut say = |line: String| out!("{line}");
            let s = credctl::demo::run(&opts, &mut say).await?;
            out!(
                "\nDemo complete: {} diplomas in {:.2} s; revoked diploma refused; nullifiers differ; replay refused.",
                s.diplomas,
                s.issue_secs
            );
        }
        Command::Issuer(cmd) => {
            let dir = cli.home.join("issuer");
            match cmd {
                IssuerCmd::Init { name } => {
                    let (id, phrase) = Identity::create(&dir, name, &password(cli)?, cost)?;
                    out!("issuer {} ({}) created in {}", id.name(), id.did(), dir.display());
                    out!(
                        "recovery phrase (write it down; it is not shown again):\n{}",
                        phrase.words()
                    );
                }
                IssuerCmd::Register { types } => {
                    let id = Identity::open(&dir, &password(cli)?)?;
                    let ledger = connect(cli).await?;
                    let p = id.register_issuer(&ledger, types.clone()).await?;
                    out!(
                        "registration proposed: {p}\ngovernance members approve it with `credctl governance approve {p} --key KEY`"
                    );
                }
                IssuerCmd::PublishSchema { file } => {
                    let id = Identity::open(&dir, &password(cli)?)?;
                    let text = read_text(file)?;
                    let schema = CredentialSchema::from_json(&text)?;
                    let ledger = connect(cli).await?;
                    let height = id.publish_schema(&ledger, &schema).await?;
                    out!("schema {} published in block {height}", schema.id());
                }
                IssuerCmd::Offer {
                    batch,
                    public_url,
                    days,
                    replace,
                } => {
                    if !(1..=366).contains(days) {
                        bail!("--days is 1 to 366");
                    }
                    let n = credctl::issuance::make_offers(
                        batch,
                        public_url,
                        days * 86_400,
                        wallet::now(),
                        *replace,
                    )?;
                    out!(
                        "{n} offers written to {} (links and transaction codes: send each holder the link and the code by different channels); serve them with `credctl issuer serve --batch {}`",
                        batch.join("offers.csv").display(),
                        batch.display()
                    );
                }
                IssuerCmd::Serve {
                    batch,
                    listen,
                    tls_cert,
                    tls_key,
                } => {
                    let id = Identity::open(&dir, &password(cli)?)?;
                    let tls = match ledger_node::tls::pair(tls_cert.as_deref(), tls_key.as_deref())? {
                        Some(files) => Some(files.load().await?),
                        None => None,
                    };
                    let issuer = credctl::issuance::Issuer::open(batch, id.name())?;
                    let listener = tokio::net::TcpListener::bind(listen)
                        .await
                        .with_context(|| format!("cannot listen on {listen}"))?;
                    out!("issuer service (OpenID4VCI) on {listen} for {}", batch.display());
                    let app = credctl::issuance::router(issuer);
                    ledger_node::tls::serve(listener, app, tls, std::future::pending()).await?;
                }
            }
        }
        Command::Issue(a) => {
            let id = Identity::open(&cli.home.join("issuer"), &password(cli)?)?;
            let schema = schema_arg(&a.schema)?;
            let mut ledger = connect(cli).await?;
            if let Some(url) = &a.public_url {
                let url = url.trim_end_matches('/');
                schemas::credential::check_base_url(url).map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
                ledger.public_url = Some(url.to_owned());
            }
            let rows = wallet::issuer::count_rows(&a.input)?;
            let bar = ProgressBar::new(rows as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            if rows < 10_000 {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let now = wallet::now();
            let started = std::time::Instant::now();
            // Streamed: the input is read, issued and staged a chunk at a time; only the batch
            // trees stay in memory (about 64 bytes per credential).
            let (batch, height) = id
                .issue_file_and_anchor(
                    &ledger,
                    &schema,
                    &a.input,
                    &a.out,
                    (now, a.valid_days.map(|d| now + d * 86_400)),
                    a.unlinkable,
                    &|n| bar.inc(n),
                )
                .await?;
            let issued = started.elapsed();
            bar.finish_and_clear();
            let (count, root, rejected) = (batch.count, batch.root, batch.rejected.clone());
            let writing = std::time::Instant::now();
            batch
                .write(&a.out, a.files)
                .with_context(|| format!("writing {}", a.out.display()))?;
            let written = writing.elapsed();
            for r in &rejected {
                eprintln!("line {}: {}", r.line, r.reason);
            }
            out!(
                "{count} credentials issued and anchored in block {height} ({:.2} s, {:.0}/s, reading the input included); {} rows refused",
                issued.as_secs_f64(),
                count as f64 / issued.as_secs_f64(),
                rejected.len()
            );
            out!(
                "batch root {root}; written to {} in {:.2} s",
                a.out.display(),
                written.as_secs_f64()
            );
        }
        Command::Revoke { indexes, list } => {
            let id = Identity::open(&cli.home.join("issuer"), &password(cli)?)?;
            let ledger = connect(cli).await?;
            let h = id.revoke(&ledger, *list, indexes.clone()).await?;
            out!("{} credential(s) revoked in block {h}", indexes.len());
        }
        Command::Governance(cmd) => {
            let ledger = connect(cli).await?;
            match cmd {
                GovernanceCmd::Approve { proposal, key } => {
                    let k = ledger_node::config::open_governance_key(key, &password(cli)?)?;
                    // A ceremony's finish is approved only after verifying its whole transcript:
                    // the approvers, not the proposer, vouch for the key's input points.
                    let setup = wallet::ceremony::Setup::new(&ledger, cli.home.join("ceremony"));
                    match setup
                        .check_finish(proposal, &|step: &str| eprintln!("  {step}"))
                        .await
                    {
                        Ok(v) => {
                            for line in &v.lines {
                                out!("{line}");
                            }
                            let h = approve(&ledger, &k, *proposal).await?;
                            out!("transcript verified; approved in block {h}");
                        }
                        Err(wallet::ceremony::SetupError::State(reason))
                            if reason.ends_with("does not finish a ceremony") =>
                        {
                            let h = approve(&ledger, &k, *proposal).await?;
                            out!("approved in block {h}");
                        }
                        Err(e) => bail!("not approved: {e}"),
                    }
                }
                GovernanceCmd::Ceremony(cmd) => ceremony_cmd(cli, &ledger, cmd).await?,
                GovernanceCmd::Council(cmd) => council_cmd(cli, &ledger, cmd).await?,
                GovernanceCmd::RetireCircuit {
                    key,
                    circuit,
                    version,
                } => {
                    let k = ledger_node::config::open_governance_key(key, &password(cli)?)?;
                    let p = propose_retirement(&ledger, &k, circuit, *version).await?;
                    out!("retirement of {circuit} version {version} proposed: {p}");
                }
            }
        }
        Command::Wallet(cmd) => return wallet_cmd(cli, cmd).await,
        Command::Verifier(cmd) => {
            let dir = cli.home.join("verifier");
            match cmd {
                VerifierCmd::Init { name } => {
                    let (id, phrase) = Identity::create(&dir, name, &password(cli)?, cost)?;
                    out!(
                        "verifier {} ({}) created in {}",
                        id.name(),
                        id.did(),
                        dir.display()
                    );
                    out!(
                        "recovery phrase (write it down; it is not shown again):\n{}",
                        phrase.words()
                    );
                }
                VerifierCmd::Register {
                    credential_type,
                    disclose,
                    predicates,
                    purposes,
                    nullifier_scope,
                    escrow,
                } => {
                    for p in predicates {
                        wallet::verifier::PredicateScope::parse(p).map_err(anyhow::Error::msg)?;
                    }
                    let id = Identity::open(&dir, &password(cli)?)?;
                    let ledger = connect(cli).await?;
                    let scope = ScopeItem {
                        credential_type: credential_type.clone(),
                        disclose: disclose.clone(),
                        predicates: predicates.clone(),
                        escrow: escrow.clone(),
                    };
                    let p = id
                        .register_verifier(&ledger, vec![scope], purposes.clone(), nullifier_scope.clone())
                        .await?;
                    out!(
                        "registration proposed: {p}\ngovernance members approve it with `credctl governance approve {p} --key KEY`"
                    );
                }
                VerifierCmd::Openapi => {
                    println!("{}", credctl::service::openapi().to_pretty_json()?);
                }
                VerifierCmd::Serve {
                    listen,
                    offline,
                    tokens,
                    public_url,
                    tls_cert,
                    tls_key,
                    templates,
                } => {
                    let tls = match ledger_node::tls::pair(tls_cert.as_deref(), tls_key.as_deref())? {
                        Some(files) => Some(files.load().await?),
                        None => None,
                    };
                    let scheme = if tls.is_some() { "https" } else { "http" };
                    let tokens = match tokens {
                        Some(f) => credctl::service::read_tokens(&read_text(f)?)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?,
                        None => Vec::new(),
                    };
                    let templates = match templates {
                        Some(f) => credctl::service::read_templates(&read_text(f)?)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?,
                        None => Vec::new(),
                    };
                    let id = Identity::open(&dir, &password(cli)?)?;
                    let guard = ReplayGuard::open(&dir)?;
                    let source = if *offline {
                        ServeSource::Offline(trust(cli)?)
                    } else {
                        ServeSource::Online(connect(cli).await?)
                    };
                    let listener = tokio::net::TcpListener::bind(listen)
                        .await
                        .with_context(|| format!("cannot listen on {listen}"))?;
                    let public_url = public_url.clone().unwrap_or_else(|| {
                        format!(
                            "{scheme}://{}",
                            listener
                                .local_addr()
                                .map_or_else(|_| listen.clone(), |a| a.to_string())
                        )
                    });
                    out!(
                        "verifier service on {scheme}://{listen} (the staff's page at /, POST /v1/requests, POST /v1/verify, OpenID4VP); holders answer at {public_url}"
                    );
                    let app = credctl::service::router(id, guard, source, &tokens, &public_url, templates);
                    ledger_node::tls::serve(listener, app, tls, std::future::pending()).await?;
                }
            }
        }
        Command::Request(a) => {
            let dir = cli.home.join("verifier");
            let id = Identity::open(&dir, &password(cli)?)?;
            let predicates = a
                .predicates
                .iter()
                .map(|p| wallet::tier::parse_predicate(p).map_err(anyhow::Error::msg))
                .collect::<Result<Vec<_>>>()?;
            let spec = RequestSpec {
                credential_type: a.credential_type.clone(),
                accepted_issuers: a.issuers.clone(),
                disclose: a.disclose.clone(),
                predicates,
                purpose: a.purpose.clone(),
                ttl_secs: a.ttl,
                tier: match a.tier {
                    TierArg::Selective => Tier::Selective,
                    TierArg::Unlinkable => Tier::Unlinkable,
                },
            };
            spec.check().map_err(anyhow::Error::msg)?;
            let channel = match &a.answer_at {
                Some(url) => {
                    let c = wallet::verifier::new_channel(url.clone(), &mut OsRng);
                    c.check().map_err(|e| anyhow::anyhow!("--answer-at: {e}"))?;
                    Some(c)
                }
                None => None,
            };
            let r = wallet::verifier::make_request_on(id.key(), &spec, channel, wallet::now(), &mut OsRng);
            ReplayGuard::open(&dir)?.remember(&r)?;
            write_json(&a.out, &r)?;
            out!("request {} written to {}", r.request.nonce, a.out.display());
            if let Some(c) = &r.request.channel {
                out!(
                    "session {} (the holder's wallet shows it; answers go to {})",
                    c.session,
                    c.response_uri
                );
            }
        }
        Command::Verify {
            presentation,
            offline,
            max_status_age,
        } => {
            let p = Presentation::from_json(&read_text(presentation)?)
                .with_context(|| format!("{} is not a presentation", presentation.display()))?;
            let dir = cli.home.join("verifier");
            let me = Identity::open(&dir, &password(cli)?).ok().map(|i| i.did());
            let guard = ReplayGuard::open(&dir)?;
            let report = if *offline {
                let trust = trust(cli)?;
                verify_with(
                    &p,
                    Source::Offline {
                        trust: &trust,
                        max_status_age_secs: *max_status_age,
                    },
                    me.as_ref(),
                    &guard,
                )
            } else {
                let ledger = connect(cli).await?;
                let facts = fetch_facts(&ledger, &p).await?;
                verify_with(&p, Source::Online(facts), me.as_ref(), &guard)
            };
            for l in report.lines() {
                out!("{l}");
            }
            if !report.passed() {
                return Ok(std::process::ExitCode::FAILURE);
            }
            for (n, v) in &report.disclosed {
                out!("disclosed: {n} = {v}");
            }
            for p in &report.proven {
                out!("proven:    {p}");
            }
            if let Some(n) = report.nullifier {
                out!(
                    "nullifier: {n} (seen {} time(s) before)",
                    report.nullifier_seen_before
                );
            }
        }
        Command::Trust { fingerprint } => pin(cli, fingerprint.as_deref()).await?,
        Command::Dev(DevCmd::SampleClass { count, out }) => sample_class(*count, out)?,
    }
    Ok(ok)
}

fn verify_with(
    p: &Presentation,
    source: Source<'_>,
    me: Option<&schemas::Did>,
    guard: &ReplayGuard,
) -> Report {
    wallet::verifier::verify(
        p,
        &Context {
            source,
            now: wallet::now(),
            verifier: me,
            guard: Some(guard),
            cache: None,
        },
    )
}

async fn wallet_cmd(cli: &Cli, cmd: &WalletCmd) -> Result<std::process::ExitCode> {
    let dir = cli.home.join("wallet");
    if let WalletCmd::Init = cmd {
        let (h, phrase) = Holder::create(&dir, &password(cli)?, Cost::default())?;
        out!("wallet {} created in {}", h.did(), dir.display());
        out!(
            "recovery phrase (write it down; it is not shown again):\n{}",
            phrase.words()
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let h = Holder::open(&dir, &password(cli)?)?;
    match cmd {
        WalletCmd::Init => {}
        WalletCmd::Id => out!("{}", serde_json::to_string_pretty(&h.binding())?),
        WalletCmd::Import { file } => {
            let ledger = connect(cli).await?;
            let s = h.import(&read_text(file)?, &ledger, wallet::now()).await?;
            out!("{}", imported(&s));
        }
        WalletCmd::Accept { offer, tx_code } => {
            let read = wallet::exchange::read_offer(offer).await?;
            out!(
                "{} offers {} (issuer {})",
                read.issuer_name.as_deref().unwrap_or("an issuer"),
                read.offer.credential_configuration_ids.join(", "),
                read.offer.credential_issuer
            );
            let typed;
            let tx_code = match tx_code {
                Some(t) => Some(t.as_str()),
                None if read.needs_tx_code() => {
                    eprint!("transaction code: ");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    typed = line;
                    Some(typed.trim())
                }
                None => None,
            };
            let ledger = connect(cli).await?;
            let s = wallet::exchange::accept_offer(&h, &read, tx_code, &ledger, wallet::now()).await?;
            out!("{}", imported(&s));
        }
        WalletCmd::List => {
            for s in h.list()? {
                out!("{}  {:<26} {}", s.id, s.credential_type, s.issuer_name);
            }
        }
        WalletCmd::Show { id } => {
            let (s, attrs) = h.show(id)?;
            out!("{}", serde_json::to_string_pretty(&s)?);
            for (n, v) in attrs {
                out!("  {n}: {v}");
            }
        }
        WalletCmd::Answer {
            request,
            out,
            credential,
            proving_key,
            yes,
            decline,
        } => {
            let is_link = schemas::openid4vp::is_link(request);
            if *decline && !is_link {
                bail!("--decline answers an openid4vp:// link; for a request file, send nothing");
            }
            let exchange = if is_link {
                let opened = wallet::exchange::open(request).await?;
                if *decline {
                    let told = wallet::exchange::refuse(&opened).await?;
                    out!("{}", told.line());
                    return Ok(if told.accepted() {
                        std::process::ExitCode::SUCCESS
                    } else {
                        std::process::ExitCode::FAILURE
                    });
                }
                out!("request fetched; answers go to {}", opened.response_uri);
                Some(opened)
            } else {
                if out.is_none() {
                    bail!("give --out FILE: where to write the presentation for a request file");
                }
                None
            };
            let r = match &exchange {
                Some(x) => x.credence_request.clone(),
                None => SignedRequest::from_json(&read_text(Path::new(request))?)
                    .with_context(|| format!("{request} is not a presentation request"))?,
            };
            let ledger = connect(cli).await?;
            let pending = h
                .prepare(r, credential.as_deref(), &ledger, wallet::now())
                .await?;
            for l in pending.consent.lines() {
                out!("{l}");
            }
            if !pending.consent.in_scope() {
                // Not told by itself: a refusal after looking at the credentials would tell the
                // verifier the holder has one that fits.
                bail!(
                    "refused: the request goes beyond what the verifier registered on the ledger{}",
                    if exchange.is_some() {
                        " (the verifier was not told; `credctl wallet answer LINK --decline` tells it you decline)"
                    } else {
                        ""
                    }
                );
            }
            if !yes && !confirm("Send this?")? {
                match &exchange {
                    Some(x) => {
                        let told = wallet::exchange::refuse(x).await?;
                        out!("declined; {}", told.line());
                    }
                    None => out!("declined; nothing was sent"),
                }
                return Ok(std::process::ExitCode::FAILURE);
            }
            let pk = match proving_key {
                Some(f) => Some(zk::unlinkable::ProvingKey::from_bytes(
                    &std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
                )?),
                None => None,
            };
            let p = tokio::task::block_in_place(|| h.present(&pending, pk.as_ref(), wallet::now()))?;
            if let Some(out) = out {
                write_json(out, &p)?;
                out!("presentation written to {}", out.display());
            }
            if let Some(x) = &exchange {
                let delivered = wallet::exchange::send(x, &p).await?;
                out!("{}", delivered.line());
                if !delivered.accepted() {
                    return Ok(std::process::ExitCode::FAILURE);
                }
            }
        }
        WalletCmd::History => {
            for d in h.history()? {
                let when = schemas::credential::rfc3339(d.at).unwrap_or_default();
                out!(
                    "{when}  {} ({})  purpose: {}\n    revealed: {:?}\n    proven:   {:?}",
                    d.verifier_name.as_deref().unwrap_or("unregistered"),
                    d.verifier,
                    d.purpose,
                    d.disclosed,
                    d.proven
                );
                if let Some(e) = &d.escrow {
                    out!("    escrowed: your identity handle, to council {}", e.council);
                }
            }
        }
        WalletCmd::Openings => {
            let ledger = connect(cli).await?;
            let seen = h.openings(&ledger).await?;
            if seen.is_empty() {
                out!("no opening proposal names any answer this wallet gave");
            }
            for o in seen {
                out!("{}", o.line());
            }
        }
        WalletCmd::Backup { file } => {
            h.store().backup(file)?;
            out!(
                "encrypted backup written to {}; restore it with the recovery phrase",
                file.display()
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// What `wallet import` and `wallet accept` say of a credential the wallet now holds.
fn imported(s: &wallet::holder::CredentialSummary) -> String {
    format!(
        "imported {} {} from {} (anchored, proven at block {})",
        s.credential_type, s.id, s.issuer_name, s.anchored_at
    )
}

fn sample_class(count: usize, out: &Path) -> Result<()> {
    use rayon::prelude::*;
    let rows: Vec<String> = (0..count)
        .into_par_iter()
        .map(|i| {
            let key = schemas::sm2::SecretKey::generate(&mut OsRng);
            format!(
                "Graduate {i},{},Bachelor of Science,Mathematics,{}.{:02},2026-07-01,{}",
                2026000000 + i,
                2 + i % 2,
                i % 100,
                hex::encode(key.public_key().to_sec1())
            )
        })
        .collect();
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
    );
    writeln!(f, "name,student_id,degree,major,gpa,graduation_date,holder_key")?;
    for r in rows {
        writeln!(f, "{r}")?;
    }
    f.flush()?;
    out!("{count} rows written to {}", out.display());
    Ok(())
}

//! `ledger-node`: run a Credence consortium node, build a consortium, or bring up a devnet.
//!
//! ```text
//! ledger-node init --dir node-a --name "Peking University" --p2p-port 26600 --api-port 26700
//! ledger-node governance-init --dir gov-a --name "Ministry of Education"
//! ledger-node genesis --chain-id credence-main --member node-*/member.json --governance gov-*/governance.json --out genesis.json
//! ledger-node run --config node-a/node.toml
//! ledger-node devnet [--validators 4] [--observers 1] [--dir DIR]
//! ledger-node status [--api URL]
//! ledger-node bench --devnet DIR/devnet.json
//! ```

use anyhow::{Context, Result, bail};

/// mimalloc instead of glibc's malloc: a node allocates and frees small buffers per transaction
/// and per message, and glibc's allocator was a sixth of a validator's CPU at peak load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use ledger_node::config::{self, DevnetFile, NodeFile};
use ledger_node::keys::{MemberFile, Role};
use schemas::ledger::GovernanceMember;
use schemas::seal::Cost;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Credence ledger node: a PBFT consortium ledger with SM2/SM3 and proofs for every read"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node's keys (sealed with a password), its member file and a default node.toml.
    Init {
        /// Folder to create.
        #[arg(long)]
        dir: PathBuf,
        /// The operator's name for this node.
        #[arg(long)]
        name: String,
        /// Validator or observer.
        #[arg(long, value_enum, default_value = "validator")]
        role: Role,
        /// p2p port (the member file advertises 127.0.0.1; edit `address` for other hosts).
        #[arg(long, default_value_t = 26600)]
        p2p_port: u16,
        /// HTTP API port.
        #[arg(long, default_value_t = 26700)]
        api_port: u16,
        /// File whose first line is the password (else CREDENCE_NODE_PASSWORD).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Create a governance member's key (sealed) and its public record.
    GovernanceInit {
        /// Folder to create.
        #[arg(long)]
        dir: PathBuf,
        /// The member's name (e.g. "Ministry of Education").
        #[arg(long)]
        name: String,
        /// File whose first line is the password (else CREDENCE_NODE_PASSWORD).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Build a consortium genesis from member files.
    Genesis {
        /// Chain id.
        #[arg(long)]
        chain_id: String,
        /// Node member files (`member.json`).
        #[arg(long = "member", required = true)]
        members: Vec<PathBuf>,
        /// Governance member files (`governance.json`).
        #[arg(long = "governance", required = true)]
        governance: Vec<PathBuf>,
        /// Governance approvals a registration needs (default: a majority).
        #[arg(long)]
        approvals: Option<u16>,
        /// Where to write the genesis.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a node.
    Run {
        /// The node's TOML config.
        #[arg(long)]
        config: PathBuf,
        /// Stop when the process that started this one exits (devnets and tests use it, so a
        /// killed parent leaves no node behind).
        #[arg(long)]
        exit_with_parent: bool,
        /// Fault drills: SIGUSR1 cuts every link to the other nodes at the transport (the node
        /// runs on, isolated), SIGUSR2 heals them. Off unless given.
        #[arg(long)]
        fault_signals: bool,
    },
    /// Create and run a whole consortium on loopback, one process per node.
    Devnet {
        /// Validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Supervisory (observer) nodes.
        #[arg(long, default_value_t = 1)]
        observers: usize,
        /// Folder for keys, genesis, configs and data (default: a new temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// First p2p port; APIs listen from this + 100.
        #[arg(long, default_value_t = 26600)]
        base_port: u16,
        /// Only write the devnet's files; do not start the nodes.
        #[arg(long)]
        init_only: bool,
    },
    /// Print the API's OpenAPI 3.1 document (what `/openapi.json` serves).
    Openapi,
    /// Show a node's status.
    Status {
        /// API base URL.
        #[arg(long, default_value = "http://127.0.0.1:26700")]
        api: String,
    },
    /// Drive a running devnet and report throughput and latency against the CPU bound.
    Bench {
        /// The devnet's `devnet.json`.
        #[arg(long)]
        devnet: PathBuf,
        /// Transactions in the peak phase.
        #[arg(long, default_value_t = 4_000)]
        transactions: usize,
        /// Issuers the load is spread over.
        #[arg(long, default_value_t = 16)]
        issuers: usize,
        /// Requests in flight at peak.
        #[arg(long, default_value_t = 64)]
        in_flight: usize,
        /// Seconds of the half-load phase.
        #[arg(long, default_value_t = 10)]
        half_load_secs: u64,
        /// The steady phase's offered rate, tx/s (default: half the measured peak), to see
        /// latency at another load.
        #[arg(long)]
        rate: Option<f64>,
        /// Then run the half-load phase again and kill the primary (SIGKILL) a quarter of the
        /// way in; the devnet restarts it. Needs a devnet started by `ledger-node devnet`.
        #[arg(long)]
        kill_primary: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,libp2p=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init {
            dir,
            name,
            role,
            p2p_port,
            api_port,
            password_file,
        } => {
            refuse_existing(&dir.join("node.key"))?;
            let pw = config::password(password_file.as_deref())?;
            let m = config::init_node(&dir, &name, role, p2p_port, api_port, &pw, Cost::default())?;
            println!("created {} ({:?}), peer id {}", dir.display(), m.role, m.peer_id);
            println!("share {} with the consortium", dir.join("member.json").display());
            Ok(())
        }
        Command::GovernanceInit {
            dir,
            name,
            password_file,
        } => {
            refuse_existing(&dir.join("governance.key"))?;
            let pw = config::password(password_file.as_deref())?;
            let m = config::init_governance(&dir, &name, &pw, Cost::default())?;
            println!("created governance member {} ({})", m.name, m.did);
            Ok(())
        }
        Command::Openapi => {
            println!("{}", ledger_node::api::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Genesis {
            chain_id,
            members,
            governance,
            approvals,
            out,
        } => {
            let members: Vec<MemberFile> = members
                .iter()
                .map(|p| config::read_json(p))
                .collect::<Result<_>>()?;
            let gov: Vec<GovernanceMember> = governance
                .iter()
                .map(|p| config::read_json(p))
                .collect::<Result<_>>()?;
            let approvals = approvals.unwrap_or((gov.len() / 2 + 1) as u16);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as u64;
            let g = config::build_genesis(&chain_id, &members, gov, approvals, now)?;
            config::write_atomic(&out, serde_json::to_string_pretty(&g)?.as_bytes())?;
            println!(
                "wrote {}: {} validators, {} observers, {} governance members ({} approvals needed)",
                out.display(),
                g.validators.len(),
                g.observers.len(),
                g.governance.members.len(),
                approvals
            );
            Ok(())
        }
        Command::Run {
            config,
            exit_with_parent,
            fault_signals,
        } => {
            let file = NodeFile::load(&config)?;
            let cfg = file.node_config()?;
            runtime()?.block_on(async move {
                let node = ledger_node::node::start(cfg).await?;
                println!("node {} serving http://{}", node.peer_id, node.api);
                if fault_signals {
                    link_cut_signals(node.network.clone())?;
                }
                // Until Ctrl-C, SIGTERM or the parent's exit; a fatal error inside the node
                // ends the process too (with the error), instead of leaving its API up.
                let shutdown = async {
                    let signal = tokio::select! {
                        r = tokio::signal::ctrl_c() => r,
                        r = terminate() => r,
                        () = parent_gone(exit_with_parent) => Ok(()),
                    };
                    if let Err(e) = signal {
                        eprintln!("ledger-node: cannot watch for signals ({e}); stopping");
                    }
                };
                node.run_until(shutdown).await
            })
        }
        Command::Devnet {
            validators,
            observers,
            dir,
            base_port,
            init_only,
        } => {
            let dir = match dir {
                Some(d) => d,
                None => std::env::temp_dir().join(format!("credence-devnet-{}", std::process::id())),
            };
            if dir.join("devnet.json").exists() {
                println!("reusing the devnet in {}", dir.display());
            } else {
                config::create_devnet(&dir, validators, observers, base_port, base_port + 100)?;
            }
            let devnet: DevnetFile = config::read_json(&dir.join("devnet.json"))?;
            print_devnet(&devnet);
            if init_only {
                return Ok(());
            }
            runtime()?.block_on(run_devnet(&devnet))
        }
        Command::Status { api } => runtime()?.block_on(async move {
            let c = ledger_api::Client::new(&api);
            let s = c.status().await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            Ok(())
        }),
        Command::Bench {
            devnet,
            transactions,
            issuers,
            in_flight,
            half_load_secs,
            rate,
            kill_primary,
        } => {
            let d: DevnetFile = config::read_json(&devnet)?;
            let opts = ledger_node::load::LoadOptions {
                transactions,
                issuers,
                in_flight,
                half_load_secs,
                rate,
                kill_primary,
            };
            let report = runtime()?.block_on(ledger_node::load::run(&d, &opts))?;
            println!("{report}");
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
    }
}

fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        bail!("{} already exists; refusing to overwrite a key", path.display());
    }
    Ok(())
}

/// Returns when the parent process has exited (this one was re-parented), if asked to watch.
async fn parent_gone(watch: bool) {
    if !watch {
        return std::future::pending().await;
    }
    let parent = std::os::unix::process::parent_id();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

async fn terminate() -> std::io::Result<()> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?
        .recv()
        .await;
    Ok(())
}

fn print_devnet(d: &DevnetFile) {
    println!("devnet {} ({} nodes)", d.chain_id, d.nodes.len());
    for n in &d.nodes {
        println!(
            "  {:<12} {:<9} api {}  p2p {}",
            n.name,
            format!("{:?}", n.role).to_lowercase(),
            n.api,
            n.p2p
        );
    }
    println!("  genesis    {}", d.genesis.display());
    for k in &d.governance_keys {
        println!("  governance {}", k.display());
    }
    println!("  password   {} (development only)", d.password_file.display());
}

/// How long the devnet waits before restarting a node that exited.
const RESTART_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts node `n` as a `ledger-node run` process (log appended to `node.log`, pid written to
/// `node.pid` so tools can stop it).
fn start_node(exe: &Path, n: &config::DevnetNode) -> Result<tokio::process::Child> {
    let dir = n.config.parent().context("node config has no folder")?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("node.log"))?;
    let child = tokio::process::Command::new(exe)
        .arg("run")
        .arg("--exit-with-parent")
        .arg("--config")
        .arg(&n.config)
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", n.name))?;
    if let Some(pid) = child.id() {
        std::fs::write(dir.join("node.pid"), pid.to_string())?;
    }
    Ok(child)
}

/// Starts one `ledger-node run` process per node; a node that exits is reported and restarted
/// after [`RESTART_AFTER`] while the others keep running; Ctrl-C or SIGTERM stops them all.
async fn run_devnet(d: &DevnetFile) -> Result<()> {
    let exe = std::env::current_exe()?;
    for n in &d.nodes {
        let dir = n.config.parent().context("node config has no folder")?;
        std::fs::File::create(dir.join("node.log"))?;
    }
    let mut children = Vec::new();
    for (i, n) in d.nodes.iter().enumerate() {
        children.push((i, start_node(&exe, n)?));
    }
    let first = ledger_api::Client::new(&d.nodes[0].api);
    for _ in 0..200 {
        if first.status().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!("devnet running; logs in each node's folder (node.log). Ctrl-C stops it.");
    let mut exits = futures::stream::FuturesUnordered::new();
    let watch = |i: usize, mut child: tokio::process::Child| async move { (i, child.wait().await) };
    for (i, child) in children {
        exits.push(watch(i, child));
    }
    use futures::StreamExt as _;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate() => break,
            Some((i, status)) = exits.next() => {
                let n = &d.nodes[i];
                let how = match status {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                };
                println!(
                    "{} exited ({how}); the others keep running; restarting it in {} s (see {})",
                    n.name,
                    RESTART_AFTER.as_secs(),
                    n.config.with_file_name("node.log").display()
                );
                tokio::time::sleep(RESTART_AFTER).await;
                let child = start_node(&exe, n)?;
                println!("{} restarted", n.name);
                exits.push(watch(i, child));
            }
        }
    }
    println!("stopping the devnet");
    Ok(())
}

/// SIGUSR1 cuts the node's links, SIGUSR2 heals them (`run --fault-signals`).
fn link_cut_signals(net: ledger_node::network::Network) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut cut = signal(SignalKind::user_defined1())?;
    let mut heal = signal(SignalKind::user_defined2())?;
    tokio::spawn(async move {
        loop {
            let c = tokio::select! {
                Some(()) = cut.recv() => true,
                Some(()) = heal.recv() => false,
                else => break,
            };
            println!("fault drill: links {}", if c { "cut" } else { "healed" });
            net.cut(c).await;
        }
    });
    Ok(())
}

//! `ledger-sim`: runs the PBFT simulator over many seeds and replays any failure.
//!
//! ```text
//! ledger-sim --seeds 1000 [--start S] [--replicas 4] [--byzantine 1]
//! ledger-sim --seeds 1 --start 1234 --trace      # replay one seed with a trace
//! ```

use anyhow::{Result, bail};
use clap::Parser;
use pbft::BrokenRules;
use pbft_sim::{SimOptions, run};
use rayon::prelude::*;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "Deterministic fault-injecting simulation of Credence's PBFT consensus")]
struct Args {
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Validators (n = 3f + 1 recommended: 4, 7, 10).
    #[arg(long, default_value_t = 4)]
    replicas: usize,
    /// Byzantine validators (at most f).
    #[arg(long, default_value_t = 1)]
    byzantine: usize,
    /// Client transactions per run.
    #[arg(long, default_value_t = 24)]
    transactions: usize,
    /// Chance, per mille, that a message is lost before the network heals.
    #[arg(long, default_value_t = 50)]
    drop: u32,
    /// Add a standby replica by a committed validator-set change during the run.
    #[arg(long)]
    reconfigure: bool,
    /// Byzantine replicas may also attack the admission and time rules (oversized, mis-signed
    /// and other-chain transactions in batches and forwards; batches dated an hour ahead).
    #[arg(long)]
    attacks: bool,
    /// The replicas' heartbeat (ms, at least 100), and an idle phase after everything
    /// committed in which every correct replica's last block must stay fresh.
    #[arg(long)]
    heartbeat_ms: Option<u64>,
    /// Print the event trace of each failing seed (use with --seeds 1 to replay one).
    #[arg(long)]
    trace: bool,
    /// Break a rule on purpose: small-quorum, drop-prepared, send-before-persist, no-heartbeat
    /// (with --heartbeat-ms).
    #[arg(long)]
    broken: Option<String>,
}

fn broken(name: Option<&str>) -> Result<BrokenRules> {
    let mut b = BrokenRules::default();
    match name {
        None => {}
        Some("small-quorum") => b.small_quorum = true,
        Some("drop-prepared") => b.drop_prepared_in_new_view = true,
        Some("send-before-persist") => b.send_before_persist = true,
        Some("no-heartbeat") => b.no_heartbeat = true,
        Some(other) => {
            bail!(
                "unknown --broken {other:?}: use small-quorum, drop-prepared, send-before-persist or no-heartbeat"
            )
        }
    }
    Ok(b)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ledger-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let args = Args::parse();
    let f = args.replicas.saturating_sub(1) / 3;
    if args.replicas < 1 || args.byzantine > f {
        bail!(
            "--byzantine {} exceeds f = {f} for --replicas {}",
            args.byzantine,
            args.replicas
        );
    }
    let rules = broken(args.broken.as_deref())?;
    if args.heartbeat_ms.is_some_and(|h| h < 100) {
        bail!("--heartbeat-ms must be at least 100 (an idle phase of 40 heartbeats runs after the load)");
    }
    let reports: Vec<_> = (args.start..args.start + args.seeds)
        .into_par_iter()
        .map(|seed| {
            let mut opts = SimOptions::new(seed, args.replicas, args.byzantine);
            opts.transactions = args.transactions;
            opts.drop_per_mille = args.drop;
            opts.reconfigure = args.reconfigure;
            opts.attacks = args.attacks;
            opts.heartbeat_ms = args.heartbeat_ms;
            opts.broken = rules;
            opts.trace = args.trace;
            run(&opts)
        })
        .collect();
    let mut failed = 0;
    for r in &reports {
        if let Err(v) = &r.result {
            failed += 1;
            println!("seed {} FAILED at {} ms: {v:?}", r.seed, r.virtual_ms);
            let extra = args
                .broken
                .as_ref()
                .map(|b| format!(" --broken {b}"))
                .unwrap_or_default();
            let reconf = if args.reconfigure { " --reconfigure" } else { "" };
            let attacks = if args.attacks { " --attacks" } else { "" };
            let heartbeat = args
                .heartbeat_ms
                .map(|h| format!(" --heartbeat-ms {h}"))
                .unwrap_or_default();
            println!(
                "  replay: cargo run --release -p pbft-sim --bin ledger-sim -- --seeds 1 --start {} --replicas {} --byzantine {} --transactions {} --drop {}{reconf}{attacks}{heartbeat}{extra} --trace",
                r.seed, args.replicas, args.byzantine, args.transactions, args.drop
            );
            if args.trace {
                print!("{}", r.trace);
            }
        }
    }
    let passed = reports.len() - failed;
    println!("{passed} passed, {failed} failed");
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

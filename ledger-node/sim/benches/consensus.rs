//! The consensus core without a network: blocks and transactions committed per second of
//! wall-clock time in a calm simulation (no faults), with real SM2 verified at every replica and
//! with a stand-in that verifies nothing, so the cryptographic share of the cost is known.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbft_sim::{CheckMode, SimOptions, run};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("consensus_4_replicas_200_txs");
    g.sample_size(10);
    g.throughput(Throughput::Elements(200));
    for (name, check) in [
        ("sm2_every_replica", CheckMode::EveryReplica),
        ("stand_in_verifier", CheckMode::StandIn),
    ] {
        let mut opts = SimOptions::new(1, 4, 0);
        opts.transactions = 200;
        opts.calm = true;
        opts.check = check;
        opts.chaos_ms = 1_000;
        let report = run(&opts);
        let blocks = report
            .result
            .as_ref()
            .copied()
            .expect("a calm run commits everything");
        println!("{name}: 200 transactions in {blocks} blocks");
        g.bench_function(name, |b| b.iter(|| run(&opts)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The simulator's own tests: a slice of seeds passes, runs are deterministic, and each broken
//! rule is caught within a bounded number of seeds.

use pbft::BrokenRules;
use pbft_sim::{SimOptions, SimReport, Violation, run};
use rayon::prelude::*;

fn first_failure(seeds: std::ops::Range<u64>, make: impl Fn(u64) -> SimOptions + Sync) -> Option<SimReport> {
    seeds
        .into_par_iter()
        .map(|s| run(&make(s)))
        .find_first(|r| r.result.is_err())
}

#[test]
fn a_slice_of_seeds_passes_for_4_and_7_replicas() {
    let four: Vec<_> = (0..24u64)
        .into_par_iter()
        .map(|s| run(&SimOptions::new(s, 4, 1)))
        .collect();
    let seven: Vec<_> = (0..8u64)
        .into_par_iter()
        .map(|s| run(&SimOptions::new(s, 7, 2)))
        .collect();
    for r in four.iter().chain(&seven) {
        assert!(r.result.is_ok(), "seed {} failed: {:?}", r.seed, r.result);
        assert!(r.transactions > 0);
    }
}

#[test]
fn a_seed_replays_exactly() {
    let mut opts = SimOptions::new(42, 4, 1);
    opts.trace = true;
    let a = run(&opts);
    let b = run(&opts);
    assert!(!a.trace.is_empty());
    assert_eq!(a.trace, b.trace, "one seed, one run");
    assert_eq!(a.virtual_ms, b.virtual_ms);
}

#[test]
fn a_quorum_of_2f_is_caught() {
    let broken = BrokenRules {
        small_quorum: true,
        ..BrokenRules::default()
    };
    let found = first_failure(0..50, |s| SimOptions {
        broken,
        ..SimOptions::new(s, 4, 1)
    })
    .expect("a 2f quorum is caught within 50 seeds");
    assert!(
        matches!(
            found.result,
            Err(Violation::Certificate { .. } | Violation::Agreement { .. })
        ),
        "{:?}",
        found.result
    );
}

#[test]
fn a_new_view_dropping_prepared_certificates_is_caught() {
    let broken = BrokenRules {
        drop_prepared_in_new_view: true,
        ..BrokenRules::default()
    };
    let found = first_failure(0..400, |s| SimOptions {
        broken,
        ..SimOptions::new(s, 4, 1)
    })
    .expect("dropping prepared certificates is caught within 400 seeds");
    assert!(
        matches!(
            found.result,
            Err(Violation::Agreement { .. } | Violation::StateRoot { .. })
        ),
        "{:?}",
        found.result
    );
}

#[test]
fn a_vote_sent_before_it_is_persisted_is_caught() {
    let broken = BrokenRules {
        send_before_persist: true,
        ..BrokenRules::default()
    };
    let found = first_failure(0..400, |s| SimOptions {
        broken,
        ..SimOptions::new(s, 4, 1)
    })
    .expect("send-before-persist is caught within 400 seeds");
    assert!(
        matches!(found.result, Err(Violation::Equivocation { .. })),
        "{:?}",
        found.result
    );
}

#[test]
fn a_validator_set_change_adds_a_replica_at_a_checkpoint() {
    let reports: Vec<_> = (0..12u64)
        .into_par_iter()
        .map(|s| {
            run(&SimOptions {
                reconfigure: true,
                ..SimOptions::new(s, 4, 1)
            })
        })
        .collect();
    for r in &reports {
        assert!(r.result.is_ok(), "seed {} failed: {:?}", r.seed, r.result);
    }
}

/// The seeds that found the liveness bug: after the network heals, correct replicas split
/// across views must meet again. A replica's view change for view v was lost and it moved on
/// (alone, its timer started by a restart or by new transactions before 2f+1 wanted view v),
/// leaving the others in view v one view change short of 2f+1 (so their timer never started)
/// with fewer than f+1 replicas ahead to pull them up: nothing executed for the 60 s allowed.
fn assert_passes(seed: u64, replicas: usize, byzantine: usize, drop_per_mille: u32) {
    let r = run(&SimOptions {
        transactions: 24,
        drop_per_mille,
        ..SimOptions::new(seed, replicas, byzantine)
    });
    assert!(r.result.is_ok(), "seed {seed} failed: {:?}", r.result);
    assert_eq!(r.transactions, 24);
}

/// `ledger-sim --seeds 1 --start 993677557 --replicas 7 --byzantine 2 --transactions 24 --drop 50`
/// (was: four correct replicas in view 4, one in view 6, forever).
#[test]
fn seed_993677557_seven_replicas_split_across_views_meet_again() {
    assert_passes(993_677_557, 7, 2, 50);
}

/// `ledger-sim --seeds 1 --start 442657389 --replicas 4 --byzantine 1 --transactions 24 --drop 300`
/// (was: replicas 0 and 1 in view 4, restarted replica 3 in view 5, forever).
#[test]
fn seed_442657389_four_replicas_split_across_views_meet_again() {
    assert_passes(442_657_389, 4, 1, 300);
}

/// Issue 13's Byzantine behaviours: a primary whose batches carry oversized, mis-signed or
/// other-chain transactions (and forwards them), and a primary that dates its batches an hour
/// ahead. Correct backups refuse both (counted as `OverLimit` and `BadTime` drops), and every
/// transaction still commits everywhere.
#[test]
fn oversized_batches_and_a_lying_clock_are_refused_and_the_chain_stays_live() {
    let mut dropped = std::collections::BTreeMap::new();
    for seed in 0..24 {
        let r = run(&SimOptions {
            attacks: true,
            ..SimOptions::new(seed, 4, 1)
        });
        assert!(r.result.is_ok(), "seed {seed} failed: {:?}", r.result);
        assert_eq!(r.transactions, 24, "seed {seed}");
        for (reason, n) in r.dropped {
            *dropped.entry(reason).or_insert(0) += n;
        }
    }
    for reason in [pbft::DropReason::OverLimit, pbft::DropReason::BadTime] {
        assert!(
            dropped.get(&reason).is_some_and(|n| *n > 0),
            "no seed exercised {reason:?}: {dropped:?}"
        );
    }
}

/// Found by the campaign on the first fix: a validator-set change voids the view changes in
/// flight (their checkpoints are the old set's), and with the view-change timer rightly waiting
/// for 2f+1, replicas changing view across the switch had none left to send. Each now sends a
/// new one from the new epoch's base.
/// `ledger-sim --seeds 1 --start 26912961425215 --replicas 4 --byzantine 1 --drop 150 --reconfigure`
#[test]
fn seed_26912961425215_a_view_change_across_a_validator_set_change_completes() {
    let r = run(&SimOptions {
        drop_per_mille: 150,
        reconfigure: true,
        ..SimOptions::new(26_912_961_425_215, 4, 1)
    });
    assert!(r.result.is_ok(), "failed: {:?}", r.result);
}

/// An idle chain stays fresh: after the load, forty heartbeats pass without a transaction and
/// every correct replica's last block is recent, whoever is primary (a Byzantine one that stays
/// silent is replaced by the backups).
#[test]
fn an_idle_chain_stays_fresh_for_4_and_7_replicas() {
    let idle = |s, n, f| SimOptions {
        heartbeat_ms: Some(700),
        ..SimOptions::new(s, n, f)
    };
    let four: Vec<_> = (0..16u64).into_par_iter().map(|s| run(&idle(s, 4, 1))).collect();
    let seven: Vec<_> = (0..4u64).into_par_iter().map(|s| run(&idle(s, 7, 2))).collect();
    for r in four.iter().chain(&seven) {
        assert!(r.result.is_ok(), "seed {} failed: {:?}", r.seed, r.result);
    }
}

#[test]
fn a_chain_without_heartbeats_is_caught_going_stale() {
    let broken = BrokenRules {
        no_heartbeat: true,
        ..BrokenRules::default()
    };
    let found = first_failure(0..10, |s| SimOptions {
        broken,
        heartbeat_ms: Some(700),
        ..SimOptions::new(s, 4, 1)
    })
    .expect("a stale chain is caught within 10 seeds");
    assert!(
        matches!(found.result, Err(Violation::Stale { .. })),
        "{:?}",
        found.result
    );
}

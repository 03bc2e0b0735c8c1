//! The node's storage (module `store`) and the simulator's own tests: a slice of seeds passes, runs are deterministic, and each broken
//! rule is caught within a bounded number of seeds.

mod store;

use ledger_node::sim::{SimOptions, SimReport, Violation, run};
use pbft::BrokenRules;
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

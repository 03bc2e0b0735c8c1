//! Prometheus metrics (`/metrics`, OpenMetrics text).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Mutex;

/// The node's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Committed height.
    pub height: Gauge,
    /// Current view.
    pub view: Gauge,
    /// View changes started (a counter: OpenMetrics names it `credence_view_changes_total`).
    pub view_changes: Counter,
    /// Mempool size.
    pub mempool: Gauge,
    /// Connected peers.
    pub peers: Gauge,
    /// Blocks committed since start.
    pub blocks: Counter,
    /// Transactions committed since start.
    pub transactions: Counter,
    /// Seconds from API submission to commit, for transactions submitted here.
    pub commit_latency: Histogram,
    rejected: Family<Vec<(String, String)>, Counter>,
    /// SM2 verifications done, by what was verified (a counter).
    pub verifications: Family<Vec<(String, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("credence");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            height: Gauge::default(),
            view: Gauge::default(),
            view_changes: Counter::default(),
            mempool: Gauge::default(),
            peers: Gauge::default(),
            blocks: Counter::default(),
            transactions: Counter::default(),
            commit_latency: Histogram::new([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]),
            rejected: Family::default(),
            verifications: Family::default(),
        };
        r.register("height", "Committed block height", m.height.clone());
        r.register("view", "Current PBFT view", m.view.clone());
        r.register(
            "view_changes",
            "View changes started since the node started",
            m.view_changes.clone(),
        );
        r.register(
            "mempool_transactions",
            "Transactions waiting to commit",
            m.mempool.clone(),
        );
        r.register("peers", "Connected consortium peers", m.peers.clone());
        r.register(
            "blocks_committed",
            "Blocks committed since start",
            m.blocks.clone(),
        );
        r.register(
            "transactions_committed",
            "Transactions committed since start",
            m.transactions.clone(),
        );
        r.register(
            "commit_latency_seconds",
            "Seconds from API submission to commit",
            m.commit_latency.clone(),
        );
        r.register(
            "rejected_inputs",
            "Inputs rejected, by reason",
            m.rejected.clone(),
        );
        r.register(
            "sm2_verifications",
            "SM2 signature verifications done since start (transactions: once each per node)",
            m.verifications.clone(),
        );
        *m.registry.lock().unwrap_or_else(|p| p.into_inner()) = r;
        m
    }

    /// Counts one rejected input.
    pub fn reject(&self, reason: &str) {
        self.reject_by(reason, 1);
    }

    /// Counts `n` rejected inputs.
    pub fn reject_by(&self, reason: &str, n: u64) {
        self.rejected
            .get_or_create(&vec![("reason".to_string(), reason.to_string())])
            .inc_by(n);
    }

    /// Brings the verification counters up to the counts kept by the verifier cache (they only
    /// grow; a count below the counter's is ignored).
    pub fn set_verifications(&self, transactions: u64, consensus: u64) {
        for (what, n) in [("transaction", transactions), ("consensus", consensus)] {
            catch_up(
                &self
                    .verifications
                    .get_or_create(&vec![("of".to_string(), what.to_string())]),
                n,
            );
        }
    }

    /// Brings the view-change counter up to the replica's count.
    pub fn set_view_changes(&self, n: u64) {
        catch_up(&self.view_changes, n);
    }

    /// The OpenMetrics text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &r);
        out
    }
}

/// Raises a counter to `n` (a counter never goes down).
fn catch_up(counter: &Counter, n: u64) {
    let seen = counter.get();
    if n > seen {
        counter.inc_by(n - seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters are exposed with OpenMetrics' `_total` suffix (the ecosystem review found view
    /// changes and SM2 verifications as gauges), and only ever grow.
    #[test]
    fn monotonic_metrics_are_counters_named_total() {
        let m = Metrics::new();
        m.set_view_changes(3);
        m.set_view_changes(2);
        m.set_verifications(10, 4);
        let text = m.render();
        for line in [
            "# TYPE credence_view_changes counter",
            "credence_view_changes_total 3",
            "# TYPE credence_sm2_verifications counter",
            "credence_sm2_verifications_total{of=\"transaction\"} 10",
            "credence_blocks_committed_total 0",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }
}

//! Which consortium a party trusts, in one file and one rule for every front end (the command
//! line and the desktop app used to keep a copy each, and disagreed on a damaged file).
//!
//! The genesis is pinned once, from what a person got out of band: the consortium's genesis
//! file, or the fingerprint it published compared with what a node serves (as SSH asks about a
//! host key). After that every node must serve exactly the pinned genesis, a different genesis
//! given later is refused rather than silently followed, and what a connection proved (the
//! validator set followed, the height seen) is saved back so the next start begins there.

use crate::ledger::{Ledger, LedgerError, Trust};
use schemas::codec::Canonical as _;
use schemas::hash::Hash;
use schemas::ledger::Genesis;
use std::path::{Path, PathBuf};

/// Why no trusted connection could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// The trust file exists but is not one.
    #[error("{path} is damaged ({reason}); delete it and pin the consortium's genesis again")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What reading it found.
        reason: String,
    },
    /// The trust file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// A genesis other than the pinned one was given.
    #[error(
        "this party trusts chain {pinned_chain} (genesis fingerprint {pinned}), but the genesis given is chain {given_chain} ({given}); one trust file trusts one consortium"
    )]
    OtherConsortium {
        /// The pinned chain id.
        pinned_chain: String,
        /// The pinned genesis's fingerprint.
        pinned: Hash,
        /// The given chain id.
        given_chain: String,
        /// The given genesis's fingerprint.
        given: Hash,
    },
    /// A fingerprint other than the pinned genesis's was given.
    #[error(
        "this party trusts chain {pinned_chain} (genesis fingerprint {pinned}), but the fingerprint given is {given}; one trust file trusts one consortium"
    )]
    OtherFingerprint {
        /// The pinned chain id.
        pinned_chain: String,
        /// The pinned genesis's fingerprint.
        pinned: Hash,
        /// The fingerprint given.
        given: Hash,
    },
    /// The node's genesis does not have the fingerprint given: nothing was pinned.
    #[error(
        "the node at {url} serves chain {chain} (genesis fingerprint {served}), not the fingerprint given ({expected}); nothing was pinned"
    )]
    FingerprintMismatch {
        /// The node.
        url: String,
        /// The chain id it serves.
        chain: String,
        /// Its genesis's fingerprint.
        served: Hash,
        /// The fingerprint given.
        expected: Hash,
    },
    /// Nothing is pinned and nothing was given to pin; `served` is what the node offers, for a
    /// person to compare with the fingerprint the consortium published.
    #[error(
        "no consortium is trusted yet; the node at {url} serves chain {chain} with genesis fingerprint {served}"
    )]
    NotPinned {
        /// The node asked.
        url: String,
        /// The chain id it serves.
        chain: String,
        /// Its genesis's fingerprint.
        served: Hash,
    },
    /// No node address was given.
    #[error("no ledger node address is given")]
    NoNodes,
    /// Every node failed; the last failure.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What a person gave to pin the consortium, when nothing is pinned yet.
#[derive(Clone, Debug, Default)]
pub struct PinSource {
    /// The consortium's genesis file, read.
    pub genesis: Option<Genesis>,
    /// The fingerprint the consortium published.
    pub fingerprint: Option<Hash>,
}

/// The file a party's trust lives in.
#[derive(Clone, Debug)]
pub struct TrustFile {
    path: PathBuf,
}

impl TrustFile {
    /// The trust kept at `path` (created on the first pin).
    pub fn new(path: impl Into<PathBuf>) -> TrustFile {
        TrustFile { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is pinned, if anything. A damaged file is an error, never "nothing pinned": that
    /// would let whatever is given next replace the consortium.
    pub fn load(&self) -> Result<Option<Trust>, PinError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| PinError::Damaged {
                    path: self.path.clone(),
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Saves `trust` (atomically, readable by its owner only).
    pub fn save(&self, trust: &Trust) -> Result<(), PinError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let text = serde_json::to_vec_pretty(trust).map_err(|e| self.io(e))?;
        crate::keystore::write_atomic(&self.path, &text).map_err(|e| self.io(e))
    }

    fn io(&self, e: impl std::fmt::Display) -> PinError {
        PinError::Io {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    /// What is trusted without asking a node: the pinned trust, or `given` pinned now. A
    /// `given` genesis that is not the pinned one is refused.
    pub fn trusted(&self, given: Option<&Genesis>) -> Result<Option<Trust>, PinError> {
        match (self.load()?, given) {
            (Some(p), Some(g)) if p.genesis != *g => Err(PinError::OtherConsortium {
                pinned_chain: p.genesis.chain_id.clone(),
                pinned: p.fingerprint(),
                given_chain: g.chain_id.clone(),
                given: g.digest(),
            }),
            (Some(p), _) => Ok(Some(p)),
            (None, Some(g)) => {
                let t = Trust::new(g.clone());
                self.save(&t)?;
                Ok(Some(t))
            }
            (None, None) => Ok(None),
        }
    }

    /// What is trusted for talking to the node at `url`: as [`TrustFile::trusted`], or else
    /// the node's genesis pinned when it has the fingerprint in `source`.
    /// A fingerprint in `source` other than the pinned genesis's is refused.
    pub async fn trusted_for(&self, url: &str, source: &PinSource) -> Result<Trust, PinError> {
        if let Some(t) = self.trusted(source.genesis.as_ref())? {
            return match source.fingerprint {
                Some(given) if given != t.fingerprint() => Err(PinError::OtherFingerprint {
                    pinned_chain: t.genesis.chain_id.clone(),
                    pinned: t.fingerprint(),
                    given,
                }),
                _ => Ok(t),
            };
        }
        let served = Ledger::served_genesis(url).await?;
        match source.fingerprint {
            Some(f) if f == served.digest() => {
                let t = Trust::new(served);
                self.save(&t)?;
                Ok(t)
            }
            Some(expected) => Err(PinError::FingerprintMismatch {
                url: url.to_owned(),
                chain: served.chain_id.clone(),
                served: served.digest(),
                expected,
            }),
            None => Err(PinError::NotPinned {
                url: url.to_owned(),
                chain: served.chain_id.clone(),
                served: served.digest(),
            }),
        }
    }

    /// Connects to the first node of `urls` that answers and proves itself against the trust
    /// here (pinning it first from `source` when nothing is pinned), and saves what the
    /// connection proved. A node that is down, serves another genesis or cannot prove its
    /// validator-set changes, or whose genesis lacks the fingerprint given, is passed over for
    /// the next; what only a person can settle (nothing given to pin, another consortium
    /// given, a damaged file) stops at once.
    /// Returns the connection and the address that answered.
    pub async fn connect_any<'a>(
        &self,
        urls: impl IntoIterator<Item = &'a str>,
        source: &PinSource,
    ) -> Result<(Ledger, String), PinError> {
        let mut last = PinError::NoNodes;
        for url in urls {
            let trust = match self.trusted_for(url, source).await {
                Ok(trust) => trust,
                // This node is down or serves another consortium: another may not. A node
                // that lacks the fingerprint is what the person most needs to hear about, so a
                // later node that is merely down does not hide it.
                Err(e @ PinError::FingerprintMismatch { .. }) => {
                    last = e;
                    continue;
                }
                Err(e @ PinError::Ledger(_)) => {
                    if !matches!(last, PinError::FingerprintMismatch { .. }) {
                        last = e;
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            match Ledger::connect(url, trust).await {
                Ok(ledger) => {
                    self.save(&ledger.trust())?;
                    return Ok((ledger, url.to_owned()));
                }
                Err(e) => {
                    if !matches!(last, PinError::FingerprintMismatch { .. }) {
                        last = e.into();
                    }
                }
            }
        }
        Err(last)
    }
}

/// `nodes` in the order to try them after `failed` let a party down: the ones after it first,
/// it last. A node that answers but then serves bad reads is thereby not picked again first
/// after every reset, so the others get their turn.
pub fn after_failed<'a>(nodes: &[&'a str], failed: Option<&str>) -> Vec<&'a str> {
    let start = failed
        .and_then(|f| nodes.iter().position(|n| *n == f))
        .map_or(0, |i| i + 1);
    nodes[start..].iter().chain(&nodes[..start]).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis(chain: &str) -> Genesis {
        let mut g = crate::fixture::Chain::new().trust.genesis;
        g.chain_id = chain.into();
        g
    }

    #[test]
    fn pins_once_refuses_another_consortium_and_a_damaged_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = TrustFile::new(dir.path().join("home/trust.json"));
        assert!(file.trusted(None).expect("nothing pinned").is_none());
        let ours = genesis("ours");
        let t = file.trusted(Some(&ours)).expect("pinned").expect("a trust");
        assert_eq!(t.genesis, ours);
        // Pinned: no genesis needed, the same one accepted, another refused.
        assert_eq!(
            file.trusted(None).expect("pinned").map(|t| t.genesis),
            Some(ours.clone())
        );
        assert!(file.trusted(Some(&ours)).is_ok());
        let theirs = genesis("theirs");
        assert!(matches!(
            file.trusted(Some(&theirs)),
            Err(PinError::OtherConsortium { given_chain, .. }) if given_chain == "theirs"
        ));
        // A damaged file is not "nothing pinned", so nothing given replaces the consortium.
        std::fs::write(file.path(), b"{ not json").expect("write");
        assert!(matches!(
            file.trusted(Some(&theirs)),
            Err(PinError::Damaged { .. })
        ));
    }

    #[test]
    fn after_a_failure_the_next_node_is_tried_first() {
        let nodes = ["a", "b", "c"];
        assert_eq!(after_failed(&nodes, None), ["a", "b", "c"]);
        assert_eq!(after_failed(&nodes, Some("a")), ["b", "c", "a"]);
        assert_eq!(after_failed(&nodes, Some("c")), ["a", "b", "c"]);
        assert_eq!(after_failed(&nodes, Some("gone")), ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_pinned_party_refuses_another_fingerprint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = TrustFile::new(dir.path().join("trust.json"));
        let ours = genesis("ours");
        file.trusted(Some(&ours)).expect("pinned");
        let other = PinSource {
            genesis: None,
            fingerprint: Some(genesis("theirs").digest()),
        };
        // Refused before any node is asked (nothing listens at this address).
        assert!(matches!(
            file.trusted_for("http://127.0.0.1:9", &other).await,
            Err(PinError::OtherFingerprint { .. })
        ));
        let same = PinSource {
            genesis: None,
            fingerprint: Some(ours.digest()),
        };
        assert!(file.trusted_for("http://127.0.0.1:9", &same).await.is_ok());
    }

    #[tokio::test]
    async fn without_a_node_that_answers_connect_any_says_why() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = TrustFile::new(dir.path().join("trust.json"));
        let none: [&str; 0] = [];
        assert!(matches!(
            file.connect_any(none, &PinSource::default()).await,
            Err(PinError::NoNodes)
        ));
        // Nothing listens there: the node's failure, after trying each address.
        let r = file
            .connect_any(
                ["http://127.0.0.1:9", "http://127.0.0.1:9"],
                &PinSource::default(),
            )
            .await;
        assert!(matches!(r, Err(PinError::Ledger(_))), "{:?}", r.err());
        assert!(file.load().expect("readable").is_none(), "nothing pinned");
    }
}

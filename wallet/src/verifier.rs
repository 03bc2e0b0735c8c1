//! Verifying: requests, the checks a presentation must pass, and replay protection.
//!
//! [`verify`] runs the checks of `../shared/design.md` (Credentials, "Verifying") in a fixed
//! order and reports one line per check. The first failure stops the run: every later check
//! is reported as not run, so a report names exactly the check that refused. Offline, the
//! ledger facts are the proofs the presentation carries, checked against the validator set;
//! online, the verifier reads the same records fresh from a node. A check that refuses says why
//! as a typed [`Refusal`].

mod refusal;

pub use refusal::Refusal;

use crate::ledger::{CertificateCache, Facts, LedgerError, MAX_FUTURE_SECS, ReadLedger, Trust};
use crate::plan;
use crate::tier;
use rand_core::CryptoRngCore;
use schemas::codec::Canonical;
use schemas::credential::AttributeCommitment;
use schemas::credential_schema::AttributeValue;
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{
    AnchorRecord, IssuerRecord, IssuerStatus, RevocationRoot, StatusListChunk, VerifierRecord,
    VerifyingKeyRecord, state_keys,
};
use schemas::presentation::{
    Channel, Predicate, PredicateKind, Presentation, PresentationProof, PresentationRequest,
    RequestSignatureError, SelectiveDisclosure, SignedRequest, Tier, UnlinkableProof,
};
use schemas::sm2::SecretKey;
use serde::{Deserialize, Serialize};
use std::path::Path;
use zk::predicates::{PredicateStatement, ProofBinding};
use zk::tree::RevocationTree;

/// Tolerated clock difference between verifier and holder, seconds.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// Longest time a request stays answerable, seconds (a day): a verifier's requests, and the
/// replay memory that keeps them, expire.
pub const MAX_REQUEST_TTL_SECS: i64 = 24 * 3600;

/// Most ledger proofs a presentation may carry (a holder needs one; a bound keeps a hostile
/// presentation from buying thousands of signature checks).
pub const MAX_LEDGER_PROOFS: usize = 4;

/// Default longest age of the revocation status a presentation proves, for offline checks.
pub const DEFAULT_MAX_STATUS_AGE_SECS: i64 = 24 * 3600;

/// What a verifier asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestSpec {
    /// Credential type.
    pub credential_type: String,
    /// Issuers accepted (empty: any registered for the type).
    #[serde(default)]
    pub accepted_issuers: Vec<Did>,
    /// Attributes to disclose.
    #[serde(default)]
    pub disclose: Vec<String>,
    /// Predicates.
    #[serde(default)]
    pub predicates: Vec<Predicate>,
    /// Purpose (one of the verifier's registered purposes).
    pub purpose: String,
    /// Seconds the request stays answerable.
    #[serde(default = "default_ttl")]
    pub ttl_secs: i64,
    /// Tier.
    pub tier: Tier,
}

fn default_ttl() -> i64 {
    600
}

impl RequestSpec {
    /// Whether the spec can be signed: a lifetime of 1 s to [`MAX_REQUEST_TTL_SECS`] and lists
    /// and texts within the ledger's limits.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=MAX_REQUEST_TTL_SECS).contains(&self.ttl_secs) {
            return Err(format!(
                "ttlSecs is {}; a request is answerable for 1 to {MAX_REQUEST_TTL_SECS} s",
                self.ttl_secs
            ));
        }
        let list = schemas::limits::MAX_LIST;
        if self.accepted_issuers.len() > list || self.disclose.len() > list || self.predicates.len() > list {
            return Err(format!(
                "a request names at most {list} issuers, attributes and predicates each"
            ));
        }
        let text = schemas::limits::MAX_TEXT;
        if std::iter::once(&self.credential_type)
            .chain(std::iter::once(&self.purpose))
            .chain(&self.disclose)
            .any(|t| t.chars().count() > text)
        {
            return Err(format!(
                "a type, purpose or attribute name has at most {text} characters"
            ));
        }
        Ok(())
    }
}

/// Makes and signs a request with a fresh nonce, to be handed over by other means (a file).
pub fn make_request(
    key: &SecretKey,
    spec: &RequestSpec,
    now: i64,
    rng: &mut impl CryptoRngCore,
) -> SignedRequest {
    make_request_on(key, spec, None, now, rng)
}

/// Makes and signs a request answered on `channel` (a response address and a session value).
pub fn make_request_on(
    key: &SecretKey,
    spec: &RequestSpec,
    channel: Option<Channel>,
    now: i64,
    rng: &mut impl CryptoRngCore,
) -> SignedRequest {
    let mut nonce = [0u8; 32];
    rng.fill_bytes(&mut nonce);
    SignedRequest::sign(
        PresentationRequest {
            verifier: Did::from_public_key(key.public_key()),
            credential_type: spec.credential_type.clone(),
            accepted_issuers: spec.accepted_issuers.clone(),
            disclose: spec.disclose.clone(),
            predicates: spec.predicates.clone(),
            nonce: Hash(nonce),
            purpose: spec.purpose.clone(),
            created_at: now,
            // Bounded even for a spec that skipped `check`.
            expires_at: now.saturating_add(spec.ttl_secs.clamp(1, MAX_REQUEST_TTL_SECS)),
            tier: spec.tier,
            channel,
        },
        key,
    )
}

/// A channel answered at `response_uri` with a fresh session value: six random digits as
/// `NNN-NNN`, short enough to compare by eye between the verifier's screen and the wallet's.
pub fn new_channel(response_uri: String, rng: &mut impl CryptoRngCore) -> Channel {
    let n = rng.next_u32() % 1_000_000;
    Channel {
        response_uri,
        session: format!("{:03}-{:03}", n / 1000, n % 1000),
    }
}

/// Why a request cannot be answered at `now` by its times, if it cannot: expired, made in the
/// future (beyond [`CLOCK_SKEW_SECS`]), or answerable for over [`MAX_REQUEST_TTL_SECS`]. The
/// verifier's expiry check and the holder's wallet share this rule; with the last two it also
/// bounds how long ago the request was made, which matters because the unlinkable proof shows
/// validity at the request's time (a verifier free to pick it could probe a hidden period).
pub fn check_request_times(r: &PresentationRequest, now: i64) -> Result<(), Refusal> {
    if now > r.expires_at {
        Err(Refusal::RequestExpired {
            secs_ago: now - r.expires_at,
        })
    } else if r.created_at > now + CLOCK_SKEW_SECS {
        Err(Refusal::RequestFromTheFuture)
    } else if r.expires_at.saturating_sub(r.created_at) > MAX_REQUEST_TTL_SECS {
        Err(Refusal::RequestLifetime {
            max_secs: MAX_REQUEST_TTL_SECS,
        })
    } else {
        Ok(())
    }
}

/// One way a request goes beyond what its verifier registered: as text, the English the CLI
/// prints; serialized, a `code` and the parts a translated screen needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ScopeViolation {
    /// The verifier named is not registered.
    #[error("{verifier} is not a verifier registered on the ledger")]
    NotRegistered {
        /// The DID the request names.
        verifier: String,
    },
    /// The request's key is not the registered one.
    #[error("the request is not signed with the verifier's registered key")]
    OtherKey,
    /// The purpose is not registered.
    #[error("purpose {purpose:?} is not one of its registered purposes ({})", registered.join(", "))]
    Purpose {
        /// The purpose stated.
        purpose: String,
        /// The purposes registered.
        registered: Vec<String>,
    },
    /// The credential type is not in its scope.
    #[error("it may not ask for {credential_type} credentials")]
    CredentialType {
        /// The type asked for.
        credential_type: String,
    },
    /// An attribute it may not see.
    #[error("it may not ask to see `{attribute}`")]
    Disclose {
        /// The attribute.
        attribute: String,
    },
    /// An attribute it may not ask a proof about.
    #[error("it may not ask for a proof about `{attribute}`")]
    Predicate {
        /// The attribute.
        attribute: String,
    },
    /// Two bounds where it registered one.
    #[error(
        "it asks for `{attribute}` between two bounds, which can reveal the value; it registered one bound only"
    )]
    TwoBounds {
        /// The attribute.
        attribute: String,
    },
    /// A range narrower than it registered.
    #[error(
        "it asks for `{attribute}` within a range {width} wide, which can reveal the value; it registered ranges at least {min_width} wide"
    )]
    NarrowRange {
        /// The attribute.
        attribute: String,
        /// The range's width asked (in the predicate's encoding).
        width: i64,
        /// The narrowest registered.
        min_width: i64,
    },
}

/// A verifier's text as a screen may put it inside its own sentence: each character that could
/// reorder or hide text ([`schemas::credential_schema::is_hidden_char`]) shown as U+FFFD, so a
/// purpose that differs from a registered one only invisibly shows where.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if schemas::credential_schema::is_hidden_char(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Violations as one line: `a; b`.
pub fn join(violations: &[ScopeViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where `request` goes beyond what `verifier` registered (empty: inside its scope).
pub fn scope_violations(request: &SignedRequest, verifier: Option<&VerifierRecord>) -> Vec<ScopeViolation> {
    let r = &request.request;
    let Some(v) = verifier else {
        return vec![ScopeViolation::NotRegistered {
            verifier: r.verifier.to_string(),
        }];
    };
    let mut out = Vec::new();
    if v.did != r.verifier || v.public_key != request.verifier_key {
        out.push(ScopeViolation::OtherKey);
    }
    if !v.purposes.contains(&r.purpose) {
        out.push(ScopeViolation::Purpose {
            purpose: plain(&r.purpose),
            registered: v.purposes.iter().map(|p| plain(p)).collect(),
        });
    }
    match v.scope.iter().find(|s| s.credential_type == r.credential_type) {
        None => out.push(ScopeViolation::CredentialType {
            credential_type: r.credential_type.clone(),
        }),
        Some(item) => {
            for d in r.disclose.iter().filter(|d| !item.disclose.contains(d)) {
                out.push(ScopeViolation::Disclose { attribute: d.clone() });
            }
            let allowed: Vec<PredicateScope<'_>> = item
                .predicates
                .iter()
                .filter_map(|e| PredicateScope::parse(e).ok())
                .collect();
            let mut seen: Vec<&str> = Vec::new();
            for p in &r.predicates {
                if seen.contains(&p.attribute.as_str()) {
                    continue;
                }
                seen.push(&p.attribute);
                match allowed.iter().find(|a| a.attribute == p.attribute) {
                    None => out.push(ScopeViolation::Predicate {
                        attribute: p.attribute.clone(),
                    }),
                    Some(a) => out.extend(a.violation(&r.predicates)),
                }
            }
        }
    }
    out
}

/// One entry of a scope's `predicates`, parsed. `name` lets the verifier ask one bound on the
/// attribute (`>=` or `<=`); `name:range:WIDTH` also lets it ask a two-sided range at least
/// `WIDTH` wide, in the predicate's encoding (hundredths of a GPA, days of a date). A range that
/// pins one value reveals it, so ranges are allowed only where registered, and only so narrow
/// (security review, finding 20). Repeated one-sided requests can still bisect a value; each is
/// seen by the holder at consent, and unlinkable answers to one verifier share a nullifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredicateScope<'a> {
    /// The attribute.
    pub attribute: &'a str,
    /// `None`: one bound only; `Some(w)`: ranges at least `w` wide too.
    pub min_range_width: Option<i64>,
}

impl<'a> PredicateScope<'a> {
    /// Parses a registered entry.
    pub fn parse(entry: &'a str) -> Result<Self, String> {
        let bad = || {
            format!(
                "predicate scope `{entry}`: write `name` (one bound) or `name:range:WIDTH` (ranges at least WIDTH wide, a positive number in the attribute's encoding)"
            )
        };
        let mut parts = entry.split(':');
        let attribute = parts.next().filter(|a| !a.is_empty()).ok_or_else(bad)?;
        match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Ok(PredicateScope {
                attribute,
                min_range_width: None,
            }),
            (Some("range"), Some(w), None) => match w.parse::<i64>() {
                Ok(w) if w >= 1 => Ok(PredicateScope {
                    attribute,
                    min_range_width: Some(w),
                }),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    /// Why the request's predicates on this attribute go beyond the entry, if they do.
    fn violation(&self, predicates: &[Predicate]) -> Option<ScopeViolation> {
        let mut low: Option<i64> = None;
        let mut high: Option<i64> = None;
        for p in predicates.iter().filter(|p| p.attribute == self.attribute) {
            let (l, h) = match p.kind {
                PredicateKind::AtLeast { bound } => (Some(bound), None),
                PredicateKind::AtMost { bound } => (None, Some(bound)),
                PredicateKind::Between { low, high } => (Some(low), Some(high)),
            };
            low = low.max(l);
            high = match (high, h) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let (Some(low), Some(high)) = (low, high) else {
            return None;
        };
        let width = i128::from(high) - i128::from(low);
        let attribute = self.attribute.to_owned();
        match self.min_range_width {
            None => Some(ScopeViolation::TwoBounds { attribute }),
            Some(w) if width < i128::from(w) => Some(ScopeViolation::NarrowRange {
                attribute,
                // Below `w`, so within i64 unless negative past its range (an empty range).
                width: i64::try_from(width).unwrap_or(i64::MIN),
                min_width: w,
            }),
            Some(_) => None,
        }
    }
}

/// The checks, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The request is signed by the key of the verifier it names.
    RequestSignature,
    /// The request is one this verifier made, unchanged.
    Request,
    /// The request has not expired.
    Expiry,
    /// The nonce was not answered before.
    Nonce,
    /// The ledger proofs verify against the validator set.
    LedgerProof,
    /// The issuer is registered, active, allowed the type and accepted by the request.
    Issuer,
    /// The credential's batch is anchored, of the requested type, and it is in the batch.
    Anchor,
    /// Disclosed values open the envelope's commitments.
    Openings,
    /// Predicate proofs (Bulletproofs) verify.
    Predicates,
    /// The holder's key signed this answer.
    HolderBinding,
    /// The unlinkable proof (Groth16) verifies.
    ZeroKnowledge,
    /// Not revoked.
    Revocation,
    /// Inside its validity period.
    Validity,
}

impl Check {
    /// The check's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Check::RequestSignature => "request signature",
            Check::Request => "request",
            Check::Expiry => "expiry",
            Check::Nonce => "nonce",
            Check::LedgerProof => "ledger proof",
            Check::Issuer => "issuer",
            Check::Anchor => "anchor",
            Check::Openings => "openings",
            Check::Predicates => "predicates",
            Check::HolderBinding => "holder binding",
            Check::ZeroKnowledge => "zero-knowledge proof",
            Check::Revocation => "revocation",
            Check::Validity => "validity",
        }
    }
}

/// One line of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckLine {
    /// The check.
    pub check: Check,
    /// `passed`, `failed` or `not run`.
    pub status: CheckStatus,
    /// What was found, for people (English).
    pub detail: String,
    /// Why it refused, typed (failed checks only): what a front end renders in its own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

/// How a check went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// It holds.
    Passed,
    /// It does not.
    Failed,
    /// An earlier check failed.
    NotRun,
}

/// The outcome of a verification.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// One line per check.
    pub checks: Vec<CheckLine>,
    /// Disclosed attributes (name, value as text), when every check passed.
    pub disclosed: Vec<(String, String)>,
    /// Predicates proven.
    pub proven: Vec<String>,
    /// The verifier-scoped nullifier (unlinkable tier).
    pub nullifier: Option<Hash>,
    /// Earlier presentations with this nullifier to this verifier.
    pub nullifier_seen_before: u64,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.status == CheckStatus::Passed)
    }

    /// The check that refused and why, typed.
    pub fn refusal(&self) -> Option<(Check, &Refusal)> {
        self.checks
            .iter()
            .find_map(|c| c.refusal.as_ref().map(|r| (c.check, r)))
    }

    /// The check that refused, with its reason.
    pub fn failure(&self) -> Option<(Check, &str)> {
        self.checks
            .iter()
            .find(|c| c.status == CheckStatus::Failed)
            .map(|c| (c.check, c.detail.as_str()))
    }

    /// One line per check, as `credctl verify` prints them.
    pub fn lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| {
                let mark = match c.status {
                    CheckStatus::Passed => "ok  ",
                    CheckStatus::Failed => "FAIL",
                    CheckStatus::NotRun => "--  ",
                };
                format!("{mark} {:<20} {}", c.check.name(), c.detail)
            })
            .collect()
    }
}

/// The verifier's memory of its requests, answered nonces and nullifiers (sled on disk).
pub struct ReplayGuard {
    requests: sled::Tree,
    used: sled::Tree,
    /// `expires_at (big-endian) ‖ nonce` of every remembered request, to forget them in order.
    expiry: sled::Tree,
    nullifiers: sled::Tree,
    db: sled::Db,
}

/// Most expired requests one `remember` forgets (the memory shrinks as fast as it grows).
const PRUNE_PER_REQUEST: usize = 16;

impl ReplayGuard {
    /// Opens (or creates) the guard in `dir`.
    pub fn open(dir: &Path) -> Result<ReplayGuard, sled::Error> {
        let db = crate::keystore::open_db(&dir.join("verifier-state.sled"))?;
        Ok(ReplayGuard {
            requests: db.open_tree("requests")?,
            used: db.open_tree("used")?,
            expiry: db.open_tree("expiry")?,
            nullifiers: db.open_tree("nullifiers")?,
            db,
        })
    }

    /// Remembers a request this verifier made, and forgets requests that expired (with their
    /// answered nonces): an expired request fails its expiry check anyway, and one no longer
    /// remembered fails as "never made", so the memory stays as large as the live requests.
    pub fn remember(&self, request: &SignedRequest) -> Result<(), sled::Error> {
        let r = &request.request;
        self.forget_expired(crate::now() - CLOCK_SKEW_SECS)?;
        self.requests.insert(r.nonce.0, &r.digest().0)?;
        self.expiry.insert(expiry_key(r.expires_at, &r.nonce), &[])?;
        self.db.flush()?;
        Ok(())
    }

    /// Forgets up to [`PRUNE_PER_REQUEST`] requests that expired before `before`.
    fn forget_expired(&self, before: i64) -> Result<(), sled::Error> {
        let end = expiry_key(before, &Hash([0; 32]));
        let old: Vec<_> = self
            .expiry
            .range(..end)
            .keys()
            .take(PRUNE_PER_REQUEST)
            .collect::<Result<_, _>>()?;
        for k in old {
            let nonce = &k[8..];
            self.requests.remove(nonce)?;
            self.used.remove(nonce)?;
            self.expiry.remove(k)?;
        }
        Ok(())
    }

    /// How many requests the verifier remembers (live, or expired and not yet forgotten).
    pub fn remembered(&self) -> usize {
        self.requests.len()
    }

    fn made(&self, request: &PresentationRequest) -> Result<(), Refusal> {
        match self.requests.get(request.nonce.0) {
            Ok(Some(d)) if d.as_ref() == request.digest().0 => Ok(()),
            Ok(Some(_)) => Err(Refusal::RequestAltered),
            Ok(None) => Err(Refusal::RequestNotMade),
            Err(e) => Err(Refusal::VerifierState {
                reason: format!("reading: {e}"),
            }),
        }
    }

    /// Marks the nonce answered; false if it already was (atomic).
    fn consume(&self, nonce: &Hash, now: i64) -> Result<bool, Refusal> {
        let unwritable = |e: sled::Error| Refusal::VerifierState {
            reason: format!("writing: {e}"),
        };
        let r = self
            .used
            .compare_and_swap(nonce.0, None as Option<&[u8]>, Some(&now.to_be_bytes()[..]))
            .map_err(unwritable)?;
        self.db.flush().map_err(unwritable)?;
        Ok(r.is_ok())
    }

    /// Whether this verifier made exactly `request` (a cheap check before any ledger read).
    pub fn made_by_me(&self, request: &PresentationRequest) -> bool {
        self.made(request).is_ok()
    }

    fn answered(&self, nonce: &Hash) -> bool {
        matches!(self.used.get(nonce.0), Ok(Some(_)))
    }

    /// Counts a nullifier; returns how often it was seen before.
    fn note_nullifier(&self, n: &Hash) -> u64 {
        let before = self
            .nullifiers
            .fetch_and_update(n.0, |old| {
                let c = old.and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
                Some((c + 1).to_be_bytes().to_vec())
            })
            .ok()
            .flatten()
            .and_then(|b| b.as_ref().try_into().ok())
            .map_or(0, u64::from_be_bytes);
        let _ = self.db.flush();
        before
    }
}

/// Whether `o` opens `c`: a salted digest for text, a Pedersen commitment for numbers (the
/// one rule the verifier and the holder's import use).
pub fn check_opening(c: &AttributeCommitment, o: &schemas::credential::Opening) -> Result<(), String> {
    match (c, &o.value) {
        (AttributeCommitment::Pedersen(pc), AttributeValue::Integer(x)) => {
            let b = zk::pedersen::Blinding::from_bytes(&o.randomness)
                .map_err(|_| format!("`{}`: the blinding is not a scalar", o.name))?;
            zk::pedersen::verify_opening(pc, *x, &b)
                .map_err(|_| format!("`{}` does not open its commitment", o.name))
        }
        _ => o.check_digest(c).map_err(|err| err.to_string()),
    }
}

fn expiry_key(expires_at: i64, nonce: &Hash) -> Vec<u8> {
    // Offset so negative times (never made, but representable) sort first.
    let t = (expires_at as u64) ^ (1 << 63);
    [&t.to_be_bytes()[..], &nonce.0].concat()
}

/// Where the ledger facts come from.
pub enum Source<'a> {
    /// Only the proofs inside the presentation, checked against what the verifier trusts.
    Offline {
        /// The pinned genesis and the validator set followed from it.
        trust: &'a Trust,
        /// The oldest revocation status accepted, seconds.
        max_status_age_secs: i64,
    },
    /// Records read fresh from a node (checked against its validator set) — already fetched
    /// by [`fetch_facts`].
    Online(Facts),
}

/// What a verification knows besides the presentation.
pub struct Context<'a> {
    /// Where ledger facts come from.
    pub source: Source<'a>,
    /// Now, Unix seconds.
    pub now: i64,
    /// The verifier checking (its DID): a presentation for another verifier's request fails.
    pub verifier: Option<&'a Did>,
    /// Its replay memory.
    pub guard: Option<&'a ReplayGuard>,
    /// Certificates already checked.
    pub cache: Option<&'a CertificateCache>,
}

/// The state keys a presentation's checks read.
pub fn needed_keys(p: &Presentation) -> Vec<Vec<u8>> {
    let r = &p.request.request;
    match &p.proof {
        PresentationProof::Selective { disclosure, .. } => {
            let e = &disclosure.envelope;
            plan::ledger_keys(
                &r.verifier,
                &plan::Subject::Selective {
                    issuer: &e.issuer,
                    batch_root: &disclosure.batch_root,
                    status: &e.status,
                    schema_id: &e.schema_id,
                },
            )
        }
        PresentationProof::Unlinkable { proof } => {
            let mut keys = plan::ledger_keys(
                &r.verifier,
                &plan::Subject::Unlinkable {
                    issuer: &proof.issuer,
                    circuit: &proof.circuit,
                    version: proof.circuit_version,
                    batch: None,
                },
            );
            // The anchor (keyed by its SM3 root) and schema come with the presentation's own
            // proofs; online, they are re-read by the keys found there.
            for lp in &p.ledger_proofs {
                for s in &lp.state {
                    if !keys.contains(&s.key) {
                        keys.push(s.key.clone());
                    }
                }
            }
            keys
        }
    }
}

/// Reads the records a presentation's checks need, fresh from `ledger` (online verification).
pub async fn fetch_facts(ledger: &impl ReadLedger, p: &Presentation) -> Result<Facts, LedgerError> {
    let mut keys = needed_keys(p);
    keys.truncate(ledger_api::MAX_PROOF_KEYS);
    Ok(ledger.read(keys).await?.1)
}

struct Run {
    report: Report,
    failed: bool,
}

impl Run {
    /// Like [`Run::check`], but `f` runs only while every check so far passed: work after a
    /// failure (SM2, Bulletproofs, Groth16) is not done for a presentation already refused.
    fn check_lazy(&mut self, check: Check, f: impl FnOnce() -> Result<String, Refusal>) -> bool {
        let result = if self.failed { Ok(String::new()) } else { f() };
        self.check(check, result)
    }

    fn check(&mut self, check: Check, result: Result<String, Refusal>) -> bool {
        let (status, detail, refusal) = match (self.failed, result) {
            (true, _) => (
                CheckStatus::NotRun,
                "not run: an earlier check failed".to_owned(),
                None,
            ),
            (false, Ok(d)) => (CheckStatus::Passed, d, None),
            (false, Err(why)) => {
                self.failed = true;
                (CheckStatus::Failed, why.to_string(), Some(why))
            }
        };
        self.report.checks.push(CheckLine {
            check,
            status,
            detail,
            refusal,
        });
        !self.failed
    }
}

fn get<T: serde::de::DeserializeOwned>(facts: &Facts, key: &[u8], what: &str) -> Result<Option<T>, Refusal> {
    facts.get(key, what).map_err(|e| Refusal::NotProven {
        reason: e.to_string(),
    })
}

/// Verifies a presentation; see the module documentation.
pub fn verify(p: &Presentation, ctx: &Context<'_>) -> Report {
    let mut run = Run {
        report: Report::default(),
        failed: false,
    };
    let r = &p.request.request;
    run.check(
        Check::RequestSignature,
        p.request
            .verify()
            .map(|()| format!("signed by {}", r.verifier))
            .map_err(|e| match e {
                RequestSignatureError::Signature(e) => Refusal::RequestSignature {
                    reason: e.to_string(),
                },
                RequestSignatureError::NotTheVerifiersKey => Refusal::RequestNotByItsVerifier,
            }),
    );
    run.check(
        Check::Request,
        match (ctx.verifier, ctx.guard) {
            (Some(me), _) if *me != r.verifier => Err(Refusal::AnotherVerifier {
                verifier: r.verifier.to_string(),
            }),
            (_, Some(g)) => g.made(r).map(|()| "made by this verifier".into()),
            _ => Ok("not compared (no verifier state given)".into()),
        }
        .and_then(|d| match (&p.proof, r.tier) {
            (PresentationProof::Selective { .. }, Tier::Selective)
            | (PresentationProof::Unlinkable { .. }, Tier::Unlinkable) => Ok(d),
            _ => Err(Refusal::WrongTier),
        }),
    );
    run.check(
        Check::Expiry,
        check_request_times(r, ctx.now).map(|()| format!("answerable for {} s more", r.expires_at - ctx.now)),
    );
    run.check(
        Check::Nonce,
        match ctx.guard {
            Some(g) if g.answered(&r.nonce) => Err(Refusal::Replay),
            Some(_) => Ok("not answered before".into()),
            None => Ok("not tracked (no verifier state given)".into()),
        },
    );
    let facts = match &ctx.source {
        // The request checks failed: no signature of the proofs is worth checking.
        // No facts: the line is recorded as not run, whatever it would have said.
        _ if run.failed => Ok(Facts::default()),
        _ if p.ledger_proofs.len() > MAX_LEDGER_PROOFS => Err(Refusal::TooManyLedgerProofs {
            carried: p.ledger_proofs.len(),
            max: MAX_LEDGER_PROOFS,
        }),
        Source::Offline {
            trust,
            max_status_age_secs,
        } => Facts::verify(&p.ledger_proofs, trust, ctx.cache)
            .map_err(|e| Refusal::LedgerProof {
                reason: e.to_string(),
            })
            .and_then(|f| {
                let age = ctx.now - (f.oldest_ms / 1000) as i64;
                let ahead = (f.newest_ms / 1000) as i64 - ctx.now;
                if age > *max_status_age_secs {
                    Err(Refusal::LedgerProofsTooOld {
                        age_secs: age,
                        max_secs: *max_status_age_secs,
                    })
                } else if ahead > MAX_FUTURE_SECS as i64 {
                    Err(Refusal::LedgerProofFromTheFuture {
                        ahead_secs: ahead,
                        max_secs: MAX_FUTURE_SECS,
                    })
                } else {
                    Ok(f)
                }
            }),
        Source::Online(f) => Ok(f.clone()),
    };
    let facts = match facts {
        Ok(f) => {
            run.check(
                Check::LedgerProof,
                Ok(format!(
                    "certified by the validator set up to block {}{}",
                    f.newest_height,
                    if matches!(ctx.source, Source::Online(_)) {
                        " (read online)"
                    } else {
                        " (carried in the presentation)"
                    }
                )),
            );
            f
        }
        Err(e) => {
            run.check(Check::LedgerProof, Err(e));
            Facts::default()
        }
    };
    match &p.proof {
        PresentationProof::Selective { disclosure, .. } => selective(&mut run, p, disclosure, &facts, ctx),
        PresentationProof::Unlinkable { proof } => unlinkable(&mut run, p, proof, &facts),
    }
    if !run.failed
        && let Some(g) = ctx.guard
    {
        match g.consume(&r.nonce, ctx.now) {
            Ok(true) => {}
            Ok(false) => {
                // Another verification of the same answer won the race.
                if let Some(line) = run.report.checks.iter_mut().find(|c| c.check == Check::Nonce) {
                    line.status = CheckStatus::Failed;
                    line.detail = Refusal::Replay.to_string();
                    line.refusal = Some(Refusal::Replay);
                }
            }
            Err(e) => {
                run.check(Check::Nonce, Err(e));
            }
        }
        if let Some(n) = run.report.nullifier
            && run.report.passed()
        {
            run.report.nullifier_seen_before = g.note_nullifier(&n);
        }
    }
    if !run.report.passed() {
        run.report.disclosed.clear();
        run.report.proven.clear();
    }
    run.report
}

fn issuer_check(
    facts: &Facts,
    issuer: &Did,
    credential_type: &str,
    request: &PresentationRequest,
) -> Result<String, Refusal> {
    let rec: IssuerRecord =
        get(facts, &state_keys::issuer(issuer), "the issuer record")?.ok_or_else(|| {
            Refusal::IssuerNotRegistered {
                issuer: issuer.to_string(),
            }
        })?;
    if rec.status == IssuerStatus::Suspended {
        return Err(Refusal::IssuerSuspended {
            name: rec.name,
            issuer: issuer.to_string(),
        });
    }
    if !rec.allowed_types.iter().any(|t| t == credential_type) {
        return Err(Refusal::IssuerNotAllowed {
            name: rec.name,
            credential_type: credential_type.to_owned(),
        });
    }
    if !request.accepted_issuers.is_empty() && !request.accepted_issuers.contains(issuer) {
        return Err(Refusal::IssuerNotAccepted { name: rec.name });
    }
    Ok(format!("{} ({issuer}), registered and active", rec.name))
}

fn selective(run: &mut Run, p: &Presentation, d: &SelectiveDisclosure, facts: &Facts, ctx: &Context<'_>) {
    let r = &p.request.request;
    let e = &d.envelope;
    run.check(
        Check::Issuer,
        issuer_check(facts, &e.issuer, &e.credential_type, r),
    );
    run.check_lazy(Check::Anchor, || {
        if e.credential_type != r.credential_type {
            return Err(Refusal::WrongCredentialType {
                shown: e.credential_type.clone(),
                asked: r.credential_type.clone(),
            });
        }
        let anchor: AnchorRecord = get(facts, &state_keys::anchor(&e.issuer, &d.batch_root), "the anchor")?
            .ok_or(Refusal::NotAnchored)?;
        anchor
            .matches(e, d.inclusion.tree_size)
            .map_err(|mismatch| Refusal::AnchorMismatch { mismatch })?;
        d.inclusion
            .verify(&e.leaf_hash(), &d.batch_root)
            .map_err(|err| Refusal::NotInBatch {
                reason: err.to_string(),
            })?;
        let h = facts
            .height_of(&state_keys::anchor(&e.issuer, &d.batch_root))
            .unwrap_or_default();
        Ok(format!(
            "batch of {} anchored (proven at block {h})",
            anchor.count
        ))
    });
    run.check_lazy(Check::Openings, || {
        let mut names: Vec<&str> = d.disclosed.iter().map(|o| o.name.as_str()).collect();
        names.sort_unstable();
        let mut asked: Vec<&str> = r.disclose.iter().map(String::as_str).collect();
        asked.sort_unstable();
        if names != asked {
            return Err(Refusal::OtherDisclosure {
                disclosed: names.iter().map(|n| (*n).to_owned()).collect(),
                asked: asked.iter().map(|n| (*n).to_owned()).collect(),
            });
        }
        for o in &d.disclosed {
            let c = e.attribute(&o.name).ok_or_else(|| Refusal::NotInCredential {
                attribute: o.name.clone(),
            })?;
            check_opening(c, o).map_err(|reason| Refusal::Opening { reason })?;
        }
        Ok(format!(
            "{} disclosed value(s) open the envelope",
            d.disclosed.len()
        ))
    });
    run.check_lazy(Check::Predicates, || {
        if r.predicates.is_empty() {
            return if d.predicate_proof.is_none() {
                Ok("none asked".into())
            } else {
                Err(Refusal::UnaskedPredicateProof)
            };
        }
        let proof = d.predicate_proof.as_ref().ok_or(Refusal::MissingPredicateProof)?;
        let statements = r
            .predicates
            .iter()
            .map(|pr| match e.attribute(&pr.attribute) {
                Some(AttributeCommitment::Pedersen(c)) => Ok(PredicateStatement {
                    predicate: pr,
                    commitment: *c,
                }),
                _ => Err(Refusal::NotNumeric {
                    attribute: pr.attribute.clone(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        zk::predicates::verify_predicates(
            &ProofBinding {
                request: r.digest(),
                envelope: e.digest(),
            },
            &statements,
            proof,
        )
        .map_err(|err| Refusal::PredicateProof {
            reason: err.to_string(),
        })?;
        Ok(r.predicates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "))
    });
    run.check_lazy(Check::HolderBinding, || {
        p.verify_holder_binding()
            .map(|()| "signed by the key the credential is bound to".into())
            .map_err(|err| Refusal::HolderSignature {
                reason: err.to_string(),
            })
    });
    run.check_lazy(Check::Revocation, || {
        let key = e.status.chunk_key(&e.issuer);
        let chunk: Option<StatusListChunk> = get(facts, &key, "the status list")?;
        let revoked = crate::ledger::is_revoked(chunk.as_ref(), e.status.index);
        let h = facts.height_of(&key).unwrap_or_default();
        if revoked {
            Err(Refusal::Revoked {
                list_id: e.status.list_id,
                block: h,
            })
        } else {
            Ok(format!("not revoked as of block {h}"))
        }
    });
    run.check(
        Check::Validity,
        if ctx.now < e.valid_from {
            Err(Refusal::NotYetValid)
        } else if e.valid_until.is_some_and(|u| ctx.now > u) {
            Err(Refusal::CredentialExpired)
        } else {
            Ok("inside its validity period".into())
        },
    );
    if !run.failed {
        let schema = plan::resolve_schema(facts, &e.schema_id).ok();
        let schema = schema.as_deref();
        run.report.disclosed = d
            .disclosed
            .iter()
            .map(|o| {
                let v = match &o.value {
                    AttributeValue::Text(s) => s.clone(),
                    AttributeValue::Integer(x) => tier::display_value(schema, &o.name, *x),
                };
                (o.name.clone(), v)
            })
            .collect();
        run.report.proven = r
            .predicates
            .iter()
            .map(|pr| tier::display_predicate(schema, pr))
            .collect();
    }
}

/// What the answer's escrow must be: the council the verifier's registered scope names for the
/// type (or none), its key as the ledger proves it, the schema's identity handle, and the
/// carried ciphertext.
fn escrow_statement(
    verifier: &VerifierRecord,
    credential_type: &str,
    u: &UnlinkableProof,
    facts: &Facts,
    schema: &schemas::credential_schema::CredentialSchema,
) -> Result<Option<zk::unlinkable::EscrowStatement>, Refusal> {
    let asked = verifier.escrow_for(credential_type).map(str::to_owned);
    let carried = match (&asked, &u.escrow) {
        (None, None) => return Ok(None),
        (Some(council), None) => {
            return Err(Refusal::EscrowMissing {
                council: council.clone(),
            });
        }
        (asked, Some(e)) if asked.as_ref() != Some(&e.council) => {
            return Err(Refusal::EscrowMismatch {
                carried: e.council.clone(),
                asked: asked.clone().unwrap_or_else(|| "no escrow".into()),
            });
        }
        (_, Some(e)) => e,
    };
    let escrow = |reason: String| Refusal::Escrow { reason };
    let council = plan::council_key(facts, &carried.council).map_err(escrow)?;
    let handle_attribute = tier::handle_attribute(schema)
        .ok_or_else(|| escrow(format!("{} names no identity handle", schema.id())))?;
    let bytes = <&[u8; 64]>::try_from(carried.ciphertext.as_slice()).map_err(|_| {
        escrow(format!(
            "the ciphertext has {} bytes, not 64",
            carried.ciphertext.len()
        ))
    })?;
    let ciphertext =
        zk::escrow::Ciphertext::from_bytes(bytes).map_err(|e| escrow(format!("the ciphertext: {e}")))?;
    Ok(Some(zk::unlinkable::EscrowStatement {
        handle_attribute,
        council,
        ciphertext,
    }))
}

/// What an unlinkable answer's Groth16 proof is checked against, from the facts: the
/// registered verifying key, the statement, and the escrow the verifier's scope requires.
fn unlinkable_statement(
    p: &Presentation,
    u: &UnlinkableProof,
    facts: &Facts,
) -> Result<
    (
        zk::unlinkable::VerifyingKey,
        zk::unlinkable::UnlinkableStatement,
        Option<zk::unlinkable::EscrowStatement>,
    ),
    Refusal,
> {
    let r = &p.request.request;
    let anchor = facts.find_anchor(&u.issuer, |a| a.poseidon_root == Some(u.poseidon_root));
    let schema = anchor.as_ref().map(|a| plan::resolve_schema(facts, &a.schema_id));
    let schema = match &schema {
        None => return Err(Refusal::NoAnchorWithPoseidonRoot),
        Some(Err(e)) => {
            return Err(Refusal::SchemaUnknown {
                reason: e.to_string(),
            });
        }
        Some(Ok(s)) => &**s,
    };
    let verifier = get::<VerifierRecord>(facts, &state_keys::verifier(&r.verifier), "the verifier record")?
        .ok_or(Refusal::VerifierNotRegistered)?;
    let scope = verifier.nullifier_domain();
    let escrow = escrow_statement(&verifier, &r.credential_type, u, facts, schema)?;
    // The key version is this verifier's, not the prover's choice: an older circuit lacks
    // the validity, issuer and presence rules.
    if u.circuit_version != zk::unlinkable::KEY_VERSION {
        return Err(Refusal::CircuitVersion {
            version: u.circuit_version,
            accepted: zk::unlinkable::KEY_VERSION,
        });
    }
    let vk_rec: VerifyingKeyRecord = get(
        facts,
        &state_keys::verifying_key(&u.circuit, u.circuit_version),
        "the verifying key",
    )?
    .ok_or_else(|| Refusal::NoVerifyingKey {
        circuit: u.circuit.clone(),
        version: u.circuit_version,
    })?;
    if plan::key_retired(facts, &u.circuit, u.circuit_version).map_err(|e| Refusal::NotProven {
        reason: e.to_string(),
    })? {
        return Err(Refusal::RetiredKey {
            circuit: u.circuit.clone(),
            version: u.circuit_version,
        });
    }
    let vk = zk::unlinkable::VerifyingKey::from_bytes(&vk_rec.circuit, vk_rec.version, &vk_rec.key).map_err(
        |e| Refusal::BadVerifyingKey {
            reason: e.to_string(),
        },
    )?;
    let predicates = tier::circuit_predicates(schema, &r.predicates)
        .map_err(|reason| Refusal::CircuitPredicates { reason })?;
    let anchor = anchor.as_ref().ok_or(Refusal::NoAnchorWithPoseidonRoot)?;
    let statement = zk::unlinkable::UnlinkableStatement {
        issuer_root: u.poseidon_root,
        revocation_root: u.revocation_root,
        // The leaf names its issuer and schema: a root copied into another issuer's anchor
        // proves nothing there.
        binding: zk::unlinkable::binding_element(u.issuer.as_str(), &anchor.schema_id),
        // Valid at the request's time, which this verifier set when it made the request.
        now: zk::unlinkable::circuit_time(r.created_at).ok_or(Refusal::RequestTimeOutOfRange)?,
        predicates,
        scope,
        request: r.digest(),
    };
    Ok((vk, statement, escrow))
}

/// The opening proposal for an escrowed unlinkable answer (issue 18): its council, ciphertext,
/// verifier and request, with the proof and public inputs validators check
/// ([`schemas::ledger::EscrowEvidence`]), the signed request it answers and the anchored batch
/// it is proven against. Its escrow proof is verified first, against `facts` (the answer's own
/// ledger proofs or records read fresh); the rest of the answer (expiry, revocation) does not
/// bear on an opening and is not checked here.
pub fn opening_request(
    p: &Presentation,
    facts: &Facts,
    legal_basis: String,
) -> Result<schemas::ledger::OpeningRequest, Refusal> {
    let PresentationProof::Unlinkable { proof: u } = &p.proof else {
        return Err(Refusal::Escrow {
            reason: "a selective-disclosure answer carries no escrow; only unlinkable answers are opened"
                .into(),
        });
    };
    let (vk, statement, escrow) = unlinkable_statement(p, u, facts)?;
    let (Some(escrow), Some(answer)) = (escrow, &u.escrow) else {
        return Err(Refusal::Escrow {
            reason: "the answer carries no escrow (its verifier did not require one)".into(),
        });
    };
    let groth16 = |e: zk::ZkError| Refusal::Groth16 {
        reason: e.to_string(),
    };
    zk::unlinkable::verify_escrowed(&vk, &statement, &escrow, &u.nullifier, &u.proof).map_err(groth16)?;
    let inputs = zk::unlinkable::escrow_evidence(&vk, &statement, &escrow, &u.nullifier).map_err(groth16)?;
    let anchor = facts
        .find_anchor(&u.issuer, |a| a.poseidon_root == Some(u.poseidon_root))
        .ok_or(Refusal::NoAnchorWithPoseidonRoot)?;
    Ok(schemas::ledger::OpeningRequest {
        council: answer.council.clone(),
        ciphertext: answer.ciphertext.clone(),
        verifier: p.request.request.verifier.clone(),
        request: p.request.request.digest(),
        answered: Box::new(p.request.clone()),
        issuer: u.issuer.clone(),
        batch: anchor.root,
        legal_basis,
        evidence: schemas::ledger::EscrowEvidence {
            circuit: u.circuit.clone(),
            version: u.circuit_version,
            inputs,
            proof: u.proof.clone(),
        },
    })
}

fn unlinkable(run: &mut Run, p: &Presentation, u: &UnlinkableProof, facts: &Facts) {
    let r = &p.request.request;
    run.check(
        Check::Issuer,
        issuer_check(facts, &u.issuer, &r.credential_type, r),
    );
    let anchor = facts.find_anchor(&u.issuer, |a| a.poseidon_root == Some(u.poseidon_root));
    let schema = anchor.as_ref().map(|a| plan::resolve_schema(facts, &a.schema_id));
    run.check(
        Check::Anchor,
        match &anchor {
            None => Err(Refusal::NoAnchorWithPoseidonRoot),
            Some(a) if a.credential_type != r.credential_type => Err(Refusal::AnchoredOtherType {
                anchored: a.credential_type.clone(),
                asked: r.credential_type.clone(),
            }),
            Some(a) => Ok(format!("a batch of {} anchored by the issuer", a.count)),
        },
    );
    run.check(
        Check::Openings,
        if r.disclose.is_empty() {
            Ok("nothing disclosed (unlinkable tier)".into())
        } else {
            Err(Refusal::DisclosureInUnlinkableTier)
        },
    );
    let revocation = (|| {
        let ids: Option<RevocationRoot> = get(
            facts,
            &state_keys::revoked(&u.issuer, plan::UNLINKABLE_STATUS_LIST),
            "the revocation root",
        )?;
        let root = match &ids {
            Some(rec) => rec.root,
            None => RevocationTree::empty_root_hash(),
        };
        if root != u.revocation_root {
            return Err(Refusal::StaleRevocationRoot);
        }
        Ok(format!(
            "not among the issuer's {} revoked ids (proven in zero knowledge)",
            ids.map_or(0, |i| i.count)
        ))
    })();
    let zk_result = || {
        let (vk, statement, escrow) = unlinkable_statement(p, u, facts)?;
        match &escrow {
            None => zk::unlinkable::verify_unlinkable(&vk, &statement, &u.nullifier, &u.proof),
            Some(e) => zk::unlinkable::verify_escrowed(&vk, &statement, e, &u.nullifier, &u.proof),
        }
        .map_err(|e| match e {
            zk::ZkError::NotAFieldElement { what } => Refusal::NotAFieldElement {
                what: what.to_owned(),
            },
            e => Refusal::Groth16 {
                reason: e.to_string(),
            },
        })?;
        Ok(format!(
            "{} ({}){}",
            r.predicates
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            u.circuit,
            match &u.escrow {
                Some(e) => format!(
                    "; the identity handle is escrowed to council {} (opened only after a public vote)",
                    e.council
                ),
                None => String::new(),
            }
        ))
    };
    run.check_lazy(Check::ZeroKnowledge, zk_result);
    run.check(Check::Revocation, revocation);
    run.check(
        Check::Validity,
        Ok("inside its validity period at the request's time (proven in zero knowledge)".into()),
    );
    if !run.failed {
        run.report.nullifier = Some(u.nullifier);
        run.report.proven = r
            .predicates
            .iter()
            .map(|pr| {
                tier::display_predicate(schema.as_ref().and_then(|s| s.as_ref().ok()).map(|s| &**s), pr)
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tier::parse_predicate;
    use schemas::ledger::ScopeItem;

    fn verifier(key: &SecretKey, predicates: &[&str]) -> VerifierRecord {
        VerifierRecord {
            did: Did::from_public_key(key.public_key()),
            name: "Employer".into(),
            public_key: key.public_key().clone(),
            scope: vec![ScopeItem {
                credential_type: "UniversityDiploma".into(),
                disclose: vec![],
                predicates: predicates.iter().map(|p| (*p).to_owned()).collect(),
                escrow: None,
            }],
            purposes: vec!["hiring".into()],
            nullifier_scope: "employer".into(),
        }
    }

    fn asking(key: &SecretKey, predicates: &[&str]) -> SignedRequest {
        let spec = RequestSpec {
            credential_type: "UniversityDiploma".into(),
            accepted_issuers: vec![],
            disclose: vec![],
            predicates: predicates
                .iter()
                .map(|p| parse_predicate(p).expect("predicate"))
                .collect(),
            purpose: "hiring".into(),
            ttl_secs: 600,
            tier: Tier::Selective,
        };
        make_request(key, &spec, 1_800_000_000, &mut rand_core::OsRng)
    }

    /// The desktop's UI words each violation from its JSON (`ui/src/format.ts` `ScopeViolation`):
    /// this is that shape, variant by variant; a rename here must be made there too.
    #[test]
    fn scope_violations_serialize_in_the_shape_the_ui_reads() {
        use serde_json::json;
        let a = || "gpa".to_owned();
        let cases = [
            (
                ScopeViolation::NotRegistered {
                    verifier: "did:credence:00".into(),
                },
                json!({"code": "notRegistered", "verifier": "did:credence:00"}),
            ),
            (ScopeViolation::OtherKey, json!({"code": "otherKey"})),
            (
                ScopeViolation::Purpose {
                    purpose: "p".into(),
                    registered: vec!["hiring".into()],
                },
                json!({"code": "purpose", "purpose": "p", "registered": ["hiring"]}),
            ),
            (
                ScopeViolation::CredentialType {
                    credential_type: "KycAttestation".into(),
                },
                json!({"code": "credentialType", "credentialType": "KycAttestation"}),
            ),
            (
                ScopeViolation::Disclose { attribute: a() },
                json!({"code": "disclose", "attribute": "gpa"}),
            ),
            (
                ScopeViolation::Predicate { attribute: a() },
                json!({"code": "predicate", "attribute": "gpa"}),
            ),
            (
                ScopeViolation::TwoBounds { attribute: a() },
                json!({"code": "twoBounds", "attribute": "gpa"}),
            ),
            (
                ScopeViolation::NarrowRange {
                    attribute: a(),
                    width: 10,
                    min_width: 50,
                },
                json!({"code": "narrowRange", "attribute": "gpa", "width": 10, "minWidth": 50}),
            ),
        ];
        for (v, want) in cases {
            assert_eq!(serde_json::to_value(&v).expect("json"), want, "{v}");
            let back: ScopeViolation = serde_json::from_value(want).expect("reads back");
            assert_eq!(back, v);
        }
        let ui = include_str!("../../ui/src/format.ts");
        for code in [
            "notRegistered",
            "otherKey",
            "purpose",
            "credentialType",
            "disclose",
            "predicate",
            "twoBounds",
            "narrowRange",
        ] {
            assert!(
                ui.contains(&format!("case \"{code}\":")),
                "the UI does not word {code}"
            );
        }
    }

    /// A verifier's purpose goes into the holder's sentence without what could reorder or hide
    /// the words around it.
    #[test]
    fn a_purpose_in_a_violation_is_plain_text() {
        assert_eq!(
            plain("hir\u{202E}gni\u{200B}x\"\n is fine"),
            "hir\u{FFFD}gni\u{FFFD}x\"\u{FFFD} is fine"
        );
        assert_eq!(plain("招聘"), "招聘");
    }

    /// A range that pins one value reveals it: ranges only where registered, and only so narrow
    /// (security review, finding 20).
    #[test]
    fn scope_bounds_the_shape_of_predicates_not_only_their_attributes() {
        let key = SecretKey::generate(&mut rand_core::OsRng);
        let one_bound = verifier(&key, &["gpa", "graduation_date:range:365"]);
        let violations = |v: &VerifierRecord, p: &[&str]| -> Vec<String> {
            scope_violations(&asking(&key, p), Some(v))
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert!(violations(&one_bound, &["gpa>=300"]).is_empty());
        assert!(violations(&one_bound, &["gpa<=300"]).is_empty());
        let pinned = violations(&one_bound, &["gpa=342..342"]);
        assert_eq!(pinned.len(), 1, "{pinned:?}");
        assert!(pinned[0].contains("one bound only"), "{pinned:?}");
        // Two one-sided bounds on one attribute are a range too.
        assert_eq!(violations(&one_bound, &["gpa>=341", "gpa<=343"]).len(), 1);
        // A registered range: wide enough passes, narrower is refused with both widths.
        assert!(violations(&one_bound, &["graduation_date=20000..20365"]).is_empty());
        let narrow = violations(&one_bound, &["graduation_date>=20000", "graduation_date<=20030"]);
        assert_eq!(narrow.len(), 1, "{narrow:?}");
        assert!(
            narrow[0].contains("30 wide") && narrow[0].contains("365"),
            "{narrow:?}"
        );
        assert_eq!(
            violations(&one_bound, &["degree>=1"]),
            vec!["it may not ask for a proof about `degree`".to_owned()]
        );
        // Hostile bounds do not overflow.
        assert_eq!(
            violations(
                &one_bound,
                &[
                    "graduation_date>=-9223372036854775808",
                    "graduation_date<=9223372036854775807"
                ]
            ),
            Vec::<String>::new()
        );
        // Malformed registrations allow nothing, and say how to write them.
        for bad in [
            "gpa:range",
            "gpa:range:0",
            "gpa:range:x",
            "gpa:wide:5",
            ":range:5",
            "gpa:range:5:6",
        ] {
            let err = PredicateScope::parse(bad).expect_err(bad);
            assert!(err.contains("name:range:WIDTH"), "{err}");
            assert_eq!(
                violations(&verifier(&key, &[bad]), &["gpa>=300"]).len(),
                1,
                "{bad}"
            );
        }
    }
}

//! The Credence desktop wallet: a thin Tauri command layer over [`wallet::holder::Holder`].
//!
//! Keys and secrets never cross into the web view: each command returns only what its screen
//! shows (summaries, the consent, the finished presentation the holder chose to send) and a
//! typed [`CommandError`] the UI turns into a sentence. The one exception is the recovery phrase,
//! which onboarding must show once; it is kept (zeroized on drop) only until the holder has typed
//! it back. The wallet lives in the platform's data folder and locks itself after the configured
//! idle time.

use schemas::hash::Hash;
use schemas::ledger::{Genesis, IssuerRecord, StatusListChunk, state_keys};
use schemas::seal::Cost;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use wallet::holder::{Consent, CredentialSummary, Disclosure, Holder, Pending};
use wallet::keystore::{Keystore, RecoveryPhrase};
use wallet::ledger::Ledger;
use wallet::pinning::{PinError, PinSource, TrustFile};
use zeroize::Zeroizing;

/// What a command refused, and why, in words for the holder.
#[derive(Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct CommandError {
    /// A stable code the UI may branch on (`locked`, `no_wallet`, `wrong_password`, …).
    pub code: &'static str,
    /// What happened and what to do.
    pub message: String,
}

impl CommandError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl From<wallet::holder::HolderError> for CommandError {
    fn from(e: wallet::holder::HolderError) -> Self {
        use wallet::holder::HolderError as H;
        use wallet::keystore::KeystoreError as K;
        let code = match &e {
            H::Keystore(K::WrongPassword) => "wrong_password",
            H::Keystore(K::WeakPassword) => "weak_password",
            H::Keystore(K::NotFound(_)) => "no_wallet",
            H::Keystore(K::Exists(_)) => "wallet_exists",
            H::Keystore(K::BadPhrase(_)) => "bad_phrase",
            H::Ledger(_) => "ledger",
            H::OutOfScope(_) => "out_of_scope",
            H::BadRequest(_) => "bad_request",
            H::NoMatch(_) => "no_match",
            H::Unsatisfied(_) => "unsatisfied",
            H::NotMine => "not_mine",
            H::NotAnchored(_) => "not_anchored",
            H::Unknown(_) => "unknown_credential",
            H::ProvingKeyNeeded => "proving_key_needed",
            H::Credential(_) => "bad_credential",
            H::Schema(_) => "unknown_schema",
            _ => "wallet",
        };
        CommandError::new(code, e.to_string())
    }
}

impl From<wallet::keystore::KeystoreError> for CommandError {
    fn from(e: wallet::keystore::KeystoreError) -> Self {
        wallet::holder::HolderError::from(e).into()
    }
}

/// What the holder reads when no trusted connection could be made, in the app's words.
fn pin_error(e: PinError) -> CommandError {
    let describe = |chain: &str, f: &Hash| format!("chain {chain} (genesis fingerprint {f})");
    match e {
        PinError::Ledger(e) => e.into(),
        PinError::NoNodes => CommandError::new("bad_settings", "No ledger node is set. Add one in Settings."),
        PinError::OtherConsortium {
            pinned_chain,
            pinned,
            given_chain,
            given,
        } => CommandError::new(
            "bad_settings",
            format!(
                "This wallet trusts {}, but the genesis file in Settings is {}. A wallet trusts one consortium: clear the genesis file, or use another wallet folder.",
                describe(&pinned_chain, &pinned),
                describe(&given_chain, &given)
            ),
        ),
        PinError::FingerprintMismatch {
            url,
            chain,
            served,
            expected,
        } => CommandError::new(
            "untrusted",
            format!(
                "The node at {url} serves {}, not the fingerprint in Settings ({expected}). Nothing was trusted: check the node address and the fingerprint your consortium published.",
                describe(&chain, &served)
            ),
        ),
        PinError::NotPinned { url, chain, served } => CommandError::new(
            "untrusted",
            format!(
                "No consortium is trusted yet. The node at {url} serves {}. If that is the fingerprint your consortium published, enter it in Settings (or give its genesis file).",
                describe(&chain, &served)
            ),
        ),
        PinError::OtherFingerprint {
            pinned_chain,
            pinned,
            given,
        } => CommandError::new(
            "bad_settings",
            format!(
                "This wallet trusts {}, but the fingerprint in Settings is {given}. A wallet trusts one consortium: correct or clear the fingerprint, or use another wallet folder.",
                describe(&pinned_chain, &pinned)
            ),
        ),
        e @ PinError::Damaged { .. } => CommandError::new("trust_damaged", e.to_string()),
        e @ PinError::Io { .. } => CommandError::new("io", e.to_string()),
        e => CommandError::new("ledger", e.to_string()),
    }
}

impl From<wallet::ledger::LedgerError> for CommandError {
    fn from(e: wallet::ledger::LedgerError) -> Self {
        CommandError::new("ledger", format!("{e} (check the ledger node in Settings)"))
    }
}

type Res<T> = Result<T, CommandError>;

/// Settings kept beside the wallet (nothing secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The ledger nodes' APIs, separated by commas or spaces: the first that answers is used.
    pub ledger: String,
    /// The consortium's genesis file, obtained out of band: pinned on first use, after which
    /// a node must serve exactly this genesis.
    #[serde(default)]
    pub genesis: Option<String>,
    /// Or the genesis fingerprint the consortium published (64 hex digits): the node's genesis
    /// is pinned when it has this fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Minutes of inactivity before the wallet locks itself.
    pub auto_lock_minutes: u32,
    /// Proving key of the unlinkable circuit, if the holder has one.
    pub proving_key: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ledger: "http://127.0.0.1:26700".into(),
            genesis: None,
            fingerprint: None,
            auto_lock_minutes: 5,
            proving_key: None,
        }
    }
}

impl Settings {
    fn nodes(&self) -> impl Iterator<Item = &str> {
        self.ledger
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The trusted genesis file, when one is set.
    fn genesis_path(&self) -> Option<&str> {
        self.genesis.as_deref().filter(|p| !p.trim().is_empty())
    }

    fn fingerprint(&self) -> Res<Option<Hash>> {
        let Some(f) = self
            .fingerprint
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        else {
            return Ok(None);
        };
        Hash::from_hex(f).map(Some).map_err(|_| {
            CommandError::new(
                "bad_settings",
                format!("{f:?} is not a genesis fingerprint: it has 64 hex digits, as the consortium published it."),
            )
        })
    }

    fn trusted_genesis(&self) -> Res<Option<Genesis>> {
        let Some(path) = self.genesis_path() else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            CommandError::new(
                "bad_settings",
                format!("The trusted genesis file {path} cannot be read ({e}). Check the path in Settings."),
            )
        })?;
        serde_json::from_str(&text).map(Some).map_err(|e| {
            CommandError::new(
                "bad_settings",
                format!(
                    "{path} is not a Credence genesis file ({e}). Use the genesis.json the consortium published."
                ),
            )
        })
    }
}

/// The ledger the wallet talks to, as the Settings screen shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerInfo {
    /// The node answering.
    pub node: String,
    /// Chain id.
    pub chain_id: String,
    /// The validator set's epoch.
    pub epoch: u64,
    /// The validators proofs are checked against: SM2 keys (hex) and addresses.
    pub validators: Vec<(String, String)>,
    /// The pinned genesis's fingerprint (every read is checked against that genesis).
    pub fingerprint: String,
    /// The node's committed height, read now (so the screen shows the node is alive).
    pub height: u64,
}

/// What the app knows about itself (the first call of every screen).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// A wallet exists in the data folder.
    pub exists: bool,
    /// It is unlocked.
    pub unlocked: bool,
    /// The holder's DID when unlocked.
    pub did: Option<String>,
    /// The recovery phrase still waits for confirmation.
    pub phrase_unconfirmed: bool,
    /// Settings.
    pub settings: Settings,
    /// The data folder.
    pub data_dir: String,
}

/// A credential's detail screen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    /// The summary.
    pub summary: CredentialSummary,
    /// Attributes as text.
    pub attributes: Vec<(String, String)>,
    /// What the credential's schema says of its attributes (titles, descriptions).
    pub notes: Vec<wallet::holder::AttributeNote>,
    /// The issuer as registered on the ledger now (name, status, types).
    pub issuer: Option<IssuerView>,
    /// Revocation status read live (`None` when the ledger could not be asked).
    pub revoked: Option<bool>,
    /// The block height the live checks were proven at.
    pub checked_at: Option<u64>,
    /// Why the live check could not be made.
    pub ledger_error: Option<String>,
}

/// An issuer as registered.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerView {
    /// Name.
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Types it may issue.
    pub allowed_types: Vec<String>,
}

/// A finished answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answered {
    /// The presentation JSON (what the verifier receives; for copying).
    pub presentation: String,
    /// Where it was saved, if asked.
    pub saved_to: Option<String>,
    /// What the verifier said, when the request came by an `openid4vp://` link and the wallet
    /// sent the answer itself.
    pub sent: Option<Sent>,
}

/// The verifier's word on an answer the wallet sent it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// It took the answer (every check passed, for a Credence verifier).
    pub accepted: bool,
    /// What it said, in a line (printable ASCII; its words are its own).
    pub line: String,
}

impl From<Result<wallet::exchange::Delivered, wallet::exchange::ExchangeError>> for Sent {
    /// The verifier's reply, or why there was none (the UI words the rest).
    fn from(r: Result<wallet::exchange::Delivered, wallet::exchange::ExchangeError>) -> Sent {
        match r {
            Ok(d) => Sent {
                accepted: d.accepted(),
                line: d.line(),
            },
            Err(e) => Sent {
                accepted: false,
                line: e.to_string(),
            },
        }
    }
}

struct Inner {
    /// Where the pinned genesis and what was proven from it are kept.
    trust_file: TrustFile,
    holder: Option<Holder>,
    phrase: Option<RecoveryPhrase>,
    pending: Option<Pending>,
    /// The OpenID4VP request the pending answer goes back to (it came by a link): set once its
    /// request object opened, even when no credential fits, so the holder can still decline.
    exchange: Option<schemas::openid4vp::AuthorizationRequest>,
    /// Which review is current: each `prepare_request` takes the next; `approve` and `decline`
    /// act only on the review the holder is looking at.
    ticket: u64,
    ledger: Option<Ledger>,
    /// The node `ledger` talks to, as Settings name it.
    node: Option<String>,
    /// The node whose reads last failed: the next connection tries the others first.
    failed_node: Option<String>,
    settings: Settings,
    last_active: Instant,
}

/// The app's state: the wallet folder and the open wallet.
pub struct AppState {
    dir: PathBuf,
    cost: Cost,
    inner: Mutex<Inner>,
    /// A link the system opened the app with, until the window takes it.
    incoming: std::sync::Mutex<Option<String>>,
}

impl AppState {
    /// State for a wallet in `dir` (created on first use) with keystore cost `cost`.
    pub fn new(dir: PathBuf, cost: Cost) -> AppState {
        let settings = std::fs::read_to_string(dir.join("settings.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        AppState {
            cost,
            inner: Mutex::new(Inner {
                trust_file: TrustFile::new(dir.join("trust.json")),
                holder: None,
                phrase: None,
                pending: None,
                exchange: None,
                ticket: 0,
                ledger: None,
                node: None,
                failed_node: None,
                settings,
                last_active: Instant::now(),
            }),
            incoming: std::sync::Mutex::new(None),
            dir,
        }
    }

    /// Keeps a link the system opened the app with (the latest wins) for the window to take.
    pub fn offer_link(&self, url: &str) {
        if url.len() <= schemas::openid4vp::MAX_LINK_BYTES {
            *self.incoming.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.to_owned());
        }
    }

    /// The link the system opened the app with, once.
    pub fn take_link(&self) -> Option<String> {
        self.incoming.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Makes the wallet look idle for `idle` more (the auto-lock tests; minutes are too long
    /// to wait for).
    #[doc(hidden)]
    pub async fn backdate_activity(&self, idle: Duration) {
        let mut inner = self.inner.lock().await;
        inner.last_active = inner
            .last_active
            .checked_sub(idle)
            .expect("the machine has been up longer than the idle time asked");
    }

    fn wallet_dir(&self) -> PathBuf {
        self.dir.join("wallet")
    }
}

impl Inner {
    /// Locks the wallet when it was idle too long; records activity otherwise.
    fn touch(&mut self) {
        self.lock_if_idle();
        self.last_active = Instant::now();
    }

    /// Locks the wallet when it was idle too long, without counting as activity (the window
    /// asks for the status on a timer: that is not the holder's doing).
    fn lock_if_idle(&mut self) {
        let idle = Duration::from_secs(u64::from(self.settings.auto_lock_minutes) * 60);
        if self.holder.is_some() && self.settings.auto_lock_minutes > 0 && self.last_active.elapsed() > idle {
            self.lock();
        }
    }

    /// Refuses an answer or refusal for another review than the current one.
    fn current(&self, ticket: Option<u64>) -> Res<()> {
        match ticket {
            Some(t) if t != self.ticket => Err(CommandError::new(
                "stale_request",
                "This request is no longer the one under review: open it again.",
            )),
            _ => Ok(()),
        }
    }

    fn lock(&mut self) {
        self.holder = None;
        self.pending = None;
        self.exchange = None;
        self.phrase = None;
    }

    fn holder(&self) -> Res<&Holder> {
        self.holder.as_ref().ok_or_else(|| {
            CommandError::new(
                "locked",
                "The wallet is locked. Enter your password to unlock it.",
            )
        })
    }

    /// A connection to the first node in the settings that answers and proves itself
    /// against the pinned genesis, pinning it on first use from the genesis file or the
    /// fingerprint in Settings (kept until the settings change or a ledger read fails; see
    /// [`Inner::after_ledger`]).
    async fn ledger(&mut self) -> Res<Ledger> {
        if let Some(l) = &self.ledger {
            return Ok(l.clone());
        }
        let source = PinSource {
            genesis: self.settings.trusted_genesis()?,
            fingerprint: self.settings.fingerprint()?,
        };
        let nodes: Vec<&str> = self.settings.nodes().collect();
        let order = wallet::pinning::after_failed(&nodes, self.failed_node.as_deref());
        let (ledger, node) = self
            .trust_file
            .connect_any(order, &source)
            .await
            .map_err(pin_error)?;
        self.ledger = Some(ledger.clone());
        self.node = Some(node);
        Ok(ledger)
    }

    /// Keeps what the connection proved (validator set followed, height seen) for next time.
    fn save_trust(&self) {
        if let Some(l) = &self.ledger {
            // Best effort: the next connection proves the same again from the pinned genesis.
            let _ = self.trust_file.save(&l.trust());
        }
    }

    /// Forgets the connection after its node failed; the next one tries the other nodes first.
    fn drop_ledger(&mut self) {
        if self.ledger.take().is_some() {
            self.failed_node = self.node.take();
        }
    }

    /// Passes `r` through; after a ledger failure it drops the cached connection, so the next
    /// command tries every node in the settings again (a node that went down is left for the
    /// next one that answers).
    fn after_ledger<T>(&mut self, r: Res<T>) -> Res<T> {
        if matches!(&r, Err(e) if e.code == "ledger") {
            self.drop_ledger();
        } else if r.is_ok() {
            self.save_trust();
        }
        r
    }
}

/// The app's status.
pub async fn status(state: &AppState) -> Status {
    let mut inner = state.inner.lock().await;
    inner.lock_if_idle();
    Status {
        exists: state.wallet_dir().join("wallet.sled").exists(),
        unlocked: inner.holder.is_some(),
        did: inner.holder.as_ref().map(|h| h.did().to_string()),
        phrase_unconfirmed: inner.phrase.is_some(),
        settings: inner.settings.clone(),
        data_dir: state.dir.display().to_string(),
    }
}

/// Creates the wallet; returns the recovery phrase's words (shown once).
pub async fn create_wallet(state: &AppState, password: String) -> Res<Vec<String>> {
    let password = Zeroizing::new(password);
    let mut inner = state.inner.lock().await;
    std::fs::create_dir_all(&state.dir).map_err(|e| CommandError::new("io", e.to_string()))?;
    let (holder, phrase) = Holder::create(&state.wallet_dir(), &password, state.cost)?;
    let words = phrase.words().split(' ').map(str::to_owned).collect();
    inner.holder = Some(holder);
    inner.phrase = Some(phrase);
    inner.last_active = Instant::now();
    Ok(words)
}

/// Checks the phrase typed back; forgets it when it matches.
pub async fn confirm_phrase(state: &AppState, words: String) -> Res<()> {
    let words = Zeroizing::new(words);
    let mut inner = state.inner.lock().await;
    let typed = RecoveryPhrase::parse(&words).map_err(|e| CommandError::new("bad_phrase", e.to_string()))?;
    match &inner.phrase {
        Some(p) if p.words() == typed.words() => {
            inner.phrase = None;
            Ok(())
        }
        Some(_) => Err(CommandError::new(
            "phrase_mismatch",
            "The words do not match the recovery phrase shown. Check each word and its place.",
        )),
        None => Ok(()),
    }
}

/// Restores a wallet from a backup file and the recovery phrase, with a new password.
pub async fn restore_wallet(state: &AppState, phrase: String, backup: String, password: String) -> Res<()> {
    let (phrase, password) = (Zeroizing::new(phrase), Zeroizing::new(password));
    let mut inner = state.inner.lock().await;
    let phrase =
        RecoveryPhrase::parse(&phrase).map_err(|e| CommandError::new("bad_phrase", e.to_string()))?;
    std::fs::create_dir_all(&state.dir).map_err(|e| CommandError::new("io", e.to_string()))?;
    let store = Keystore::restore(
        Path::new(&backup),
        &phrase,
        &state.wallet_dir(),
        &password,
        &mut rand_core::OsRng,
    )?;
    inner.holder = Some(Holder::from_store(store)?);
    inner.last_active = Instant::now();
    Ok(())
}

/// Unlocks the wallet.
pub async fn unlock(state: &AppState, password: String) -> Res<String> {
    let password = Zeroizing::new(password);
    let mut inner = state.inner.lock().await;
    let holder = Holder::open(&state.wallet_dir(), &password)?;
    let did = holder.did().to_string();
    inner.holder = Some(holder);
    inner.last_active = Instant::now();
    Ok(did)
}

/// What to give an issuer so credentials are bound to this wallet (public values only).
pub async fn holder_binding(state: &AppState) -> Res<wallet::issuer::HolderBinding> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    Ok(inner.holder()?.binding())
}

/// Locks the wallet now.
pub async fn lock(state: &AppState) {
    state.inner.lock().await.lock();
}

/// The credentials, newest first.
pub async fn list_credentials(state: &AppState) -> Res<Vec<CredentialSummary>> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    Ok(inner.holder()?.list()?)
}

/// One credential, with its issuer and revocation status read live from the ledger.
pub async fn credential_detail(state: &AppState, id: String) -> Res<Detail> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    let (summary, attributes) = inner.holder()?.show(&id)?;
    let notes = inner.holder()?.attribute_notes(&id)?;
    let mut detail = Detail {
        summary,
        attributes,
        notes,
        issuer: None,
        revoked: None,
        checked_at: None,
        ledger_error: None,
    };
    let s = &detail.summary;
    let status_key = s.status.chunk_key(&s.issuer);
    let issuer_key = state_keys::issuer(&s.issuer);
    let read = async {
        let ledger = inner.ledger().await?;
        Ok::<_, CommandError>(ledger.read(vec![issuer_key.clone(), status_key.clone()]).await?.1)
    }
    .await;
    let read = inner.after_ledger(read);
    match read {
        Ok(facts) => {
            let issuer: Option<IssuerRecord> = facts.get(&issuer_key, "the issuer").ok().flatten();
            detail.issuer = issuer.map(|r| IssuerView {
                name: r.name,
                status: format!("{:?}", r.status).to_lowercase(),
                allowed_types: r.allowed_types,
            });
            let chunk: Option<StatusListChunk> = facts.get(&status_key, "the status list").ok().flatten();
            detail.revoked = Some(wallet::ledger::is_revoked(
                chunk.as_ref(),
                detail.summary.status.index,
            ));
            detail.checked_at = Some(facts.newest_height);
        }
        Err(e) => detail.ledger_error = Some(e.message),
    }
    Ok(detail)
}

/// Imports a credential (its JSON text), checked against the ledger.
pub async fn import_credential(state: &AppState, text: String) -> Res<CredentialSummary> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    let ledger = inner.ledger().await?;
    let imported = inner.holder()?.import(&text, &ledger, wallet::now()).await;
    inner.after_ledger(imported.map_err(CommandError::from))
}

impl From<wallet::exchange::ExchangeError> for CommandError {
    fn from(e: wallet::exchange::ExchangeError) -> Self {
        use wallet::exchange::ExchangeError as X;
        let code = match e {
            X::Import(h) => return h.into(),
            X::Link(_) => "bad_link",
            X::Unreachable { .. } => "unreachable",
            X::Object(_) => "bad_request",
            X::Offer(_) => "bad_offer",
            X::IssuerRefused { .. } => "issuer_refused",
            _ => "exchange",
        };
        CommandError::new(code, e.to_string())
    }
}

/// Accepts an issuer's OpenID4VCI offer link (`openid-credential-offer://`) with the
/// transaction code the holder typed: the offer, the issuer's metadata, the token and the
/// credential are fetched without holding the wallet (a slow issuer stalls no other command);
/// the holder key signs the proof of possession; the credential is imported with the usual
/// ledger checks.
pub async fn accept_offer(state: &AppState, link: String, tx_code: Option<String>) -> Res<CredentialSummary> {
    {
        let mut inner = state.inner.lock().await;
        inner.touch();
        inner.holder()?;
    }
    // The issuer is talked to without holding the wallet; the holder key signs in between.
    let offer = wallet::exchange::read_offer(&link).await?;
    let redeemed = wallet::exchange::redeem_offer(&offer, tx_code.as_deref()).await?;
    let proof = {
        let inner = state.inner.lock().await;
        inner
            .holder()?
            .proof_of_possession(&offer.offer.credential_issuer, &redeemed.nonce, wallet::now())
    };
    let text = wallet::exchange::fetch_credential(&offer, &redeemed, proof).await?;
    let mut inner = state.inner.lock().await;
    let ledger = inner.ledger().await?;
    let imported = inner.holder()?.import(&text, &ledger, wallet::now()).await;
    inner.after_ledger(imported.map_err(CommandError::from))
}

/// A request under review: the consent screen, and the ticket `approve` and `decline` name.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// What the request asks, as the consent screen shows it.
    #[serde(flatten)]
    pub consent: Consent,
    /// Which review this is.
    pub ticket: u64,
    /// What the answering credential's schema says of its attributes.
    pub notes: Vec<wallet::holder::AttributeNote>,
}

/// Reads a request — a request's JSON, or a verifier's `openid4vp://` link, whose signed
/// request object the wallet fetches and checks (without holding the wallet: a slow verifier
/// stalls no other command) — and prepares the consent screen.
pub async fn prepare_request(state: &AppState, text: String, credential: Option<String>) -> Res<Review> {
    let ticket = {
        let mut inner = state.inner.lock().await;
        inner.touch();
        inner.holder()?;
        inner.pending = None;
        inner.exchange = None;
        inner.ticket += 1;
        inner.ticket
    };
    let (request, exchange) = if schemas::openid4vp::is_link(&text) {
        let opened = wallet::exchange::open(&text).await?;
        (opened.credence_request.clone(), Some(opened))
    } else {
        let r = schemas::presentation::SignedRequest::from_json(&text).map_err(|e| {
            CommandError::new(
                "bad_request",
                format!("This is neither a presentation request nor an openid4vp:// link: {e}"),
            )
        })?;
        (r, None)
    };
    let mut inner = state.inner.lock().await;
    inner.holder()?;
    inner.current(Some(ticket))?;
    // Kept before the credentials are looked at: declining must not depend on having one.
    inner.exchange = exchange;
    let ledger = inner.ledger().await?;
    let prepared = inner
        .holder()?
        .prepare(request, credential.as_deref(), &ledger, wallet::now())
        .await;
    let pending = inner.after_ledger(prepared.map_err(CommandError::from))?;
    let consent = pending.consent.clone();
    let notes = inner
        .holder()?
        .attribute_notes(&consent.credential.id.to_string())?;
    inner.pending = Some(pending);
    Ok(Review {
        consent,
        ticket,
        notes,
    })
}

/// Builds the presentation the holder approved; saves it to `save_to` when given.
pub async fn approve(state: &AppState, save_to: Option<String>, ticket: Option<u64>) -> Res<Answered> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    inner.current(ticket)?;
    let pending = inner
        .pending
        .take()
        .ok_or_else(|| CommandError::new("no_request", "There is no request waiting for an answer."))?;
    let exchange = inner.exchange.take();
    if !pending.consent.in_scope() {
        return Err(CommandError::new(
            "out_of_scope",
            format!(
                "Refused: the request goes beyond what the verifier registered ({}).",
                wallet::verifier::join(&pending.consent.scope_violations)
            ),
        ));
    }
    let pk = match &inner.settings.proving_key {
        Some(path) if pending.request.request.tier == schemas::presentation::Tier::Unlinkable => {
            let bytes = std::fs::read(path).map_err(|e| CommandError::new("io", format!("{path}: {e}")))?;
            Some(
                zk::unlinkable::ProvingKey::from_bytes(&bytes)
                    .map_err(|e| CommandError::new("proving_key", e.to_string()))?,
            )
        }
        _ => None,
    };
    let holder = inner.holder()?;
    // Proving can take a second: it runs on the blocking pool so the window never freezes.
    let presentation = tokio::task::block_in_place(|| holder.present(&pending, pk.as_ref(), wallet::now()))?;
    let text = serde_json::to_string_pretty(&presentation)
        .map_err(|e| CommandError::new("internal", e.to_string()))?;
    let saved_to = match save_to.filter(|p| !p.trim().is_empty()) {
        Some(p) => {
            wallet::keystore::write_atomic(Path::new(&p), text.as_bytes())?;
            Some(p)
        }
        None => None,
    };
    drop(inner);
    let sent = match &exchange {
        Some(x) => Some(Sent::from(wallet::exchange::send(x, &presentation).await)),
        None => None,
    };
    Ok(Answered {
        presentation: text,
        saved_to,
        sent,
    })
}

/// Declines the request under review; no presentation is made or recorded. When it came by a
/// link, the verifier is told "the holder declined" and nothing else (also when no credential
/// fitted: a refusal must not tell whether the holder has one); the answer says whether it took
/// the refusal (`None`: there was no verifier to tell).
pub async fn decline(state: &AppState, ticket: Option<u64>) -> Res<Option<Sent>> {
    let exchange = {
        let mut inner = state.inner.lock().await;
        inner.current(ticket)?;
        inner.pending = None;
        inner.exchange.take()
    };
    let Some(x) = exchange else {
        return Ok(None);
    };
    Ok(Some(Sent::from(wallet::exchange::refuse(&x).await)))
}

/// The disclosure history.
pub async fn history(state: &AppState) -> Res<Vec<Disclosure>> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    Ok(inner.holder()?.history()?)
}

/// Saves settings.
pub async fn save_settings(state: &AppState, settings: Settings) -> Res<Settings> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    if settings.nodes().next().is_none() {
        return Err(CommandError::new(
            "bad_settings",
            "Give at least one ledger node address.",
        ));
    }
    if let Some(bad) = settings
        .nodes()
        .find(|n| !(n.starts_with("http://") || n.starts_with("https://")))
    {
        return Err(CommandError::new(
            "bad_settings",
            format!("{bad} is not a ledger node address: each must start with http:// or https://."),
        ));
    }
    settings.trusted_genesis()?;
    settings.fingerprint()?;
    std::fs::create_dir_all(&state.dir).map_err(|e| CommandError::new("io", e.to_string()))?;
    let text =
        serde_json::to_string_pretty(&settings).map_err(|e| CommandError::new("internal", e.to_string()))?;
    wallet::keystore::write_atomic(&state.dir.join("settings.json"), text.as_bytes())?;
    inner.settings = settings.clone();
    inner.ledger = None;
    Ok(settings)
}

/// The ledger the wallet uses now: its chain and the validator set every proof is checked
/// against.
pub async fn ledger_info(state: &AppState) -> Res<LedgerInfo> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    // Asked live; when the node in use stopped answering, the next node that answers takes over.
    let mut ledger = inner.ledger().await?;
    let status = match ledger.client.status().await {
        Ok(s) => s,
        Err(_) => {
            inner.drop_ledger();
            ledger = inner.ledger().await?;
            let status = ledger
                .client
                .status()
                .await
                .map_err(wallet::ledger::LedgerError::from);
            inner.after_ledger(status.map_err(CommandError::from))?
        }
    };
    Ok(LedgerInfo {
        height: status.height,
        node: ledger.client.base().to_owned(),
        chain_id: ledger.chain_id.clone(),
        epoch: ledger.validators().epoch,
        validators: ledger
            .validators()
            .validators
            .iter()
            .map(|v| (hex::encode(v.public_key.to_sec1()), v.address.clone()))
            .collect(),
        fingerprint: ledger.trust().fingerprint().to_string(),
    })
}

/// Writes an encrypted backup.
pub async fn backup(state: &AppState, path: String) -> Res<String> {
    let mut inner = state.inner.lock().await;
    inner.touch();
    inner.holder()?.store().backup(Path::new(&path))?;
    Ok(path)
}

/// Changes the password.
pub async fn change_password(state: &AppState, old: String, new: String) -> Res<()> {
    let (old, new) = (Zeroizing::new(old), Zeroizing::new(new));
    let mut inner = state.inner.lock().await;
    inner.touch();
    inner.holder()?;
    if let Some(h) = inner.holder.as_mut() {
        h.store_mut().change_password(&old, &new, &mut rand_core::OsRng)?;
    }
    Ok(())
}

/// What a path field of the window is for: which system dialog opens and the files it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FileKind {
    /// An encrypted wallet backup to restore from.
    BackupOpen,
    /// Where to write an encrypted wallet backup.
    BackupSave,
    /// Where to keep a copy of a presentation.
    PresentationSave,
    /// The consortium's genesis file.
    Genesis,
    /// The unlinkable tier's proving key.
    ProvingKey,
}

impl FileKind {
    /// A save dialog (the file may not exist yet) rather than an open one.
    pub fn saves(self) -> bool {
        matches!(self, FileKind::BackupSave | FileKind::PresentationSave)
    }

    /// The name a save dialog proposes.
    fn file_name(self) -> Option<&'static str> {
        match self {
            FileKind::BackupSave => Some("credence-wallet-backup.json"),
            FileKind::PresentationSave => Some("presentation.json"),
            _ => None,
        }
    }
}

/// A dialog's title as the window gives it, without control characters (a NUL would make the
/// dialog library panic on the window's thread), at most 120 characters.
pub fn dialog_title(title: &str) -> String {
    title.chars().filter(|c| !c.is_control()).take(120).collect()
}

/// Shows the system's open or save dialog (GTK on Linux) with `title` — the window's words, in
/// its language — and answers the path the holder chose, or nothing when they cancelled. The
/// path goes into the field it was asked for; the command using it reads or writes it as typed
/// paths are (nothing is opened here).
pub async fn choose_file<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    kind: FileKind,
    title: String,
) -> Res<Option<String>> {
    use tauri::Manager;
    let dialog = app.try_state::<tauri_plugin_dialog::Dialog<R>>().ok_or_else(|| {
        CommandError::new(
            "no_dialog",
            "This window cannot show file dialogs: type the full path.",
        )
    })?;
    let title = dialog_title(&title);
    // No extension filter: GTK's hide files without an extension, and consortia name their
    // files as they like.
    let mut builder = dialog.file().set_title(title);
    if let Some(name) = kind.file_name() {
        builder = builder.set_file_name(name);
    }
    if let Some(w) = app.get_webview_window("main") {
        builder = builder.set_parent(&w);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let answer = move |p: Option<tauri_plugin_dialog::FilePath>| {
        let _ = tx.send(p.and_then(|p| p.into_path().ok()));
    };
    if kind.saves() {
        builder.save_file(answer);
    } else {
        builder.pick_file(answer);
    }
    // The dialog runs on the window's thread; this command only waits for its answer.
    let chosen = rx.await.ok().flatten();
    Ok(chosen.map(|p| p.display().to_string()))
}

/// The Tauri commands: one per function above, named alike.
mod commands {
    use super::*;
    use tauri::State;

    #[tauri::command]
    pub(crate) async fn status(state: State<'_, AppState>) -> Res<Status> {
        Ok(super::status(&state).await)
    }
    #[tauri::command]
    pub(crate) async fn create_wallet(state: State<'_, AppState>, password: String) -> Res<Vec<String>> {
        super::create_wallet(&state, password).await
    }
    #[tauri::command]
    pub(crate) async fn confirm_phrase(state: State<'_, AppState>, words: String) -> Res<()> {
        super::confirm_phrase(&state, words).await
    }
    #[tauri::command]
    pub(crate) async fn restore_wallet(
        state: State<'_, AppState>,
        phrase: String,
        backup: String,
        password: String,
    ) -> Res<()> {
        super::restore_wallet(&state, phrase, backup, password).await
    }
    #[tauri::command]
    pub(crate) async fn unlock(state: State<'_, AppState>, password: String) -> Res<String> {
        super::unlock(&state, password).await
    }
    #[tauri::command]
    pub(crate) async fn holder_binding(state: State<'_, AppState>) -> Res<wallet::issuer::HolderBinding> {
        super::holder_binding(&state).await
    }
    #[tauri::command]
    pub(crate) async fn lock(state: State<'_, AppState>) -> Res<()> {
        super::lock(&state).await;
        Ok(())
    }
    #[tauri::command]
    pub(crate) async fn list_credentials(state: State<'_, AppState>) -> Res<Vec<CredentialSummary>> {
        super::list_credentials(&state).await
    }
    #[tauri::command]
    pub(crate) async fn credential_detail(state: State<'_, AppState>, id: String) -> Res<Detail> {
        super::credential_detail(&state, id).await
    }
    #[tauri::command]
    pub(crate) async fn import_credential(
        state: State<'_, AppState>,
        text: String,
    ) -> Res<CredentialSummary> {
        super::import_credential(&state, text).await
    }
    #[tauri::command]
    pub(crate) async fn prepare_request(
        state: State<'_, AppState>,
        text: String,
        credential: Option<String>,
    ) -> Res<Review> {
        super::prepare_request(&state, text, credential).await
    }
    #[tauri::command]
    pub(crate) async fn approve(
        state: State<'_, AppState>,
        save_to: Option<String>,
        ticket: Option<u64>,
    ) -> Res<Answered> {
        super::approve(&state, save_to, ticket).await
    }
    #[tauri::command]
    pub(crate) async fn decline(state: State<'_, AppState>, ticket: Option<u64>) -> Res<Option<Sent>> {
        super::decline(&state, ticket).await
    }
    #[tauri::command]
    pub(crate) async fn accept_offer(
        state: State<'_, AppState>,
        link: String,
        tx_code: Option<String>,
    ) -> Res<CredentialSummary> {
        super::accept_offer(&state, link, tx_code).await
    }
    #[tauri::command]
    pub(crate) async fn choose_file<R: tauri::Runtime>(
        app: tauri::AppHandle<R>,
        kind: FileKind,
        title: String,
    ) -> Res<Option<String>> {
        super::choose_file(&app, kind, title).await
    }
    #[tauri::command]
    pub(crate) async fn take_link(state: State<'_, AppState>) -> Res<Option<String>> {
        Ok(state.take_link())
    }
    #[tauri::command]
    pub(crate) async fn history(state: State<'_, AppState>) -> Res<Vec<Disclosure>> {
        super::history(&state).await
    }
    #[tauri::command]
    pub(crate) async fn save_settings(state: State<'_, AppState>, settings: Settings) -> Res<Settings> {
        super::save_settings(&state, settings).await
    }
    #[tauri::command]
    pub(crate) async fn ledger_info(state: State<'_, AppState>) -> Res<LedgerInfo> {
        super::ledger_info(&state).await
    }
    #[tauri::command]
    pub(crate) async fn backup(state: State<'_, AppState>, path: String) -> Res<String> {
        super::backup(&state, path).await
    }
    #[tauri::command]
    pub(crate) async fn change_password(state: State<'_, AppState>, old: String, new: String) -> Res<()> {
        super::change_password(&state, old, new).await
    }
}

/// Adds every command to a Tauri builder (the app and the command tests); the caller manages
/// an [`AppState`].
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::status,
        commands::create_wallet,
        commands::confirm_phrase,
        commands::restore_wallet,
        commands::unlock,
        commands::holder_binding,
        commands::lock,
        commands::list_credentials,
        commands::credential_detail,
        commands::import_credential,
        commands::prepare_request,
        commands::approve,
        commands::decline,
        commands::take_link,
        commands::choose_file,
        commands::accept_offer,
        commands::history,
        commands::save_settings,
        commands::ledger_info,
        commands::backup,
        commands::change_password,
    ])
}

/// The wallet folder: `$CREDENCE_DESKTOP_DIR` when set (tests), else the platform's data folder.
pub fn data_dir<R: tauri::Runtime>(app: &tauri::App<R>) -> PathBuf {
    use tauri::Manager;
    std::env::var_os("CREDENCE_DESKTOP_DIR")
        .map(PathBuf::from)
        .or_else(|| app.path().app_data_dir().ok())
        .unwrap_or_else(|| PathBuf::from("credence-wallet"))
}

/// The event the window hears when the system opens a link with the app already running.
pub const LINK_EVENT: &str = "credence://link";

/// Keeps an `openid4vp://` or `openid-credential-offer://` link the system opened the app with
/// and tells the window.
fn incoming_link<R: tauri::Runtime>(app: &tauri::AppHandle<R>, urls: &[tauri::Url]) {
    use tauri::{Emitter, Manager};
    let Some(url) = urls.iter().find(|u| {
        u.scheme().eq_ignore_ascii_case("openid4vp")
            || u.scheme().eq_ignore_ascii_case("openid-credential-offer")
    }) else {
        return;
    };
    app.state::<AppState>().offer_link(url.as_str());
    let _ = app.emit(LINK_EVENT, ());
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Runs the app.
pub fn run() -> Result<(), tauri::Error> {
    // One instance: a link opened while the app runs goes to the running window (the second
    // process hands it over and exits), so one wallet folder is never opened twice.
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            use tauri::Manager;
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_dialog::init());
    with_commands(builder.setup(|app| {
        use tauri::Manager;
        use tauri_plugin_deep_link::DeepLinkExt;
        let dir = data_dir(app);
        app.manage(AppState::new(dir, Cost::default()));
        let links = app.deep_link();
        // Linux and Windows register the schemes when the app runs (tests use their own folder
        // and leave the desktop's registrations alone).
        #[cfg(any(target_os = "linux", windows))]
        if std::env::var_os("CREDENCE_DESKTOP_DIR").is_none()
            && let Err(e) = links.register_all()
        {
            eprintln!("the wallet could not register itself for openid4vp:// links: {e}");
        }
        if let Ok(Some(urls)) = links.get_current() {
            incoming_link(app.handle(), &urls);
        }
        let handle = app.handle().clone();
        links.on_open_url(move |event| incoming_link(&handle, &event.urls()));
        Ok(())
    }))
    .run(tauri::generate_context!())
}

//! The node's TOML configuration, with defaults that work, and the devnet layout.
//!
//! ```toml
//! # node.toml — paths are relative to this file
//! data_dir = "data"
//! genesis = "../genesis.json"
//! key_file = "node.key"
//! password_file = "../password"       # or set CREDENCE_NODE_PASSWORD
//! p2p_listen = "/ip4/0.0.0.0/tcp/26600"
//! api_listen = "127.0.0.1:26700"
//! # api_tls_cert = "tls/cert.pem"     # with api_tls_key: the API speaks HTTPS (rustls)
//! # api_tls_key = "tls/key.pem"
//! # public_url = "https://ledger.university.cn"   # the API's address in the links it serves
//!
//! [consensus]
//! batch_timeout_ms = 20
//! view_change_timeout_ms = 4000
//! sync_interval_ms = 500
//! heartbeat_ms = 60000                # an idle chain still makes a block this often
//! ```

use crate::keys::{MemberFile, NodeKeys, Role};
use crate::node::NodeConfig;
use anyhow::{Context, Result, bail};
use rand_core::OsRng;
use schemas::credential_schema::{BUILTIN_SCHEMAS, CredentialSchema};
use schemas::did::Did;
use schemas::ledger::{Genesis, Governance, GovernanceMember, Policies, SchemaRecord, ValidatorSet};
use schemas::seal::{Cost, SealedBox};
use schemas::sm2::SecretKey;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable holding the key-file password when no password file is set.
pub const PASSWORD_ENV: &str = "CREDENCE_NODE_PASSWORD";

/// `node.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// sled directory.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Genesis file.
    pub genesis: PathBuf,
    /// Sealed key file.
    #[serde(default = "default_key_file")]
    pub key_file: PathBuf,
    /// File holding the key password (else [`PASSWORD_ENV`]).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// libp2p listen multiaddress.
    #[serde(default = "default_p2p")]
    pub p2p_listen: String,
    /// HTTP listen address.
    #[serde(default = "default_api")]
    pub api_listen: String,
    /// The API's TLS certificate chain (PEM): with `api_tls_key`, the API speaks HTTPS.
    #[serde(default)]
    pub api_tls_cert: Option<PathBuf>,
    /// The private key of `api_tls_cert` (PEM).
    #[serde(default)]
    pub api_tls_key: Option<PathBuf>,
    /// The API's public address (`https://ledger.university.cn`), for the links it serves
    /// (status list credentials' ids). Default: the request's `Host`, `https://` when the node
    /// terminates TLS itself, `http://` otherwise.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Consensus timing.
    #[serde(default)]
    pub consensus: ConsensusFile,
}

/// `[consensus]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusFile {
    /// How long the primary waits to fill a batch.
    #[serde(default = "default_batch")]
    pub batch_timeout_ms: u64,
    /// Base view-change timeout.
    #[serde(default = "default_vc")]
    pub view_change_timeout_ms: u64,
    /// Status gossip period.
    #[serde(default = "default_sync")]
    pub sync_interval_ms: u64,
    /// The longest an idle chain goes without a block (an empty one), within
    /// [`HEARTBEAT_MS_RANGE`].
    #[serde(default = "default_heartbeat")]
    pub heartbeat_ms: u64,
}

/// The heartbeats a node accepts, ms: at least a second apart (an empty block costs every
/// validator a round of votes and about a kilobyte of storage), and at most two minutes, so
/// that even a silent primary (replaced after two heartbeats and a view-change timeout) leaves
/// the chain stale for less than the 600 s read age wallets accept by default. Every member
/// should use the same value: one with a longer heartbeat than its peers is replaced whenever
/// it leads an idle chain.
pub const HEARTBEAT_MS_RANGE: std::ops::RangeInclusive<u64> = 1_000..=120_000;

impl Default for ConsensusFile {
    fn default() -> Self {
        ConsensusFile {
            batch_timeout_ms: default_batch(),
            view_change_timeout_ms: default_vc(),
            sync_interval_ms: default_sync(),
            heartbeat_ms: default_heartbeat(),
        }
    }
}

fn default_data_dir() -> PathBuf {
    "data".into()
}
fn default_key_file() -> PathBuf {
    "node.key".into()
}
fn default_p2p() -> String {
    "/ip4/0.0.0.0/tcp/26600".into()
}
fn default_api() -> String {
    "127.0.0.1:26700".into()
}
fn default_heartbeat() -> u64 {
    u64::try_from(pbft::DEFAULT_HEARTBEAT.as_millis()).unwrap_or(60_000)
}
fn default_batch() -> u64 {
    20
}
/// A request waits this long for its commit before the replica suspects the primary. Under
/// saturation requests queue for seconds, so a short timeout would change views on load alone.
fn default_vc() -> u64 {
    4_000
}
fn default_sync() -> u64 {
    500
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Writes a file atomically and readable by its owner only (see [`schemas::file`]), creating
/// its folder.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    schemas::file::write_private(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Reads a JSON file with a message naming the file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_str(&read(path)?).with_context(|| format!("{} is not the expected JSON", path.display()))
}

/// A password file's password: its first line, without the line ending. The node and
/// `credctl` read password files alike through this one function, so one file serves both.
pub fn read_password_file(path: &Path) -> Result<zeroize::Zeroizing<String>> {
    let text = zeroize::Zeroizing::new(read(path)?);
    Ok(zeroize::Zeroizing::new(
        text.lines().next().unwrap_or("").to_string(),
    ))
}

/// The password: the file's first line, or the environment variable.
pub fn password(file: Option<&Path>) -> Result<zeroize::Zeroizing<String>> {
    if let Some(f) = file {
        return read_password_file(f);
    }
    match std::env::var(PASSWORD_ENV) {
        Ok(p) => Ok(zeroize::Zeroizing::new(p)),
        Err(_) => {
            bail!("no password: set password_file in the config, pass --password-file, or set {PASSWORD_ENV}")
        }
    }
}

impl NodeFile {
    /// Loads `node.toml`; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let mut f: NodeFile = toml::from_str(&read(path)?)
            .with_context(|| format!("{} is not a valid node config", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        f.data_dir = base.join(&f.data_dir);
        f.genesis = base.join(&f.genesis);
        f.key_file = base.join(&f.key_file);
        f.password_file = f.password_file.map(|p| base.join(p));
        f.api_tls_cert = f.api_tls_cert.map(|p| base.join(p));
        f.api_tls_key = f.api_tls_key.map(|p| base.join(p));
        crate::tls::pair(f.api_tls_cert.as_deref(), f.api_tls_key.as_deref())
            .with_context(|| format!("{}: api_tls_cert and api_tls_key", path.display()))?;
        if let Some(url) = &f.public_url {
            schemas::credential::check_base_url(url)
                .map_err(|e| anyhow::anyhow!("{}: public_url: {e}", path.display()))?;
        }
        // A node that clients reach directly must know the address they use: otherwise the
        // links it serves (status list credentials' ids) would name whatever `Host` a client sent.
        let reachable = f
            .api_listen
            .parse::<SocketAddr>()
            .is_ok_and(|a| !a.ip().is_loopback());
        if reachable && f.public_url.is_none() {
            bail!(
                "{}: api_listen {} is reachable from other machines: set public_url to the API's public address (e.g. public_url = \"https://ledger.university.cn\")",
                path.display(),
                f.api_listen
            );
        }
        if !HEARTBEAT_MS_RANGE.contains(&f.consensus.heartbeat_ms) {
            bail!(
                "{}: [consensus] heartbeat_ms is {}; it must be {} to {} (ms)",
                path.display(),
                f.consensus.heartbeat_ms,
                HEARTBEAT_MS_RANGE.start(),
                HEARTBEAT_MS_RANGE.end()
            );
        }
        Ok(f)
    }

    /// Opens the keys and genesis: everything [`crate::node::start`] needs.
    pub fn node_config(&self) -> Result<NodeConfig> {
        let sealed = SealedBox::from_json(&read(&self.key_file)?)
            .with_context(|| format!("{} is not a sealed key file", self.key_file.display()))?;
        let pw = password(self.password_file.as_deref())?;
        let keys = NodeKeys::open(&sealed, pw.as_bytes())
            .with_context(|| format!("opening {}", self.key_file.display()))?;
        let genesis: Genesis = read_json(&self.genesis)?;
        let api_listen: SocketAddr = self
            .api_listen
            .parse()
            .with_context(|| format!("api_listen {:?} is not HOST:PORT", self.api_listen))?;
        let p2p_listen = self.p2p_listen.parse().with_context(|| {
            format!(
                "p2p_listen {:?} is not a multiaddress like /ip4/0.0.0.0/tcp/26600",
                self.p2p_listen
            )
        })?;
        Ok(NodeConfig {
            data_dir: self.data_dir.clone(),
            genesis,
            keys,
            p2p_listen,
            api_listen,
            api_tls: crate::tls::pair(self.api_tls_cert.as_deref(), self.api_tls_key.as_deref())?,
            public_url: self.public_url.clone(),
            consensus: pbft::Config {
                chain_id: String::new(),
                batch_timeout: Duration::from_millis(self.consensus.batch_timeout_ms),
                view_change_timeout: Duration::from_millis(self.consensus.view_change_timeout_ms),
                sync_interval: Duration::from_millis(self.consensus.sync_interval_ms),
                heartbeat: Duration::from_millis(self.consensus.heartbeat_ms),
                broken: pbft::BrokenRules::default(),
            },
        })
    }
}

/// A governance member's sealed SM2 key file and its public record.
pub const GOVERNANCE_CONTEXT: &[u8] = b"credence/governance-key/v1";

/// Creates a governance key, sealed in `dir/governance.key`, and returns its member record.
pub fn init_governance(dir: &Path, name: &str, password: &str, cost: Cost) -> Result<GovernanceMember> {
    let key = SecretKey::generate(&mut OsRng);
    let sealed = schemas::seal::seal(
        password.as_bytes(),
        &key.to_pkcs8_der(),
        GOVERNANCE_CONTEXT,
        cost,
        &mut OsRng,
    )?;
    write_atomic(&dir.join("governance.key"), sealed.to_json().as_bytes())?;
    let member = GovernanceMember {
        name: name.to_string(),
        did: Did::from_public_key(key.public_key()),
        public_key: key.public_key().clone(),
    };
    write_atomic(
        &dir.join("governance.json"),
        serde_json::to_string_pretty(&member)?.as_bytes(),
    )?;
    Ok(member)
}

/// Opens a sealed governance key.
pub fn open_governance_key(path: &Path, password: &str) -> Result<SecretKey> {
    let sealed = SealedBox::from_json(&read(path)?)?;
    let der = sealed
        .open(password.as_bytes(), GOVERNANCE_CONTEXT)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(SecretKey::from_pkcs8_der(&der)?)
}

/// Creates node keys in `dir` (sealed `node.key`, public `member.json`, default `node.toml`).
pub fn init_node(
    dir: &Path,
    name: &str,
    role: Role,
    p2p_port: u16,
    api_port: u16,
    password: &str,
    cost: Cost,
) -> Result<MemberFile> {
    let keys = NodeKeys::generate(&mut OsRng);
    write_atomic(
        &dir.join("node.key"),
        keys.seal(password.as_bytes(), cost, &mut OsRng)?
            .to_json()
            .as_bytes(),
    )?;
    let member = keys.member(name, role, &format!("/ip4/127.0.0.1/tcp/{p2p_port}"));
    write_atomic(
        &dir.join("member.json"),
        serde_json::to_string_pretty(&member)?.as_bytes(),
    )?;
    let file = NodeFile {
        data_dir: default_data_dir(),
        genesis: "../genesis.json".into(),
        key_file: default_key_file(),
        password_file: None,
        p2p_listen: format!("/ip4/0.0.0.0/tcp/{p2p_port}"),
        api_listen: format!("127.0.0.1:{api_port}"),
        api_tls_cert: None,
        api_tls_key: None,
        public_url: None,
        consensus: ConsensusFile::default(),
    };
    write_atomic(&dir.join("node.toml"), toml::to_string_pretty(&file)?.as_bytes())?;
    Ok(member)
}

/// The built-in credential schemas as genesis records, published by `publisher`.
pub fn builtin_schema_records(publisher: &Did) -> Result<Vec<SchemaRecord>> {
    BUILTIN_SCHEMAS
        .iter()
        .map(|(name, _)| Ok(CredentialSchema::builtin(name)?.record(publisher.clone())))
        .collect()
}

/// Builds a genesis from member files and governance members.
pub fn build_genesis(
    chain_id: &str,
    members: &[MemberFile],
    governance: Vec<GovernanceMember>,
    approvals_needed: u16,
    timestamp_ms: u64,
) -> Result<Genesis> {
    let validators: Vec<_> = members
        .iter()
        .filter(|m| m.role == Role::Validator)
        .map(MemberFile::validator)
        .collect();
    let observers = members
        .iter()
        .filter(|m| m.role == Role::Observer)
        .map(MemberFile::observer)
        .collect();
    let publisher = governance
        .first()
        .map(|m| m.did.clone())
        .context("a genesis needs at least one governance member")?;
    let schemas = builtin_schema_records(&publisher)?;
    // Each type once (several versions of a built-in schema define the same type).
    let mut credential_types: Vec<String> = Vec::new();
    for s in &schemas {
        if !credential_types.contains(&s.credential_type) {
            credential_types.push(s.credential_type.clone());
        }
    }
    let g = Genesis {
        chain_id: chain_id.to_string(),
        timestamp_ms,
        validators: ValidatorSet { epoch: 0, validators },
        observers,
        governance: Governance {
            members: governance,
            policies: Policies {
                approvals_needed,
                credential_types,
            },
        },
        schemas,
    };
    crate::rules::validate_genesis(&g).map_err(|e| anyhow::anyhow!("the genesis would be invalid: {e}"))?;
    Ok(g)
}

/// What `devnet` writes to `devnet.json`: every endpoint and file a tool needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetFile {
    /// Chain id.
    pub chain_id: String,
    /// Per node: name, role, config file, API URL, p2p address.
    pub nodes: Vec<DevnetNode>,
    /// Governance members' sealed key files.
    pub governance_keys: Vec<PathBuf>,
    /// The password file that opens every devnet key (a development convenience only).
    pub password_file: PathBuf,
    /// The genesis file.
    pub genesis: PathBuf,
}

/// One devnet node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetNode {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Its `node.toml`.
    pub config: PathBuf,
    /// API base URL.
    pub api: String,
    /// p2p multiaddress.
    pub p2p: String,
}

/// Writes a whole devnet's keys, genesis and configs under `dir`. Keys are sealed with a
/// random password stored in `dir/password` (development only) and a light Argon2id cost.
///
/// Node `i` listens for p2p on `p2p_base + i` and for HTTP on `api_base + i`.
pub fn create_devnet(
    dir: &Path,
    validators: usize,
    observers: usize,
    p2p_base: u16,
    api_base: u16,
) -> Result<DevnetFile> {
    if validators == 0 {
        bail!("a devnet needs at least one validator");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let mut pw = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut pw);
    let password = zeroize::Zeroizing::new(hex::encode(pw));
    let password_file = dir.join("password");
    write_atomic(&password_file, password.as_bytes())?;
    // Devnet keys are throwaway: a light cost keeps five nodes starting in a blink.
    let cost = Cost {
        memory_kib: 1_024,
        iterations: 1,
    };
    let mut members = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..validators + observers {
        let (role, name) = if i < validators {
            (Role::Validator, format!("validator-{i}"))
        } else {
            (Role::Observer, format!("observer-{}", i - validators))
        };
        let p2p_port = p2p_base + i as u16;
        let api_port = api_base + i as u16;
        let nd = dir.join(&name);
        members.push(init_node(&nd, &name, role, p2p_port, api_port, &password, cost)?);
        let mut file = NodeFile::load(&nd.join("node.toml"))?;
        file.password_file = Some("../password".into());
        file.data_dir = "data".into();
        file.genesis = "../genesis.json".into();
        file.key_file = "node.key".into();
        file.p2p_listen = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
        write_atomic(&nd.join("node.toml"), toml::to_string_pretty(&file)?.as_bytes())?;
        nodes.push(DevnetNode {
            name,
            role,
            config: nd.join("node.toml"),
            api: format!("http://127.0.0.1:{api_port}"),
            p2p: format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
        });
    }
    let mut governance = Vec::new();
    let mut governance_keys = Vec::new();
    for (i, name) in [
        "Ministry of Education",
        "Banking Regulator",
        "Consortium Secretariat",
    ]
    .iter()
    .enumerate()
    {
        let gd = dir.join(format!("governance-{i}"));
        governance.push(init_governance(&gd, name, &password, cost)?);
        governance_keys.push(gd.join("governance.key"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let genesis = build_genesis("credence-devnet", &members, governance, 2, now)?;
    let genesis_path = dir.join("genesis.json");
    write_atomic(&genesis_path, serde_json::to_string_pretty(&genesis)?.as_bytes())?;
    let devnet = DevnetFile {
        chain_id: genesis.chain_id.clone(),
        nodes,
        governance_keys,
        password_file,
        genesis: genesis_path,
    };
    write_atomic(
        &dir.join("devnet.json"),
        serde_json::to_string_pretty(&devnet)?.as_bytes(),
    )?;
    Ok(devnet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<NodeFile> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("node.toml");
        std::fs::write(&path, text)?;
        NodeFile::load(&path)
    }

    /// Issue 19, the wire: TLS needs a certificate and its key together; an API reachable from
    /// other machines needs its public address; that address is an https URL.
    #[test]
    fn tls_and_public_address_settings_are_checked() {
        let base = "genesis = \"g.json\"\n";
        assert!(load(base).is_ok(), "loopback, plain HTTP: the default");
        let e = load(&format!("{base}api_tls_cert = \"c.pem\"\n")).expect_err("a cert without its key");
        assert!(format!("{e:#}").contains("api_tls_key"), "{e:#}");
        let e = load(&format!("{base}api_listen = \"0.0.0.0:26700\"\n")).expect_err("no public_url");
        assert!(format!("{e:#}").contains("public_url"), "{e:#}");
        let f = load(&format!(
            "{base}api_listen = \"0.0.0.0:26700\"\npublic_url = \"https://ledger.university.cn\"\napi_tls_cert = \"tls/c.pem\"\napi_tls_key = \"tls/k.pem\"\n"
        ))
        .expect("a public node with TLS");
        assert!(f.api_tls_cert.is_some_and(|p| p.ends_with("tls/c.pem")));
        for bad in [
            "http://ledger.university.cn",
            "https://user@ledger.university.cn",
            "https://x.cn/?a",
        ] {
            let e = load(&format!("{base}public_url = \"{bad}\"\n")).expect_err(bad);
            assert!(format!("{e:#}").contains("public_url"), "{bad}: {e:#}");
        }
    }
}

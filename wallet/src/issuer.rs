//! Issuing: a batch of rows becomes credentials and one anchor.
//!
//! Every row is validated against the schema; a bad row is reported by line and reason while
//! the good ones proceed. Each credential gets a random id, salted SM3 digests for text,
//! Pedersen commitments for numbers, a status index (which is also its unlinkable-tier id),
//! and — when the batch is unlinkable and the holder gave a secret commitment — a Poseidon
//! leaf. The batch's SM3 Merkle root (and Poseidon root) is what the issuer anchors, in one
//! transaction; each credential carries its inclusion path.
//!
//! Work is spread over every core with rayon, in runs of 256 rows: each worker draws randomness
//! from its own ChaCha20 generator seeded by the operating system, and a run's Pedersen
//! commitments are encoded in one batch (one field inversion per run). Input rows are decoded
//! in parallel too, and output is serialised a chunk at a time.

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use rayon::prelude::*;
use schemas::credential::{
    AttributeCommitment, CommittedAttribute, Credential, Envelope, Issuance, Opening, PedersenCommitment,
    StatusEntry, UnlinkableIssuance, View, attribute_digest,
};
use schemas::credential_schema::{AttributeEncoding, AttributeValue, CredentialSchema};
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::AnchorRecord;
use schemas::merkle::MerkleTree;
use schemas::sm2::PublicKey;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;
use zk::Fr;
use zk::poseidon::{fr_from_bytes, fr_to_bytes};
use zk::tree::CredentialTree;
use zk::unlinkable::{HolderSecret, LeafData, binding_element, circuit_period, credential_leaf};

/// Most credentials in one unlinkable batch (the Poseidon tree has depth 20).
pub const MAX_UNLINKABLE_BATCH: usize = 1 << zk::tree::CREDENTIAL_TREE_DEPTH;

/// What a holder gives an issuer so credentials are bound to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderBinding {
    /// The holder's SM2 key (presentations are signed by it).
    pub holder_key: PublicKey,
    /// Poseidon commitment to the holder's unlinkable-tier secret (field element, LE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_commitment: Option<Hash>,
}

impl HolderBinding {
    /// A binding to a fresh holder whose keys are thrown away (classes made up for demos and
    /// benchmarks).
    pub fn fresh(unlinkable: bool) -> Self {
        let key = schemas::sm2::SecretKey::generate(&mut OsRng).public_key().clone();
        if unlinkable {
            HolderBinding::new(key, &HolderSecret::random(&mut OsRng))
        } else {
            HolderBinding {
                holder_key: key,
                holder_commitment: None,
            }
        }
    }

    /// The binding of a holder secret and key.
    pub fn new(holder_key: PublicKey, secret: &HolderSecret) -> Self {
        HolderBinding {
            holder_key,
            holder_commitment: Some(secret.commitment_hash()),
        }
    }
}

/// One input row.
#[derive(Clone, Debug)]
pub struct Row {
    /// Line number in the input file (1-based; for CSV the header is line 1).
    pub line: usize,
    /// The credential subject (schema attributes only).
    pub subject: Map<String, Value>,
    /// Whom it is issued to.
    pub holder: HolderBinding,
}

impl Row {
    /// A row from a JSON subject (anything but an object is an empty subject, which the
    /// schema then refuses with its reasons).
    pub fn new(line: usize, subject: Value, holder: HolderBinding) -> Row {
        let subject = match subject {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Row {
            line,
            subject,
            holder,
        }
    }
}

/// A row that could not be issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Its line.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// What went wrong with a whole batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The input could not be read.
    #[error("cannot read {path}: {reason}")]
    Input {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// No row survived validation.
    #[error("no row of the input is a valid credential ({rejected} rejected)")]
    Empty {
        /// Rows rejected.
        rejected: usize,
    },
    /// The public URL for the credentials' links is unusable.
    #[error("public URL: {0}; give the consortium's public API URL, e.g. https://ledger.example.edu")]
    PublicUrl(String),
    /// A credential cannot be shown as its schema describes it.
    #[error("cannot show a credential under its schema: {0}")]
    View(String),
    /// The batch is too large for its tier.
    #[error("{count} rows is more than the {max} one unlinkable batch holds; split the input")]
    TooLarge {
        /// Rows.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// Unlinkable batches live in status list 0 (the list whose revoked ids the proofs use).
    #[error("unlinkable batches use status list 0, not {list_id}")]
    UnlinkableList {
        /// The list asked for.
        list_id: u32,
    },
    /// The status list has no room left: the ledger revokes indexes below
    /// `MAX_STATUS_INDEX` only, so a credential past it could never be revoked.
    #[error(
        "status list {list_id} has no room for {count} more credentials from index {first} (a list \
         holds indexes below {max}, the most the ledger can revoke; unlinkable credentials use list 0 only)"
    , max = schemas::ledger::MAX_STATUS_INDEX)]
    ListFull {
        /// List.
        list_id: u32,
        /// First index.
        first: u32,
        /// Count.
        count: usize,
    },
}

/// Columns that are not schema attributes.
const HOLDER_KEY: &str = "holder_key";
const HOLDER_COMMITMENT: &str = "holder_commitment";

fn holder_of(obj: &mut Map<String, Value>) -> Result<HolderBinding, String> {
    let key = match obj.remove(HOLDER_KEY) {
        Some(Value::String(s)) => s,
        _ => {
            return Err(format!(
                "`{HOLDER_KEY}` is missing: give the holder's SM2 public key (hex)"
            ));
        }
    };
    let bytes = hex::decode(key.trim()).map_err(|_| format!("`{HOLDER_KEY}` is not hex"))?;
    let holder_key =
        PublicKey::from_sec1(&bytes).map_err(|e| format!("`{HOLDER_KEY}` is not an SM2 public key: {e}"))?;
    let holder_commitment = match obj.remove(HOLDER_COMMITMENT) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            let h = Hash::from_hex(s.trim())
                .map_err(|_| format!("`{HOLDER_COMMITMENT}` is not 64 hex digits"))?;
            fr_from_bytes(&h.0).ok_or_else(|| format!("`{HOLDER_COMMITMENT}` is not a field element"))?;
            Some(h)
        }
        Some(_) => return Err(format!("`{HOLDER_COMMITMENT}` must be a hex string")),
    };
    Ok(HolderBinding {
        holder_key,
        holder_commitment,
    })
}

/// Rows decoded at a time when a file is streamed: a chunk's rows, credentials and JSON are
/// what sits in memory besides the batch trees.
pub const ROW_CHUNK: usize = 1 << 15;

/// Reads rows from a `.csv` (header row of attribute names plus `holder_key` and optionally
/// `holder_commitment`) or `.jsonl` file (one JSON object per line, same names). Rows that are
/// not even well-formed are returned as errors; schema validation happens at issuance.
pub fn read_rows(path: &Path, schema: &CredentialSchema) -> Result<(Vec<Row>, Vec<RowError>), IssueError> {
    Ok(RowReader::open(path, schema)?.read_all())
}

/// Rows from JSON lines.
pub fn read_jsonl(reader: impl BufRead) -> (Vec<Row>, Vec<RowError>) {
    RowReader::jsonl(reader).read_all()
}

/// Rows from CSV: cells of numeric attributes are read as numbers; empty cells are absent.
pub fn read_csv(
    reader: impl std::io::Read,
    schema: &CredentialSchema,
) -> Result<(Vec<Row>, Vec<RowError>), String> {
    Ok(RowReader::csv(reader, schema)?.read_all())
}

/// An upper bound on the rows of a `.csv` or `.jsonl` file: its non-empty lines (less the
/// header row of a CSV), counted without decoding, so the status list can be chosen before
/// the file is issued.
pub fn count_rows(path: &Path) -> Result<usize, IssueError> {
    let input_err = |e: std::io::Error| IssueError::Input {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(input_err)?;
    let mut lines = 0usize;
    for line in std::io::BufReader::with_capacity(1 << 20, file).split(b'\n') {
        if !line.map_err(input_err)?.iter().all(u8::is_ascii_whitespace) {
            lines += 1;
        }
    }
    let header = usize::from(path.extension().is_some_and(|e| e == "csv"));
    Ok(lines.saturating_sub(header))
}

/// An input file read [`ROW_CHUNK`] rows at a time, each chunk decoded on every core; rows
/// that are not well-formed come out as errors with their line.
pub struct RowReader<'s> {
    source: Source<'s>,
    chunk: usize,
}

enum Source<'s> {
    Csv {
        records: csv::StringRecordsIntoIter<Box<dyn std::io::Read + 's>>,
        headers: Vec<String>,
        schema: &'s CredentialSchema,
        index: usize,
    },
    Jsonl {
        lines: std::io::Lines<Box<dyn BufRead + 's>>,
        index: usize,
    },
}

impl<'s> RowReader<'s> {
    /// Opens a `.csv` or `.jsonl` (`.ndjson`) file.
    pub fn open(path: &Path, schema: &'s CredentialSchema) -> Result<Self, IssueError> {
        let input_err = |reason: String| IssueError::Input {
            path: path.display().to_string(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| input_err(e.to_string()))?;
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
            "csv" => Self::csv(reader, schema).map_err(input_err),
            "jsonl" | "ndjson" => Ok(Self::jsonl(reader)),
            _ => Err(input_err("the input must be a .csv or .jsonl file".into())),
        }
    }

    /// CSV with a header row naming the attributes and `holder_key`.
    pub fn csv(reader: impl std::io::Read + 's, schema: &'s CredentialSchema) -> Result<Self, String> {
        let boxed: Box<dyn std::io::Read + 's> = Box::new(reader);
        let mut csv = csv::ReaderBuilder::new().flexible(false).from_reader(boxed);
        let headers: Vec<String> = csv
            .headers()
            .map_err(|e| format!("no header row: {e}"))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        if !headers.iter().any(|h| h == HOLDER_KEY) {
            return Err(format!("the header row has no `{HOLDER_KEY}` column"));
        }
        Ok(RowReader {
            source: Source::Csv {
                records: csv.into_records(),
                headers,
                schema,
                index: 0,
            },
            chunk: ROW_CHUNK,
        })
    }

    /// JSON lines, one object per line.
    pub fn jsonl(reader: impl BufRead + 's) -> Self {
        let boxed: Box<dyn BufRead + 's> = Box::new(reader);
        RowReader {
            source: Source::Jsonl {
                lines: boxed.lines(),
                index: 0,
            },
            chunk: ROW_CHUNK,
        }
    }

    /// Reads `rows` rows at a time instead of [`ROW_CHUNK`] (at least one).
    pub fn with_chunk(mut self, rows: usize) -> Self {
        self.chunk = rows.max(1);
        self
    }

    /// Every remaining row and refusal.
    pub fn read_all(mut self) -> (Vec<Row>, Vec<RowError>) {
        let (mut rows, mut errors) = (Vec::new(), Vec::new());
        while let Some((mut r, mut e)) = self.next_chunk() {
            rows.append(&mut r);
            errors.append(&mut e);
        }
        (rows, errors)
    }

    /// The next chunk of rows and refusals (in line order), or `None` at the end.
    pub fn next_chunk(&mut self) -> Option<(Vec<Row>, Vec<RowError>)> {
        let chunk = self.chunk;
        match &mut self.source {
            Source::Csv {
                records,
                headers,
                schema,
                index,
            } => {
                // Records are split off the file in order, then decoded (numbers, the holder's
                // key) on every core.
                let mut raw = Vec::new();
                let mut errors = Vec::new();
                for record in records.by_ref() {
                    let line = record
                        .as_ref()
                        .ok()
                        .and_then(|r| r.position())
                        .map_or(*index + 2, |p| p.line() as usize);
                    *index += 1;
                    match record {
                        Ok(r) => raw.push((line, r)),
                        Err(e) => errors.push(RowError {
                            line,
                            reason: format!("not a CSV row matching the header: {e}"),
                        }),
                    }
                    if raw.len() + errors.len() >= chunk {
                        break;
                    }
                }
                if raw.is_empty() && errors.is_empty() {
                    return None;
                }
                let (headers, schema) = (&*headers, *schema);
                let decoded: Vec<Result<Row, RowError>> = raw
                    .into_par_iter()
                    .map(|(line, record)| csv_row(headers, schema, line, &record))
                    .collect();
                let rows = split_rows(decoded, &mut errors);
                Some((rows, errors))
            }
            Source::Jsonl { lines, index } => {
                let mut texts = Vec::new();
                let mut errors = Vec::new();
                for line in lines.by_ref() {
                    *index += 1;
                    match line {
                        Ok(t) if t.trim().is_empty() => {}
                        Ok(t) => texts.push((*index, t)),
                        Err(e) => errors.push(RowError {
                            line: *index,
                            reason: format!("unreadable line: {e}"),
                        }),
                    }
                    if texts.len() + errors.len() >= chunk {
                        break;
                    }
                }
                if texts.is_empty() && errors.is_empty() {
                    return None;
                }
                let parsed: Vec<Result<Row, RowError>> = texts
                    .into_par_iter()
                    .map(|(line, text)| jsonl_row(line, &text))
                    .collect();
                let rows = split_rows(parsed, &mut errors);
                Some((rows, errors))
            }
        }
    }
}

fn jsonl_row(line: usize, text: &str) -> Result<Row, RowError> {
    serde_json::from_str::<Value>(text)
        .map_err(|e| format!("not JSON: {e}"))
        .and_then(|v| match v {
            Value::Object(mut obj) => holder_of(&mut obj).map(|holder| Row {
                line,
                subject: obj,
                holder,
            }),
            _ => Err("a line must be one JSON object".into()),
        })
        .map_err(|reason| RowError { line, reason })
}

fn csv_row(
    headers: &[String],
    schema: &CredentialSchema,
    line: usize,
    record: &csv::StringRecord,
) -> Result<Row, RowError> {
    let mut obj = Map::new();
    for (name, cell) in headers.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = match schema.attribute(name).map(|a| a.encoding) {
            Some(AttributeEncoding::Integer) => cell
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(cell.into())),
            Some(AttributeEncoding::DecimalX100) => cell
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(cell.into())),
            _ => Value::String(cell.into()),
        };
        obj.insert(name.clone(), value);
    }
    holder_of(&mut obj)
        .map(|holder| Row {
            line,
            subject: obj,
            holder,
        })
        .map_err(|reason| RowError { line, reason })
}

/// The good rows of `results`, in order; the bad ones join `errors`, which ends sorted by line.
fn split_rows<T>(results: Vec<Result<T, RowError>>, errors: &mut Vec<RowError>) -> Vec<T> {
    let mut good = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(t) => good.push(t),
            Err(e) => errors.push(e),
        }
    }
    errors.sort_by_key(|e| e.line);
    good
}

/// How a batch is issued.
#[derive(Clone, Debug)]
pub struct BatchPlan<'a> {
    /// The schema.
    pub schema: &'a CredentialSchema,
    /// The issuer.
    pub issuer: Did,
    /// Valid from (Unix seconds).
    pub valid_from: i64,
    /// Valid until.
    pub valid_until: Option<i64>,
    /// Status list the batch's indexes are in.
    pub list_id: u32,
    /// First status index to use.
    pub first_index: u32,
    /// Whether to build the unlinkable tier (every row then needs a holder commitment).
    pub unlinkable: bool,
    /// The consortium's public API URL the credentials' links name (status list, schema).
    pub public_url: &'a str,
}

/// An issued batch, ready to anchor.
pub struct IssuedBatch {
    /// `(input line, credential)`, in input order.
    pub credentials: Vec<(usize, Credential)>,
    /// SM3 batch root.
    pub root: Hash,
    /// Poseidon root, for an unlinkable batch.
    pub poseidon_root: Option<Hash>,
    /// Rows refused.
    pub rejected: Vec<RowError>,
    /// Status list.
    pub list_id: u32,
    /// The next free status index after this batch.
    pub next_index: u32,
}

impl IssuedBatch {
    /// The ledger record anchoring it.
    pub fn anchor_record(&self, plan: &BatchPlan<'_>) -> AnchorRecord {
        anchor_record(plan, self.root, self.poseidon_root, self.credentials.len())
    }
}

/// A row that passed validation, with its attributes encoded and sorted by name.
struct Valid {
    line: usize,
    attributes: Vec<(String, AttributeValue)>,
    holder: HolderBinding,
}

/// One credential before the batch trees exist.
struct Built {
    line: usize,
    envelope: Envelope,
    openings: Vec<Opening>,
    leaf: Hash,
    poseidon: Option<(Fr, Fr)>,
}

fn validate(plan: &BatchPlan<'_>, row: Row) -> Result<Valid, RowError> {
    let err = |reason: String| RowError {
        line: row.line,
        reason,
    };
    let subject = Value::Object(row.subject);
    let mut attributes = plan.schema.encode_subject(&subject).map_err(|e| match e {
        schemas::credential_schema::SchemaError::Invalid { violations, .. } => err(violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")),
        other => err(other.to_string()),
    })?;
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    if plan.unlinkable && row.holder.holder_commitment.is_none() {
        return Err(err(format!(
            "the batch is unlinkable but the row has no `{HOLDER_COMMITMENT}` (the holder's wallet shows it with its key)"
        )));
    }
    Ok(Valid {
        line: row.line,
        attributes,
        holder: row.holder,
    })
}

fn random_fr(rng: &mut ChaCha20Rng) -> Fr {
    // 31 random bytes are always below the BN254 modulus.
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b[..31]);
    fr_from_bytes(&b).unwrap_or_default()
}

/// Builds a run of credentials; their Pedersen commitments are made in one batch.
fn build_chunk(
    plan: &BatchPlan<'_>,
    chunk: Vec<(usize, Valid)>,
    width: usize,
    rng: &mut ChaCha20Rng,
) -> Vec<Built> {
    let numbers: Vec<i64> = chunk
        .iter()
        .flat_map(|(_, v)| &v.attributes)
        .filter_map(|(_, value)| match value {
            AttributeValue::Integer(x) => Some(*x),
            AttributeValue::Text(_) => None,
        })
        .collect();
    let mut pedersen = zk::pedersen::commit_random_batch(&numbers, rng).into_iter();
    chunk
        .into_iter()
        .map(|(i, v)| build(plan, v, plan.first_index + i as u32, width, &mut pedersen, rng))
        .collect()
}

/// Builds one credential, taking a commitment from `pedersen` for each numeric attribute.
fn build(
    plan: &BatchPlan<'_>,
    v: Valid,
    index: u32,
    width: usize,
    pedersen: &mut impl Iterator<Item = (PedersenCommitment, zk::pedersen::Blinding)>,
    rng: &mut ChaCha20Rng,
) -> Built {
    let mut id = [0u8; 32];
    rng.fill_bytes(&mut id);
    let mut attributes = Vec::with_capacity(v.attributes.len());
    let mut openings = Vec::with_capacity(v.attributes.len());
    for (name, value) in v.attributes {
        let (commitment, randomness) = match &value {
            AttributeValue::Text(_) => {
                let mut salt = [0u8; 32];
                rng.fill_bytes(&mut salt);
                (
                    AttributeCommitment::Digest(attribute_digest(&name, &value, &salt)),
                    salt,
                )
            }
            AttributeValue::Integer(_) => {
                let (c, blinding) = pedersen.next().expect("one commitment per number");
                (AttributeCommitment::Pedersen(c), blinding.to_bytes())
            }
        };
        attributes.push(CommittedAttribute {
            name: name.clone(),
            commitment,
        });
        openings.push(Opening {
            name,
            value,
            randomness,
        });
    }
    let mut envelope = Envelope {
        id: Hash(id),
        credential_type: plan.schema.credential_type().to_owned(),
        schema_id: plan.schema.id().to_owned(),
        issuer: plan.issuer.clone(),
        holder: v.holder.holder_key,
        valid_from: plan.valid_from,
        valid_until: plan.valid_until,
        status: StatusEntry {
            list_id: plan.list_id,
            index,
        },
        attributes,
        poseidon_leaf: None,
    };
    let poseidon = v.holder.holder_commitment.filter(|_| plan.unlinkable).map(|c| {
        let salt = random_fr(rng);
        let data = leaf_data(plan.schema, &envelope, &openings, width);
        let commitment = fr_from_bytes(&c.0).unwrap_or_default();
        (credential_leaf(&data, &salt, &commitment), salt)
    });
    envelope.poseidon_leaf = poseidon.map(|(leaf, _)| Hash(fr_to_bytes(&leaf)));
    Built {
        line: v.line,
        leaf: envelope.leaf_hash(),
        envelope,
        openings,
        poseidon,
    }
}

/// What a credential's unlinkable leaf attests: its issuer and schema, its status index as the
/// revocation id, its validity period, and the schema's numeric attributes in order (absent ones
/// as `None`, so no predicate on them can be proven), padded with `None` to `width`.
pub fn leaf_data(schema: &CredentialSchema, e: &Envelope, openings: &[Opening], width: usize) -> LeafData {
    let mut attributes: Vec<Option<i64>> = crate::tier::unlinkable_attributes(schema)
        .iter()
        .map(|name| {
            openings
                .iter()
                .find(|o| o.name == *name)
                .and_then(|o| match o.value {
                    AttributeValue::Integer(x) => Some(x),
                    AttributeValue::Text(_) => None,
                })
        })
        .collect();
    attributes.resize(width, None);
    let (valid_from, valid_until) = circuit_period(e.valid_from, e.valid_until);
    LeafData {
        binding: binding_element(e.issuer.as_str(), &e.schema_id),
        id: e.status.index,
        valid_from,
        valid_until,
        attributes,
    }
}

/// Issues every valid row; `progress` is called with the number of rows just finished.
pub fn issue_batch(
    plan: &BatchPlan<'_>,
    rows: Vec<Row>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<IssuedBatch, IssueError> {
    let mut stage = Stage::new(plan);
    let built = stage.build(rows)?;
    progress(stage.rejected.len() as u64);
    let mut leaves = Leaves::default();
    leaves.extend(&built, plan.unlinkable);
    let done = stage.finish(leaves)?;
    let credentials = built
        .into_par_iter()
        .enumerate()
        .map(|(i, b)| {
            let c = done.credential(i, b.envelope, b.openings, b.poseidon.map(|p| p.1))?;
            progress(1);
            Ok((b.line, c))
        })
        .collect::<Result<_, IssueError>>()?;
    Ok(IssuedBatch {
        credentials,
        root: done.root,
        poseidon_root: done.poseidon_root,
        rejected: stage.rejected,
        list_id: plan.list_id,
        next_index: done.next_index,
    })
}

/// Issuance before the batch trees exist: validates and builds rows, keeping count of what is
/// issued and refused, and enforcing the batch's limits as it grows.
struct Stage<'p, 'a> {
    plan: &'p BatchPlan<'a>,
    width: usize,
    count: usize,
    rejected: Vec<RowError>,
}

/// The leaves of the batch trees, in issue order.
#[derive(Default)]
struct Leaves {
    sm3: Vec<Hash>,
    poseidon: Vec<Fr>,
}

impl Leaves {
    /// Adds the leaves of `built`; Poseidon leaves only for an unlinkable batch (a selective
    /// batch of millions keeps 32 bytes per credential, not 64).
    fn extend(&mut self, built: &[Built], unlinkable: bool) {
        self.sm3.extend(built.iter().map(|b| b.leaf));
        if unlinkable {
            self.poseidon
                .extend(built.iter().map(|b| b.poseidon.map_or(Fr::default(), |p| p.0)));
        }
    }
}

/// A batch whose trees are built: turns each credential's parts into the credential.
struct Finished {
    root: Hash,
    poseidon_root: Option<Hash>,
    tree: MerkleTree,
    poseidon_tree: Option<CredentialTree>,
    next_index: u32,
    /// What the credentials' JSON views need: the links' base and each attribute's encoding.
    public_url: String,
    encodings: std::collections::HashMap<String, AttributeEncoding>,
}

impl<'p, 'a> Stage<'p, 'a> {
    fn new(plan: &'p BatchPlan<'a>) -> Self {
        Stage {
            plan,
            width: crate::tier::leaf_width(plan.schema).unwrap_or(0),
            count: 0,
            rejected: Vec::new(),
        }
    }

    /// Validates `rows` and builds the good ones, with the status indexes that follow those
    /// already built.
    fn build(&mut self, rows: Vec<Row>) -> Result<Vec<Built>, IssueError> {
        let plan = self.plan;
        schemas::credential::check_base_url(plan.public_url).map_err(IssueError::PublicUrl)?;
        if plan.unlinkable && plan.list_id != crate::plan::UNLINKABLE_STATUS_LIST {
            return Err(IssueError::UnlinkableList {
                list_id: plan.list_id,
            });
        }
        let checked: Vec<Result<Valid, RowError>> = rows.into_par_iter().map(|r| validate(plan, r)).collect();
        let mut refused = Vec::new();
        let valid = split_rows(checked, &mut refused);
        self.rejected.append(&mut refused);
        let offset = self.count;
        let count = offset + valid.len();
        if plan.unlinkable && count > MAX_UNLINKABLE_BATCH {
            return Err(IssueError::TooLarge {
                count,
                max: MAX_UNLINKABLE_BATCH,
            });
        }
        self.next_index(count)?;
        self.count = count;
        let width = self.width;
        Ok(valid
            .into_par_iter()
            .enumerate()
            .chunks(256)
            .map_init(
                || ChaCha20Rng::from_seed(seed()),
                |rng, chunk| {
                    let chunk = chunk.into_iter().map(|(i, v)| (offset + i, v)).collect();
                    build_chunk(plan, chunk, width, rng)
                },
            )
            .flat_map_iter(|built| built)
            .collect())
    }

    /// The status index after `count` credentials, if the list has room for them.
    fn next_index(&self, count: usize) -> Result<u32, IssueError> {
        let plan = self.plan;
        u32::try_from(count)
            .ok()
            .and_then(|c| plan.first_index.checked_add(c))
            .filter(|next| *next <= schemas::ledger::MAX_STATUS_INDEX)
            .ok_or(IssueError::ListFull {
                list_id: plan.list_id,
                first: plan.first_index,
                count,
            })
    }

    /// Builds the batch trees over every leaf.
    fn finish(&self, leaves: Leaves) -> Result<Finished, IssueError> {
        if self.count == 0 {
            return Err(IssueError::Empty {
                rejected: self.rejected.len(),
            });
        }
        let tree = MerkleTree::from_leaf_hashes(leaves.sm3);
        let poseidon_tree = if self.plan.unlinkable {
            Some(
                CredentialTree::build(leaves.poseidon).map_err(|_| IssueError::TooLarge {
                    count: self.count,
                    max: MAX_UNLINKABLE_BATCH,
                })?,
            )
        } else {
            None
        };
        Ok(Finished {
            root: tree.root(),
            poseidon_root: poseidon_tree.as_ref().map(CredentialTree::root_hash),
            tree,
            poseidon_tree,
            next_index: self.next_index(self.count)?,
            public_url: self.plan.public_url.to_owned(),
            encodings: self
                .plan
                .schema
                .attributes()
                .iter()
                .map(|a| (a.name.clone(), a.encoding))
                .collect(),
        })
    }
}

impl Finished {
    /// The `i`-th credential of the batch, with its inclusion paths.
    fn credential(
        &self,
        i: usize,
        envelope: Envelope,
        openings: Vec<Opening>,
        poseidon_salt: Option<Fr>,
    ) -> Result<Credential, IssueError> {
        let encodings = envelope
            .attributes
            .iter()
            .map(|a| {
                self.encodings
                    .get(&a.name)
                    .copied()
                    .ok_or_else(|| IssueError::View(format!("attribute `{}` is not in the schema", a.name)))
            })
            .collect::<Result<_, _>>()?;
        let view = View {
            base_url: Some(self.public_url.clone()),
            encodings,
        };
        let unlinkable = self
            .poseidon_tree
            .as_ref()
            .zip(poseidon_salt)
            .and_then(|(t, salt)| {
                t.path(i).map(|p| UnlinkableIssuance {
                    salt: Hash(fr_to_bytes(&salt)),
                    index: p.index,
                    siblings: p.sibling_hashes(),
                })
            });
        Ok(Credential {
            envelope,
            openings,
            issuance: Issuance {
                batch_root: self.root,
                inclusion: self
                    .tree
                    .prove(i as u64)
                    .expect("every built credential is a leaf"),
                issuer_signature: None,
                unlinkable,
            },
            view,
        })
    }
}

/// A batch issued from a file without holding it in memory: each chunk of rows is built and
/// its credentials' parts are written to a staging file beside the output, keeping only the
/// tree leaves (32 bytes per credential); once anchored, [`StagedBatch::write`] reads the
/// staging file back a chunk at a time and writes the credentials with their paths.
pub struct StagedBatch {
    /// SM3 batch root.
    pub root: Hash,
    /// Poseidon root, for an unlinkable batch.
    pub poseidon_root: Option<Hash>,
    /// Credentials issued.
    pub count: usize,
    /// Rows refused, by line.
    pub rejected: Vec<RowError>,
    /// Status list.
    pub list_id: u32,
    /// The next free status index after this batch.
    pub next_index: u32,
    staging: std::path::PathBuf,
    done: Finished,
}

/// Name of the staging file in the output folder (removed once the batch is written).
pub const STAGING_FILE: &str = ".credentials.staging";

/// One credential's parts in the staging file.
#[derive(Serialize, Deserialize)]
struct Staged {
    line: u64,
    envelope: Envelope,
    openings: Vec<Opening>,
    poseidon_salt: Option<Hash>,
}

fn staging_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("the staging file is damaged: {e}"))
}

/// Issues every valid row of `input` (read [`ROW_CHUNK`] rows at a time), staging the
/// credentials in `out`; `progress` is called with the number of rows just finished.
pub fn stage_file(
    plan: &BatchPlan<'_>,
    input: &Path,
    out: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<StagedBatch, IssueError> {
    stage_file_in_chunks(plan, RowReader::open(input, plan.schema)?, out, progress)
}

/// [`stage_file`] from a reader (whose chunk size sets how much is in memory at once).
pub fn stage_file_in_chunks(
    plan: &BatchPlan<'_>,
    reader: RowReader<'_>,
    out: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<StagedBatch, IssueError> {
    let staging = out.join(STAGING_FILE);
    let staged = stage(plan, reader, out, &staging, progress);
    if staged.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    staged
}

fn stage(
    plan: &BatchPlan<'_>,
    mut reader: RowReader<'_>,
    out: &Path,
    staging: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<StagedBatch, IssueError> {
    use std::io::Write as _;
    let io_err = |e: std::io::Error| IssueError::Input {
        path: out.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(out).map_err(io_err)?;
    let mut file =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(staging).map_err(io_err)?);
    let mut stage = Stage::new(plan);
    let mut leaves = Leaves::default();
    while let Some((rows, mut refused)) = reader.next_chunk() {
        progress(refused.len() as u64);
        stage.rejected.append(&mut refused);
        let built = stage.build(rows)?;
        leaves.extend(&built, plan.unlinkable);
        let records: Vec<Vec<u8>> = built
            .into_par_iter()
            .map(|b| {
                schemas::codec::encode(&Staged {
                    line: b.line as u64,
                    envelope: b.envelope,
                    openings: b.openings,
                    poseidon_salt: b.poseidon.map(|p| Hash(fr_to_bytes(&p.1))),
                })
            })
            .collect();
        for r in &records {
            file.write_all(&(r.len() as u32).to_le_bytes()).map_err(io_err)?;
            file.write_all(r).map_err(io_err)?;
        }
        progress(records.len() as u64);
    }
    file.flush().map_err(io_err)?;
    stage.rejected.sort_by_key(|r| r.line);
    let done = stage.finish(leaves)?;
    Ok(StagedBatch {
        root: done.root,
        poseidon_root: done.poseidon_root,
        count: stage.count,
        rejected: stage.rejected,
        list_id: plan.list_id,
        next_index: done.next_index,
        staging: staging.to_owned(),
        done,
    })
}

impl StagedBatch {
    /// The ledger record anchoring it.
    pub fn anchor_record(&self, plan: &BatchPlan<'_>) -> AnchorRecord {
        anchor_record(plan, self.root, self.poseidon_root, self.count)
    }

    /// Removes the staging file without writing the batch (its anchor failed).
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.staging);
    }

    /// Writes the batch to `dir` as [`write_batch`] does, a chunk at a time from the staging
    /// file, which is then removed.
    pub fn write(self, dir: &Path, one_file_each: bool) -> std::io::Result<()> {
        use std::io::Read as _;
        let mut writer = BatchWriter::create(dir, one_file_each)?;
        let mut staged = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&self.staging)?);
        let mut next = 0usize;
        while next < self.count {
            let mut chunk = Vec::with_capacity(ROW_CHUNK.min(self.count - next));
            while chunk.len() < ROW_CHUNK && next + chunk.len() < self.count {
                let mut len = [0u8; 4];
                staged.read_exact(&mut len)?;
                let len = u32::from_le_bytes(len) as usize;
                if len > schemas::codec::MAX_ENCODED_BYTES {
                    return Err(staging_error(format!("a record of {len} bytes")));
                }
                let mut record = vec![0u8; len];
                staged.read_exact(&mut record)?;
                chunk.push(record);
            }
            let first = next;
            next += chunk.len();
            let credentials: Vec<(usize, Credential)> = chunk
                .into_par_iter()
                .enumerate()
                .map(|(k, record)| {
                    let s: Staged = schemas::codec::decode(&record).map_err(staging_error)?;
                    let salt = s
                        .poseidon_salt
                        .map(|h| {
                            fr_from_bytes(&h.0)
                                .ok_or_else(|| staging_error("a Poseidon salt is not a field element"))
                        })
                        .transpose()?;
                    Ok((
                        s.line as usize,
                        self.done
                            .credential(first + k, s.envelope, s.openings, salt)
                            .map_err(staging_error)?,
                    ))
                })
                .collect::<std::io::Result<_>>()?;
            writer.write(&credentials)?;
        }
        writer.finish(&self.rejected)?;
        std::fs::remove_file(&self.staging)
    }
}

fn anchor_record(
    plan: &BatchPlan<'_>,
    root: Hash,
    poseidon_root: Option<Hash>,
    count: usize,
) -> AnchorRecord {
    AnchorRecord {
        issuer: plan.issuer.clone(),
        root,
        poseidon_root,
        count: count as u64,
        schema_id: plan.schema.id().to_owned(),
        credential_type: plan.schema.credential_type().to_owned(),
    }
}

fn seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    OsRng.fill_bytes(&mut s);
    s
}

/// Writes a batch to `dir`: `credentials.jsonl` (one credential per line, in input order),
/// `index.csv` (input line, status index, credential id), `rejected.csv` (line, reason), and,
/// with `one_file_each`, `credential-<line>.json` per credential.
pub fn write_batch(dir: &Path, batch: &IssuedBatch, one_file_each: bool) -> std::io::Result<()> {
    let mut writer = BatchWriter::create(dir, one_file_each)?;
    for chunk in batch.credentials.chunks(4096) {
        writer.write(chunk)?;
    }
    writer.finish(&batch.rejected)
}

/// The output files of a batch, written a chunk of credentials at a time: each chunk is
/// serialised on every core and written in order, so credentials never sit in memory twice.
struct BatchWriter {
    dir: std::path::PathBuf,
    one_file_each: bool,
    credentials: std::io::BufWriter<std::fs::File>,
    index: std::io::BufWriter<std::fs::File>,
}

impl BatchWriter {
    fn create(dir: &Path, one_file_each: bool) -> std::io::Result<Self> {
        use std::io::Write as _;
        std::fs::create_dir_all(dir)?;
        let credentials =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("credentials.jsonl"))?);
        let mut index =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("index.csv"))?);
        writeln!(index, "line,list_id,status_index,credential_id")?;
        Ok(BatchWriter {
            dir: dir.to_owned(),
            one_file_each,
            credentials,
            index,
        })
    }

    fn write(&mut self, chunk: &[(usize, Credential)]) -> std::io::Result<()> {
        use std::io::Write as _;
        let texts: Vec<String> = chunk.par_iter().map(|(_, c)| c.to_json().to_string()).collect();
        for ((line, c), t) in chunk.iter().zip(&texts) {
            self.credentials.write_all(t.as_bytes())?;
            self.credentials.write_all(b"\n")?;
            writeln!(
                self.index,
                "{line},{},{},{}",
                c.envelope.status.list_id, c.envelope.status.index, c.envelope.id
            )?;
        }
        if self.one_file_each {
            let dir = &self.dir;
            chunk.par_iter().zip(&texts).try_for_each(|((line, _), t)| {
                std::fs::write(dir.join(format!("credential-{line}.json")), t)
            })?;
        }
        Ok(())
    }

    fn finish(mut self, rejected: &[RowError]) -> std::io::Result<()> {
        use std::io::Write as _;
        self.credentials.flush()?;
        self.index.flush()?;
        let mut out = csv::Writer::from_path(self.dir.join("rejected.csv")).map_err(std::io::Error::other)?;
        out.write_record(["line", "reason"])
            .map_err(std::io::Error::other)?;
        for r in rejected {
            out.write_record([r.line.to_string(), r.reason.clone()])
                .map_err(std::io::Error::other)?;
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::sm2::SecretKey;

    /// A selective batch of a new issuer on list 0 from `first_index`.
    fn test_plan(schema: &CredentialSchema, first_index: u32) -> BatchPlan<'_> {
        BatchPlan {
            schema,
            issuer: Did::from_public_key(SecretKey::generate(&mut OsRng).public_key()),
            valid_from: 1_780_000_000,
            valid_until: None,
            list_id: 0,
            first_index,
            unlinkable: false,
            public_url: "https://ledger.example.edu",
        }
    }

    fn key_hex() -> String {
        hex::encode(SecretKey::generate(&mut OsRng).public_key().to_sec1())
    }

    #[test]
    fn bad_rows_are_reported_by_line_while_good_rows_are_issued() {
        let schema = CredentialSchema::builtin("university-diploma").expect("built in");
        let csv = format!(
            "name,student_id,degree,major,gpa,graduation_date,holder_key\n\
             Li Hua,1,BEng,CS,3.62,2026-07-01,{k}\n\
             Wang Wei,2,BSc,Physics,5.1,2026-07-01,{k}\n\
             Zhao Lei,3,BSc,Maths,3.1,2026-07-01,not-hex\n\
             Sun Li,4,BA,History,abc,2026-13-01,{k}\n\
             Zhou Yu,5,BA,Art,2.9,2026-07-01,{k}\n",
            k = key_hex()
        );
        let (rows, errors) = read_csv(csv.as_bytes(), &schema).expect("a CSV");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 4);
        assert!(errors[0].reason.contains("holder_key"), "{}", errors[0].reason);
        let plan = test_plan(&schema, 7);
        let batch = issue_batch(&plan, rows, &|_| {}).expect("issued");
        let lines: Vec<usize> = batch.credentials.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 6]);
        let rejected: Vec<usize> = batch.rejected.iter().map(|r| r.line).collect();
        assert_eq!(rejected, [3, 5]);
        assert!(
            batch.rejected[0].reason.contains("maximum"),
            "{}",
            batch.rejected[0].reason
        );
        assert!(
            batch.rejected[1].reason.contains("/gpa"),
            "{}",
            batch.rejected[1].reason
        );
        assert_eq!(batch.next_index, 9);
        for (i, (_, c)) in batch.credentials.iter().enumerate() {
            c.check().expect("each credential is whole");
            assert_eq!(c.envelope.status.index, 7 + i as u32);
            assert_eq!(c.issuance.batch_root, batch.root);
            // The JSON round trip is the same credential.
            let back = Credential::from_json(&c.to_json().to_string()).expect("parses");
            assert_eq!(&back, c);
        }
    }

    /// A file issued in chunks of 7 rows (crossing chunk boundaries with good and bad rows in
    /// each), staged, then written: every credential is whole, in input order, with its status
    /// index and a path to the batch root; the refusals are listed by line; the staging file is
    /// gone; and the same rows issued in memory give the same lines and indexes.
    #[test]
    fn a_streamed_batch_is_the_batch_issued_in_memory() {
        let schema = CredentialSchema::builtin("university-diploma").expect("built in");
        let k = key_hex();
        let mut csv = String::from("name,student_id,degree,major,gpa,graduation_date,holder_key\n");
        for i in 0..40 {
            let gpa = if i % 9 == 4 { "5.5" } else { "3.25" };
            let key = if i % 13 == 7 { "not-hex" } else { k.as_str() };
            csv.push_str(&format!("S{i},{i},BEng,CS,{gpa},2026-07-01,{key}\n"));
        }
        let dir = tempfile::tempdir().expect("dir");
        let input = dir.path().join("class.csv");
        std::fs::write(&input, &csv).expect("written");
        assert_eq!(count_rows(&input).expect("counted"), 40);
        let plan = test_plan(&schema, 100);
        let out = dir.path().join("out");
        let reader = RowReader::open(&input, &schema).expect("opens").with_chunk(7);
        let staged = stage_file_in_chunks(&plan, reader, &out, &|_| {}).expect("staged");
        assert!(out.join(STAGING_FILE).exists());
        let (root, count, next) = (staged.root, staged.count, staged.next_index);
        let refused: Vec<usize> = staged.rejected.iter().map(|r| r.line).collect();
        staged.write(&out, false).expect("written");
        assert!(!out.join(STAGING_FILE).exists(), "the staging file is removed");

        let (rows, bad) = read_rows(&input, &schema).expect("read");
        let memory = issue_batch(&plan, rows, &|_| {}).expect("issued");
        let mut memory_refused: Vec<usize> = bad.iter().chain(&memory.rejected).map(|r| r.line).collect();
        memory_refused.sort_unstable();
        assert_eq!(refused, memory_refused);
        assert_eq!((count, next), (memory.credentials.len(), memory.next_index));
        let text = std::fs::read_to_string(out.join("credentials.jsonl")).expect("credentials");
        let written: Vec<Credential> = text
            .lines()
            .map(|l| Credential::from_json(l).expect("a credential"))
            .collect();
        assert_eq!(written.len(), count);
        let index = std::fs::read_to_string(out.join("index.csv")).expect("index");
        for (i, (c, (line, m))) in written.iter().zip(&memory.credentials).enumerate() {
            c.check().expect("whole");
            assert_eq!(c.issuance.batch_root, root);
            assert_eq!(c.envelope.status.index, 100 + i as u32);
            assert_eq!(c.envelope.status.index, m.envelope.status.index);
            assert!(
                c.issuance
                    .inclusion
                    .verify(&c.envelope.leaf_hash(), &root)
                    .is_ok()
            );
            assert!(
                index
                    .lines()
                    .nth(i + 1)
                    .expect("a row")
                    .starts_with(&format!("{line},0,"))
            );
        }
        let rejected = std::fs::read_to_string(out.join("rejected.csv")).expect("rejected");
        assert_eq!(rejected.lines().count(), 1 + refused.len());
    }

    #[test]
    fn jsonl_rows_and_unlinkable_batches() {
        let schema = CredentialSchema::builtin("kyc-attestation").expect("built in");
        let secret = HolderSecret::random(&mut OsRng);
        let commitment = secret.commitment_hash();
        let text = format!(
            "{{\"name\":\"A\",\"birth_date\":\"1990-01-01\",\"residence_country\":\"CN\",\"kyc_level\":2,\
             \"verified_on\":\"2026-01-01\",\"holder_key\":\"{k}\",\"holder_commitment\":\"{commitment}\"}}\n\
             not json\n\
             {{\"name\":\"B\",\"birth_date\":\"1990-01-01\",\"residence_country\":\"CN\",\"kyc_level\":2,\
             \"verified_on\":\"2026-01-01\",\"holder_key\":\"{k}\"}}\n",
            k = key_hex()
        );
        let (rows, errors) = read_jsonl(text.as_bytes());
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [2]);
        let plan = BatchPlan {
            schema: &schema,
            issuer: Did::from_public_key(SecretKey::generate(&mut OsRng).public_key()),
            valid_from: 1_780_000_000,
            valid_until: None,
            list_id: 0,
            first_index: 0,
            unlinkable: true,
            public_url: "https://ledger.example.edu",
        };
        let batch = issue_batch(&plan, rows, &|_| {}).expect("issued");
        assert_eq!(batch.credentials.len(), 1);
        assert!(batch.rejected[0].reason.contains("holder_commitment"));
        let c = &batch.credentials[0].1;
        let u = c.issuance.unlinkable.as_ref().expect("unlinkable part");
        assert_eq!(u.siblings.len(), zk::tree::CREDENTIAL_TREE_DEPTH);
        assert!(batch.poseidon_root.is_some());
        // Past the ledger's status space a credential could never be revoked: refused.
        let (rows, _) = read_jsonl(text.as_bytes());
        let full = BatchPlan {
            issuer: plan.issuer.clone(),
            first_index: schemas::ledger::MAX_STATUS_INDEX,
            unlinkable: false,
            ..plan
        };
        assert!(matches!(
            issue_batch(&full, rows, &|_| {}),
            Err(IssueError::ListFull { .. })
        ));
        let on_list_3 = BatchPlan { list_id: 3, ..plan };
        let (rows, _) = read_jsonl(text.as_bytes());
        assert!(matches!(
            issue_batch(&on_list_3, rows, &|_| {}),
            Err(IssueError::UnlinkableList { list_id: 3 })
        ));
    }
}

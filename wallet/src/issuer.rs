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
    StatusEntry, UnlinkableIssuance, attribute_digest,
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

/// Reads rows from a `.csv` (header row of attribute names plus `holder_key` and optionally
/// `holder_commitment`) or `.jsonl` file (one JSON object per line, same names). Rows that are
/// not even well-formed are returned as errors; schema validation happens at issuance.
pub fn read_rows(path: &Path, schema: &CredentialSchema) -> Result<(Vec<Row>, Vec<RowError>), IssueError> {
    let input_err = |reason: String| IssueError::Input {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| input_err(e.to_string()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    match ext {
        "csv" => read_csv(std::io::BufReader::new(file), schema).map_err(input_err),
        "jsonl" | "ndjson" => Ok(read_jsonl(std::io::BufReader::new(file))),
        _ => Err(input_err("the input must be a .csv or .jsonl file".into())),
    }
}

/// Rows from JSON lines.
pub fn read_jsonl(reader: impl BufRead) -> (Vec<Row>, Vec<RowError>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        match line {
            Ok(t) if t.trim().is_empty() => {}
            Ok(t) => lines.push((i + 1, t)),
            Err(e) => errors.push(RowError {
                line: i + 1,
                reason: format!("unreadable line: {e}"),
            }),
        }
    }
    let parsed: Vec<Result<Row, RowError>> = lines
        .into_par_iter()
        .map(|(line, text)| {
            serde_json::from_str::<Value>(&text)
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
        })
        .collect();
    let rows = split_rows(parsed, &mut errors);
    (rows, errors)
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

/// Rows from CSV: cells of numeric attributes are read as numbers; empty cells are absent.
pub fn read_csv(
    reader: impl std::io::Read,
    schema: &CredentialSchema,
) -> Result<(Vec<Row>, Vec<RowError>), String> {
    let mut csv = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| format!("no header row: {e}"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if !headers.iter().any(|h| h == HOLDER_KEY) {
        return Err(format!("the header row has no `{HOLDER_KEY}` column"));
    }
    // Records are split off the file in order, then decoded (numbers, the holder's key) on
    // every core.
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in csv.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i + 2, |p| p.line() as usize);
        match record {
            Ok(r) => records.push((line, r)),
            Err(e) => errors.push(RowError {
                line,
                reason: format!("not a CSV row matching the header: {e}"),
            }),
        }
    }
    let decoded: Vec<Result<Row, RowError>> = records
        .into_par_iter()
        .map(|(line, record)| {
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
        })
        .collect();
    let rows = split_rows(decoded, &mut errors);
    Ok((rows, errors))
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
        AnchorRecord {
            issuer: plan.issuer.clone(),
            root: self.root,
            poseidon_root: self.poseidon_root,
            count: self.credentials.len() as u64,
            schema_id: plan.schema.id().to_owned(),
            credential_type: plan.schema.credential_type().to_owned(),
        }
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
    let width = crate::tier::leaf_width(plan.schema).unwrap_or(0);
    let checked: Vec<Result<Valid, RowError>> = rows.into_par_iter().map(|r| validate(plan, r)).collect();
    let mut rejected = Vec::new();
    let valid = split_rows(checked, &mut rejected);
    progress(rejected.len() as u64);
    if valid.is_empty() {
        return Err(IssueError::Empty {
            rejected: rejected.len(),
        });
    }
    if plan.unlinkable && valid.len() > MAX_UNLINKABLE_BATCH {
        return Err(IssueError::TooLarge {
            count: valid.len(),
            max: MAX_UNLINKABLE_BATCH,
        });
    }
    if plan.unlinkable && plan.list_id != crate::plan::UNLINKABLE_STATUS_LIST {
        return Err(IssueError::UnlinkableList {
            list_id: plan.list_id,
        });
    }
    let count = valid.len();
    let next_index = u32::try_from(count)
        .ok()
        .and_then(|c| plan.first_index.checked_add(c))
        .filter(|next| *next <= schemas::ledger::MAX_STATUS_INDEX)
        .ok_or(IssueError::ListFull {
            list_id: plan.list_id,
            first: plan.first_index,
            count,
        })?;
    let built: Vec<Built> = valid
        .into_par_iter()
        .enumerate()
        .chunks(256)
        .map_init(
            || ChaCha20Rng::from_seed(seed()),
            |rng, chunk| build_chunk(plan, chunk, width, rng),
        )
        .flat_map_iter(|built| built)
        .collect();
    let tree = MerkleTree::from_leaf_hashes(built.iter().map(|b| b.leaf).collect());
    let root = tree.root();
    let poseidon_tree = if plan.unlinkable {
        let leaves = built
            .iter()
            .map(|b| b.poseidon.map_or(Fr::default(), |p| p.0))
            .collect();
        Some(CredentialTree::build(leaves).map_err(|_| IssueError::TooLarge {
            count,
            max: MAX_UNLINKABLE_BATCH,
        })?)
    } else {
        None
    };
    let poseidon_root = poseidon_tree.as_ref().map(zk::tree::CredentialTree::root_hash);
    let credentials = built
        .into_par_iter()
        .enumerate()
        .map(|(i, b)| {
            let unlinkable = poseidon_tree.as_ref().zip(b.poseidon).and_then(|(t, (_, salt))| {
                t.path(i).map(|p| UnlinkableIssuance {
                    salt: Hash(fr_to_bytes(&salt)),
                    index: p.index,
                    siblings: p.sibling_hashes(),
                })
            });
            let credential = Credential {
                envelope: b.envelope,
                openings: b.openings,
                issuance: Issuance {
                    batch_root: root,
                    inclusion: tree.prove(i as u64).expect("every built credential is a leaf"),
                    issuer_signature: None,
                    unlinkable,
                },
            };
            progress(1);
            (b.line, credential)
        })
        .collect();
    Ok(IssuedBatch {
        credentials,
        root,
        poseidon_root,
        rejected,
        list_id: plan.list_id,
        next_index,
    })
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
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    // Serialised a chunk at a time on every core and written in order, so a million
    // credentials never sit in memory twice (once as structures, once as text).
    let mut out =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("credentials.jsonl"))?);
    for chunk in batch.credentials.chunks(4096) {
        let texts: Vec<String> = chunk.par_iter().map(|(_, c)| c.to_json().to_string()).collect();
        for t in &texts {
            out.write_all(t.as_bytes())?;
            out.write_all(b"\n")?;
        }
        if one_file_each {
            chunk.par_iter().zip(&texts).try_for_each(|((line, _), t)| {
                std::fs::write(dir.join(format!("credential-{line}.json")), t)
            })?;
        }
    }
    out.flush()?;
    let mut index = std::io::BufWriter::new(std::fs::File::create(dir.join("index.csv"))?);
    writeln!(index, "line,list_id,status_index,credential_id")?;
    for (line, c) in &batch.credentials {
        writeln!(
            index,
            "{line},{},{},{}",
            c.envelope.status.list_id, c.envelope.status.index, c.envelope.id
        )?;
    }
    index.flush()?;
    let mut rejected = csv::Writer::from_path(dir.join("rejected.csv")).map_err(std::io::Error::other)?;
    rejected
        .write_record(["line", "reason"])
        .map_err(std::io::Error::other)?;
    for r in &batch.rejected {
        rejected
            .write_record([r.line.to_string(), r.reason.clone()])
            .map_err(std::io::Error::other)?;
    }
    rejected.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::sm2::SecretKey;

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
        let plan = BatchPlan {
            schema: &schema,
            issuer: Did::from_public_key(SecretKey::generate(&mut OsRng).public_key()),
            valid_from: 1_780_000_000,
            valid_until: None,
            list_id: 0,
            first_index: 7,
            unlinkable: false,
        };
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

//! A ceremony state as a file (format: `docs/ceremony.md`).

use super::{CeremonyError, ContributionProof, Heads, MAX_NAME, MAX_POWER, MIN_POWER, Params, Phase, Powers};
use crate::unlinkable::CircuitShape;
use ark_serialize::CanonicalSerialize;
use rand_core::CryptoRngCore;
use schemas::Hash;

const MAGIC: &[u8; 16] = b"credence-setup\x00\x01";

/// Largest file accepted: phase 1 at [`MAX_POWER`] (about 12.6 MB compressed) with room for
/// the header. A phase-2 file of the largest circuit is smaller.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// What a file holds.
// A handful of files exist at a time: their variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum FileKind {
    /// Phase 1.
    Powers(Powers),
    /// Phase 2 of the circuit named in [`File::circuit`].
    Circuit(Params),
}

/// One state of a ceremony chain: the initial state (index 0) or the `index`-th contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// The ceremony's id (as on the ledger).
    pub ceremony: String,
    /// Empty in phase 1; the circuit's id in phase 2.
    pub circuit: String,
    /// log2 of the phase-1 domain.
    pub power: u8,
    /// 0: the initial state; `k`: the `k`-th contribution of this chain.
    pub index: u32,
    /// Who contributed (a DID; empty at index 0).
    pub contributor: String,
    /// Digest of the state this one extends (zero at index 0).
    pub previous: Hash,
    /// The proofs of knowledge (none at index 0).
    pub proof: Option<ContributionProof>,
    /// The points.
    pub kind: FileKind,
}

/// The digest that names a file on the ledger and in the next contribution:
/// `SM3("credence/ceremony-file/v1" ‖ file)`.
pub fn file_digest(bytes: &[u8]) -> Hash {
    schemas::hash::hash_domain(FILE_DOMAIN, bytes)
}

const FILE_DOMAIN: schemas::hash::Domain = schemas::hash::Domain::new("credence/ceremony-file/v1");

impl File {
    /// The powers of tau before any contribution.
    pub fn initial_powers(ceremony: &str, power: u8) -> Result<File, CeremonyError> {
        check_name("ceremony id", ceremony)?;
        check_power(power)?;
        Ok(File {
            ceremony: ceremony.to_owned(),
            circuit: String::new(),
            power,
            index: 0,
            contributor: String::new(),
            previous: Hash::ZERO,
            proof: None,
            kind: FileKind::Powers(Powers::initial(power)),
        })
    }

    /// The circuit's parameters before any phase-2 contribution, derived from the final powers.
    pub fn initial_circuit(powers: &File, shape: CircuitShape) -> Result<File, CeremonyError> {
        let FileKind::Powers(p) = &powers.kind else {
            return Err(CeremonyError::Order {
                reason: "phase 2 starts from a powers-of-tau file, not a circuit's".into(),
            });
        };
        Ok(File {
            ceremony: powers.ceremony.clone(),
            circuit: shape.id(),
            power: powers.power,
            index: 0,
            contributor: String::new(),
            previous: powers.digest(),
            proof: None,
            kind: FileKind::Circuit(super::derive(shape, p, powers.power)?),
        })
    }

    /// Which chain the file belongs to.
    pub fn phase(&self) -> Phase<'_> {
        if self.circuit.is_empty() {
            Phase::Powers
        } else {
            Phase::Circuit(&self.circuit)
        }
    }

    /// The points that carry the secrets.
    pub fn heads(&self) -> Heads {
        match &self.kind {
            FileKind::Powers(p) => p.heads(),
            FileKind::Circuit(p) => p.heads(),
        }
    }

    /// This file's digest ([`file_digest`] of [`File::to_bytes`]).
    pub fn digest(&self) -> Hash {
        file_digest(&self.to_bytes())
    }

    /// The next state: `contributor`'s contribution with fresh secrets from `rng`, wiped before
    /// this returns. `progress` is told the fraction done.
    pub fn contribute(
        &self,
        contributor: &str,
        rng: &mut impl CryptoRngCore,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<File, CeremonyError> {
        check_name("contributor", contributor)?;
        let previous = self.digest();
        let challenge = super::challenge(&self.ceremony, self.phase(), contributor, &previous);
        let (kind, proof) = match &self.kind {
            FileKind::Powers(p) => {
                let (p, proof) = p.contribute(&challenge, rng, progress);
                (FileKind::Powers(p), proof)
            }
            FileKind::Circuit(p) => {
                let (p, proof) = p.contribute(&challenge, rng, progress);
                (FileKind::Circuit(p), proof)
            }
        };
        Ok(File {
            ceremony: self.ceremony.clone(),
            circuit: self.circuit.clone(),
            power: self.power,
            index: self.index + 1,
            contributor: contributor.to_owned(),
            previous,
            proof: Some(proof),
            kind,
        })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(match self.kind {
            FileKind::Powers(_) => 1,
            FileKind::Circuit(_) => 2,
        });
        for s in [&self.ceremony, &self.circuit, &self.contributor] {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.push(self.power);
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(self.previous.as_bytes());
        match &self.proof {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                let bytes = p.to_bytes();
                out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
        }
        let body = match &self.kind {
            FileKind::Powers(p) => p.compressed_size(),
            FileKind::Circuit(p) => p.compressed_size(),
        };
        out.reserve(body);
        match &self.kind {
            FileKind::Powers(p) => p.serialize_compressed(&mut out),
            FileKind::Circuit(p) => p.serialize_compressed(&mut out),
        }
        .expect("writing to a Vec cannot fail");
        out
    }

    /// Reads a file, checking its size, its header and every point (on the curve, in the
    /// subgroup), and that its lengths are those of its power and circuit.
    pub fn from_bytes(bytes: &[u8]) -> Result<File, CeremonyError> {
        let bad = |reason: String| CeremonyError::Malformed {
            what: "ceremony file",
            reason,
        };
        if bytes.len() > MAX_FILE_BYTES {
            return Err(bad(format!(
                "{} bytes; the limit is {MAX_FILE_BYTES} (MAX_FILE_BYTES)",
                bytes.len()
            )));
        }
        let mut r = Reader(bytes);
        if r.take(MAGIC.len()).map_err(&bad)? != MAGIC {
            return Err(bad("it is not a Credence ceremony file (wrong magic)".into()));
        }
        let kind = r.byte().map_err(&bad)?;
        let ceremony = r.name("ceremony id").map_err(&bad)?;
        if ceremony.is_empty() {
            return Err(bad("the ceremony id is empty".into()));
        }
        let circuit = r.name("circuit id").map_err(&bad)?;
        let contributor = r.name("contributor").map_err(&bad)?;
        let power = r.byte().map_err(&bad)?;
        check_power(power)?;
        let index = u32::from_le_bytes(r.array().map_err(&bad)?);
        let previous = Hash(r.array().map_err(&bad)?);
        let proof = match r.byte().map_err(&bad)? {
            0 => None,
            1 => {
                let len = usize::from(u16::from_le_bytes(r.array().map_err(&bad)?));
                Some(ContributionProof::from_bytes(r.take(len).map_err(&bad)?)?)
            }
            b => return Err(bad(format!("proof flag {b}; 0 or 1"))),
        };
        if (index == 0) != proof.is_none() || (index == 0) != contributor.is_empty() {
            return Err(bad(
                "a contribution (index ≥ 1) carries a contributor and a proof, the initial state neither"
                    .into(),
            ));
        }
        let kind = match (kind, circuit.is_empty()) {
            (1, true) => {
                let p: Powers = super::from_bytes(r.0, "powers of tau")?;
                p.check_lengths(power)?;
                FileKind::Powers(p)
            }
            (2, false) => {
                let shape = CircuitShape::from_id(&circuit)
                    .ok_or_else(|| bad(format!("unknown circuit {circuit:?}")))?;
                let p: Params = super::from_bytes(r.0, "circuit parameters")?;
                super::phase2::check_lengths(shape, &p)?;
                FileKind::Circuit(p)
            }
            _ => {
                return Err(bad(format!(
                    "kind {kind} with circuit {circuit:?}: 1 (powers, no circuit) or 2 (a circuit)"
                )));
            }
        };
        Ok(File {
            ceremony,
            circuit,
            power,
            index,
            contributor,
            previous,
            proof,
            kind,
        })
    }
}

fn check_power(power: u8) -> Result<(), CeremonyError> {
    if (MIN_POWER..=MAX_POWER).contains(&power) {
        return Ok(());
    }
    Err(CeremonyError::Malformed {
        what: "ceremony file",
        reason: format!("power {power}; between {MIN_POWER} and {MAX_POWER} (MAX_POWER)"),
    })
}

fn check_name(what: &'static str, s: &str) -> Result<(), CeremonyError> {
    if s.is_empty() || s.len() > MAX_NAME {
        return Err(CeremonyError::Malformed {
            what,
            reason: format!("{} bytes; 1 to {MAX_NAME} (MAX_NAME)", s.len()),
        });
    }
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the file ends inside its header".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn name(&mut self, what: &str) -> Result<String, String> {
        let len = usize::from(u16::from_le_bytes(self.array()?));
        if len > MAX_NAME {
            return Err(format!(
                "{what} of {len} bytes; the limit is {MAX_NAME} (MAX_NAME)"
            ));
        }
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| format!("the {what} is not UTF-8"))
    }
}

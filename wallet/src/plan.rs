//! What answering and checking a presentation reads from the ledger: one plan, used by the
//! holder (to read before consent, and to carry the proofs) and by the verifier (to know what
//! the carried or fresh proofs must cover). A rule written here once cannot drift between the
//! two sides: before, each kept its own list and they agreed on the unlinkable tier's status
//! list only by convention.

use schemas::credential::StatusEntry;
use schemas::credential_schema::CredentialSchema;
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{SchemaRecord, state_keys};

use crate::ledger::Facts;

/// The status list of every unlinkable batch: the list whose revoked indexes the proofs use.
/// Issuance refuses any other (`IssueError::UnlinkableList`).
pub const UNLINKABLE_STATUS_LIST: u32 = 0;

/// What a presentation is about, as far as the ledger is concerned.
pub enum Subject<'a> {
    /// A selective disclosure of one credential.
    Selective {
        /// Its issuer.
        issuer: &'a Did,
        /// The SM3 root of its batch (the anchor's key).
        batch_root: &'a Hash,
        /// Where its revocation bit lives.
        status: &'a StatusEntry,
        /// Its schema's id: a schema that is not built in is read too, so both sides show
        /// the disclosed values as that schema describes them.
        schema_id: &'a str,
    },
    /// An unlinkable proof about a credential of `issuer`, under a registered circuit key.
    Unlinkable {
        /// The issuer (public in the proof).
        issuer: &'a Did,
        /// The circuit shape's id.
        circuit: &'a str,
        /// The key version proven under.
        version: u32,
        /// The batch root and schema id, which the holder knows; the verifier learns them from
        /// the carried proofs (the anchor is found by its Poseidon root) and passes `None`.
        batch: Option<(&'a Hash, &'a str)>,
    },
}

/// The state keys a presentation's checks read, in one order: the verifier's record, the
/// issuer's, then what the tier needs (selective: the anchor, the status-list chunk and a
/// schema that is not built in;
/// unlinkable: the list's revocation root, the verifying key and whether it is retired, and —
/// when known — the anchor and schema). The status-list chunk is never read in the unlinkable tier: its number would tell
/// the node which part of the list the credential is in.
pub fn ledger_keys(verifier: &Did, subject: &Subject<'_>) -> Vec<Vec<u8>> {
    let mut keys = vec![state_keys::verifier(verifier)];
    match subject {
        Subject::Selective {
            issuer,
            batch_root,
            status,
            schema_id,
        } => {
            keys.push(state_keys::issuer(issuer));
            keys.push(state_keys::anchor(issuer, batch_root));
            keys.push(status.chunk_key(issuer));
            if CredentialSchema::builtin_by_id(schema_id).is_none() {
                keys.push(state_keys::schema(schema_id));
            }
        }
        Subject::Unlinkable {
            issuer,
            circuit,
            version,
            batch,
        } => {
            keys.push(state_keys::issuer(issuer));
            keys.push(state_keys::revoked(issuer, UNLINKABLE_STATUS_LIST));
            keys.push(state_keys::verifying_key(circuit, *version));
            keys.push(state_keys::retired_verifying_key(circuit, *version));
            if let Some((root, schema_id)) = batch {
                keys.push(state_keys::anchor(issuer, root));
                keys.push(state_keys::schema(schema_id));
            }
        }
    }
    keys
}

/// Why a credential's schema is not to be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaUnresolved {
    /// Neither built in nor on the ledger.
    #[error("schema {id} is neither built in nor published on the ledger; its issuer must publish it first")]
    NotPublished {
        /// The schema id.
        id: String,
    },
    /// The proofs read do not say either way.
    #[error("the ledger proofs do not cover schema {id}")]
    NotCovered {
        /// The schema id.
        id: String,
    },
    /// The ledger holds something under the id that is not that schema.
    #[error("the ledger's record of schema {id} is not a usable schema: {reason}")]
    Unusable {
        /// The schema id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A schema known by heart or read from the ledger.
#[derive(Debug)]
pub enum KnownSchema {
    /// One of the built-in schemas.
    BuiltIn(&'static CredentialSchema),
    /// A schema published on the ledger.
    Published(Box<CredentialSchema>),
}

impl KnownSchema {
    /// The built-in schema `id`, which no ledger record can shadow.
    pub fn builtin(id: &str) -> Option<KnownSchema> {
        CredentialSchema::builtin_by_id(id).map(KnownSchema::BuiltIn)
    }
}

impl std::ops::Deref for KnownSchema {
    type Target = CredentialSchema;
    fn deref(&self) -> &CredentialSchema {
        match self {
            KnownSchema::BuiltIn(s) => s,
            KnownSchema::Published(s) => s,
        }
    }
}

/// The schema a credential was issued under, in one rule for holder and verifier: a built-in
/// schema is known by heart; any other is the one published on the ledger (published schemas
/// are never overwritten), read from proven `facts`. Both tiers accept both kinds: before, the
/// holder refused a published schema in the unlinkable tier that the verifier accepted.
pub fn resolve_schema(facts: &Facts, id: &str) -> Result<KnownSchema, SchemaUnresolved> {
    if let Some(s) = KnownSchema::builtin(id) {
        return Ok(s);
    }
    let unusable = |reason: String| SchemaUnresolved::Unusable {
        id: id.to_owned(),
        reason,
    };
    let record: SchemaRecord = match facts.get(&state_keys::schema(id), "the schema") {
        Ok(Some(r)) => r,
        Ok(None) => return Err(SchemaUnresolved::NotPublished { id: id.to_owned() }),
        Err(crate::ledger::LedgerError::NotCovered { .. }) => {
            return Err(SchemaUnresolved::NotCovered { id: id.to_owned() });
        }
        Err(e) => return Err(unusable(e.to_string())),
    };
    let schema = CredentialSchema::from_json(&record.json).map_err(|e| unusable(e.to_string()))?;
    if record.id != id || schema.id() != id {
        return Err(unusable(format!(
            "the record under this id names {:?} and its schema text {:?}",
            record.id,
            schema.id()
        )));
    }
    Ok(KnownSchema::Published(Box::new(schema)))
}

/// Whether the verifying key version a proof is made under is retired, from proven facts (the
/// plan reads its retirement record): one rule for the holder, which then does not prove, and
/// the verifier, which then refuses.
pub fn key_retired(facts: &Facts, circuit: &str, version: u32) -> Result<bool, crate::ledger::LedgerError> {
    Ok(facts
        .get::<schemas::ledger::KeyRetirement>(
            &state_keys::retired_verifying_key(circuit, version),
            "the verifying key's retirement",
        )?
        .is_some())
}

/// The key of regulator council `id` as the facts prove it: the council must exist and its key
/// generation must have finished.
pub fn council_key(facts: &Facts, id: &str) -> Result<zk::escrow::CouncilKey, String> {
    let record: schemas::ledger::CouncilRecord = facts
        .get(&state_keys::council(id), "the council")
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the ledger has no regulator council {id}"))?;
    zk::escrow::record::key_of(&record).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::Chain;
    use crate::ledger::ReadLedger as _;
    use schemas::credential_schema::BUILTIN_SCHEMAS;

    fn kyc_text() -> &'static str {
        BUILTIN_SCHEMAS
            .iter()
            .find(|(n, _)| *n == "kyc-attestation")
            .expect("built in")
            .1
    }

    async fn facts(chain: &Chain, ids: &[&str]) -> Facts {
        let keys = ids.iter().map(|id| state_keys::schema(id)).collect();
        chain.read(keys).await.expect("a verified read").1
    }

    #[tokio::test]
    async fn a_schema_is_built_in_published_or_refused_with_its_reason() {
        let chain = Chain::new();
        let publisher =
            Did::from_public_key(schemas::sm2::SecretKey::generate(&mut rand_core::OsRng).public_key());
        let published = CredentialSchema::from_json(&kyc_text().replace("kyc-attestation:3", "bank-kyc:3"))
            .expect("a schema");
        chain.put(
            state_keys::schema("credence:schema:bank-kyc:3"),
            &published.record(publisher.clone()),
        );
        // A record filed under one id that describes another.
        chain.put(
            state_keys::schema("credence:schema:bank-kyc:4"),
            &published.record(publisher.clone()),
        );
        // A record under a built-in id (the ledger's genesis may hold one) with another type:
        // the built-in schema is the one used.
        let mut shadow = published.record(publisher);
        shadow.id = "credence:schema:kyc-attestation:2".into();
        shadow.credential_type = "Other".into();
        chain.put(state_keys::schema("credence:schema:kyc-attestation:2"), &shadow);
        chain.commit();
        let ids = [
            "credence:schema:bank-kyc:3",
            "credence:schema:bank-kyc:4",
            "credence:schema:bank-kyc:5",
            "credence:schema:kyc-attestation:2",
        ];
        let f = facts(&chain, &ids).await;
        assert_eq!(resolve_schema(&f, ids[0]).expect("published").id(), ids[0]);
        assert!(matches!(
            resolve_schema(&f, ids[1]),
            Err(SchemaUnresolved::Unusable { reason, .. }) if reason.contains("bank-kyc:3")
        ));
        assert!(matches!(
            resolve_schema(&f, ids[2]),
            Err(SchemaUnresolved::NotPublished { .. })
        ));
        let builtin = resolve_schema(&f, ids[3]).expect("built in");
        assert!(matches!(builtin, KnownSchema::BuiltIn(_)));
        assert_eq!(builtin.credential_type(), "KycAttestation");
        // Proofs that do not cover the key say so rather than "not published".
        let none = facts(&chain, &[]).await;
        assert!(matches!(
            resolve_schema(&none, ids[0]),
            Err(SchemaUnresolved::NotCovered { .. })
        ));
    }
}

//! Issuer and verifier identities: an SM2 key, a display name and small counters, kept in an
//! encrypted keystore of their own (the holder's wallet is [`crate::holder::Holder`]).

use crate::issuer::{BatchPlan, IssueError, IssuedBatch, Row, StagedBatch, issue_batch};
use crate::keystore::{Keystore, KeystoreError, RecoveryPhrase};
use crate::ledger::{Ledger, LedgerError};
use rand_core::OsRng;
use schemas::credential_schema::CredentialSchema;
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::{IssuerRecord, IssuerStatus, SchemaRecord, ScopeItem, TxPayload, VerifierRecord};
use schemas::seal::Cost;
use schemas::sm2::SecretKey;
use std::path::Path;

const KEY: &str = "role/sm2";
const NAME: &str = "role/name";
const NEXT_INDEX: &str = "issuer/next-index/";

/// An organisation's signing identity (a university, a bank, an employer).
pub struct Identity {
    store: Keystore,
    key: SecretKey,
    name: String,
}

impl Identity {
    /// Creates an identity with a fresh key in `dir`.
    pub fn create(
        dir: &Path,
        name: &str,
        password: &str,
        cost: Cost,
    ) -> Result<(Identity, RecoveryPhrase), KeystoreError> {
        let (store, phrase) = Keystore::create(dir, password, cost, &mut OsRng)?;
        let key = SecretKey::generate(&mut OsRng);
        store.put_all(
            &[(KEY, key.to_bytes().as_ref()), (NAME, name.as_bytes())],
            &mut OsRng,
        )?;
        Ok((
            Identity {
                store,
                key,
                name: name.to_owned(),
            },
            phrase,
        ))
    }

    /// Opens the identity in `dir`.
    pub fn open(dir: &Path, password: &str) -> Result<Identity, KeystoreError> {
        let store = Keystore::open(dir, password)?;
        let corrupt = |what: &str| KeystoreError::Corrupt(format!("the {what} record is unreadable"));
        let key = store.get_secret(KEY, "signing key", |b| SecretKey::from_bytes(b).ok())?;
        let name = store
            .get(NAME)?
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .ok_or_else(|| corrupt("name"))?;
        Ok(Identity { store, key, name })
    }

    /// Its signing key.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// Its DID.
    pub fn did(&self) -> Did {
        Did::from_public_key(self.key.public_key())
    }

    /// Its display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next unused status index of `list` (an issuer's counter).
    pub fn next_index(&self, list: u32) -> Result<u32, KeystoreError> {
        Ok(self
            .store
            .get(&format!("{NEXT_INDEX}{list}"))?
            .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
            .map_or(0, u32::from_be_bytes))
    }

    /// Records the next unused status index of `list`.
    pub fn set_next_index(&self, list: u32, next: u32) -> Result<(), KeystoreError> {
        self.store
            .put(&format!("{NEXT_INDEX}{list}"), &next.to_be_bytes(), &mut OsRng)
    }

    /// The keystore (password change, backup).
    pub fn store(&self) -> &Keystore {
        &self.store
    }
}

/// What an issuer's or verifier's ledger action can run into.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// Its keystore.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The ledger.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Issuance.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// The ledger holds another text under a built-in schema's id.
    #[error(
        "the ledger holds another text under the built-in schema id {id} (published by {publisher}); \
         credentials under it would not read alike everywhere, so none are issued: ask the \
         consortium's governance, or issue under a schema of your own"
    )]
    SchemaShadowed {
        /// The schema id.
        id: String,
        /// Who published the other text.
        publisher: String,
    },
}

impl Identity {
    /// Asks the consortium to register this identity as an issuer of `types`; returns the
    /// proposal governance members approve.
    pub async fn register_issuer(&self, ledger: &Ledger, types: Vec<String>) -> Result<Hash, ActionError> {
        let record = IssuerRecord {
            did: self.did(),
            name: self.name.clone(),
            public_key: self.key.public_key().clone(),
            officers: vec![],
            threshold: 1,
            allowed_types: types,
            status: IssuerStatus::Active,
        };
        let (hash, _) = ledger
            .submit(&self.key, &[], TxPayload::RegisterIssuer { record })
            .await?;
        Ok(hash)
    }

    /// Asks the consortium to register this identity as a verifier with its scope; returns
    /// the proposal.
    pub async fn register_verifier(
        &self,
        ledger: &Ledger,
        scope: Vec<ScopeItem>,
        purposes: Vec<String>,
        nullifier_scope: String,
    ) -> Result<Hash, ActionError> {
        let record = VerifierRecord {
            did: self.did(),
            name: self.name.clone(),
            public_key: self.key.public_key().clone(),
            scope,
            purposes,
            nullifier_scope,
        };
        let (hash, _) = ledger
            .submit(&self.key, &[], TxPayload::RegisterVerifier { record })
            .await?;
        Ok(hash)
    }

    /// Issues `rows` under `schema` from this issuer's next status index, anchors the batch in
    /// one transaction, and advances the counter. Returns the batch and the anchor's height.
    pub async fn issue_and_anchor(
        &self,
        ledger: &Ledger,
        schema: &CredentialSchema,
        rows: Vec<Row>,
        validity: (i64, Option<i64>),
        unlinkable: bool,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(IssuedBatch, u64), ActionError> {
        let needed = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        let plan = self.plan(schema, needed, validity, unlinkable, ledger.link_base())?;
        let batch = tokio::task::block_in_place(|| issue_batch(&plan, rows, progress))?;
        let height = self
            .anchor(ledger, &plan, batch.anchor_record(&plan), batch.next_index)
            .await?;
        Ok((batch, height))
    }

    /// The plan of a batch of at most `needed` credentials: its status list and first index.
    fn plan<'s>(
        &self,
        schema: &'s CredentialSchema,
        needed: u32,
        validity: (i64, Option<i64>),
        unlinkable: bool,
        public_url: &'s str,
    ) -> Result<BatchPlan<'s>, ActionError> {
        let list_id = self.status_list_for(needed, unlinkable)?;
        Ok(BatchPlan {
            schema,
            issuer: self.did(),
            valid_from: validity.0,
            valid_until: validity.1,
            list_id,
            first_index: self.next_index(list_id)?,
            unlinkable,
            public_url,
        })
    }

    /// Publishes `schema` on the ledger as this issuer's; returns the block height.
    pub async fn publish_schema(
        &self,
        ledger: &Ledger,
        schema: &CredentialSchema,
    ) -> Result<u64, ActionError> {
        let record = schema.record(self.did());
        let (_, receipt) = ledger
            .submit(&self.key, &[], TxPayload::PublishSchema { record })
            .await?;
        Ok(receipt.height.0)
    }

    /// A built-in schema newer than the consortium's genesis (which holds the built-in
    /// versions of its day) is published, in its built-in text, by the first issuer to use it;
    /// a ledger holding another text under a built-in id is refused. A schema of the issuer's
    /// own is its to publish (`credctl issuer publish-schema`).
    async fn publish_builtin(&self, ledger: &Ledger, schema: &CredentialSchema) -> Result<(), ActionError> {
        let Some(builtin) = CredentialSchema::builtin_by_id(schema.id()) else {
            return Ok(());
        };
        let key = schemas::ledger::state_keys::schema(schema.id());
        let published = async || -> Result<Option<SchemaRecord>, ActionError> {
            Ok(ledger.read(vec![key.clone()]).await?.1.get(&key, "the schema")?)
        };
        let check = |r: SchemaRecord| {
            if r.json == builtin.json() {
                Ok(())
            } else {
                Err(ActionError::SchemaShadowed {
                    id: r.id,
                    publisher: r.publisher.to_string(),
                })
            }
        };
        if let Some(r) = published().await? {
            return check(r);
        }
        match self.publish_schema(ledger, builtin).await {
            Ok(_) => Ok(()),
            // Another issuer may have published it meanwhile: what counts is the ledger's text.
            Err(e) => match published().await? {
                Some(r) => check(r),
                None => Err(e),
            },
        }
    }

    /// Reserves the batch's indexes, then anchors it; returns the anchor's height.
    async fn anchor(
        &self,
        ledger: &Ledger,
        plan: &BatchPlan<'_>,
        anchor: schemas::ledger::AnchorRecord,
        next_index: u32,
    ) -> Result<u64, ActionError> {
        self.publish_builtin(ledger, plan.schema).await?;
        // The indexes are reserved before the anchor is sent: if its receipt times out and it
        // commits later, the next batch still gets fresh indexes (security finding 24). A
        // refused anchor leaves a gap, which costs nothing.
        self.set_next_index(plan.list_id, next_index)?;
        let (_, receipt) = ledger
            .submit(&self.key, &[], TxPayload::AnchorBatch { anchor })
            .await?;
        Ok(receipt.height.0)
    }

    /// Issues the rows of the file `input` under `schema` without holding them in memory
    /// (staged in `out`, see [`crate::issuer::stage_file`]), anchors the batch in one
    /// transaction and advances the counter. The caller then writes it with
    /// [`StagedBatch::write`]. Returns the batch and the anchor's height.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_file_and_anchor(
        &self,
        ledger: &Ledger,
        schema: &CredentialSchema,
        input: &std::path::Path,
        out: &std::path::Path,
        validity: (i64, Option<i64>),
        unlinkable: bool,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(StagedBatch, u64), ActionError> {
        let needed = u32::try_from(crate::issuer::count_rows(input)?).unwrap_or(u32::MAX);
        let plan = self.plan(schema, needed, validity, unlinkable, ledger.link_base())?;
        let batch = tokio::task::block_in_place(|| crate::issuer::stage_file(&plan, input, out, progress))?;
        match self
            .anchor(ledger, &plan, batch.anchor_record(&plan), batch.next_index)
            .await
        {
            Ok(height) => Ok((batch, height)),
            Err(e) => {
                // Nothing was anchored: the staged credentials could never verify.
                batch.discard();
                Err(e)
            }
        }
    }

    /// The status list the next batch of `needed` credentials goes to. Selective credentials
    /// move to the next list when one is full (the ledger revokes indexes below
    /// `MAX_STATUS_INDEX` only), up to [`MAX_STATUS_LISTS`] lists; the unlinkable tier proves
    /// against list 0 and stops there. Either way a batch that fits nowhere is
    /// [`IssueError::ListFull`], naming the last list tried.
    pub fn status_list_for(&self, needed: u32, unlinkable: bool) -> Result<u32, ActionError> {
        let last = if unlinkable { 0 } else { MAX_STATUS_LISTS - 1 };
        for list_id in 0..=last {
            let first = self.next_index(list_id)?;
            if first
                .checked_add(needed)
                .is_some_and(|end| end <= schemas::ledger::MAX_STATUS_INDEX)
            {
                return Ok(list_id);
            }
        }
        Err(IssueError::ListFull {
            list_id: last,
            first: self.next_index(last)?,
            count: needed as usize,
        }
        .into())
    }

    /// Revokes credentials by status index; returns the block height.
    pub async fn revoke(&self, ledger: &Ledger, list_id: u32, indexes: Vec<u32>) -> Result<u64, ActionError> {
        let (_, receipt) = ledger
            .submit(
                &self.key,
                &[],
                TxPayload::UpdateStatusList {
                    issuer: self.did(),
                    list_id,
                    revoke: indexes,
                },
            )
            .await?;
        Ok(receipt.height.0)
    }
}

/// A governance member approves a proposal; returns the block height.
pub async fn approve(ledger: &Ledger, member: &SecretKey, proposal: Hash) -> Result<u64, LedgerError> {
    let (_, receipt) = ledger
        .submit(member, &[], TxPayload::Approve { proposal })
        .await?;
    Ok(receipt.height.0)
}

/// A governance member proposes retiring a circuit's verifying key version; returns the
/// proposal.
pub async fn propose_retirement(
    ledger: &Ledger,
    member: &SecretKey,
    circuit: &str,
    version: u32,
) -> Result<Hash, LedgerError> {
    let (hash, _) = ledger
        .submit(
            member,
            &[],
            TxPayload::RetireVerifyingKey {
                circuit: circuit.to_owned(),
                version,
            },
        )
        .await?;
    Ok(hash)
}

/// Status lists one issuer fills in turn before issuance stops (each holds
/// `MAX_STATUS_INDEX` credentials: about 17 billion in all).
pub const MAX_STATUS_LISTS: u32 = 1_024;

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Cost = Cost {
        memory_kib: 64,
        iterations: 1,
    };

    #[test]
    fn a_batch_goes_to_the_first_list_with_room_and_never_past_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let (id, _) =
            Identity::create(dir.path(), "Test University", "a long test passphrase", CHEAP).unwrap();
        let max = schemas::ledger::MAX_STATUS_INDEX;
        assert_eq!(id.status_list_for(10, false).unwrap(), 0);
        id.set_next_index(0, max - 5).unwrap();
        assert_eq!(id.status_list_for(5, false).unwrap(), 0, "exactly fits");
        assert_eq!(id.status_list_for(6, false).unwrap(), 1);
        assert!(
            matches!(
                id.status_list_for(6, true),
                Err(ActionError::Issue(IssueError::ListFull { list_id: 0, .. }))
            ),
            "the unlinkable tier stays on list 0"
        );
        for list in 0..MAX_STATUS_LISTS {
            id.set_next_index(list, max).unwrap();
        }
        // Every list full: a clear error naming the last list, not a list past the bound.
        match id.status_list_for(1, false) {
            Err(ActionError::Issue(IssueError::ListFull {
                list_id,
                first,
                count,
            })) => {
                assert_eq!((list_id, first, count), (MAX_STATUS_LISTS - 1, max, 1));
            }
            other => panic!("expected ListFull, got {:?}", other.map_err(|e| e.to_string())),
        }
    }
}

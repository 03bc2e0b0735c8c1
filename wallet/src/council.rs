//! A regulator council member's side of controllable anonymity (issue 18; formats in
//! `docs/escrow.md`, ledger rules in `ledger-node/src/rules/council.rs`).
//!
//! A member is a governance member: it signs with its governance key. It enrols a receiving key,
//! deals, checks every dealing (complaining of a bad share) and declares itself ready; later,
//! for an opening governance approved, it publishes its decryption share. Every fact it acts on
//! is read from the ledger with a proof; its council secrets — the receiving secret and the
//! shares it received — are sealed in its keystore and never leave it. No member, and no node,
//! ever holds the council's secret.

use crate::keystore::{Keystore, KeystoreError};
use crate::ledger::{Ledger, LedgerError};
use rand_core::OsRng;
use schemas::Hash;
use schemas::did::Did;
use schemas::ledger::{
    CouncilPlan, CouncilRecord, CouncilStep, OpeningRecord, OpeningRequest, TxPayload, state_keys,
};
use schemas::sm2::SecretKey;
use zk::ZkError;
use zk::escrow::council::{CouncilShare, Dealing, ReceivedShare, ReceivingKey, ReceivingSecret, deal};
use zk::escrow::record::{council_of, params_of};

/// Why a council action failed.
#[derive(Debug, thiserror::Error)]
pub enum CouncilError {
    /// The ledger refused or could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The member's keystore.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// A value that does not check.
    #[error(transparent)]
    Zk(#[from] ZkError),
    /// The council is not where the action needs it to be.
    #[error("{0}")]
    NotNow(String),
}

/// A member acting for its council.
pub struct Member<'a> {
    /// Its governance key.
    pub key: &'a SecretKey,
    /// Where its council secrets are sealed.
    pub store: &'a Keystore,
}

fn receiving_name(council: &str) -> String {
    format!("council/{council}/receiving")
}

fn share_name(council: &str, dealer: u16) -> String {
    format!("council/{council}/share/{dealer}")
}

/// A council's record, read with a proof.
pub async fn council(ledger: &Ledger, id: &str) -> Result<CouncilRecord, CouncilError> {
    let key = state_keys::council(id);
    let (_, facts) = ledger.read(vec![key.clone()]).await?;
    facts
        .get(&key, "council")?
        .ok_or_else(|| CouncilError::NotNow(format!("no council {id} on the ledger")))
}

/// An approved opening's record, read with a proof (`None` while it is not approved).
pub async fn opening(ledger: &Ledger, proposal: &Hash) -> Result<Option<OpeningRecord>, CouncilError> {
    let key = state_keys::opening(proposal);
    let (_, facts) = ledger.read(vec![key.clone()]).await?;
    Ok(facts.get(&key, "opening")?)
}

/// A governance member proposes a council; returns the proposal other members approve.
pub async fn propose_council(
    ledger: &Ledger,
    member: &SecretKey,
    plan: CouncilPlan,
) -> Result<Hash, LedgerError> {
    let (hash, _) = ledger
        .submit(member, &[], TxPayload::StartCouncil { plan })
        .await?;
    Ok(hash)
}

/// A governance member asks to open a ciphertext; returns the proposal other members approve.
pub async fn propose_opening(
    ledger: &Ledger,
    member: &SecretKey,
    opening: OpeningRequest,
) -> Result<Hash, LedgerError> {
    let (hash, _) = ledger
        .submit(member, &[], TxPayload::ProposeOpening { opening })
        .await?;
    Ok(hash)
}

impl Member<'_> {
    fn did(&self) -> Did {
        Did::from_public_key(self.key.public_key())
    }

    /// This member's number in the council (1-based).
    fn number(&self, record: &CouncilRecord) -> Result<u16, CouncilError> {
        let me = self.did();
        record
            .plan
            .members
            .iter()
            .position(|m| m == &me)
            .map(|i| (i + 1) as u16)
            .ok_or_else(|| {
                CouncilError::NotNow(format!("{me} is not a member of council {}", record.plan.id))
            })
    }

    async fn step(&self, ledger: &Ledger, id: &str, step: CouncilStep) -> Result<(), CouncilError> {
        ledger
            .submit(
                self.key,
                &[],
                TxPayload::CouncilStep {
                    council: id.to_owned(),
                    step,
                },
            )
            .await?;
        Ok(())
    }

    fn receiving_secret(&self, id: &str) -> Result<ReceivingSecret, CouncilError> {
        Ok(self
            .store
            .get_secret(&receiving_name(id), "council receiving secret", |b| {
                ReceivingSecret::from_bytes(b).ok()
            })?)
    }

    /// Step 1: a receiving secret, sealed before its key goes on the ledger (so a crash between
    /// the two loses nothing: a second run sends the same key), and its key on the ledger. A
    /// secret already sealed for this council is never replaced: the shares dealt to its key
    /// could no longer be read.
    pub async fn enrol(&self, ledger: &Ledger, id: &str) -> Result<(), CouncilError> {
        let record = council(ledger, id).await?;
        let me = self.number(&record)?;
        let secret = if self.store.get(&receiving_name(id))?.is_some() {
            self.receiving_secret(id)?
        } else {
            let secret = ReceivingSecret::random(&mut OsRng);
            self.store
                .put(&receiving_name(id), secret.to_bytes().as_slice(), &mut OsRng)?;
            secret
        };
        if let Some(on_ledger) = &record.receiving_keys[usize::from(me) - 1] {
            return Err(CouncilError::NotNow(
                if on_ledger.0 == secret.public().to_bytes() {
                    format!("already enrolled in council {id}")
                } else {
                    format!("the ledger holds another receiving key for this member in council {id}")
                },
            ));
        }
        self.step(
            ledger,
            id,
            CouncilStep::Enrol {
                receiving_key: secret.public().to_bytes().to_vec(),
            },
        )
        .await
    }

    /// Step 2, once every member enrolled: this member's dealing.
    pub async fn deal(&self, ledger: &Ledger, id: &str) -> Result<(), CouncilError> {
        let record = council(ledger, id).await?;
        let me = self.number(&record)?;
        let params = params_of(&ledger.chain_id, &record.plan)?;
        let keys = record
            .receiving_keys
            .iter()
            .map(|k| {
                let k = k.as_ref().ok_or_else(|| {
                    CouncilError::NotNow(format!("council {id}: not every member has enrolled"))
                })?;
                let bytes = <&[u8; 32]>::try_from(k.0.as_slice())
                    .map_err(|_| CouncilError::NotNow("a recorded receiving key is not 32 bytes".into()))?;
                Ok(ReceivingKey::from_bytes(bytes)?)
            })
            .collect::<Result<Vec<_>, CouncilError>>()?;
        let dealing = deal(&params, me, &keys, &mut OsRng)?;
        self.step(
            ledger,
            id,
            CouncilStep::Deal {
                dealing: dealing.to_bytes(),
            },
        )
        .await
    }

    /// Step 3, once every member dealt: checks every dealing's share for this member, seals the
    /// good ones, files a complaint for each bad one, and declares itself ready. Returns the
    /// dealers it complained of.
    pub async fn check(&self, ledger: &Ledger, id: &str) -> Result<Vec<u16>, CouncilError> {
        let record = council(ledger, id).await?;
        let me = self.number(&record)?;
        let params = params_of(&ledger.chain_id, &record.plan)?;
        let secret = self.receiving_secret(id)?;
        let mut complained = Vec::new();
        for d in &record.dealings {
            let d = d
                .as_ref()
                .ok_or_else(|| CouncilError::NotNow(format!("council {id}: not every member has dealt")))?;
            let dealing = Dealing::from_bytes(&d.0)?;
            match dealing.share_for(&params, me, &secret, &mut OsRng) {
                Ok(share) => {
                    self.store.put(
                        &share_name(id, dealing.dealer()),
                        share.to_bytes().as_slice(),
                        &mut OsRng,
                    )?;
                }
                Err(complaint) => {
                    self.step(
                        ledger,
                        id,
                        CouncilStep::Complain {
                            complaint: complaint.to_bytes().to_vec(),
                        },
                    )
                    .await?;
                    complained.push(dealing.dealer());
                }
            }
        }
        self.step(ledger, id, CouncilStep::Ready).await?;
        Ok(complained)
    }

    /// For an approved opening: this member's decryption share, from the shares it received from
    /// the qualified dealers, published with its proof.
    pub async fn publish_share(&self, ledger: &Ledger, proposal: Hash) -> Result<(), CouncilError> {
        let opening = opening(ledger, &proposal).await?.ok_or_else(|| {
            CouncilError::NotNow(format!(
                "opening {proposal} is not approved; a member publishes a share only after the vote"
            ))
        })?;
        let record = council(ledger, &opening.request.council).await?;
        let me = self.number(&record)?;
        let council = council_of(&ledger.chain_id, &record)?;
        let id = &record.plan.id;
        let received = council
            .qualified()
            .iter()
            .map(|dealer| {
                let share = self.store.get_secret(
                    &share_name(id, *dealer),
                    "council share",
                    ReceivedShare::from_bytes,
                )?;
                Ok((*dealer, share))
            })
            .collect::<Result<Vec<_>, CouncilError>>()?;
        let share = CouncilShare::new(&council, me, &received)?;
        let ciphertext = <&[u8; 64]>::try_from(opening.request.ciphertext.as_slice())
            .map_err(|_| CouncilError::NotNow("the approved ciphertext is not 64 bytes".into()))?;
        let ct = zk::escrow::Ciphertext::from_bytes(ciphertext)?;
        let published = share.decrypt(&council, &ct, &proposal, &mut OsRng);
        ledger
            .submit(
                self.key,
                &[],
                TxPayload::PublishShare {
                    opening: proposal,
                    share: published.to_bytes().to_vec(),
                },
            )
            .await?;
        Ok(())
    }
}

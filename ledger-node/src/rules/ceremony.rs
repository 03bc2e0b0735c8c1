//! The setup ceremony's rules: a plan approved by governance, contributions checked against
//! the previous one in their chain, and a verifying key registered only at the end of a chain
//! with enough contributions (ARCHITECTURE.md, "The setup ceremony").
//!
//! Validators check what the ledger keeps: order, the contributor's right, and each
//! contribution's proofs of knowledge against the chain's previous heads
//! (`zk::ceremony::check_step`). The files themselves are checked point by point by the node
//! that receives them and by `credctl governance ceremony verify`.

use super::{Because, Ctx, Rejection, issuer_signed, store};
use schemas::hash::Hash;
use schemas::ledger::{
    CeremonyChain, CeremonyContribution, CeremonyPlan, CeremonyRecord, CeremonyStep, IssuerStatus,
    RejectCode, SignedTransaction, VerifyingKeyRecord, state_keys,
};
use schemas::state::StateError;
use zk::ceremony::{self, Heads, Phase};

/// Longest ceremony id.
pub const MAX_CEREMONY_ID: usize = 64;

fn refuse(detail: impl Into<String>) -> Rejection {
    RejectCode::CeremonyRefused.because(detail)
}

impl<R: store::TreeReader> Ctx<'_, '_, R> {
    /// A plan governance may approve: a fresh id, known circuits that fit its powers and whose
    /// key version is free, a quorum's worth of contributions at least, registered issuers as
    /// extra contributors. Checked when proposed and again when enacted.
    pub(super) fn check_plan(&self, plan: &CeremonyPlan) -> Result<Result<(), Rejection>, StateError> {
        if let Err(e) = super::plan_id("ceremony", &plan.id, MAX_CEREMONY_ID) {
            return Ok(Err(refuse(e)));
        }
        if self.view.raw(&state_keys::ceremony(&plan.id))?.is_some() {
            return Ok(Err(refuse(format!(
                "a ceremony {} exists already; choose another id",
                plan.id
            ))));
        }
        if plan.version == 0 {
            return Ok(Err(refuse("key versions start at 1")));
        }
        if !(ceremony::MIN_POWER..=ceremony::MAX_POWER).contains(&plan.power) {
            return Ok(Err(refuse(format!(
                "power {}; between {} and {} (zk::ceremony::MAX_POWER)",
                plan.power,
                ceremony::MIN_POWER,
                ceremony::MAX_POWER
            ))));
        }
        if plan.circuits.is_empty() {
            return Ok(Err(refuse("the plan names no circuit")));
        }
        for (i, circuit) in plan.circuits.iter().enumerate() {
            if plan.circuits[..i].contains(circuit) {
                return Ok(Err(refuse(format!("circuit {circuit} is named twice"))));
            }
            let Some(shape) = zk::unlinkable::CircuitShape::from_id(circuit) else {
                return Ok(Err(refuse(format!("unknown circuit {circuit:?}"))));
            };
            match ceremony::domain_power(shape) {
                Ok(p) if p <= u32::from(plan.power) => {}
                Ok(p) => {
                    return Ok(Err(refuse(format!(
                        "circuit {circuit} needs powers of 2^{p}; the plan's go to 2^{}",
                        plan.power
                    ))));
                }
                Err(e) => return Ok(Err(refuse(format!("circuit {circuit}: {e}")))),
            }
            if self
                .view
                .raw(&state_keys::verifying_key(circuit, plan.version))?
                .is_some()
            {
                return Ok(Err(refuse(format!(
                    "a key for {circuit} version {} is registered already; plan the next version",
                    plan.version
                ))));
            }
        }
        let quorum = self.governance()?.policies.approvals_needed;
        if plan.min_contributions < quorum || usize::from(plan.min_contributions) > schemas::limits::MAX_LIST
        {
            return Ok(Err(refuse(format!(
                "{} contributions per chain; at least the governance quorum ({quorum}) and at most {}",
                plan.min_contributions,
                schemas::limits::MAX_LIST
            ))));
        }
        let eligible = self.governance()?.members.len() + plan.contributors.len();
        if usize::from(plan.min_contributions) > eligible {
            return Ok(Err(refuse(format!(
                "{} contributions per chain, but only {eligible} parties may contribute (members and admitted issuers)",
                plan.min_contributions
            ))));
        }
        for (i, did) in plan.contributors.iter().enumerate() {
            if plan.contributors[..i].contains(did) {
                return Ok(Err(refuse(format!("contributor {did} is named twice"))));
            }
            match self.issuer(did)? {
                Ok(rec) if rec.status == IssuerStatus::Active => {}
                _ => {
                    return Ok(Err(refuse(format!(
                        "contributor {did} is not an active registered issuer"
                    ))));
                }
            }
        }
        Ok(Ok(()))
    }

    /// Opens an approved ceremony.
    pub(super) fn open_ceremony(&mut self, plan: &CeremonyPlan) -> Result<Result<(), Rejection>, StateError> {
        if let Err(e) = self.check_plan(plan)? {
            return Ok(Err(e));
        }
        // The digest of the initial powers, computed once here (a few MB of points hashed)
        // instead of at every first contribution.
        let initial = ceremony::File::initial_powers(&plan.id, plan.power)
            .map(|f| f.digest())
            .map_err(|e| StateError::Store {
                reason: format!("the approved plan's initial powers: {e}"),
            })?;
        let record = CeremonyRecord {
            plan: plan.clone(),
            initial,
            powers: CeremonyChain::default(),
            circuits: vec![CeremonyChain::default(); plan.circuits.len()],
        };
        self.view.put(state_keys::ceremony(&plan.id), &record);
        Ok(Ok(()))
    }

    fn ceremony(&self, id: &str) -> Result<Result<CeremonyRecord, Rejection>, StateError> {
        Ok(self
            .view
            .get(&state_keys::ceremony(id))?
            .ok_or_else(|| refuse(format!("no ceremony {id:?} was approved"))))
    }

    /// The sender may contribute: a governance member, or an issuer the plan admits, signed by
    /// its key (and officers).
    fn contributor(
        &self,
        tx: &SignedTransaction,
        plan: &CeremonyPlan,
    ) -> Result<Result<(), Rejection>, StateError> {
        if self.member(tx)?.is_ok() {
            return Ok(Ok(()));
        }
        if !plan.contributors.contains(&tx.tx.sender) {
            return Ok(Err(RejectCode::NotAuthorised.because(format!(
                "{} is neither a governance member nor a contributor the plan admits",
                tx.tx.sender
            ))));
        }
        Ok(match self.issuer(&tx.tx.sender)? {
            Ok(rec) if rec.status == IssuerStatus::Active => issuer_signed(tx, &rec),
            _ => Err(RejectCode::NotAuthorised.because("the contributor is no longer an active issuer")),
        })
    }

    /// Records a contribution that extends its chain's last one.
    pub(super) fn contribute(
        &mut self,
        tx: &SignedTransaction,
        c: &CeremonyContribution,
        digest: &Hash,
    ) -> Result<Result<(), Rejection>, StateError> {
        let mut record = match self.ceremony(&c.ceremony)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.contributor(tx, &record.plan)? {
            return Ok(Err(e));
        }
        let min = usize::from(record.plan.min_contributions);
        let phase2_started = record.circuits.iter().any(|ch| !ch.contributions.is_empty());
        let (phase, chain) = if c.circuit.is_empty() {
            if phase2_started {
                return Ok(Err(refuse(
                    "the powers of tau are closed: a circuit's phase has begun from them",
                )));
            }
            (Phase::Powers, &mut record.powers)
        } else {
            let Some(i) = record.plan.circuits.iter().position(|x| x == &c.circuit) else {
                return Ok(Err(refuse(format!(
                    "circuit {} is not in ceremony {}",
                    c.circuit, c.ceremony
                ))));
            };
            if record.powers.contributions.len() < min {
                return Ok(Err(refuse(format!(
                    "the powers of tau have {} contributions; the plan needs {min} before a circuit's phase begins",
                    record.powers.contributions.len()
                ))));
            }
            (Phase::Circuit(&c.circuit), &mut record.circuits[i])
        };
        if chain.finished {
            return Ok(Err(refuse("the chain is finished: its key is registered")));
        }
        let next = chain.contributions.len() + 1;
        if usize::try_from(c.index).ok() != Some(next) {
            return Ok(Err(refuse(format!(
                "out of order: this is contribution {}, the chain's next is {next}",
                c.index
            ))));
        }
        match chain.contributions.last() {
            Some(last) if last.file != c.previous => {
                return Ok(Err(refuse(format!(
                    "stale: it extends {}, the chain's last contribution is {}; contribute to the latest file",
                    c.previous, last.file
                ))));
            }
            Some(_) => {}
            None if phase == Phase::Powers => {
                // The first contribution extends the initial powers, which anyone computes (the
                // ledger did once, when the plan was approved).
                let initial = record.initial;
                if c.previous != initial {
                    return Ok(Err(refuse(format!(
                        "the first contribution must extend the initial powers ({initial}), not {}",
                        c.previous
                    ))));
                }
            }
            // A circuit's first contribution extends the parameters derived from the final
            // powers: too costly for every validator (about a minute), so the nodes that
            // receive the file and `ceremony verify` check it.
            None => {}
        }
        if chain.contributions.iter().any(|s| s.contributor == tx.tx.sender) {
            return Ok(Err(refuse(format!(
                "{} contributed to this chain already",
                tx.tx.sender
            ))));
        }
        let before = if chain.heads.is_empty() {
            Heads::initial(phase)
        } else {
            match Heads::from_bytes(&chain.heads) {
                Ok(h) => h,
                Err(e) => {
                    return Err(StateError::Store {
                        reason: format!("the recorded heads do not decode: {e}"),
                    });
                }
            }
        };
        let checked = Heads::from_bytes(&c.heads)
            .and_then(|after| ceremony::ContributionProof::from_bytes(&c.proof).map(|p| (after, p)))
            .and_then(|(after, proof)| {
                let challenge =
                    ceremony::challenge(&c.ceremony, phase, &tx.tx.sender.to_string(), &c.previous);
                ceremony::check_step(&before, &after, &proof, &challenge)
            });
        if let Err(e) = checked {
            return Ok(Err(refuse(format!("contribution {}: {e}", c.index))));
        }
        chain.contributions.push(CeremonyStep {
            contributor: tx.tx.sender.clone(),
            previous: c.previous,
            file: c.file,
            tx: *digest,
        });
        chain.heads = c.heads.clone();
        self.view.put(state_keys::ceremony(&c.ceremony), &record);
        Ok(Ok(()))
    }

    /// Whether the key may end a circuit's chain: enough contributions, and the key's α, β, γ, δ
    /// are those the transcript's heads carry. Checked when the finish is proposed and again when
    /// enacted. The key's input points are not pinned by the heads (they come from the derived
    /// start of the chain, which no validator derives): the governance members who approve the
    /// proposal check them by verifying the whole transcript first (`credctl governance approve`
    /// does, for a finish), so the quorum — not the proposer — vouches for them.
    pub(super) fn finishable(
        &self,
        id: &str,
        circuit: &str,
        key: &[u8],
    ) -> Result<Result<(CeremonyRecord, usize, VerifyingKeyRecord), Rejection>, StateError> {
        let record = match self.ceremony(id)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let Some(i) = record.plan.circuits.iter().position(|x| x == circuit) else {
            return Ok(Err(refuse(format!("circuit {circuit} is not in ceremony {id}"))));
        };
        let chain = &record.circuits[i];
        if chain.finished {
            return Ok(Err(refuse("the chain is finished: its key is registered")));
        }
        let min = usize::from(record.plan.min_contributions);
        if chain.contributions.len() < min {
            return Ok(Err(refuse(format!(
                "circuit {circuit} has {} contributions; the plan needs {min}",
                chain.contributions.len()
            ))));
        }
        let vk = match zk::unlinkable::VerifyingKey::from_bytes(circuit, record.plan.version, key) {
            Ok(vk) => vk,
            Err(e) => {
                return Ok(Err(
                    RejectCode::InvalidVerifyingKey.because(format!("verifying key: {e}"))
                ));
            }
        };
        let heads = Heads::from_bytes(&record.powers.heads)
            .and_then(|p| Heads::from_bytes(&chain.heads).map(|c| (p, c)));
        let matches = heads.and_then(|(p, c)| ceremony::check_final_key(&vk, &p, &c));
        if let Err(e) = matches {
            return Ok(Err(refuse(format!("the key is not the transcript's: {e}"))));
        }
        let vk_record = VerifyingKeyRecord {
            circuit: circuit.to_owned(),
            version: record.plan.version,
            key: key.to_vec(),
        };
        if let Err(e) = self.verifying_key_free(&vk_record)? {
            return Ok(Err(e));
        }
        Ok(Ok((record, i, vk_record)))
    }

    /// Registers the key a circuit's chain ends with (an approved finish), re-checking it.
    pub(super) fn finish_ceremony(
        &mut self,
        id: &str,
        circuit: &str,
        key: &[u8],
    ) -> Result<Result<(), Rejection>, StateError> {
        let (mut record, i, vk_record) = match self.finishable(id, circuit, key)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        self.view.put(
            state_keys::verifying_key(circuit, record.plan.version),
            &vk_record,
        );
        self.view.put(
            state_keys::verifying_key_ceremony(circuit, record.plan.version),
            &id.to_owned(),
        );
        record.circuits[i].finished = true;
        self.view.put(state_keys::ceremony(id), &record);
        Ok(Ok(()))
    }
}

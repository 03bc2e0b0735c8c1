//! The regulator council's rules (issue 18; formats in `docs/escrow.md`).
//!
//! - A council is designated by a governance proposal (`StartCouncil`): its members are
//!   governance members, and the approved plan is the ledger's record of their regulator role.
//! - Each member, signing with its governance key, enrols a receiving key, then (once all have
//!   enrolled) deals, then (once all have dealt) complains about bad shares and declares itself
//!   ready. Validators check every dealing's proof of knowledge and every complaint against the
//!   dealing it accuses (`zk::escrow::council`). When every member is ready the council's key and
//!   verification keys are computed from the transcript and the council is in force; with fewer
//!   than `threshold` qualified dealers it fails, and governance plans another.
//! - An opening is a governance proposal (`ProposeOpening`) naming the ciphertext, the verifier,
//!   the request and a legal basis. Only once it is approved does the ledger accept decryption
//!   shares (`PublishShare`), each checked against its member's verification key; with
//!   `threshold` of them the ledger records the handle. A share for an opening that was not
//!   approved is refused, so no opening happens on the ledger without the vote, and every
//!   proposal, approved or not, stays on the ledger.

use super::{Because, Ctx, Rejection, store};
use schemas::bytes::Bytes;
use schemas::codec::Canonical as _;
use schemas::credential_schema::CredentialSchema;
use schemas::hash::Hash;
use schemas::ledger::{
    AnchorRecord, CouncilPlan, CouncilRecord, CouncilStep, OpeningRecord, OpeningRequest, ProposalRecord,
    RejectCode, SchemaRecord, SignedTransaction, VerifierRecord, VerifyingKeyRecord, state_keys,
};
use schemas::state::StateError;
use zk::escrow::council::{Complaint, CouncilParams, Dealing, DecryptionShare, ReceivingKey};
use zk::escrow::{Ciphertext, handle_value};

/// Longest council id.
pub const MAX_COUNCIL_ID: usize = 64;

fn refuse(detail: impl Into<String>) -> Rejection {
    RejectCode::CouncilRefused.because(detail)
}

fn refuse_opening(detail: impl Into<String>) -> Rejection {
    RejectCode::OpeningRefused.because(detail)
}

pub use zk::escrow::record::{council_of, params_of as council_params};

impl<R: store::TreeReader> Ctx<'_, '_, R> {
    /// A plan governance may approve: a fresh id, distinct governance members, a threshold
    /// between 1 and the members. Checked when proposed and again when enacted.
    pub(super) fn check_council_plan(&self, plan: &CouncilPlan) -> Result<Result<(), Rejection>, StateError> {
        if let Err(e) = super::plan_id("council", &plan.id, MAX_COUNCIL_ID) {
            return Ok(Err(refuse(e)));
        }
        if let Err(e) = super::text("name", &plan.name) {
            return Ok(Err(e));
        }
        if self.view.raw(&state_keys::council(&plan.id))?.is_some() {
            return Ok(Err(refuse(format!(
                "a council {} exists already; ids are never reused, choose another",
                plan.id
            ))));
        }
        // The parameters' range only: the chain id enters the context when members act.
        if let Err(e) = council_params("", plan) {
            return Ok(Err(refuse(e.to_string())));
        }
        let gov = self.governance()?;
        for (i, did) in plan.members.iter().enumerate() {
            if plan.members[..i].contains(did) {
                return Ok(Err(refuse(format!("member {did} is named twice"))));
            }
            if !gov.members.iter().any(|m| &m.did == did) {
                return Ok(Err(refuse(format!(
                    "{did} is not a governance member; council members are governance members"
                ))));
            }
        }
        Ok(Ok(()))
    }

    /// Enacts an approved plan: the council's record, waiting for its members to enrol.
    pub(super) fn open_council(&mut self, plan: &CouncilPlan) -> Result<Result<(), Rejection>, StateError> {
        if let Err(e) = self.check_council_plan(plan)? {
            return Ok(Err(e));
        }
        let n = plan.members.len();
        let record = CouncilRecord {
            plan: plan.clone(),
            receiving_keys: vec![None; n],
            dealings: vec![None; n],
            disqualified: vec![],
            ready: vec![false; n],
            key: None,
            verification_keys: vec![],
            failed: None,
        };
        self.view.put(state_keys::council(&plan.id), &record);
        Ok(Ok(()))
    }

    /// A council governance may abandon: one whose key generation has not ended (checked when
    /// proposed and again when enacted).
    pub(super) fn abortable(&self, id: &str) -> Result<Result<CouncilRecord, Rejection>, StateError> {
        let Some(record): Option<CouncilRecord> = self.view.get(&state_keys::council(id))? else {
            return Ok(Err(refuse(format!("no council {id}"))));
        };
        if record.key.is_some() || record.failed.is_some() {
            return Ok(Err(refuse(format!(
                "council {id}'s key generation is over; only a council still forming can be abandoned"
            ))));
        }
        Ok(Ok(record))
    }

    /// Enacts an approved abandonment: the council ends without a key.
    pub(super) fn abort_council(
        &mut self,
        id: &str,
        reason: &str,
    ) -> Result<Result<(), Rejection>, StateError> {
        let mut record = match self.abortable(id)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        record.failed = Some(format!("abandoned by governance: {reason}"));
        self.view.put(state_keys::council(id), &record);
        Ok(Ok(()))
    }

    /// The council `id` and the sender's member number in it (1-based).
    fn council_member(
        &self,
        tx: &SignedTransaction,
        id: &str,
    ) -> Result<Result<(CouncilRecord, u16), Rejection>, StateError> {
        let Some(record): Option<CouncilRecord> = self.view.get(&state_keys::council(id))? else {
            return Ok(Err(refuse(format!("no council {id}"))));
        };
        let Some(i) = record.plan.members.iter().position(|m| m == &tx.tx.sender) else {
            return Ok(Err(refuse(format!(
                "{} is not a member of council {id}",
                tx.tx.sender
            ))));
        };
        Ok(Ok((record, (i + 1) as u16)))
    }

    /// One member's key-generation step (the sender is a governance member, checked by the
    /// caller).
    pub(super) fn council_step(
        &mut self,
        tx: &SignedTransaction,
        id: &str,
        step: &CouncilStep,
    ) -> Result<Result<(), Rejection>, StateError> {
        let (mut record, me) = match self.council_member(tx, id)? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        if record.key.is_some() || record.failed.is_some() {
            return Ok(Err(refuse(format!("council {id}'s key generation is over"))));
        }
        let chain = &tx.tx.chain_id;
        let params = match council_params(chain, &record.plan) {
            Ok(p) => p,
            Err(e) => return Ok(Err(refuse(e.to_string()))),
        };
        let slot = usize::from(me) - 1;
        let waiting = |what: &str, have: &[Option<Bytes>]| {
            let missing = have.iter().filter(|x| x.is_none()).count();
            refuse(format!(
                "council {id} is waiting for {missing} member(s) to {what} first"
            ))
        };
        let result = match step {
            CouncilStep::Enrol { receiving_key } => {
                if record.receiving_keys[slot].is_some() {
                    Err(refuse(format!("member {me} has enrolled already")))
                } else {
                    match <&[u8; 32]>::try_from(receiving_key.as_slice())
                        .map_err(|_| "32 bytes".to_string())
                        .and_then(|b| ReceivingKey::from_bytes(b).map_err(|e| e.to_string()))
                    {
                        Ok(_) => {
                            record.receiving_keys[slot] = Some(Bytes(receiving_key.clone()));
                            Ok(())
                        }
                        Err(e) => Err(refuse(format!("receiving key: {e}"))),
                    }
                }
            }
            CouncilStep::Deal { dealing } => {
                if record.receiving_keys.iter().any(Option::is_none) {
                    Err(waiting("enrol", &record.receiving_keys))
                } else if record.dealings[slot].is_some() {
                    Err(refuse(format!("member {me} has dealt already")))
                } else {
                    match Dealing::from_bytes(dealing).and_then(|d| d.check(&params).map(|()| d)) {
                        Ok(d) if d.dealer() == me => {
                            record.dealings[slot] = Some(Bytes(dealing.clone()));
                            Ok(())
                        }
                        Ok(d) => Err(refuse(format!(
                            "the dealing is dealer {}'s; the sender is member {me}",
                            d.dealer()
                        ))),
                        Err(e) => Err(refuse(e.to_string())),
                    }
                }
            }
            CouncilStep::Complain { complaint } => {
                if record.dealings.iter().any(Option::is_none) {
                    Err(waiting("deal", &record.dealings))
                } else if record.ready[slot] {
                    Err(refuse(format!(
                        "member {me} declared itself ready; it can no longer complain"
                    )))
                } else {
                    self.complaint(&params, &mut record, me, complaint)
                }
            }
            CouncilStep::Ready => {
                if record.dealings.iter().any(Option::is_none) {
                    Err(waiting("deal", &record.dealings))
                } else if record.ready[slot] {
                    Err(refuse(format!("member {me} is ready already")))
                } else {
                    record.ready[slot] = true;
                    if record.ready.iter().all(|r| *r) {
                        match council_of(chain, &record) {
                            Ok(c) => {
                                record.key = Some(Bytes(c.key().to_bytes().to_vec()));
                                record.verification_keys = (1..=params.members())
                                    .filter_map(|j| c.verification_key(j))
                                    .map(|k| Bytes(k.to_vec()))
                                    .collect();
                            }
                            Err(e) => record.failed = Some(e.to_string()),
                        }
                    }
                    Ok(())
                }
            }
        };
        if let Err(e) = result {
            return Ok(Err(e));
        }
        self.view.put(state_keys::council(id), &record);
        Ok(Ok(()))
    }

    /// A complaint that holds disqualifies its dealer; an unfounded or unproven one is refused.
    fn complaint(
        &self,
        params: &CouncilParams,
        record: &mut CouncilRecord,
        me: u16,
        bytes: &[u8],
    ) -> Result<(), Rejection> {
        let complaint = Complaint::from_bytes(bytes).map_err(|e| refuse(e.to_string()))?;
        if complaint.accuser() != me {
            return Err(refuse(format!(
                "the complaint is member {}'s; the sender is member {me}",
                complaint.accuser()
            )));
        }
        let dealer = complaint.dealer();
        let dealing = usize::from(dealer)
            .checked_sub(1)
            .and_then(|i| record.dealings.get(i))
            .and_then(Option::as_ref)
            .ok_or_else(|| refuse(format!("no dealing from member {dealer}")))?;
        let dealing = Dealing::from_bytes(&dealing.0).map_err(|e| refuse(e.to_string()))?;
        let key = record.receiving_keys[usize::from(me) - 1]
            .as_ref()
            .ok_or_else(|| refuse("the accuser has no receiving key"))?;
        let key = <&[u8; 32]>::try_from(key.0.as_slice())
            .map_err(|_| refuse("a stored receiving key is not 32 bytes"))
            .and_then(|b| ReceivingKey::from_bytes(b).map_err(|e| refuse(e.to_string())))?;
        match complaint.holds(params, &dealing, &key) {
            Ok(true) => {
                if !record.disqualified.contains(&dealer) {
                    record.disqualified.push(dealer);
                    record.disqualified.sort_unstable();
                }
                Ok(())
            }
            Ok(false) => Err(refuse(format!(
                "unfounded: dealer {dealer}'s share for member {me} matches its commitments"
            ))),
            Err(e) => Err(refuse(e.to_string())),
        }
    }

    /// An opening governance may approve: an in-force council, a well-formed ciphertext, a
    /// registered verifier, a stated legal basis.
    pub(super) fn check_opening(&self, req: &OpeningRequest) -> Result<Result<(), Rejection>, StateError> {
        let Some(record): Option<CouncilRecord> = self.view.get(&state_keys::council(&req.council))? else {
            return Ok(Err(refuse_opening(format!("no council {}", req.council))));
        };
        if record.key.is_none() {
            return Ok(Err(refuse_opening(format!(
                "council {} is not in force (its key generation has not finished)",
                req.council
            ))));
        }
        let ct = match <&[u8; 64]>::try_from(req.ciphertext.as_slice())
            .map_err(|_| "it is not 64 bytes".to_string())
            .and_then(|b| Ciphertext::from_bytes(b).map_err(|e| e.to_string()))
        {
            Ok(ct) => ct,
            Err(e) => return Ok(Err(refuse_opening(format!("the ciphertext: {e}")))),
        };
        // The cheap refusals first; the proof last.
        let Some(verifier): Option<VerifierRecord> = self.view.get(&state_keys::verifier(&req.verifier))?
        else {
            return Ok(Err(refuse_opening(format!(
                "{} is not a registered verifier",
                req.verifier
            ))));
        };
        if let Err(e) = super::text("legal basis", &req.legal_basis) {
            return Ok(Err(e));
        }
        if let Err(e) = self.check_evidence(&record, &verifier, &ct, req)? {
            return Ok(Err(e));
        }
        Ok(Ok(()))
    }

    /// The proposal's evidence (`docs/escrow.md`, "Evidence"): the request it answers, signed by
    /// the named verifier; a proof under the registered escrow circuit key of this ledger version
    /// whose public inputs name this council's key, this ciphertext, that request, that
    /// verifier's scope, the Poseidon root and issuer binding of an anchored batch of a
    /// registered issuer, and the identity-handle attribute of the batch's schema. Without it a
    /// ciphertext derived from a presented one (hashed ElGamal is malleable) could be put to the
    /// vote, or one its proposer made up from a tree of its own.
    fn check_evidence(
        &self,
        council: &CouncilRecord,
        verifier: &VerifierRecord,
        ct: &Ciphertext,
        req: &OpeningRequest,
    ) -> Result<Result<(), Rejection>, StateError> {
        let answered = &req.answered;
        if let Err(e) = answered.verify() {
            return Ok(Err(refuse_opening(format!("the answered request: {e}"))));
        }
        if answered.request.verifier != req.verifier || answered.request.digest() != req.request {
            return Ok(Err(refuse_opening(
                "the answered request is not the named verifier's request with the named digest",
            )));
        }
        let ev = &req.evidence;
        if ev.version != zk::unlinkable::KEY_VERSION {
            return Ok(Err(refuse_opening(format!(
                "the evidence: key version {}; this ledger takes version {}",
                ev.version,
                zk::unlinkable::KEY_VERSION
            ))));
        }
        let Some(vk): Option<VerifyingKeyRecord> = self
            .view
            .get(&state_keys::verifying_key(&ev.circuit, ev.version))?
        else {
            return Ok(Err(refuse_opening(format!(
                "the evidence: no verifying key for {} version {} is registered",
                ev.circuit, ev.version
            ))));
        };
        if self
            .view
            .raw(&state_keys::retired_verifying_key(&ev.circuit, ev.version))?
            .is_some()
        {
            return Ok(Err(refuse_opening(format!(
                "the evidence: {} version {} is retired",
                ev.circuit, ev.version
            ))));
        }
        let Some(anchor): Option<AnchorRecord> =
            self.view.get(&state_keys::anchor(&req.issuer, &req.batch))?
        else {
            return Ok(Err(refuse_opening(format!(
                "the evidence: {} anchored no batch {}",
                req.issuer, req.batch
            ))));
        };
        let Some(issuer_root) = anchor.poseidon_root else {
            return Ok(Err(refuse_opening(
                "the evidence: the batch has no Poseidon root (it was issued without the unlinkable tier)",
            )));
        };
        let Some(schema): Option<SchemaRecord> = self.view.get(&state_keys::schema(&anchor.schema_id))?
        else {
            return Ok(Err(refuse_opening(format!(
                "the evidence: schema {} is not published",
                anchor.schema_id
            ))));
        };
        let handle_attribute = match CredentialSchema::from_json(&schema.json)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                s.identity_handle_attribute()
                    .ok_or_else(|| format!("schema {} names no identity handle", anchor.schema_id))
            }) {
            Ok(a) => a,
            Err(e) => return Ok(Err(refuse_opening(format!("the evidence: {e}")))),
        };
        let scope = verifier.nullifier_domain();
        let checked = (|| {
            let council = zk::escrow::record::key_of(council)?;
            let vk = zk::unlinkable::VerifyingKey::from_bytes(&vk.circuit, vk.version, &vk.key)?;
            let claim = zk::unlinkable::EvidenceClaim {
                council: &council,
                ciphertext: ct,
                request: &req.request,
                issuer_root: &issuer_root,
                binding: zk::unlinkable::binding_element(req.issuer.as_str(), &anchor.schema_id),
                scope: &scope,
                handle_attribute,
            };
            zk::unlinkable::verify_escrow_evidence(&vk, &ev.inputs, &ev.proof, &claim)
        })();
        Ok(checked.map_err(|e| refuse_opening(format!("the evidence: {e}"))))
    }

    /// Records an opening proposal under its ciphertext, so that a holder's wallet finds the
    /// proposals that concern the answers it gave (approved or not). One proposal per member
    /// and ciphertext: the list stays as short as governance, and no member can fill it to
    /// block others' proposals.
    pub(super) fn index_opening(
        &mut self,
        tx: &SignedTransaction,
        digest: &Hash,
        req: &OpeningRequest,
    ) -> Result<Result<(), Rejection>, StateError> {
        let key = state_keys::openings_of(&schemas::hash::sm3(&req.ciphertext));
        let mut list: Vec<Hash> = self.view.get(&key)?.unwrap_or_default();
        for earlier in &list {
            let p: Option<ProposalRecord> = self.view.get(&state_keys::proposal(earlier))?;
            if p.is_some_and(|p| p.tx.tx.sender == tx.tx.sender) {
                return Ok(Err(refuse_opening(format!(
                    "{} proposed opening this ciphertext already (proposal {earlier})",
                    tx.tx.sender
                ))));
            }
        }
        if list.len() >= schemas::limits::MAX_LIST {
            return Ok(Err(refuse_opening(format!(
                "this ciphertext has {} opening proposals already",
                list.len()
            ))));
        }
        list.push(*digest);
        self.view.put(key, &list);
        Ok(Ok(()))
    }

    /// Enacts an approved opening: members may now publish shares for it.
    pub(super) fn approve_opening(
        &mut self,
        digest: &Hash,
        req: &OpeningRequest,
    ) -> Result<Result<(), Rejection>, StateError> {
        if let Err(e) = self.check_opening(req)? {
            return Ok(Err(e));
        }
        let record = OpeningRecord {
            request: req.clone(),
            shares: vec![],
            handle: None,
        };
        self.view.put(state_keys::opening(digest), &record);
        Ok(Ok(()))
    }

    /// A member's decryption share for an approved opening (the sender is a governance member,
    /// checked by the caller).
    pub(super) fn publish_share(
        &mut self,
        tx: &SignedTransaction,
        opening: &Hash,
        share: &[u8],
    ) -> Result<Result<(), Rejection>, StateError> {
        let key = state_keys::opening(opening);
        let Some(mut record): Option<OpeningRecord> = self.view.get(&key)? else {
            let proposal: Option<ProposalRecord> = self.view.get(&state_keys::proposal(opening))?;
            return Ok(Err(refuse_opening(match proposal {
                Some(p) => format!(
                    "opening {opening} is not approved (it has {} approval(s)); no share is accepted before the vote",
                    p.approvals.len()
                ),
                None => format!("no opening proposal {opening}"),
            })));
        };
        let (council_record, me) = match self.council_member(tx, &record.request.council)? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let council = match council_of(&tx.tx.chain_id, &council_record) {
            Ok(c) => c,
            Err(e) => return Ok(Err(refuse_opening(e.to_string()))),
        };
        let checked = DecryptionShare::from_bytes(share).and_then(|s| {
            let ct = Ciphertext::from_bytes(
                <&[u8; 64]>::try_from(record.request.ciphertext.as_slice()).map_err(|_| {
                    zk::ZkError::Council {
                        reason: "the approved ciphertext is not 64 bytes".into(),
                    }
                })?,
            )?;
            council.check_share(&ct, opening, &s)?;
            Ok((s, ct))
        });
        let (s, ct) = match checked {
            Ok(v) => v,
            Err(e) => return Ok(Err(refuse_opening(e.to_string()))),
        };
        if s.member() != me {
            return Ok(Err(refuse_opening(format!(
                "the share is member {}'s; the sender is member {me}",
                s.member()
            ))));
        }
        let published = record
            .shares
            .iter()
            .filter_map(|b| DecryptionShare::from_bytes(&b.0).ok())
            .collect::<Vec<_>>();
        if published.iter().any(|p| p.member() == me) {
            return Ok(Err(refuse_opening(format!(
                "member {me} has published its share already"
            ))));
        }
        record.shares.push(Bytes(share.to_vec()));
        if record.handle.is_none() {
            let mut all = published;
            all.push(s);
            if all.len() >= usize::from(council.params().threshold()) {
                record.handle = council
                    .open(&ct, opening, &all)
                    .ok()
                    .and_then(|h| handle_value(&h));
            }
        }
        self.view.put(key, &record);
        Ok(Ok(()))
    }
}

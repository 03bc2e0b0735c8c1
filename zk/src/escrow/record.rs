//! The council as the ledger records it (`schemas::ledger::CouncilRecord`): its parameters, and
//! the council recomputed from the recorded transcript — what validators, members and anyone
//! auditing an opening compute alike.

use super::council::{Council, CouncilParams, Dealing};
use crate::ZkError;
use schemas::hash::{Domain, hash_domain};
use schemas::ledger::{CouncilPlan, CouncilRecord};

const COUNCIL_ID: Domain = Domain::new("credence/council-id/v1");

/// The key generation's parameters: `SM3("credence/council-id/v1", id)` binds every proof to
/// this council (ids are never reused on a ledger), `t`, and `n` = the plan's members.
pub fn params_of(plan: &CouncilPlan) -> Result<CouncilParams, ZkError> {
    let n = u16::try_from(plan.members.len()).unwrap_or(u16::MAX);
    CouncilParams::new(hash_domain(COUNCIL_ID, plan.id.as_bytes()), plan.threshold, n)
}

/// The council of a record whose members have all dealt, from its dealings and
/// disqualifications.
pub fn council_of(record: &CouncilRecord) -> Result<Council, ZkError> {
    let params = params_of(&record.plan)?;
    let dealings = record
        .dealings
        .iter()
        .flatten()
        .map(|d| Dealing::from_bytes(&d.0))
        .collect::<Result<Vec<_>, _>>()?;
    Council::from_transcript(&params, &dealings, &record.disqualified)
}

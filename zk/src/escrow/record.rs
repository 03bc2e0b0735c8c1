//! The council as the ledger records it (`schemas::ledger::CouncilRecord`): its parameters, and
//! the council — computed from the transcript when the last member is ready, read back from the
//! stored keys afterwards — what validators, members and anyone auditing an opening use alike.

use super::council::{Council, CouncilParams, Dealing};
use super::{CouncilKey, Point, point_from_bytes};
use crate::ZkError;
use schemas::hash::{Domain, hash_domain};
use schemas::ledger::{CouncilPlan, CouncilRecord};

const COUNCIL_ID: Domain = Domain::new("credence/council-id/v1");

fn put_text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The key generation's parameters. The council id every proof and mask is bound to is
/// `SM3("credence/council-id/v1", len ‖ chain id ‖ len ‖ council id ‖ t ‖ n ‖ (len ‖ member DID)…)`
/// (lengths u32, `t` and `n` u16, little endian): nothing carries over to another chain, another
/// council, or the same id with other members.
pub fn params_of(chain_id: &str, plan: &CouncilPlan) -> Result<CouncilParams, ZkError> {
    let n = u16::try_from(plan.members.len()).unwrap_or(u16::MAX);
    let mut bytes = Vec::with_capacity(64 + 64 * plan.members.len());
    put_text(&mut bytes, chain_id);
    put_text(&mut bytes, &plan.id);
    bytes.extend_from_slice(&plan.threshold.to_le_bytes());
    bytes.extend_from_slice(&n.to_le_bytes());
    for m in &plan.members {
        put_text(&mut bytes, m.as_str());
    }
    CouncilParams::new(hash_domain(COUNCIL_ID, &bytes), plan.threshold, n)
}

/// The key of a council in force, as its record stores it.
pub fn key_of(record: &CouncilRecord) -> Result<CouncilKey, ZkError> {
    let key = record.key.as_ref().ok_or_else(|| ZkError::Council {
        reason: format!("council {}'s key generation has not finished", record.plan.id),
    })?;
    stored_point(&key.0).map(CouncilKey)
}

fn stored_point(b: &[u8]) -> Result<Point, ZkError> {
    <&[u8; 32]>::try_from(b)
        .ok()
        .and_then(point_from_bytes)
        .ok_or_else(|| ZkError::Council {
            reason: "a stored council key is not a subgroup point".into(),
        })
}

/// The council of a record: from its stored key and verification keys once in force, else from
/// its dealings and disqualifications (every member must have dealt).
pub fn council_of(chain_id: &str, record: &CouncilRecord) -> Result<Council, ZkError> {
    let params = params_of(chain_id, &record.plan)?;
    let qualified: Vec<u16> = record
        .dealings
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_some())
        .map(|(i, _)| (i + 1) as u16)
        .filter(|i| !record.disqualified.contains(i))
        .collect();
    if record.key.is_some() {
        let key = key_of(record)?;
        let verification = record
            .verification_keys
            .iter()
            .map(|v| stored_point(&v.0))
            .collect::<Result<Vec<_>, _>>()?;
        return Council::from_parts(&params, key, verification, qualified);
    }
    let dealings = record
        .dealings
        .iter()
        .flatten()
        .map(|d| Dealing::from_bytes(&d.0))
        .collect::<Result<Vec<_>, _>>()?;
    Council::from_transcript(&params, &dealings, &record.disqualified)
}

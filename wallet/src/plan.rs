//! What answering and checking a presentation reads from the ledger: one plan, used by the
//! holder (to read before consent, and to carry the proofs) and by the verifier (to know what
//! the carried or fresh proofs must cover). A rule written here once cannot drift between the
//! two sides: before, each kept its own list and they agreed on the unlinkable tier's status
//! list only by convention.

use schemas::credential::StatusEntry;
use schemas::did::Did;
use schemas::hash::Hash;
use schemas::ledger::state_keys;

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
/// issuer's, then what the tier needs (selective: the anchor and the status-list chunk;
/// unlinkable: the list's revocation root, the verifying key, and — when known — the anchor and
/// schema). The status-list chunk is never read in the unlinkable tier: its number would tell
/// the node which part of the list the credential is in.
pub fn ledger_keys(verifier: &Did, subject: &Subject<'_>) -> Vec<Vec<u8>> {
    let mut keys = vec![state_keys::verifier(verifier)];
    match subject {
        Subject::Selective {
            issuer,
            batch_root,
            status,
        } => {
            keys.push(state_keys::issuer(issuer));
            keys.push(state_keys::anchor(issuer, batch_root));
            keys.push(status.chunk_key(issuer));
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
            if let Some((root, schema_id)) = batch {
                keys.push(state_keys::anchor(issuer, root));
                keys.push(state_keys::schema(schema_id));
            }
        }
    }
    keys
}

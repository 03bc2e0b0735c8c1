//! Every Fiat–Shamir label Credence uses, in one place, each versioned.
//!
//! A predicate proof's transcript binds, before Bulletproofs adds its own messages:
//! the request digest (which covers verifier id, nonce, purpose, expiry), the envelope digest,
//! and each predicate (attribute, kind, bound) with the commitment it is about. A proof made
//! for one request or credential therefore fails for any other.

use merlin::Transcript;
use schemas::Hash;

/// Domain label of predicate proofs.
pub(crate) const PREDICATES_DOMAIN: &[u8] = b"credence predicates v1";

/// Extension methods naming each message.
pub(crate) trait TranscriptProtocol {
    /// Opens the predicate-proof transcript.
    fn predicates_domain_sep(&mut self, request: &Hash, envelope: &Hash, count: u64, bits: u64);
    /// Appends one predicate statement.
    fn append_predicate(&mut self, attribute: &str, kind: u8, low: i64, high: i64, commitment: &[u8; 32]);
}

impl TranscriptProtocol for Transcript {
    fn predicates_domain_sep(&mut self, request: &Hash, envelope: &Hash, count: u64, bits: u64) {
        self.append_message(b"dom-sep", PREDICATES_DOMAIN);
        self.append_message(b"request", request.as_bytes());
        self.append_message(b"envelope", envelope.as_bytes());
        self.append_u64(b"count", count);
        self.append_u64(b"bits", bits);
    }

    fn append_predicate(&mut self, attribute: &str, kind: u8, low: i64, high: i64, commitment: &[u8; 32]) {
        self.append_message(b"attribute", attribute.as_bytes());
        self.append_u64(b"kind", u64::from(kind));
        self.append_message(b"low", &low.to_le_bytes());
        self.append_message(b"high", &high.to_le_bytes());
        self.append_message(b"commitment", commitment);
    }
}

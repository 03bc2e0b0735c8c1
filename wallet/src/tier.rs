//! What the two presentation tiers share between issuer, holder and verifier: which attributes
//! the unlinkable tier's Poseidon leaf holds, and how a request's predicates become circuit
//! predicates.

use schemas::credential_schema::{AttributeEncoding, CredentialSchema, date_from_days};
use schemas::presentation::{Predicate, PredicateKind};
use zk::CircuitPredicate;
use zk::unlinkable::CircuitShape;

/// The attributes of a schema's unlinkable leaf: its numeric attributes in schema order.
pub fn unlinkable_attributes(schema: &CredentialSchema) -> Vec<String> {
    schema
        .unlinkable_attributes()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The leaf width the issuer pads to: the smallest circuit that holds every numeric attribute.
pub fn leaf_width(schema: &CredentialSchema) -> Option<usize> {
    CircuitShape::fitting(unlinkable_attributes(schema).len(), 0, false).map(|s| s.attributes)
}

/// The circuit for a leaf of `width` attributes proving `predicates` range statements, with or
/// without escrow of the identity handle.
pub fn shape_for(width: usize, predicates: usize, escrow: bool) -> Option<CircuitShape> {
    let shapes = if escrow {
        CircuitShape::ESCROW_SHAPES
    } else {
        CircuitShape::SHAPES
    };
    shapes
        .into_iter()
        .find(|s| s.attributes == width && s.predicates >= predicates)
}

/// The circuit's number (1-based, as a predicate's `attribute`) of the schema's identity handle.
pub fn handle_attribute(schema: &CredentialSchema) -> Option<usize> {
    schema.identity_handle_attribute()
}

/// Refuses a request that would show the identity handle or prove something about it: the
/// handle identifies the holder to the issuer's records and is only ever escrowed.
pub fn check_handle_untouched(
    schema: &CredentialSchema,
    disclose: &[String],
    predicates: &[Predicate],
) -> Result<(), String> {
    let Some(handle) = schema.identity_handle() else {
        return Ok(());
    };
    if disclose.iter().any(|d| d == handle) || predicates.iter().any(|p| p.attribute == handle) {
        return Err(format!(
            "it asks about `{handle}`, the holder's identity handle in {}: it is never shown or used in a predicate, only escrowed to a regulator council",
            schema.id()
        ));
    }
    Ok(())
}

/// A request's predicates as circuit predicates (attribute `i` of the leaf is circuit input
/// `i + 1`; input 0 is the revocation id). A range becomes two.
pub fn circuit_predicates(
    schema: &CredentialSchema,
    predicates: &[Predicate],
) -> Result<Vec<CircuitPredicate>, String> {
    let names = unlinkable_attributes(schema);
    let mut out = Vec::new();
    for p in predicates {
        let attribute = names
            .iter()
            .position(|n| *n == p.attribute)
            .map(|i| i + 1)
            .ok_or_else(|| format!("`{}` is not a numeric attribute of {}", p.attribute, schema.id()))?;
        match p.kind {
            PredicateKind::AtLeast { bound } => out.push(CircuitPredicate {
                attribute,
                at_most: false,
                threshold: bound,
            }),
            PredicateKind::AtMost { bound } => out.push(CircuitPredicate {
                attribute,
                at_most: true,
                threshold: bound,
            }),
            PredicateKind::Between { low, high } => {
                out.push(CircuitPredicate {
                    attribute,
                    at_most: false,
                    threshold: low,
                });
                out.push(CircuitPredicate {
                    attribute,
                    at_most: true,
                    threshold: high,
                });
            }
        }
    }
    Ok(out)
}

/// An encoded value as people read it: `3.45` for a GPA ×100, `2004-05-01` for a date.
pub fn display_value(schema: Option<&CredentialSchema>, attribute: &str, x: i64) -> String {
    match schema.and_then(|s| s.attribute(attribute)).map(|a| a.encoding) {
        Some(AttributeEncoding::DecimalX100) => {
            let sign = if x < 0 { "-" } else { "" };
            format!("{sign}{}.{:02}", x.unsigned_abs() / 100, x.unsigned_abs() % 100)
        }
        Some(AttributeEncoding::DateDays) => date_from_days(x).unwrap_or_else(|| x.to_string()),
        _ => x.to_string(),
    }
}

/// A statement proven without showing the value, in parts a screen can put in its own words
/// (the attribute's title for its name); as text, `gpa ≥ 3.00`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// The attribute.
    pub attribute: String,
    /// Its value is at least this (as people read it).
    pub at_least: Option<String>,
    /// Its value is at most this.
    pub at_most: Option<String>,
}

impl std::fmt::Display for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.attribute;
        match (&self.at_least, &self.at_most) {
            (Some(l), Some(h)) => write!(f, "{l} ≤ {a} ≤ {h}"),
            (Some(l), None) => write!(f, "{a} ≥ {l}"),
            (None, Some(h)) => write!(f, "{a} ≤ {h}"),
            (None, None) => f.write_str(a),
        }
    }
}

/// What a predicate states, its bounds as people read them.
pub fn statement(schema: Option<&CredentialSchema>, p: &Predicate) -> Statement {
    let v = |x| Some(display_value(schema, &p.attribute, x));
    let (at_least, at_most) = match p.kind {
        PredicateKind::AtLeast { bound } => (v(bound), None),
        PredicateKind::AtMost { bound } => (None, v(bound)),
        PredicateKind::Between { low, high } => (v(low), v(high)),
    };
    Statement {
        attribute: p.attribute.clone(),
        at_least,
        at_most,
    }
}

/// A predicate as people read it: `gpa ≥ 3.00`.
pub fn display_predicate(schema: Option<&CredentialSchema>, p: &Predicate) -> String {
    statement(schema, p).to_string()
}

/// Parses `gpa>=300`, `birth_date<=7000`, `kyc_level=2..5` (encoded values).
pub fn parse_predicate(text: &str) -> Result<Predicate, String> {
    let bad = || format!("{text:?} is not a predicate; write NAME>=N, NAME<=N or NAME=LOW..HIGH");
    let num = |s: &str| s.trim().parse::<i64>().map_err(|_| bad());
    let (attribute, kind) = if let Some((a, b)) = text.split_once(">=") {
        (a, PredicateKind::AtLeast { bound: num(b)? })
    } else if let Some((a, b)) = text.split_once("<=") {
        (a, PredicateKind::AtMost { bound: num(b)? })
    } else if let Some((a, b)) = text.split_once('=') {
        let (low, high) = b.split_once("..").ok_or_else(bad)?;
        let (low, high) = (num(low)?, num(high)?);
        if low > high {
            return Err(format!("{text:?}: the range is empty"));
        }
        (a, PredicateKind::Between { low, high })
    } else {
        return Err(bad());
    };
    let attribute = attribute.trim();
    if attribute.is_empty() {
        return Err(bad());
    }
    Ok(Predicate {
        attribute: attribute.to_owned(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_parse_and_display() {
        let p = parse_predicate("gpa >= 300").expect("parses");
        assert_eq!(p.kind, PredicateKind::AtLeast { bound: 300 });
        let diploma = CredentialSchema::builtin("university-diploma").expect("built in");
        assert_eq!(display_predicate(Some(&diploma), &p), "gpa ≥ 3.00");
        assert!(parse_predicate("gpa > 3").is_err());
        assert!(parse_predicate("x=5..1").is_err());
        let kyc = CredentialSchema::builtin("kyc-attestation").expect("built in");
        assert_eq!(
            unlinkable_attributes(&kyc),
            ["birth_date", "customer_handle", "kyc_level", "verified_on"]
        );
        assert_eq!(leaf_width(&kyc), Some(4));
        let c = circuit_predicates(&kyc, &[parse_predicate("kyc_level>=2").expect("parses")]).expect("maps");
        assert_eq!(c[0].attribute, 3);
        assert_eq!(handle_attribute(&kyc), Some(2));
        // Version 1 (before the handle) keeps its layout, so its attestations still verify.
        let v1 = CredentialSchema::builtin("kyc-attestation-1").expect("built in");
        assert_eq!(
            unlinkable_attributes(&v1),
            ["birth_date", "kyc_level", "verified_on"]
        );
        assert_eq!(handle_attribute(&v1), None);
    }
}

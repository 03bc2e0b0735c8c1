//! Credential types as JSON Schema (draft 2020-12) files, and the integer encoding of their
//! numeric attributes.
//!
//! Each property of a credential schema carries `x-credence-encoding`:
//!
//! | encoding       | JSON value        | encoded as                          | predicates |
//! |----------------|-------------------|-------------------------------------|------------|
//! | `text`         | string            | the string (salted SM3 digest)      | no         |
//! | `integer`      | integer           | itself                              | yes        |
//! | `decimal-x100` | number, 2 places  | value × 100 (GPA 3.72 → 372)        | yes        |
//! | `date-days`    | `YYYY-MM-DD`      | days since 1970-01-01 (may be < 0)  | yes        |
//!
//! Numeric (predicate-capable) attributes are committed with Pedersen commitments by `zk`;
//! text attributes with salted SM3 digests. The schema's root `x-credence` object names the
//! schema id and credential type. A property's `title` and `description` are what wallets show
//! for it; `x-credence-l10n` gives them in other languages (`{"zh-CN": {"title": "学位"}}`).
//!
//! Invariant: [`CredentialSchema::encode_subject`] accepts exactly the subjects that validate,
//! and reports every violation with the field's JSON pointer and the rule broken.

use crate::hash::{Hash, sm3};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The built-in credential schemas: (name, JSON text). A name without a version is the newest
/// version, which new credentials use; older versions stay built in so that credentials issued
/// under them keep verifying (a schema id names one text forever).
pub const BUILTIN_SCHEMAS: [(&str, &str); 9] = [
    // Version 2 of the first three (and version 3 of the KYC attestation) give each attribute
    // a title and a Simplified Chinese title and description (`x-credence-l10n`, issue 20).
    (
        "university-diploma",
        include_str!("../credentials/university-diploma-2.json"),
    ),
    (
        "university-diploma-1",
        include_str!("../credentials/university-diploma.json"),
    ),
    (
        "academic-transcript",
        include_str!("../credentials/academic-transcript-2.json"),
    ),
    (
        "academic-transcript-1",
        include_str!("../credentials/academic-transcript.json"),
    ),
    (
        "professional-certificate",
        include_str!("../credentials/professional-certificate-2.json"),
    ),
    (
        "professional-certificate-1",
        include_str!("../credentials/professional-certificate.json"),
    ),
    // Version 2 added the identity handle (`customer_handle`, issue 18).
    (
        "kyc-attestation",
        include_str!("../credentials/kyc-attestation-3.json"),
    ),
    (
        "kyc-attestation-2",
        include_str!("../credentials/kyc-attestation-2.json"),
    ),
    (
        "kyc-attestation-1",
        include_str!("../credentials/kyc-attestation.json"),
    ),
];

/// How an attribute's value becomes what is committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttributeEncoding {
    /// A string, committed by salted SM3 digest; disclosure only.
    Text,
    /// An integer.
    Integer,
    /// A decimal with at most two places, times 100.
    DecimalX100,
    /// An ISO 8601 calendar date, as days since 1970-01-01.
    DateDays,
}

impl AttributeEncoding {
    /// Whether predicates (`>=`, `<=`, ranges) can be proven on this attribute.
    pub fn is_numeric(self) -> bool {
        !matches!(self, AttributeEncoding::Text)
    }
}

/// An attribute value after encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AttributeValue {
    /// A text attribute.
    Text(String),
    /// A numeric attribute's integer encoding.
    Integer(i64),
}

/// One attribute of a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeSpec {
    /// Property name.
    pub name: String,
    /// Its encoding.
    pub encoding: AttributeEncoding,
    /// Whether the subject must carry it.
    pub required: bool,
    /// Its JSON Schema `title`, what screens call it (one line, at most 120 characters; else
    /// none).
    pub title: Option<String>,
    /// Its JSON Schema `description`, what screens say of it (one line, at most 300
    /// characters; else none).
    pub description: Option<String>,
    /// Its title and description in other languages (`x-credence-l10n`), kept under the same
    /// rules, at most [`MAX_TRANSLATIONS`].
    pub translations: Vec<Translation>,
}

/// Languages one attribute may be translated into (`x-credence-l10n`); more are ignored.
pub const MAX_TRANSLATIONS: usize = 16;
/// The longest language tag kept (BCP 47 tags in use are far shorter).
pub const MAX_LANGUAGE_TAG: usize = 35;
/// The longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// The longest description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// An attribute's title and description in one language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Translation {
    /// A BCP 47 language tag (`zh-CN`).
    pub lang: String,
    /// The title in that language.
    pub title: Option<String>,
    /// The description in that language.
    pub description: Option<String>,
}

/// Characters another party's text must not put in front of a holder: control characters,
/// line and paragraph separators, and the invisible ones that reorder or hide text
/// (bidirectional marks, overrides and isolates, zero-width characters, the byte-order mark).
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}'
        )
}

/// An annotation from a schema's author shown to holders: kept only when it is one short line
/// of visible text (a published schema is another party's text).
fn note(v: Option<&Value>, max: usize) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().count() <= max && !t.chars().any(is_hidden_char))
        .map(str::to_owned)
}

/// A language tag as BCP 47 writes one: letters, then `-`-separated letters and digits.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && tag.len() <= MAX_LANGUAGE_TAG
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A property's `x-credence-l10n`: `{"zh-CN": {"title": …, "description": …}, …}`. Entries that
/// are not a language tag with a short title or description are left out; display text never
/// makes a schema invalid.
fn translations(prop: &Value) -> Vec<Translation> {
    let Some(map) = prop.get("x-credence-l10n").and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .filter(|(lang, _)| is_language_tag(lang))
        .map(|(lang, t)| Translation {
            lang: lang.clone(),
            title: note(t.get("title"), MAX_TITLE_CHARS),
            description: note(t.get("description"), MAX_DESCRIPTION_CHARS),
        })
        .filter(|t| t.title.is_some() || t.description.is_some())
        .take(MAX_TRANSLATIONS)
        .collect()
}

/// One way a subject breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    /// JSON pointer of the offending field (`""` for the subject itself).
    pub field: String,
    /// The rule broken: a JSON Schema keyword (`type`, `minimum`, `required`, ...) or
    /// `encoding` for Credence's own rules.
    pub rule: String,
    /// A sentence saying what is wrong.
    pub message: String,
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let field = if self.field.is_empty() {
            "(subject)"
        } else {
            &self.field
        };
        write!(f, "{field}: {} [{}]", self.message, self.rule)
    }
}

/// What went wrong with a schema or a subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema document itself is unusable.
    #[error("invalid credential schema: {reason}")]
    InvalidSchema {
        /// What was wrong.
        reason: String,
    },
    /// No built-in schema by that name.
    #[error(
        "unknown credential schema {name:?}; known: university-diploma, academic-transcript, professional-certificate, kyc-attestation (version 2), kyc-attestation-1"
    )]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The subject breaks the schema.
    #[error("subject does not match schema {schema}: {}", join(.violations))]
    Invalid {
        /// Schema id.
        schema: String,
        /// Every violation found.
        violations: Vec<Violation>,
    },
}

fn join(v: &[Violation]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A parsed credential schema with its compiled validator.
pub struct CredentialSchema {
    id: String,
    credential_type: String,
    text: String,
    attributes: Vec<AttributeSpec>,
    identity_handle: Option<String>,
    /// Validates a subject (`properties.credentialSubject`).
    validator: jsonschema::Validator,
    /// Validates a whole credential (`None` for a schema in the old, subject-only shape).
    credential_validator: Option<jsonschema::Validator>,
}

impl core::fmt::Debug for CredentialSchema {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CredentialSchema")
            .field("id", &self.id)
            .field("type", &self.credential_type)
            .finish_non_exhaustive()
    }
}

impl CredentialSchema {
    /// A built-in schema by file name (`university-diploma`, ...).
    pub fn builtin(name: &str) -> Result<Self, SchemaError> {
        let (_, text) =
            BUILTIN_SCHEMAS
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| SchemaError::Unknown {
                    name: name.chars().take(64).collect(),
                })?;
        Self::from_json(text)
    }

    /// A built-in schema by its id (`credence:schema:university-diploma:1`), parsed once.
    pub fn builtin_by_id(id: &str) -> Option<&'static CredentialSchema> {
        static PARSED: std::sync::OnceLock<Vec<CredentialSchema>> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(|| {
                BUILTIN_SCHEMAS
                    .iter()
                    .filter_map(|(_, text)| Self::from_json(text).ok())
                    .collect()
            })
            .iter()
            .find(|s| s.id() == id)
    }

    /// Parses a schema document.
    pub fn from_json(text: &str) -> Result<Self, SchemaError> {
        let invalid = |reason: String| SchemaError::InvalidSchema { reason };
        let json: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if json.get("$schema").and_then(Value::as_str) != Some("https://json-schema.org/draft/2020-12/schema")
        {
            return Err(invalid(
                "`$schema` must be https://json-schema.org/draft/2020-12/schema".into(),
            ));
        }
        let meta = json
            .get("x-credence")
            .ok_or_else(|| invalid("missing `x-credence` (schema id and credential type)".into()))?;
        let field = |name: &str| {
            meta.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("`x-credence.{name}` must be a non-empty string")))
        };
        let id = field("id")?;
        let credential_type = field("credentialType")?;
        // A schema validates the whole credential (VC JSON Schema): the attributes are the
        // properties of `properties.credentialSubject`, beside the holder's `id`. A schema
        // published before (December 2026) described the subject alone; it is still read.
        let subject_schema = json
            .get("properties")
            .and_then(|p| p.get("credentialSubject"))
            .unwrap_or(&json);
        let whole = !core::ptr::eq(subject_schema, &json);
        let props = subject_schema
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("`properties.credentialSubject.properties` must be an object".into()))?;
        let required: Vec<&str> = subject_schema
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut attributes = Vec::with_capacity(props.len());
        for (name, prop) in props {
            if whole && name == "id" {
                // The holder's DID, not an attribute.
                continue;
            }
            let encoding = prop
                .get("x-credence-encoding")
                .cloned()
                .ok_or_else(|| invalid(format!("property {name:?} has no `x-credence-encoding`")))
                .and_then(|e| {
                    serde_json::from_value::<AttributeEncoding>(e)
                        .map_err(|_| invalid(format!("property {name:?}: `x-credence-encoding` must be text, integer, decimal-x100 or date-days")))
                })?;
            attributes.push(AttributeSpec {
                name: name.clone(),
                encoding,
                required: required.contains(&name.as_str()),
                title: note(prop.get("title"), MAX_TITLE_CHARS),
                description: note(prop.get("description"), MAX_DESCRIPTION_CHARS),
                translations: translations(prop),
            });
        }
        // The identity handle (issue 18): an integer attribute the issuer assigns, which an
        // escrowed unlinkable answer encrypts to a regulator council. Never disclosed.
        let identity_handle = match meta.get("identityHandle") {
            None => None,
            Some(v) => {
                let name = v
                    .as_str()
                    .ok_or_else(|| invalid("`x-credence.identityHandle` must name a property".into()))?;
                match attributes.iter().find(|a| a.name == name) {
                    Some(a) if a.encoding == AttributeEncoding::Integer => Some(name.to_owned()),
                    Some(_) => {
                        return Err(invalid(format!(
                            "the identity handle {name:?} must have `x-credence-encoding` integer"
                        )));
                    }
                    None => {
                        return Err(invalid(format!(
                            "`x-credence.identityHandle` names {name:?}, which is not a property"
                        )));
                    }
                }
            }
        };
        // serde_json's map is sorted by key, so attribute order is the byte order of names.
        let compile = |schema: &Value| {
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(schema)
                .map_err(|e| invalid(e.to_string()))
        };
        let validator = compile(subject_schema)?;
        let credential_validator = if whole { Some(compile(&json)?) } else { None };
        Ok(CredentialSchema {
            id,
            credential_type,
            text: text.to_owned(),
            attributes,
            identity_handle,
            validator,
            credential_validator,
        })
    }

    /// Schema id, e.g. `credence:schema:university-diploma:1`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Credential type, e.g. `UniversityDiploma`.
    pub fn credential_type(&self) -> &str {
        &self.credential_type
    }

    /// The attributes, sorted by name.
    pub fn attributes(&self) -> &[AttributeSpec] {
        &self.attributes
    }

    /// The attribute that holds the holder's identity handle (`x-credence.identityHandle`), if
    /// the schema names one: escrowed to a regulator council, never disclosed or used in a
    /// predicate.
    pub fn identity_handle(&self) -> Option<&str> {
        self.identity_handle.as_deref()
    }

    /// The attributes of the unlinkable tier's Poseidon leaf: the numeric ones, in schema
    /// order (attribute `i` of this list is circuit attribute `i + 1`).
    pub fn unlinkable_attributes(&self) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|a| a.encoding.is_numeric())
            .map(|a| a.name.as_str())
            .collect()
    }

    /// The circuit attribute (1-based, among [`CredentialSchema::unlinkable_attributes`]) that
    /// holds the identity handle, if the schema names one.
    pub fn identity_handle_attribute(&self) -> Option<usize> {
        let handle = self.identity_handle()?;
        self.unlinkable_attributes()
            .iter()
            .position(|n| *n == handle)
            .map(|i| i + 1)
    }

    /// The attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&AttributeSpec> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The schema text as published.
    pub fn json(&self) -> &str {
        &self.text
    }

    /// SM3 of the schema text (what the ledger's schema record holds).
    pub fn hash(&self) -> Hash {
        sm3(self.text.as_bytes())
    }

    /// The ledger record that publishes this schema, by `publisher`.
    pub fn record(&self, publisher: crate::did::Did) -> crate::ledger::SchemaRecord {
        crate::ledger::SchemaRecord {
            id: self.id.clone(),
            credential_type: self.credential_type.clone(),
            schema_hash: self.hash(),
            json: self.text.clone(),
            publisher,
        }
    }

    /// Validates a subject, returning every violation.
    pub fn validate(&self, subject: &Value) -> Result<(), SchemaError> {
        self.violations(&self.validator, subject)
    }

    /// Validates a whole credential document (VC JSON Schema), returning every violation. A
    /// schema in the old subject-only shape validates the document's `credentialSubject`.
    pub fn validate_credential(&self, credential: &Value) -> Result<(), SchemaError> {
        match &self.credential_validator {
            Some(v) => self.violations(v, credential),
            None => {
                // The old shape describes the subject without the holder's `id`.
                let mut subject = credential
                    .get("credentialSubject")
                    .cloned()
                    .unwrap_or(Value::Null);
                if let Some(o) = subject.as_object_mut() {
                    o.remove("id");
                }
                self.validate(&subject)
            }
        }
    }

    fn violations(&self, validator: &jsonschema::Validator, instance: &Value) -> Result<(), SchemaError> {
        let violations: Vec<Violation> = validator
            .iter_errors(instance)
            .map(|e| Violation {
                field: e.instance_path().as_str().to_owned(),
                rule: e.kind().keyword().to_owned(),
                message: e.to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SchemaError::Invalid {
                schema: self.id.clone(),
                violations,
            })
        }
    }

    /// Validates a subject and encodes its attributes, sorted by name.
    pub fn encode_subject(&self, subject: &Value) -> Result<Vec<(String, AttributeValue)>, SchemaError> {
        self.validate(subject)?;
        let mut out = Vec::with_capacity(self.attributes.len());
        let mut violations = Vec::new();
        for spec in &self.attributes {
            let Some(value) = subject.get(&spec.name) else {
                continue;
            };
            // Only values the credential can show again as themselves (a decimal near 2^53
            // would not survive its JSON form).
            match encode_value(spec.encoding, value).and_then(|v| decode_value(spec.encoding, &v).map(|_| v))
            {
                Ok(v) => out.push((spec.name.clone(), v)),
                Err(message) => violations.push(Violation {
                    field: format!("/{}", spec.name),
                    rule: "encoding".into(),
                    message,
                }),
            }
        }
        if violations.is_empty() {
            Ok(out)
        } else {
            Err(SchemaError::Invalid {
                schema: self.id.clone(),
                violations,
            })
        }
    }
}

/// Encodes one JSON value.
pub fn encode_value(encoding: AttributeEncoding, value: &Value) -> Result<AttributeValue, String> {
    match encoding {
        AttributeEncoding::Text => value
            .as_str()
            .map(|s| AttributeValue::Text(s.to_owned()))
            .ok_or_else(|| "expected a string".to_owned()),
        AttributeEncoding::Integer => value
            .as_i64()
            .map(AttributeValue::Integer)
            .ok_or_else(|| "expected an integer".to_owned()),
        AttributeEncoding::DecimalX100 => {
            let x = value.as_f64().ok_or_else(|| "expected a number".to_owned())?;
            let scaled = (x * 100.0).round();
            if (x * 100.0 - scaled).abs() > 1e-6 || !scaled.is_finite() || scaled.abs() > 9.0e15 {
                return Err(format!("{x} has more than two decimal places"));
            }
            Ok(AttributeValue::Integer(scaled as i64))
        }
        AttributeEncoding::DateDays => {
            let s = value
                .as_str()
                .ok_or_else(|| "expected a date YYYY-MM-DD".to_owned())?;
            days_from_date(s).map(AttributeValue::Integer)
        }
    }
}

/// The JSON value an encoded attribute stands for: what a credential's subject shows (GPA 372
/// → 3.72, 20634 days → "2026-06-30"). Exactly inverts [`encode_value`]: an integer that the
/// JSON form could not carry back to itself is refused.
pub fn decode_value(encoding: AttributeEncoding, value: &AttributeValue) -> Result<Value, String> {
    let decoded = match (encoding, value) {
        (AttributeEncoding::Text, AttributeValue::Text(s)) => Value::String(s.clone()),
        (AttributeEncoding::Integer, AttributeValue::Integer(i)) => Value::from(*i),
        (AttributeEncoding::DecimalX100, AttributeValue::Integer(i)) => {
            // Shortest decimal text of i / 100 (serde_json prints f64s shortest-first).
            serde_json::Number::from_f64(*i as f64 / 100.0)
                .map(Value::Number)
                .ok_or_else(|| format!("{i} has no decimal form"))?
        }
        (AttributeEncoding::DateDays, AttributeValue::Integer(i)) => Value::String(
            date_from_days(*i).ok_or_else(|| format!("{i} days is not a date in the years 0000-9999"))?,
        ),
        (e, v) => {
            return Err(format!(
                "a {} value cannot be encoded as {e:?}",
                match v {
                    AttributeValue::Text(_) => "text",
                    AttributeValue::Integer(_) => "integer",
                }
            ));
        }
    };
    if encode_value(encoding, &decoded).as_ref() != Ok(value) {
        return Err("the value does not survive its JSON form".into());
    }
    Ok(decoded)
}

/// Days since 1970-01-01 of an ISO 8601 calendar date `YYYY-MM-DD`.
pub fn days_from_date(s: &str) -> Result<i64, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s, format).map_err(|e| format!("{s:?} is not a date YYYY-MM-DD: {e}"))?;
    Ok(i64::from(date.to_julian_day()) - i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day()))
}

/// The ISO 8601 date `days` after 1970-01-01.
pub fn date_from_days(days: i64) -> Option<String> {
    let jd = i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day()).checked_add(days)?;
    let date = time::Date::from_julian_day(i32::try_from(jd).ok()?).ok()?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(format).ok()
}

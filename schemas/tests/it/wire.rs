//! The JSON forms other software reads: values round-trip exactly through their JSON form, and
//! the transaction names of before December 2026 (snake_case fields of struct variants) still
//! read as the same transaction.

use proptest::prelude::*;
use schemas::credential_schema::AttributeValue;
use schemas::credential_schema::{AttributeEncoding, decode_value, encode_value};
use schemas::ledger::TxPayload;

fn encodings() -> impl Strategy<Value = AttributeEncoding> {
    prop_oneof![
        Just(AttributeEncoding::Integer),
        Just(AttributeEncoding::DecimalX100),
        Just(AttributeEncoding::DateDays),
    ]
}

proptest! {
    /// Whatever integer an issuer commits to, the credential shows a value that encodes back to
    /// exactly it, or the issuer is refused: never a value that reads as another integer.
    #[test]
    fn a_committed_integer_shows_as_a_value_that_encodes_back_to_it(
        encoding in encodings(),
        i in prop_oneof![-1_000_000i64..1_000_000, any::<i64>()],
    ) {
        let committed = AttributeValue::Integer(i);
        if let Ok(shown) = decode_value(encoding, &committed) {
            prop_assert_eq!(encode_value(encoding, &shown), Ok(committed));
            // And through the JSON text a reader parses.
            let text = serde_json::to_string(&shown).expect("JSON");
            let read: serde_json::Value = serde_json::from_str(&text).expect("parses");
            prop_assert_eq!(encode_value(encoding, &read), Ok(AttributeValue::Integer(i)));
        }
    }

    /// A value a schema describes encodes to the integer whose shown form is that value.
    #[test]
    fn a_decimal_with_two_places_round_trips(cents in -900_000_000i64..900_000_000) {
        let value: serde_json::Value =
            serde_json::from_str(&format!("{}.{:02}", cents / 100, (cents % 100).abs()))
                .expect("a number");
        if cents < 0 && cents > -100 {
            // "-0.5" is written "0.-5" above: not a case of interest.
            return Ok(());
        }
        let encoded = encode_value(AttributeEncoding::DecimalX100, &value).expect("two places");
        prop_assert_eq!(&encoded, &AttributeValue::Integer(cents));
        let shown = decode_value(AttributeEncoding::DecimalX100, &encoded).expect("decodes");
        prop_assert_eq!(shown.as_f64(), value.as_f64());
    }
}

/// Values with a third decimal place are refused, not silently rounded. (Float noise below
/// 10^-8, as in 3.7200000001, encodes to 372; a credential carrying it is refused when read,
/// where the shown value is compared with the committed one's JSON form.)
#[test]
fn more_than_two_decimal_places_are_refused() {
    for text in ["3.625", "3.7201", "1e-3"] {
        let v: serde_json::Value = serde_json::from_str(text).expect("a number");
        assert!(
            encode_value(AttributeEncoding::DecimalX100, &v).is_err(),
            "{text}"
        );
    }
    let v: serde_json::Value = serde_json::from_str("3.70").expect("a number");
    assert_eq!(
        encode_value(AttributeEncoding::DecimalX100, &v),
        Ok(AttributeValue::Integer(370))
    );
}

/// Struct variants' fields are camelCase; the snake_case names written before December 2026
/// still read, as the same payload.
#[test]
fn snake_case_field_names_of_before_still_read() {
    let key = schemas::sm2::SecretKey::from_bytes(&[7; 32]).expect("key");
    let did = schemas::Did::from_public_key(key.public_key());
    let pk = schemas::bytes::to_hex(&key.public_key().to_sec1());
    for (old, new) in [
        (
            format!(r#"{{"rotateIssuerKey":{{"issuer":"{did}","new_key":"{pk}"}}}}"#),
            format!(r#"{{"rotateIssuerKey":{{"issuer":"{did}","newKey":"{pk}"}}}}"#),
        ),
        (
            format!(r#"{{"updateStatusList":{{"issuer":"{did}","list_id":3,"revoke":[1,2]}}}}"#),
            format!(r#"{{"updateStatusList":{{"issuer":"{did}","listId":3,"revoke":[1,2]}}}}"#),
        ),
    ] {
        let a: TxPayload = serde_json::from_str(&old).expect("the old name reads");
        let b: TxPayload = serde_json::from_str(&new).expect("the new name reads");
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).expect("JSON"),
            new,
            "written with the new name"
        );
    }
}

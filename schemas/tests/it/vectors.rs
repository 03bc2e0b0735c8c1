//! Published test vectors.

use schemas::hash::sm3;

/// GB/T 32905-2016 Appendix A, example 1.
#[test]
fn sm3_gbt_32905_abc() {
    assert_eq!(
        sm3(b"abc").to_hex(),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
}

/// GB/T 32905-2016 Appendix A, example 2: "abcd" repeated 16 times (512 bits).
#[test]
fn sm3_gbt_32905_abcd_times_16() {
    assert_eq!(
        sm3("abcd".repeat(16).as_bytes()).to_hex(),
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    );
}

#[test]
fn sm3_differs_on_one_bit() {
    let mut m = b"abc".to_vec();
    m[0] ^= 1;
    assert_ne!(
        sm3(&m).to_hex(),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
}

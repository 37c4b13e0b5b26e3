//! Published test vectors: RFC 7515 appendix A.1 (an HS256 JWS) and
//! RFC 4231 (HMAC-SHA-256), checked through core's public functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_core::{TokenError, verify_hs256};

/// RFC 7515 A.1: the JWK `k` of the example, base64url.
const RFC7515_KEY_B64: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const RFC7515_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn b64url_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = alphabet.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn rfc7515_a1_hs256_signature_verifies() {
    let key = b64url_decode(RFC7515_KEY_B64);
    let payload = verify_hs256(&key, RFC7515_TOKEN).expect("the RFC's token verifies");
    let text = String::from_utf8(payload).unwrap();
    assert!(text.contains("\"iss\":\"joe\""));
    assert!(text.contains("1300819380"));
}

#[test]
fn rfc7515_a1_tampered_fails() {
    let key = b64url_decode(RFC7515_KEY_B64);
    let mut tampered = RFC7515_TOKEN.to_owned();
    tampered.replace_range(40..41, "X");
    assert!(verify_hs256(&key, &tampered).is_err());
    let mut wrong_key = key.clone();
    wrong_key[0] ^= 1;
    assert_eq!(
        verify_hs256(&wrong_key, RFC7515_TOKEN),
        Err(TokenError::BadSignature)
    );
}

/// RFC 4231 test cases 1, 2 and 6 (HMAC-SHA-256), through the XSRF token
/// function's building block: core's token digests rely on the same `hmac`.
#[test]
fn rfc4231_hmac_sha256() {
    use hmac::{Hmac, KeyInit, Mac};
    let cases: [(&[u8], &[u8], &str); 3] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ];
    for (key, data, expected) in cases {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected);
    }
}

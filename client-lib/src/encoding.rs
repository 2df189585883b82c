//! Hex / base64 helpers with the exact acceptance rules pysogs uses (PROTOCOL.md §1, §4).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Standard alphabet, accepts padded and unpadded input and (like Python's `b64decode`)
/// ignores non-zero trailing bits.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard base64 with `=` padding.
pub fn b64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Standard-alphabet base64, padded or unpadded. The URL-safe alphabet is rejected.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    LENIENT.decode(s).ok()
}

/// Decode a binary `X-SOGS-*` header value of exactly `N` bytes (pysogs rule, PROTOCOL.md §4):
/// length `2N` → hex (either case); otherwise a length between `ceil(4N/3)` and the padded
/// base64 length → base64 (missing padding added), which must yield exactly `N` bytes.
pub fn decode_binary_header<const N: usize>(s: &str) -> Option<[u8; N]> {
    let len = s.len();
    if len == 2 * N {
        let mut out = [0u8; N];
        return hex::decode_to_slice(s, &mut out).ok().map(|()| out);
    }
    let unpadded = (4 * N).div_ceil(3);
    let padded = N.div_ceil(3) * 4;
    if !(unpadded..=padded).contains(&len) {
        return None;
    }
    let bytes = b64_decode(s)?;
    bytes.as_slice().try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_roundtrip_and_alphabets() {
        assert_eq!(b64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(b64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64_decode("aGVsbG8").unwrap(), b"hello");
        // '+' and '/' are standard; '-' and '_' (URL-safe) are not.
        assert_eq!(b64_decode("+/+/").unwrap(), vec![0xfb, 0xff, 0xbf]);
        assert_eq!(b64_decode("-_-_"), None);
        assert_eq!(b64_decode("a"), None);
        assert_eq!(b64_decode("aGVs bG8="), None);
    }

    #[test]
    fn header_sizes() {
        let nonce: [u8; 16] = core::array::from_fn(|i| i as u8);
        let hex16 = "000102030405060708090a0b0c0d0e0f";
        assert_eq!(decode_binary_header::<16>(hex16), Some(nonce));
        assert_eq!(
            decode_binary_header::<16>(&hex16.to_uppercase()),
            Some(nonce)
        );
        assert_eq!(
            decode_binary_header::<16>("AAECAwQFBgcICQoLDA0ODw=="),
            Some(nonce)
        );
        assert_eq!(
            decode_binary_header::<16>("AAECAwQFBgcICQoLDA0ODw"),
            Some(nonce)
        );
        assert_eq!(
            decode_binary_header::<16>("AAECAwQFBgcICQoLDA0ODw="),
            Some(nonce)
        );
        // 32 chars that are not hex: not tried as base64.
        assert_eq!(
            decode_binary_header::<16>("AAECAwQFBgcICQoLDA0ODwAAECAwQFBg"),
            None
        );
        // Wrong lengths.
        assert_eq!(decode_binary_header::<16>("AAECAwQFBgcICQoLDA0OD"), None);
        assert_eq!(
            decode_binary_header::<16>("AAECAwQFBgcICQoLDA0ODw==="),
            None
        );
        assert_eq!(decode_binary_header::<16>(""), None);
        // 17 bytes of base64 (24 chars) do not give 16 bytes.
        assert_eq!(decode_binary_header::<16>(&b64_encode(&[7u8; 17])), None);
        // 64-byte signature: 128 hex, 88 padded, 86 unpadded.
        let sig = [0xabu8; 64];
        assert_eq!(decode_binary_header::<64>(&hex::encode(sig)), Some(sig));
        let b = b64_encode(&sig);
        assert_eq!(b.len(), 88);
        assert_eq!(decode_binary_header::<64>(&b), Some(sig));
        assert_eq!(
            decode_binary_header::<64>(b.trim_end_matches('=')),
            Some(sig)
        );
        assert_eq!(decode_binary_header::<64>(&b[..85]), None);
        // 33-byte pubkey: 66 hex or 44 base64.
        let pk = [0x15u8; 33];
        assert_eq!(decode_binary_header::<33>(&hex::encode(pk)), Some(pk));
        assert_eq!(decode_binary_header::<33>(&b64_encode(&pk)), Some(pk));
    }
}

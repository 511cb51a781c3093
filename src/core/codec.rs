//! Binary-safe codecs for `ns_smtpd encode|decode`: base64 (RFC 4648), hex, and
//! quoted-printable (RFC 2045 body style).
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn base64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes base64, ignoring whitespace (MIME bodies have line breaks); padding is optional.
pub fn base64_decode(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if let Some(pos) = compact
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='))
    {
        return Err(CodecError(format!(
            "character {:?} is not base64",
            compact[pos] as char
        )));
    }
    LENIENT
        .decode(&compact)
        .map_err(|e| CodecError(e.to_string()))
}

pub fn hex_encode(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(data.len() * 2);
    for &b in data {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn hex_decode(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    if data.len() % 2 != 0 {
        return Err(CodecError(format!(
            "odd number of hex digits ({})",
            data.len()
        )));
    }
    let digit = |i: usize| -> Result<u8, CodecError> {
        (data[i] as char)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| {
                CodecError(format!(
                    "{:?} at offset {i} is not a hex digit",
                    data[i] as char
                ))
            })
    };
    (0..data.len() / 2)
        .map(|i| Ok(digit(2 * i)? << 4 | digit(2 * i + 1)?))
        .collect()
}

/// Quoted-printable: CRLF stays a line break, other control bytes, 8-bit bytes and `=` are
/// encoded, a blank before a line break is encoded, and no line exceeds 76 characters.
pub fn qprint_encode(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(data.len() + data.len() / 3);
    let mut line_len = 0;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
            out.push_str("\r\n");
            line_len = 0;
            i += 2;
            continue;
        }
        let before_break = matches!(data.get(i + 1), None | Some(b'\r'));
        let literal = (b == b' ' && !before_break) || (b'!'..=b'~').contains(&b) && b != b'=';
        let piece_len = if literal { 1 } else { 3 };
        // Room for the piece plus a soft break `=` keeps lines at 76 characters or less.
        if line_len + piece_len > 75 {
            out.push_str("=\r\n");
            line_len = 0;
        }
        if literal {
            out.push(b as char);
        } else {
            out.push('=');
            out.push(DIGITS[(b >> 4) as usize] as char);
            out.push(DIGITS[(b & 15) as usize] as char);
        }
        line_len += piece_len;
        i += 1;
    }
    out
}

pub fn qprint_decode(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    quoted_printable::decode(data, quoted_printable::ParseMode::Strict)
        .map_err(|e| CodecError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"A"), "QQ==");
        assert_eq!(base64_encode(b"ABCD"), "QUJDRA==");
        assert_eq!(base64_encode(&[0xff, 0xfe, 0xfd]), "//79");
        assert_eq!(base64_encode(&[0x80]), "gA==");
        assert_eq!(base64_decode(b"QQ").unwrap(), b"A");
        assert_eq!(base64_decode(b"QUJD\r\nRA==").unwrap(), b"ABCD");
        assert_eq!(base64_decode(b"////").unwrap(), [0xff; 3]);
        assert!(base64_decode(b"!!!QUJD").is_err());
        assert!(base64_decode(b"Q").is_err());
    }

    #[test]
    fn hex_vectors() {
        assert_eq!(hex_encode(&[0, 0x41]), "0041");
        assert_eq!(hex_encode(&[0xff, 0x10]), "FF10");
        assert_eq!(hex_decode(b"FfAa").unwrap(), [0xff, 0xaa]);
        assert!(hex_decode(b"414").is_err());
        assert!(hex_decode(b"41g2").is_err());
        assert!(hex_decode(b" 41").is_err());
    }

    #[test]
    fn qprint_vectors() {
        assert_eq!(qprint_encode(b"abc"), "abc");
        assert_eq!(qprint_encode(b"a=b"), "a=3Db");
        assert_eq!(qprint_encode(b"tab\there"), "tab=09here");
        assert_eq!(qprint_encode(b"line1\r\nline2"), "line1\r\nline2");
        assert_eq!(qprint_encode(b"line1\nline2"), "line1=0Aline2");
        assert_eq!(qprint_encode(b"trail \r\nx"), "trail=20\r\nx");
        assert_eq!(qprint_encode("café".as_bytes()), "caf=C3=A9");
        assert_eq!(qprint_encode(&[0xe9]), "=E9");
        let long = qprint_encode(&[b'a'; 80]);
        assert_eq!(long, format!("{}=\r\n{}", "a".repeat(75), "a".repeat(5)));
        assert_eq!(qprint_decode(b"a=3Db").unwrap(), b"a=b");
        assert_eq!(qprint_decode(b"soft=\r\nbreak").unwrap(), b"softbreak");
        assert_eq!(qprint_decode(b"caf=E9").unwrap(), b"caf\xe9");
        assert!(qprint_decode(b"bad=ZZ").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(base64_decode(base64_encode(&data).as_bytes()).unwrap(), data.clone());
            prop_assert_eq!(hex_decode(hex_encode(&data).as_bytes()).unwrap(), data.clone());
            let qp = qprint_encode(&data);
            prop_assert!(qp.split("\r\n").all(|l| l.len() <= 76));
            prop_assert_eq!(qprint_decode(qp.as_bytes()).unwrap(), data);
        }
    }
}

//! Binary-safe codecs for `ns_smtpd encode|decode`: base64 (RFC 4648), hex, and
//! quoted-printable (RFC 2045 body style). Bytes in, bytes out; bad input is an error.
//!
//! The original returned garbage for bytes >= 0x80 (signed `char`, B-36), lost a leading NUL
//! in hex (B-37), read past its input in hex decoding (B-38), and silently returned "" or
//! partial data for malformed input. Every function here is total over all 256 byte values,
//! and every decoder names the problem and the byte offset where it is.
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::fmt;

/// Why encoded text could not be decoded. Offsets are byte offsets into the decoder's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// A byte that is neither in the base64 alphabet, nor `=`, nor whitespace.
    Base64InvalidByte { byte: u8, offset: usize },
    /// A base64 character after the `=` padding.
    Base64DataAfterPadding { offset: usize },
    /// The number of base64 characters (or of `=` after them) cannot come from any byte string.
    Base64Length { chars: usize, padding: usize },
    /// Hex input with an odd number of digits.
    HexOddLength { len: usize },
    /// A byte that is not a hex digit.
    HexInvalidByte { byte: u8, offset: usize },
    /// `=` not followed by two hex digits or by a (soft) line break.
    QpInvalidEscape { offset: usize },
}

/// A byte for an error message: printable ASCII as is, anything else as `0xNN`.
fn show(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("\"{}\"", byte as char)
    } else {
        format!("byte 0x{byte:02X}")
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Base64InvalidByte { byte, offset } => {
                write!(f, "{} at offset {offset} is not base64", show(*byte))
            }
            CodecError::Base64DataAfterPadding { offset } => {
                write!(f, "data after \"=\" padding at offset {offset}")
            }
            CodecError::Base64Length { chars, padding } => write!(
                f,
                "{chars} base64 characters with {padding} \"=\" cannot be a whole encoding \
                 (truncated input?)"
            ),
            CodecError::HexOddLength { len } => {
                write!(f, "odd number of hex digits ({len})")
            }
            CodecError::HexInvalidByte { byte, offset } => {
                write!(f, "{} at offset {offset} is not a hex digit", show(*byte))
            }
            CodecError::QpInvalidEscape { offset } => write!(
                f,
                "\"=\" at offset {offset} is followed neither by two hex digits nor by a line break"
            ),
        }
    }
}

impl std::error::Error for CodecError {}

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Base64 with the standard alphabet and `=` padding, on one line (no MIME line breaks).
pub fn base64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Decodes base64. ASCII whitespace (CR/LF included) is ignored so MIME bodies decode; the
/// `=` padding is optional (also when cut short) but, if present, must come last.
pub fn base64_decode(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    // Validation is ours (to report offsets); the crate does the arithmetic. Non-zero bits in
    // the last character are tolerated: some encoders produce them and nothing is lost.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let mut compact = Vec::with_capacity(data.len());
    let mut padding = 0;
    for (offset, &byte) in data.iter().enumerate() {
        if byte.is_ascii_whitespace() || byte == 0x0b {
            continue;
        }
        if byte == b'=' {
            padding += 1;
        } else if !is_base64_char(byte) {
            return Err(CodecError::Base64InvalidByte { byte, offset });
        } else if padding > 0 {
            return Err(CodecError::Base64DataAfterPadding { offset });
        } else {
            compact.push(byte);
        }
    }
    let chars = compact.len();
    // Padding may be cut short (`QQ=`), but never longer than the last group needs.
    let padding_needed = (4 - chars % 4) % 4;
    if chars % 4 == 1 || padding > padding_needed {
        return Err(CodecError::Base64Length { chars, padding });
    }
    // Cannot fail after the checks above; map defensively rather than panic.
    LENIENT
        .decode(&compact)
        .map_err(|_| CodecError::Base64Length { chars, padding })
}

/// Two upper-case hex digits per byte (a leading NUL byte included, B-37).
pub fn hex_encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for &b in data {
        s.push(UPPER_HEX[usize::from(b >> 4)] as char);
        s.push(UPPER_HEX[usize::from(b & 15)] as char);
    }
    s
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex digits of either case; whitespace is not allowed.
pub fn hex_decode(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let digit = |offset: usize| {
        hex_value(data[offset]).ok_or(CodecError::HexInvalidByte {
            byte: data[offset],
            offset,
        })
    };
    // A bad digit is the more useful message, so look for one before complaining about length.
    let mut out = Vec::with_capacity(data.len() / 2);
    for i in (0..data.len() / 2).map(|i| 2 * i) {
        out.push(digit(i)? << 4 | digit(i + 1)?);
    }
    if data.len() % 2 != 0 {
        digit(data.len() - 1)?;
        return Err(CodecError::HexOddLength { len: data.len() });
    }
    Ok(out)
}

/// Longest encoded line, not counting CRLF (RFC 2045 §6.7 rule 5).
const QP_MAX_LINE: usize = 76;

/// Quoted-printable, RFC 2045 body style: a CRLF pair stays a hard line break; control bytes
/// (including TAB and a lone CR or LF), DEL, 8-bit bytes and `=` become `=XY`; a space that
/// would end a line (before CRLF or at the end of input) is encoded so that decoders, which
/// strip trailing blanks, keep it; soft breaks `=CRLF` keep every line within 76 characters.
pub fn qprint_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + data.len() / 3 + 8);
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
        let ends_line = match data.get(i + 1) {
            None => true,
            Some(&b'\r') => data.get(i + 2) == Some(&b'\n'),
            Some(_) => false,
        };
        let literal = (b'!'..=b'~').contains(&b) && b != b'=' || b == b' ' && !ends_line;
        let piece_len = if literal { 1 } else { 3 };
        // Leave room for the `=` of a soft break; an encoded triplet is never split.
        if line_len + piece_len > QP_MAX_LINE - 1 {
            out.push_str("=\r\n");
            line_len = 0;
        }
        if literal {
            out.push(b as char);
        } else {
            out.push('=');
            out.push(UPPER_HEX[usize::from(b >> 4)] as char);
            out.push(UPPER_HEX[usize::from(b & 15)] as char);
        }
        line_len += piece_len;
        i += 1;
    }
    out
}

/// Decodes quoted-printable: `=XY` in either case, soft breaks `=CRLF` and `=LF` (blanks
/// between the `=` and the break, added by some transports, are allowed), `=` at the very end
/// is a soft break too. Blanks (space, TAB) before a line break are removed, as RFC 2045
/// requires; blanks at the very end of input are kept (the input may be a fragment).
/// Any other `=` sequence is an error. Other bytes, 8-bit ones included, pass through.
pub fn qprint_decode(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'=' => {
                let at = i;
                if let (Some(h), Some(l)) = (
                    data.get(i + 1).copied().and_then(hex_value),
                    data.get(i + 2).copied().and_then(hex_value),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                // A soft break: `=`, optional blanks, then CRLF, LF or the end of input.
                let mut j = i + 1;
                while j < data.len() && matches!(data[j], b' ' | b'\t') {
                    j += 1;
                }
                match (data.get(j), data.get(j + 1)) {
                    (None, _) => i = j,
                    (Some(b'\n'), _) => i = j + 1,
                    (Some(b'\r'), Some(b'\n')) => i = j + 2,
                    _ => return Err(CodecError::QpInvalidEscape { offset: at }),
                }
            }
            b' ' | b'\t' => {
                // Blanks are kept unless only blanks separate them from a line break.
                let mut j = i;
                while j < data.len() && matches!(data[j], b' ' | b'\t') {
                    j += 1;
                }
                if !matches!(data.get(j), Some(b'\r' | b'\n')) {
                    out.extend_from_slice(&data[i..j]);
                }
                i = j;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all_bytes() -> Vec<u8> {
        (0..=255u8).collect()
    }

    #[test]
    fn base64_encode_vectors() {
        for (input, expect) in [
            (&b""[..], ""),
            (b"A", "QQ=="),
            (b"AB", "QUI="),
            (b"ABC", "QUJD"),
            (b"ABCD", "QUJDRA=="),
            (b"hello world", "aGVsbG8gd29ybGQ="),
            (&[0, 1, 2], "AAEC"),
            (b"a\0b", "YQBi"),
            // B-36 fixed: high bytes.
            (&[0xff, 0xfe, 0xfd], "//79"),
            (&[0x80], "gA=="),
            (&[0x00, 0xff, 0x80], "AP+A"),
        ] {
            assert_eq!(base64_encode(input), expect, "{input:?}");
        }
        let enc = base64_encode(&all_bytes());
        assert_eq!(enc.len(), 344);
        assert!(!enc.contains(['\r', '\n']));
    }

    #[test]
    fn base64_decode_vectors() {
        for (input, expect) in [
            (&b"QQ=="[..], &b"A"[..]),
            (b"QQ", b"A"),
            (b"QQ=", b"A"),
            (b"QUJD", b"ABC"),
            (b"QU JD", b"ABC"),
            (b"QUJD\r\nRA==", b"ABCD"),
            (b"////", &[0xff, 0xff, 0xff]),
            (b"Zm9v\nYmFy", b"foobar"),
            (b"Zm9v\r\n\tYmFy\r\n", b"foobar"),
            (b"", b""),
            (b" \r\n", b""),
            // Non-zero trailing bits are tolerated.
            (b"QR==", b"A"),
        ] {
            assert_eq!(
                base64_decode(input).unwrap(),
                expect,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn base64_decode_errors_name_the_problem() {
        // The original skipped these silently or decoded them misaligned.
        assert_eq!(
            base64_decode(b"!!!QUJD"),
            Err(CodecError::Base64InvalidByte {
                byte: b'!',
                offset: 0
            })
        );
        assert_eq!(
            base64_decode(b"QU=JD"),
            Err(CodecError::Base64DataAfterPadding { offset: 3 })
        );
        assert_eq!(
            base64_decode(b"QQ==QUJD"),
            Err(CodecError::Base64DataAfterPadding { offset: 4 })
        );
        assert_eq!(
            base64_decode(b"Q"),
            Err(CodecError::Base64Length {
                chars: 1,
                padding: 0
            })
        );
        assert!(base64_decode(b"QQ===").is_err());
        assert!(base64_decode(b"QUJ==").is_err());
        assert!(base64_decode(b"=").is_err());
        assert!(base64_decode(b"QUJD\xc3\xa9").is_err());
        assert_eq!(
            base64_decode(b"QU\x00JD").unwrap_err().to_string(),
            "byte 0x00 at offset 2 is not base64"
        );
        assert_eq!(
            base64_decode(b"ab-c").unwrap_err().to_string(),
            "\"-\" at offset 2 is not base64"
        );
    }

    #[test]
    fn hex_vectors() {
        // B-37 fixed: a leading NUL is encoded.
        assert_eq!(hex_encode(&[0, 0x41]), "0041");
        assert_eq!(hex_encode(&[0x41, 0]), "4100");
        assert_eq!(hex_encode(&[0xff, 0x10]), "FF10");
        assert_eq!(hex_encode(b""), "");
        assert_eq!(hex_decode(b"41").unwrap(), b"A");
        assert_eq!(hex_decode(b"4142").unwrap(), b"AB");
        assert_eq!(hex_decode(b"ff00").unwrap(), [0xff, 0]);
        assert_eq!(hex_decode(b"FfAa").unwrap(), [0xff, 0xaa]);
        assert_eq!(hex_decode(b"").unwrap(), b"");
        assert_eq!(
            hex_decode(&hex_encode(&all_bytes()).into_bytes()).unwrap(),
            all_bytes()
        );
    }

    #[test]
    fn hex_errors() {
        assert_eq!(hex_decode(b"414"), Err(CodecError::HexOddLength { len: 3 }));
        assert_eq!(hex_decode(b"4"), Err(CodecError::HexOddLength { len: 1 }));
        assert_eq!(
            hex_decode(b"41g2"),
            Err(CodecError::HexInvalidByte {
                byte: b'g',
                offset: 2
            })
        );
        assert_eq!(
            hex_decode(b" 41"),
            Err(CodecError::HexInvalidByte {
                byte: b' ',
                offset: 0
            })
        );
        assert_eq!(
            hex_decode(b"41z").unwrap_err().to_string(),
            "\"z\" at offset 2 is not a hex digit"
        );
        assert_eq!(
            hex_decode(b"414").unwrap_err().to_string(),
            "odd number of hex digits (3)"
        );
    }

    #[test]
    fn qprint_encode_vectors() {
        for (input, expect) in [
            (&b"abc"[..], "abc"),
            (b"a=b", "a=3Db"),
            (b"tab\there", "tab=09here"),
            (b"line1\r\nline2", "line1\r\nline2"),
            (b"line1\nline2", "line1=0Aline2"),
            (b"trail \r\nx", "trail=20\r\nx"),
            (b"\r", "=0D"),
            (b"\x7f", "=7F"),
            (b"a\0b", "a=00b"),
            (b"a b", "a b"),
            // B-36b fixed: 8-bit bytes.
            ("café".as_bytes(), "caf=C3=A9"),
            (&[0xe9], "=E9"),
            // RFC 2045: a blank ending the input ends a line, so it is encoded
            // (the original left `trail ` as is).
            (b"trail ", "trail=20"),
            // A space before a lone CR is followed by `=0D` anyway.
            (b"a \rb", "a =0Db"),
        ] {
            assert_eq!(
                qprint_encode(input),
                expect,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn qprint_soft_breaks() {
        assert_eq!(
            qprint_encode(&[b'a'; 80]),
            format!("{}=\r\n{}", "a".repeat(75), "a".repeat(5))
        );
        assert_eq!(
            qprint_encode(&[b'='; 30]),
            format!("{}=\r\n{}", "=3D".repeat(25), "=3D".repeat(5))
        );
        // One column is kept for the `=` of a soft break: 75 fit, 76 are split.
        assert_eq!(qprint_encode(&[b'a'; 75]), "a".repeat(75));
        assert_eq!(
            qprint_encode(&[b'a'; 76]),
            format!("{}=\r\na", "a".repeat(75))
        );
        // Hard line breaks reset the count.
        let input = [&[b'a'; 70][..], b"\r\n", &[b'b'; 70][..]].concat();
        assert_eq!(qprint_encode(&input), String::from_utf8(input).unwrap());
    }

    #[test]
    fn qprint_decode_vectors() {
        for (input, expect) in [
            (&b"a=3Db"[..], &b"a=b"[..]),
            (b"a=3db", b"a=b"),
            (b"caf=E9", b"caf\xe9"),
            (b"soft=\r\nbreak", b"softbreak"),
            (b"soft=\nbreak", b"softbreak"),
            (b"soft=  \r\nbreak", b"softbreak"),
            (b"trail   \r\nx", b"trail\r\nx"),
            (b"trail   \nx", b"trail\nx"),
            // RFC 2045: TAB is trailing white space too (the original kept it).
            (b"trail\t \r\nx", b"trail\r\nx"),
            (b"trail   ", b"trail   "),
            (b"in  side", b"in  side"),
            (b"end=", b"end"),
            (b"=20", b" "),
            (b"a_b", b"a_b"),
            (b"", b""),
            (b"8bit \xe9", b"8bit \xe9"),
        ] {
            assert_eq!(
                qprint_decode(input).unwrap(),
                expect,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn qprint_decode_errors() {
        for (input, offset) in [
            (&b"bad=ZZ"[..], 3),
            (b"x = y", 2),
            (b"=4", 0),
            (b"ab=4g", 2),
            (b"=\0", 0),
            (b"=\rx", 0),
        ] {
            assert_eq!(
                qprint_decode(input),
                Err(CodecError::QpInvalidEscape { offset }),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(
            qprint_decode(b"bad=ZZ").unwrap_err().to_string(),
            "\"=\" at offset 3 is followed neither by two hex digits nor by a line break"
        );
    }

    #[test]
    fn every_byte_value() {
        let all = all_bytes();
        assert_eq!(base64_decode(base64_encode(&all).as_bytes()).unwrap(), all);
        assert_eq!(qprint_decode(qprint_encode(&all).as_bytes()).unwrap(), all);
    }

    proptest! {
        #[test]
        fn base64_round_trip(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let enc = base64_encode(&data);
            prop_assert_eq!(base64_decode(enc.as_bytes()).unwrap(), data.clone());
            // MIME-style line breaks every 76 characters decode the same.
            let wrapped: Vec<u8> = enc
                .as_bytes()
                .chunks(76)
                .flat_map(|c| c.iter().copied().chain(*b"\r\n"))
                .collect();
            prop_assert_eq!(base64_decode(&wrapped).unwrap(), data.clone());
            // Padding is optional.
            prop_assert_eq!(base64_decode(enc.trim_end_matches('=').as_bytes()).unwrap(), data);
        }

        #[test]
        fn base64_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = base64_decode(&data);
        }

        #[test]
        fn hex_round_trip(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let enc = hex_encode(&data);
            prop_assert_eq!(enc.len(), data.len() * 2);
            prop_assert_eq!(hex_decode(enc.as_bytes()).unwrap(), data.clone());
            prop_assert_eq!(hex_decode(enc.to_lowercase().as_bytes()).unwrap(), data);
        }

        #[test]
        fn qprint_round_trip(
            data in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(b' '), Just(b'\r'), Just(b'\n'), Just(b'=')],
                0..400,
            )
        ) {
            let qp = qprint_encode(&data);
            prop_assert!(qp.is_ascii());
            for line in qp.split("\r\n") {
                prop_assert!(line.len() <= QP_MAX_LINE, "line too long: {:?}", line);
                prop_assert!(!line.ends_with([' ', '\t']), "trailing blank: {:?}", line);
            }
            prop_assert_eq!(qprint_decode(qp.as_bytes()).unwrap(), data.clone());
            // The quoted_printable crate, as an independent decoder, agrees.
            prop_assert_eq!(
                quoted_printable::decode(qp.as_bytes(), quoted_printable::ParseMode::Strict)
                    .unwrap(),
                data
            );
        }

        #[test]
        fn qprint_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = qprint_decode(&data);
        }
    }
}

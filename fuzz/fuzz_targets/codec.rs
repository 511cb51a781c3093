//! The codecs behind `ns_smtpd encode|decode` and AUTH (src/core/codec.rs).
//!
//! Checks, with the input used both as data and as encoded text:
//! - decode(encode(x)) == x for base64, hex and quoted-printable;
//! - encoders stay in their alphabet; quoted-printable lines are at most 76 characters and
//!   never end in a blank;
//! - decoders never panic; what they accept re-encodes to text that decodes to the same
//!   bytes (hex: to the same text, ignoring case); an error's offset lies inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::codec::*;

fuzz_target!(|data: &[u8]| {
    let b64 = base64_encode(data);
    assert!(b64
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
    assert_eq!(b64.len(), data.len().div_ceil(3) * 4);
    assert_eq!(base64_decode(b64.as_bytes()).as_deref(), Ok(data));

    let hex = hex_encode(data);
    assert_eq!(hex.len(), data.len() * 2);
    assert_eq!(hex_decode(hex.as_bytes()).as_deref(), Ok(data));
    assert_eq!(
        hex_decode(hex.to_ascii_lowercase().as_bytes()).as_deref(),
        Ok(data)
    );

    let qp = qprint_encode(data);
    for line in qp.split("\r\n") {
        assert!(line.len() <= 76, "qprint line of {}: {line:?}", line.len());
        assert!(
            line.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "qprint line {line:?}"
        );
        assert!(
            !line.ends_with([' ', '\t']),
            "qprint line ends in a blank: {line:?}"
        );
    }
    assert_eq!(
        qprint_decode(qp.as_bytes()).as_deref(),
        Ok(data),
        "qprint {qp:?}"
    );

    match base64_decode(data) {
        Ok(bytes) => assert_eq!(base64_decode(base64_encode(&bytes).as_bytes()), Ok(bytes)),
        Err(e) => check_offset(&e, data.len()),
    }
    match hex_decode(data) {
        Ok(bytes) => assert!(hex_encode(&bytes).as_bytes().eq_ignore_ascii_case(data)),
        Err(e) => check_offset(&e, data.len()),
    }
    match qprint_decode(data) {
        Ok(bytes) => assert_eq!(qprint_decode(qprint_encode(&bytes).as_bytes()), Ok(bytes)),
        Err(e) => check_offset(&e, data.len()),
    }
});

fn check_offset(e: &CodecError, len: usize) {
    let offset = match *e {
        CodecError::Base64InvalidByte { offset, .. }
        | CodecError::Base64DataAfterPadding { offset }
        | CodecError::HexInvalidByte { offset, .. }
        | CodecError::QpInvalidEscape { offset } => offset,
        CodecError::Base64Length { .. } | CodecError::HexOddLength { .. } => return,
    };
    assert!(offset < len, "error offset {offset} in {len} bytes");
    let _ = e.to_string();
}

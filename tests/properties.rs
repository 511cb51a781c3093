//! Property tests for the parsers that have an oracle: codec round trips, dot-stuffing and the
//! DATA reader, reads split anywhere, address and command formatting, multi-line replies.
//! The fuzz targets in fuzz/ check the same kinds of invariants on inputs libFuzzer grows;
//! these run on every `cargo test` with generated inputs shaped like mail.
use nssmtpd::core::address::parse_address;
use nssmtpd::core::codec::*;
use nssmtpd::core::command::{parse_command, Command, Param};
use nssmtpd::core::data::{dot_stuff, BareLinePolicy, DataOutcome, DataReader, Feed};
use nssmtpd::core::server_reply::{parse_reply, ReplyParse, ServerReply};
use proptest::collection::vec;
use proptest::prelude::*;

/// Cases per property (the default is 256; these are cheap).
const CASES: u32 = 1000;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(CASES)
}

/// Bytes that make mail interesting: line ends, dots, blanks, `=`, and everything else.
fn mail_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => Just(b'\r'),
        4 => Just(b'\n'),
        4 => Just(b'.'),
        2 => Just(b' '),
        1 => Just(b'='),
        6 => any::<u8>(),
    ]
}

fn mail_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(mail_byte(), 0..max)
}

/// Reads `input` through a DataReader, cut at `cuts` (offsets, any order, out of range
/// clamped); the end as an offset into `input`.
fn read_split(
    policy: BareLinePolicy,
    input: &[u8],
    cuts: &[usize],
) -> (Option<usize>, DataOutcome) {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut reader = DataReader::new(policy, 1 << 20, 0);
    let mut start = 0;
    for p in points {
        if let Feed::Done(n) = reader.feed(&input[start..p]) {
            return (Some(start + n), reader.finish());
        }
        start = p;
    }
    (None, reader.finish())
}

/// `data` with every bare CR or LF turned into CRLF (what Normalize stores).
fn normalized(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn base64_decode_inverts_encode(data in vec(any::<u8>(), 0..300)) {
        let enc = base64_encode(&data);
        prop_assert_eq!(base64_decode(enc.as_bytes()), Ok(data.clone()));
        // MIME bodies wrap base64 at 76 characters; the decoder skips the line ends.
        let wrapped: Vec<u8> = enc.as_bytes().chunks(76).flat_map(|c| [c, b"\r\n"].concat()).collect();
        prop_assert_eq!(base64_decode(&wrapped), Ok(data));
    }

    #[test]
    fn hex_decode_inverts_encode_in_either_case(data in vec(any::<u8>(), 0..300)) {
        let enc = hex_encode(&data);
        prop_assert_eq!(hex_decode(enc.as_bytes()), Ok(data.clone()));
        prop_assert_eq!(hex_decode(enc.to_ascii_lowercase().as_bytes()), Ok(data));
    }

    #[test]
    fn qprint_decode_inverts_encode(data in mail_bytes(400)) {
        let enc = qprint_encode(&data);
        for line in enc.split("\r\n") {
            prop_assert!(line.len() <= 76, "line of {}: {:?}", line.len(), line);
            prop_assert!(!line.ends_with(' '), "line ends in a blank: {:?}", line);
        }
        prop_assert_eq!(qprint_decode(enc.as_bytes()), Ok(data));
    }

    /// A message of CRLF lines (any bytes but CR and LF in a line, leading dots included):
    /// stuffing it and reading it back is the identity, and the end is the stuffed end.
    #[test]
    fn dot_stuff_then_read_is_identity(
        lines in vec(vec(prop_oneof![3 => Just(b'.'), 7 => any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n')], 0..30), 0..12),
        next in "[A-Z ]{0,12}",
    ) {
        let msg: Vec<u8> = lines.iter().flat_map(|l| [&l[..], b"\r\n"].concat()).collect();
        let mut wire = dot_stuff(&msg);
        let end = wire.len();
        wire.extend_from_slice(next.as_bytes());
        for policy in [BareLinePolicy::Reject, BareLinePolicy::Normalize] {
            let (got_end, out) = read_split(policy, &wire, &[]);
            prop_assert_eq!(got_end, Some(end));
            prop_assert_eq!(&out.message, &msg);
            prop_assert!(!out.bare_line_ending);
        }
    }

    /// Any bytes, bare CR and LF included: stuffing writes them as CRLF lines, and
    /// reading gives the normalised message.
    #[test]
    fn dot_stuff_then_read_normalises_bare_line_ends(msg in mail_bytes(200)) {
        let wire = dot_stuff(&msg);
        let (end, out) = read_split(BareLinePolicy::Reject, &wire, &[]);
        prop_assert_eq!(end, Some(wire.len()));
        let mut expect = normalized(&msg);
        if !expect.is_empty() && !expect.ends_with(b"\r\n") {
            expect.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(out.message, expect);
        prop_assert!(!out.bare_line_ending);
    }

    /// The reader's result does not depend on how the client's bytes are cut into reads.
    #[test]
    fn data_reader_split_anywhere_agrees(
        data in mail_bytes(300),
        cuts in vec(0usize..320, 0..12),
        end_it in any::<bool>(),
        normalize in any::<bool>(),
    ) {
        let policy = if normalize { BareLinePolicy::Normalize } else { BareLinePolicy::Reject };
        let mut input = data;
        if end_it {
            input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
        }
        let (whole_end, whole) = read_split(policy, &input, &[]);
        let (split_end, split) = read_split(policy, &input, &cuts);
        // One byte per read is the hardest split.
        let every: Vec<usize> = (1..input.len()).collect();
        let (byte_end, bytewise) = read_split(policy, &input, &every);
        prop_assert_eq!(split_end, whole_end);
        prop_assert_eq!(byte_end, whole_end);
        for other in [&split, &bytewise] {
            prop_assert_eq!(&other.message, &whole.message);
            prop_assert_eq!(other.size, whole.size);
            prop_assert_eq!(other.bare_line_ending, whole.bare_line_ending);
        }
        if end_it {
            prop_assert!(whole_end.is_some());
        }
    }

    /// A parsed address written back (`"display" <"mailbox"@domain>`) parses to itself.
    #[test]
    fn address_parse_format_is_stable(s in "[a-zA-Z0-9@<>%:;,. ()\"\\\\\t-]{0,40}") {
        if let Some(a) = parse_address(&s) {
            let q = |t: &str| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""));
            let text = format!("{} <{}@{}>", q(&a.display_name), q(&a.mailbox), a.domain);
            prop_assert_eq!(parse_address(&text), Some(a.clone()), "{:?} written as {:?}", s, text);
            let again = parse_address(&a.addr());
            // Unquoted, the plain form reads back whenever the mailbox needs no quoting.
            if a.mailbox.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b)) {
                prop_assert_eq!(again.map(|b| b.addr()), Some(a.addr()));
            }
        }
    }

    /// Generated addresses with display names and comments come back in parts.
    #[test]
    fn formatted_addresses_parse_to_their_parts(
        local in "[a-zA-Z0-9][a-zA-Z0-9._+-]{0,15}",
        domain in "[a-z0-9]{1,10}(\\.[a-z]{2,6}){1,3}",
        name in "[A-Za-z][A-Za-z ]{0,15}[A-Za-z]",
    ) {
        let a = parse_address(&format!("\"{name}\" <{local}@{domain}>")).unwrap();
        prop_assert_eq!((&a.mailbox, &a.domain, &a.display_name), (&local, &domain, &name));
        let b = parse_address(&format!("{local}@{domain} ({name})")).unwrap();
        prop_assert_eq!((&b.mailbox, &b.domain, &b.display_name), (&local, &domain, &name));
        let c = parse_address(&format!("group: {local}@{domain}, x@y.z;")).unwrap();
        prop_assert_eq!(c.addr(), format!("{local}@{domain}"));
    }

    /// MAIL and RCPT lines with parameters parse to their parts, in any verb case.
    #[test]
    fn mail_and_rcpt_lines_parse_to_their_parts(
        path in "[a-zA-Z0-9.@_+-]{0,30}",
        params in vec(("[A-Za-z][A-Za-z0-9-]{0,8}", proptest::option::of("[!-~]{0,10}")), 0..4),
        rcpt in any::<bool>(),
        lower in any::<bool>(),
    ) {
        let mut line = if rcpt { format!("RCPT TO:<{path}>") } else { format!("MAIL FROM:<{path}>") };
        for (k, v) in &params {
            line.push(' ');
            line.push_str(k);
            if let Some(v) = v {
                line.push('=');
                line.push_str(v);
            }
        }
        if lower {
            line = line[..4].to_ascii_lowercase() + &line[4..];
        }
        let expect_params: Vec<Param> = params
            .iter()
            .map(|(k, v)| Param { keyword: k.to_ascii_uppercase(), value: v.clone() })
            .collect();
        let expect = if rcpt {
            Command::Rcpt { path: path.clone(), params: expect_params }
        } else {
            Command::Mail { path: path.clone(), params: expect_params }
        };
        prop_assert_eq!(parse_command(&line), expect);
    }

    /// A multi-line reply comes back whole, and the same, however much of it has arrived.
    #[test]
    fn multi_line_replies_parse_back(
        code in 200u16..600,
        lines in vec("[ -~]{0,40}", 1..8),
        lf_only in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let eol = if lf_only { "\n" } else { "\r\n" };
        let mut wire = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            wire.push_str(&format!("{code}{sep}{l}{eol}"));
        }
        let used = wire.len();
        wire.push_str("250 next reply\r\n");
        let expect = ServerReply { code, lines: lines.clone() };
        prop_assert_eq!(parse_reply(wire.as_bytes()), ReplyParse::Done(expect, used));
        let at = cut.index(used);
        prop_assert_eq!(parse_reply(&wire.as_bytes()[..at]), ReplyParse::Incomplete);
    }
}

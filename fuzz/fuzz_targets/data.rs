//! The DATA reader (src/core/data.rs): the end-of-data and dot-stuffing state machine that
//! decides where a message ends (SMTP smuggling) and what is stored, and its BDAT form
//! (chunks: no stuffing, no end marker).
//!
//! Input: byte 0 picks DATA or BDAT, the policy and limits, byte 1 how the rest is cut into
//! reads, the rest is what the client sends after `DATA` (or the chunks' bytes).
//!
//! Checks, against an independent model of RFC 5321 §4.5.2 written for this target:
//! - the message ends exactly after the first `CRLF . CRLF` (the DATA command's CRLF counts),
//!   nowhere else, whatever bare CR or LF come before; a BDAT message never ends by itself,
//!   keeps its dots, and gets a CRLF after a last line that has none;
//! - the stored message, size, and the bare-line-ending, too-big and line-too-long flags are
//!   the model's;
//! - cutting the input into any reads gives the same result as one read;
//! - Normalize never stores a bare CR or LF; Reject stores one only when it flags the
//!   message (which is then refused);
//! - dot-stuffing the stored message and reading it again gives it back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::chunks;
use nssmtpd_fuzz::core::data::{dot_stuff, BareLinePolicy, DataOutcome, DataReader, Feed};

/// DATA (dot-stuffed, ends at `CRLF . CRLF`) or BDAT (the bytes as they are).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Data,
    Bdat,
}

const SIZES: [u64; 4] = [u64::MAX, 0, 16, 1 << 20];
const LINES: [usize; 4] = [0, 1, 8, 998];

fuzz_target!(|data: &[u8]| {
    let (Some(&config), Some(&cut)) = (data.first(), data.get(1)) else {
        return;
    };
    let input = &data[2..];
    let policy = if config & 1 == 0 {
        BareLinePolicy::Reject
    } else {
        BareLinePolicy::Normalize
    };
    let max_size = SIZES[usize::from(config >> 1) & 3];
    let max_line = LINES[usize::from(config >> 3) & 3];
    let mode = if config & 0x20 == 0 {
        Mode::Data
    } else {
        Mode::Bdat
    };

    let (end, whole) = read(mode, policy, max_size, max_line, &[input]);
    let model = Model::run(mode, policy, max_size, max_line, input);
    assert_eq!(end, model.end, "end of data");
    assert_eq!(whole.message, model.message, "stored message");
    assert_eq!(whole.size, model.size, "size");
    assert_eq!(whole.bare_line_ending, model.bare, "bare line ending flag");
    assert_eq!(whole.too_big, model.size > max_size, "too big flag");
    assert_eq!(
        whole.line_too_long, model.line_too_long,
        "line too long flag"
    );

    let (split_end, split) = read(mode, policy, max_size, max_line, &chunks(input, cut));
    assert_eq!(split_end, end, "end of data with split reads");
    assert_eq!(split.message, whole.message, "message with split reads");
    assert_eq!(
        (
            split.size,
            split.bare_line_ending,
            split.too_big,
            split.line_too_long
        ),
        (
            whole.size,
            whole.bare_line_ending,
            whole.too_big,
            whole.line_too_long
        ),
        "flags with split reads"
    );

    if policy == BareLinePolicy::Normalize || !whole.bare_line_ending {
        assert!(
            crlf_only(&whole.message),
            "bare CR or LF stored: {:?}",
            whole.message
        );
    }
    // A finished message (DATA that ended, or any BDAT one) relayed with DATA reads back.
    if (end.is_some() || mode == Mode::Bdat) && !whole.too_big && crlf_only(&whole.message) {
        let wire = dot_stuff(&whole.message);
        let (again_end, again) = read(Mode::Data, policy, u64::MAX, 0, &[&wire]);
        assert_eq!(
            again_end,
            Some(wire.len()),
            "restuffed message ends early or late"
        );
        assert_eq!(
            again.message, whole.message,
            "restuffed message reads back differently"
        );
        assert!(!again.bare_line_ending);
    }
});

/// Feeds `reads` in order until the reader reports the end; the end as an offset into their
/// concatenation.
fn read(
    mode: Mode,
    policy: BareLinePolicy,
    max_size: u64,
    max_line: usize,
    reads: &[&[u8]],
) -> (Option<usize>, DataOutcome) {
    let mut reader = match mode {
        Mode::Data => DataReader::new(policy, max_size, max_line),
        Mode::Bdat => DataReader::chunked(policy, max_size, max_line),
    };
    let mut offset = 0;
    for piece in reads {
        if let Feed::Done(n) = reader.feed(piece) {
            assert!(
                n <= piece.len() && n > 0,
                "Done({n}) for a read of {}",
                piece.len()
            );
            return (Some(offset + n), reader.finish());
        }
        offset += piece.len();
    }
    (None, reader.finish())
}

/// True if every CR is followed by LF and every LF preceded by CR.
fn crlf_only(m: &[u8]) -> bool {
    m.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => m.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && m[i - 1] == b'\r',
        _ => true,
    })
}

/// The reference: a token-by-token reading of the input, written from the rules rather than
/// from the reader's states.
struct Model {
    end: Option<usize>,
    message: Vec<u8>,
    size: u64,
    bare: bool,
    line_too_long: bool,
}

impl Model {
    fn run(
        mode: Mode,
        policy: BareLinePolicy,
        max_size: u64,
        max_line: usize,
        input: &[u8],
    ) -> Model {
        // The DATA command's own CRLF precedes the input, so `.CRLF` first thing ends it too.
        let mut framed = b"\r\n".to_vec();
        framed.extend_from_slice(input);
        let end = match mode {
            Mode::Data => framed
                .windows(5)
                .position(|w| w == b"\r\n.\r\n")
                .map(|i| i + 3),
            Mode::Bdat => None,
        };
        // The content: everything before the final `.CRLF`.
        let body = match end {
            Some(e) => &input[..e - 3],
            None => input,
        };
        let mut out = Vec::new();
        let mut bare = false;
        let mut too_long = false;
        let mut line_len = 0usize;
        let mut at_line_start = true;
        // Whether the last line has content and no line break yet (BDAT completes it).
        let mut open_line = false;
        let mut i = 0;
        while i < body.len() {
            let b = body[i];
            if at_line_start && b == b'.' && mode == Mode::Data {
                // Stuffing: a dot that starts a line is removed.
                at_line_start = false;
                i += 1;
                continue;
            }
            at_line_start = false;
            if b == b'\r' && body.get(i + 1) == Some(&b'\n') {
                too_long |= max_line > 0 && line_len > max_line;
                out.extend_from_slice(b"\r\n");
                line_len = 0;
                at_line_start = true;
                open_line = false;
                i += 2;
                continue;
            }
            let last_cr = b == b'\r' && i + 1 == body.len() && end.is_none();
            if last_cr && mode == Mode::Data {
                // A CR at the very end of an unfinished input: still waiting for its LF.
                break;
            }
            if b == b'\r' || b == b'\n' {
                // Bare (in BDAT also a CR that ends the message): never a line start, so a
                // following dot is data.
                bare = true;
                match policy {
                    BareLinePolicy::Normalize => {
                        too_long |= max_line > 0 && line_len > max_line;
                        out.extend_from_slice(b"\r\n");
                        line_len = 0;
                        open_line = false;
                    }
                    BareLinePolicy::Reject => {
                        out.push(b'\n');
                        line_len += 1;
                        open_line = !last_cr;
                    }
                }
                i += 1;
                continue;
            }
            out.push(b);
            line_len += 1;
            open_line = true;
            i += 1;
        }
        if mode == Mode::Bdat && open_line {
            too_long |= max_line > 0 && line_len > max_line;
            out.extend_from_slice(b"\r\n");
            line_len = 0;
        }
        too_long |= max_line > 0 && line_len > max_line;
        let size = out.len() as u64;
        if size > max_size {
            out.clear();
        }
        Model {
            end,
            message: out,
            size,
            bare,
            line_too_long: too_long,
        }
    }
}

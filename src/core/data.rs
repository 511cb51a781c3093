//! The DATA reader: a byte-level state machine that ends a message only at `CRLF . CRLF`,
//! removes dot-stuffing, and records bare CR / bare LF, size and line-length violations.
//!
//! Bare CR or LF never starts a line: a `.` after them is ordinary data, so no
//! `<LF>.<LF>`-style sequence can end the message early (SMTP smuggling).

/// What to do with a bare CR or LF in message data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareLinePolicy {
    /// Keep reading, then refuse the message after its end (`550 5.6.0`).
    Reject,
    /// Store a bare CR or LF as CRLF.
    Normalize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CRLF, or right after the DATA command).
    LineStart,
    /// `.` seen at the start of a line.
    Dot,
    /// `.` CR seen at the start of a line.
    DotCr,
    /// Inside a line.
    Mid,
    /// CR seen inside a line.
    Cr,
}

/// Result of feeding input to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// All input was consumed; the message goes on.
    NeedMore,
    /// The message ended; this many bytes of the input belonged to it (the rest is the
    /// next command and must be kept).
    Done(usize),
}

/// A line ending that is not CRLF.
#[derive(Clone, Copy)]
enum Bare {
    Lf,
    Cr,
}

/// The message once its end was seen.
#[derive(Debug, Default)]
pub struct DataOutcome {
    /// The unstuffed message (empty beyond `max_size`).
    pub message: Vec<u8>,
    /// Bytes of message content seen (also beyond the limit).
    pub size: u64,
    pub bare_line_ending: bool,
    /// Which kinds those were: a LF without CR before it, a CR without LF after it.
    pub bare_lf: bool,
    pub bare_cr: bool,
    pub too_big: bool,
    pub line_too_long: bool,
}

#[derive(Debug)]
pub struct DataReader {
    state: State,
    policy: BareLinePolicy,
    max_size: u64,
    max_line: usize,
    line_len: usize,
    /// BDAT chunks (RFC 3030): no dot-stuffing and no end marker; the caller ends it.
    chunked: bool,
    out: DataOutcome,
}

impl DataReader {
    /// `max_size`: bytes stored at most (more is counted and refused); `max_line`: longest
    /// line in bytes without CRLF (0 = no limit).
    pub fn new(policy: BareLinePolicy, max_size: u64, max_line: usize) -> Self {
        DataReader {
            state: State::LineStart,
            policy,
            max_size,
            max_line,
            line_len: 0,
            chunked: false,
            out: DataOutcome::default(),
        }
    }

    /// A reader for a message sent in BDAT chunks: the bytes are the message itself (a
    /// leading `.` is data), and `finish` ends it. Line endings are checked as for DATA.
    pub fn chunked(policy: BareLinePolicy, max_size: u64, max_line: usize) -> Self {
        DataReader {
            chunked: true,
            ..DataReader::new(policy, max_size, max_line)
        }
    }

    /// Stores `bytes` ahead of the message (our trace header); they do not count against
    /// the size limit.
    pub fn prefix(&mut self, bytes: &[u8]) {
        self.out.message.extend_from_slice(bytes);
    }

    /// Consumes input up to the end of the message.
    pub fn feed(&mut self, input: &[u8]) -> Feed {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Mid {
                // Fast path: copy everything up to the next CR or LF at once.
                let run = input[i..]
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(input.len() - i);
                if run > 0 {
                    self.emit(&input[i..i + run]);
                    i += run;
                    continue;
                }
            }
            let b = input[i];
            i += 1;
            if self.step(b) {
                return Feed::Done(i);
            }
        }
        Feed::NeedMore
    }

    /// Processes one byte; true at the end of the message.
    fn step(&mut self, b: u8) -> bool {
        match self.state {
            State::LineStart => match b {
                b'.' if !self.chunked => self.state = State::Dot,
                b'\r' => self.state = State::Cr,
                b'\n' => self.bare(Bare::Lf),
                _ => {
                    self.emit(&[b]);
                    self.state = State::Mid;
                }
            },
            State::Dot => {
                if b == b'\r' {
                    self.state = State::DotCr;
                } else {
                    // The leading dot was stuffing (or a client's mistake): drop it.
                    self.state = State::Mid;
                    return self.step(b);
                }
            }
            State::DotCr => {
                if b == b'\n' {
                    return true;
                }
                // `.` CR x: the CR was bare.
                self.bare(Bare::Cr);
                return self.step(b);
            }
            State::Mid => match b {
                b'\r' => self.state = State::Cr,
                b'\n' => self.bare(Bare::Lf),
                _ => self.emit(&[b]),
            },
            State::Cr => match b {
                b'\n' => {
                    self.end_line();
                    self.emit(b"\r\n");
                    self.state = State::LineStart;
                    self.line_len = 0;
                }
                b'\r' => {
                    self.bare(Bare::Cr);
                    self.state = State::Cr;
                }
                _ => {
                    self.bare(Bare::Cr);
                    return self.step(b);
                }
            },
        }
        false
    }

    /// A bare CR or LF: recorded, stored per policy; what follows is never a line start.
    fn bare(&mut self, kind: Bare) {
        self.out.bare_line_ending = true;
        match kind {
            Bare::Lf => self.out.bare_lf = true,
            Bare::Cr => self.out.bare_cr = true,
        }
        match self.policy {
            BareLinePolicy::Normalize => {
                self.end_line();
                self.emit(b"\r\n");
                self.line_len = 0;
            }
            BareLinePolicy::Reject => self.emit(b"\n"),
        }
        self.state = State::Mid;
    }

    fn end_line(&mut self) {
        if self.max_line > 0 && self.line_len > self.max_line {
            self.out.line_too_long = true;
        }
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.out.size += bytes.len() as u64;
        if bytes != b"\r\n" {
            self.line_len += bytes.len();
        }
        if self.out.size > self.max_size {
            self.out.too_big = true;
            // Stop storing but keep reading to the end, so the session stays in step.
            if !self.out.message.is_empty() {
                self.out.message = Vec::new();
            }
            return;
        }
        self.out.message.extend_from_slice(bytes);
    }

    /// The message, after `feed` returned `Done`.
    pub fn finish(mut self) -> DataOutcome {
        if self.chunked {
            match self.state {
                // A final CR without its LF is bare.
                State::Cr => self.bare(Bare::Cr),
                // A last line without CRLF gets one: the next hop speaks DATA. After a bare
                // LF that Normalize already stored as CRLF the line is empty: nothing to add
                // (found by fuzzing: `a<LF>` became `a<CRLF><CRLF>`).
                State::Mid if self.line_len > 0 => {
                    self.end_line();
                    self.emit(b"\r\n");
                }
                _ => {}
            }
        }
        self.end_line();
        self.out
    }
}

/// Dot-stuffs a message for the wire and terminates it: every line starting with `.` gets a
/// second one, bare CR and LF become CRLF, and `CRLF . CRLF` ends it.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                // CRLF counts once; a bare CR or LF becomes a line end of its own.
                if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            _ => {
                if at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(policy: BareLinePolicy, input: &[u8]) -> (Option<usize>, DataOutcome) {
        let mut r = DataReader::new(policy, 1 << 20, 0);
        match r.feed(input) {
            Feed::Done(n) => (Some(n), r.finish()),
            Feed::NeedMore => (None, r.finish()),
        }
    }

    #[test]
    fn chunked_keeps_dots_and_never_ends() {
        let mut r = DataReader::chunked(BareLinePolicy::Reject, 1 << 20, 0);
        assert_eq!(r.feed(b"Subject: x\r\n\r\n.\r\n..b"), Feed::NeedMore);
        assert_eq!(r.feed(b"ody\r\n.\r\n"), Feed::NeedMore);
        let out = r.finish();
        assert_eq!(out.message, b"Subject: x\r\n\r\n.\r\n..body\r\n.\r\n");
        assert!(!out.bare_line_ending);
        // A last line without CRLF is completed; a bare LF or a final lone CR is bare.
        let mut r = DataReader::chunked(BareLinePolicy::Reject, 1 << 20, 0);
        r.feed(b"a\r\nlast");
        assert_eq!(r.finish().message, b"a\r\nlast\r\n");
        for bad in [&b"a\nb\r\n"[..], b"a\r\nb\r"] {
            let mut r = DataReader::chunked(BareLinePolicy::Reject, 1 << 20, 0);
            r.feed(bad);
            assert!(r.finish().bare_line_ending);
        }
        let mut r = DataReader::chunked(BareLinePolicy::Reject, 4, 0);
        r.feed(b"123456\r\n");
        assert!(r.finish().too_big);
    }

    #[test]
    fn chunked_bare_line_end_at_the_end_is_one_line_end() {
        for (input, expect) in [
            (&b"a\n"[..], &b"a\r\n"[..]),
            (b"a\r", b"a\r\n"),
            (b"a\nb", b"a\r\nb\r\n"),
        ] {
            let mut r = DataReader::chunked(BareLinePolicy::Normalize, 1 << 20, 0);
            r.feed(input);
            let out = r.finish();
            assert_eq!(out.message, expect, "{input:?}");
            assert!(out.bare_line_ending);
        }
    }

    #[test]
    fn ends_only_at_crlf_dot_crlf() {
        let (end, out) = read_all(
            BareLinePolicy::Reject,
            b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
        );
        assert_eq!(end, Some(23));
        assert_eq!(out.message, b"Subject: x\r\n\r\nbody\r\n");
        assert!(!out.bare_line_ending);
        let (end, out) = read_all(BareLinePolicy::Reject, b".\r\n");
        assert_eq!(end, Some(3));
        assert!(out.message.is_empty());
    }

    #[test]
    fn unstuffs_leading_dots() {
        let (_, out) = read_all(BareLinePolicy::Reject, b"..a\r\n...\r\n.b\r\n.\r\n");
        assert_eq!(out.message, b".a\r\n..\r\nb\r\n");
    }

    #[test]
    fn smuggling_sequences_never_end_the_message() {
        let fakes: &[&[u8]] = &[
            b"\n.\n",
            b"\r.\r",
            b"\r.\n",
            b"\n.\r",
            b"\n.\r\n",
            b"\r\n.\n",
            b"\r.\r\n",
            b"\r\n.\r",
            b"\r\n\x00.\r\n",
            b"\r\n.\x00\r\n",
            b"\r\n.\r\r\n",
            b"\r\r\n.\r\r\n",
        ];
        for fake in fakes {
            let mut input = b"text".to_vec();
            input.extend_from_slice(fake);
            input.extend_from_slice(
                b"MAIL FROM:<x@y>\r\nRCPT TO:<smuggled@z>\r\nDATA\r\nevil\r\n.\r\n",
            );
            let (end, _) = read_all(BareLinePolicy::Normalize, &input);
            assert_eq!(
                end,
                Some(input.len()),
                "fake end {fake:?} ended the message"
            );
        }
    }

    #[test]
    fn bare_lf_and_bare_cr_are_told_apart() {
        let read = |input: &[u8]| {
            let mut r = DataReader::new(BareLinePolicy::Normalize, u64::MAX, 0);
            assert!(matches!(r.feed(input), Feed::Done(_)));
            let out = r.finish();
            (out.bare_lf, out.bare_cr)
        };
        assert_eq!(read(b"a\nb\r\n.\r\n"), (true, false));
        assert_eq!(read(b"a\rb\r\n.\r\n"), (false, true));
        assert_eq!(read(b"a\r\rb\r\n.\r\n"), (false, true));
        assert_eq!(read(b"a\rb\nc\r\n.\r\n"), (true, true));
        assert_eq!(read(b"a\r\n.\r\n"), (false, false));
    }

    #[test]
    fn bare_line_endings_are_flagged_and_normalised() {
        let (_, out) = read_all(BareLinePolicy::Normalize, b"a\nb\rc\r\n.\r\n");
        assert!(out.bare_line_ending);
        assert_eq!(out.message, b"a\r\nb\r\nc\r\n");
        let (_, out) = read_all(BareLinePolicy::Reject, b"a\nb\r\n.\r\n");
        assert!(out.bare_line_ending);
        // After a bare LF a dot is data, not stuffing.
        let (_, out) = read_all(BareLinePolicy::Normalize, b"a\n.b\r\n.\r\n");
        assert_eq!(out.message, b"a\r\n.b\r\n");
    }

    #[test]
    fn size_limit_reads_to_the_end() {
        let mut r = DataReader::new(BareLinePolicy::Reject, 10, 0);
        assert_eq!(r.feed(b"0123456789abcdef\r\n"), Feed::NeedMore);
        assert_eq!(r.feed(b".\r\nNOOP\r\n"), Feed::Done(3));
        let out = r.finish();
        assert!(out.too_big);
        assert!(out.message.is_empty());
        assert_eq!(out.size, 18);
    }

    #[test]
    fn long_lines_are_flagged() {
        let mut r = DataReader::new(BareLinePolicy::Reject, 1000, 4);
        assert_eq!(r.feed(b"12345\r\n.\r\n"), Feed::Done(10));
        assert!(r.finish().line_too_long);
        let mut r = DataReader::new(BareLinePolicy::Reject, 1000, 5);
        r.feed(b"12345\r\n.\r\n");
        assert!(!r.finish().line_too_long);
    }

    #[test]
    fn stuffing_examples() {
        assert_eq!(dot_stuff(b".a\r\nb"), b"..a\r\nb\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
        assert_eq!(dot_stuff(b"x\r\n"), b"x\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\n.\nb\r.\r"), b"a\r\n..\r\nb\r\n..\r\n.\r\n");
    }

    proptest! {
        /// Stuffing then reading gives the message back (with line endings as CRLF).
        #[test]
        fn stuff_then_read_is_identity(lines in proptest::collection::vec("[ -~]{0,20}", 0..8)) {
            let msg: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
            let wire = dot_stuff(&msg);
            let (end, out) = read_all(BareLinePolicy::Reject, &wire);
            prop_assert_eq!(end, Some(wire.len()));
            prop_assert_eq!(out.message, msg);
        }

        /// Any split of the input into reads gives the same result.
        #[test]
        fn split_reads_agree(data in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')], 0..64), cuts in proptest::collection::vec(0usize..70, 0..6)) {
            let mut input = data.clone();
            input.extend_from_slice(b"\r\n.\r\n");
            let (whole_end, whole) = read_all(BareLinePolicy::Normalize, &input);
            let mut r = DataReader::new(BareLinePolicy::Normalize, 1 << 20, 0);
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            points.push(input.len());
            points.sort();
            let mut start = 0;
            let mut end = None;
            for p in points {
                if end.is_some() || p < start { continue; }
                if let Feed::Done(n) = r.feed(&input[start..p]) { end = Some(start + n); }
                start = p;
            }
            let parts = r.finish();
            prop_assert_eq!(end, whole_end);
            prop_assert_eq!(parts.message, whole.message);
        }
    }
}

//! Conversion between Tcl's internal string form and Rust strings.
//!
//! Tcl stores NUL as the two bytes C0 80 and, in 8.6, characters beyond the BMP as
//! surrogate pairs encoded separately (CESU-8). Both are mapped here so Rust code sees
//! plain UTF-8 and Tcl gets its canonical form back.

/// Tcl's internal bytes → Rust `String` (invalid sequences become U+FFFD).
pub fn from_tcl(bytes: &[u8]) -> String {
    if bytes.is_ascii() {
        // The common case: no conversion at all.
        return String::from_utf8(bytes.to_vec()).unwrap_or_default();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0xC0 && bytes.get(i + 1) == Some(&0x80) {
            out.push(0);
            i += 2;
        } else if let Some(c) = surrogate_pair(&bytes[i..]) {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            i += 6;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn surrogate_pair(b: &[u8]) -> Option<char> {
    if b.len() < 6 || b[0] != 0xED || b[3] != 0xED {
        return None;
    }
    let unit = |x: &[u8]| -> u32 {
        (u32::from(x[0] & 0x0F) << 12) | (u32::from(x[1] & 0x3F) << 6) | u32::from(x[2] & 0x3F)
    };
    let (hi, lo) = (unit(&b[0..3]), unit(&b[3..6]));
    if !(0xD800..0xDC00).contains(&hi) || !(0xDC00..0xE000).contains(&lo) {
        return None;
    }
    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
}

/// Rust `str` → bytes for `Tcl_NewStringObj`: NUL becomes C0 80.
pub fn to_tcl(s: &str) -> std::borrow::Cow<'_, [u8]> {
    if !s.as_bytes().contains(&0) {
        return std::borrow::Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len() + 4);
    for &b in s.as_bytes() {
        if b == 0 {
            out.extend_from_slice(&[0xC0, 0x80]);
        } else {
            out.push(b);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_round_trip() {
        assert_eq!(from_tcl(&[b'a', 0xC0, 0x80, b'b']), "a\0b");
        assert_eq!(&*to_tcl("a\0b"), &[b'a', 0xC0, 0x80, b'b']);
    }

    #[test]
    fn cesu_surrogates() {
        // U+1F600 as a CESU-8 surrogate pair.
        let cesu = [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80];
        assert_eq!(from_tcl(&cesu), "\u{1F600}");
        assert_eq!(from_tcl("é".as_bytes()), "é");
    }
}

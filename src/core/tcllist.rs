//! Tcl lists in option values: options come from a NaviServer config section or `configure`
//! as plain text, and a list in them must mean what the same text means to Tcl.

/// Splits a Tcl list (braces, double quotes and backslashes as Tcl reads them) into its
/// elements, so the option's text means what the same text means in Tcl.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let blank = |c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r';
    loop {
        while i < chars.len() && blank(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            return Ok(out);
        }
        let mut word = String::new();
        match chars[i] {
            '{' => {
                let mut depth = 1;
                i += 1;
                while i < chars.len() {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            word.push('\\');
                            word.push(chars[i + 1]);
                            i += 2;
                            continue;
                        }
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    word.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("unmatched open brace in list".into());
                }
                i += 1;
                if i < chars.len() && !blank(chars[i]) {
                    return Err("list element in braces followed by text".into());
                }
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i = backslash_or_char(&chars, i, &mut word);
                }
                if i >= chars.len() {
                    return Err("unmatched open quote in list".into());
                }
                i += 1;
                if i < chars.len() && !blank(chars[i]) {
                    return Err("list element in quotes followed by text".into());
                }
            }
            _ => {
                while i < chars.len() && !blank(chars[i]) {
                    i = backslash_or_char(&chars, i, &mut word);
                }
            }
        }
        out.push(word);
    }
}

/// One character of a bare or quoted word, a backslash sequence taken as Tcl would.
fn backslash_or_char(chars: &[char], i: usize, word: &mut String) -> usize {
    if chars[i] != '\\' || i + 1 >= chars.len() {
        word.push(chars[i]);
        return i + 1;
    }
    word.push(match chars[i + 1] {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    });
    i + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcl_lists_split_as_tcl_does() {
        assert_eq!(
            split(" a {b {c d}} \"e f\" g\\ h ").unwrap(),
            vec!["a", "b {c d}", "e f", "g h"]
        );
        assert!(split("{a}b").is_err());
        assert!(split("\"a").is_err());
    }
}

//! HELO styles, after ZMailer's `smtpserver.conf`: rules of a glob pattern matched against
//! the client's HELO/EHLO name, and either style letters for that client or `!text`, a
//! refusal. The first rule that matches wins.
//!
//! A rule is `pattern [maxloadavg] letters` or `pattern !text`; `#` starts a comment line.
//! Letters turn checks on for the session (absent letters leave the configuration alone):
//! `v` VRFY checks, `e` EXPN answers, `R` strict paths, `h` HELO syntax checks, `f` the
//! sender's domain must resolve, `S` sloppy input tolerated (no strict paths, no HELO
//! check, bare line endings normalized), `t` recipients checked (always so here).
use std::fmt;

/// What a matching rule turns on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StyleFlags {
    pub vrfy: bool,
    pub expn: bool,
    pub strict: bool,
    pub helocheck: bool,
    pub check_sender_domain: bool,
    pub sloppy: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StyleAction {
    Style {
        flags: StyleFlags,
        /// Above this one-minute load average, clients of this style are turned away.
        max_load: Option<f64>,
    },
    /// `!text`: HELO/EHLO is refused with this text.
    Refuse(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StyleRule {
    pub pattern: String,
    pub action: StyleAction,
}

/// The rules in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeloStyles {
    rules: Vec<StyleRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyleError {
    pub line: usize,
    pub why: String,
}

impl fmt::Display for StyleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: {}", self.line, self.why)
    }
}

impl HeloStyles {
    /// Rules one per line (a file's text), or a Tcl list whose elements are rules.
    pub fn parse(text: &str) -> Result<HeloStyles, StyleError> {
        let lines: Vec<String> = if text.contains('\n') || !text.trim_start().starts_with('{') {
            text.lines().map(str::to_string).collect()
        } else {
            crate::core::tcllist::split(text).map_err(|why| StyleError { line: 1, why })?
        };
        let mut rules = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            rules.push(parse_rule(line).map_err(|why| StyleError { line: i + 1, why })?);
        }
        Ok(HeloStyles { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule whose pattern matches `helo` (case-insensitively).
    pub fn find(&self, helo: &str) -> Option<&StyleRule> {
        let helo = helo.to_ascii_lowercase();
        self.rules
            .iter()
            .find(|r| glob_match(&r.pattern.to_ascii_lowercase(), &helo))
    }

    /// This style set followed by `more` (inline rules first, then a file's).
    pub fn then(mut self, more: HeloStyles) -> HeloStyles {
        self.rules.extend(more.rules);
        self
    }
}

fn parse_rule(line: &str) -> Result<StyleRule, String> {
    let (pattern, rest) = match line.split_once(char::is_whitespace) {
        Some((p, r)) => (p, r.trim()),
        None => return Err(format!("\"{line}\" has no style letters or !text")),
    };
    if let Some(text) = rest.strip_prefix('!') {
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("\"{line}\": the refusal text after ! is empty"));
        }
        return Ok(StyleRule {
            pattern: pattern.to_string(),
            action: StyleAction::Refuse(text.to_string()),
        });
    }
    let mut words = rest.split_whitespace();
    let mut letters = words.next().unwrap_or("");
    let mut max_load = None;
    if let Ok(load) = letters.parse::<f64>() {
        if load.is_nan() || load < 0.0 {
            return Err(format!("\"{line}\": bad load average"));
        }
        max_load = Some(load);
        letters = words.next().unwrap_or("");
    }
    if let Some(extra) = words.next() {
        return Err(format!("\"{line}\": unexpected \"{extra}\""));
    }
    let mut flags = StyleFlags::default();
    for c in letters.chars() {
        match c {
            'v' => flags.vrfy = true,
            'e' => flags.expn = true,
            'R' => flags.strict = true,
            'h' => flags.helocheck = true,
            'f' => flags.check_sender_domain = true,
            'S' => flags.sloppy = true,
            't' => {}
            other => {
                return Err(format!(
                    "\"{line}\": unknown style letter \"{other}\" (must be v, e, R, h, f, S, or t)"
                ))
            }
        }
    }
    Ok(StyleRule {
        pattern: pattern.to_string(),
        action: StyleAction::Style { flags, max_load },
    })
}

/// `*` any run of characters, `?` one character; everything else literal.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(letters: &str) -> StyleAction {
        match parse_rule(&format!("x {letters}")).unwrap().action {
            a @ StyleAction::Style { .. } => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn globs() {
        let cases = [
            ("*", "anything", true),
            ("*", "", true),
            ("*.example.com", "mx.example.com", true),
            ("*.example.com", "example.com", false),
            ("mx?.example", "mx1.example", true),
            ("mx?.example", "mx12.example", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("[127.0.0.1]", "[127.0.0.1]", true),
            ("exact", "exactly", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "{p} ~ {t}");
        }
    }

    #[test]
    fn rules_and_letters() {
        let flags = |f: StyleFlags| StyleAction::Style {
            flags: f,
            max_load: None,
        };
        assert_eq!(
            style("ve"),
            flags(StyleFlags {
                vrfy: true,
                expn: true,
                ..Default::default()
            })
        );
        assert_eq!(
            style("ftveR"),
            flags(StyleFlags {
                vrfy: true,
                expn: true,
                strict: true,
                check_sender_domain: true,
                ..Default::default()
            })
        );
        assert_eq!(
            style("S"),
            flags(StyleFlags {
                sloppy: true,
                ..Default::default()
            })
        );
        assert_eq!(
            style("h"),
            flags(StyleFlags {
                helocheck: true,
                ..Default::default()
            })
        );
        assert_eq!(
            style("999 ve"),
            StyleAction::Style {
                flags: StyleFlags {
                    vrfy: true,
                    expn: true,
                    ..Default::default()
                },
                max_load: Some(999.0)
            }
        );
        assert_eq!(
            parse_rule("bad.* !No mail from you").unwrap().action,
            StyleAction::Refuse("No mail from you".into())
        );
        for bad in ["lonely", "x !", "x vq", "x 5 ve extra", "x -1 v"] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn first_match_wins_case_insensitively() {
        let text = "# ZMailer's example, translated\n\
                    localhost        999 ftveR\n\
                    *.PIZZA          !NO HOSTS FROM PIZZA\n\
                    \n\
                    *                5 ve\n";
        let styles = HeloStyles::parse(text).unwrap();
        let action = |h: &str| styles.find(h).map(|r| r.action.clone());
        assert!(
            matches!(action("LocalHost"), Some(StyleAction::Style { max_load: Some(l), .. }) if l == 999.0)
        );
        assert_eq!(
            action("x.pizza"),
            Some(StyleAction::Refuse("NO HOSTS FROM PIZZA".into()))
        );
        assert!(
            matches!(action("mx.example"), Some(StyleAction::Style { max_load: Some(l), .. }) if l == 5.0)
        );
        assert_eq!(HeloStyles::parse("a.b S").unwrap().find("c.d"), None);
    }

    #[test]
    fn list_form_and_errors() {
        let styles = HeloStyles::parse("{*.example.com ve} {bad* !Go away now}").unwrap();
        assert_eq!(
            styles.find("BAD.host").map(|r| &r.action),
            Some(&StyleAction::Refuse("Go away now".into()))
        );
        assert!(styles.find("mx.example.com").is_some());
        let e = HeloStyles::parse("ok v\n# c\nbroken").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(
            e.to_string(),
            "rule 3: \"broken\" has no style letters or !text"
        );
        assert!(HeloStyles::parse("{a v").is_err());
        assert!(HeloStyles::parse("").unwrap().is_empty());
        assert!(HeloStyles::parse("  \n# only comments\n")
            .unwrap()
            .is_empty());
        let joined = HeloStyles::parse("a v")
            .unwrap()
            .then(HeloStyles::parse("* !no").unwrap());
        assert!(matches!(
            joined.find("a").unwrap().action,
            StyleAction::Style { .. }
        ));
        assert!(matches!(
            joined.find("b").unwrap().action,
            StyleAction::Refuse(_)
        ));
    }
}

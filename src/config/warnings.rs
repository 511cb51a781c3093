//! Values that work but undercut what RFC 5321 asks of a server: accepted (test setups and
//! the C module's users rely on small limits), and named in a warning at start.
use super::ServerConfig;

/// RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients.
const RFC_MIN_RECIPIENTS: usize = 100;
/// RFC 5321 §4.5.3.1.7 sets no message size, but 64 KB is the least any mail system expects.
const REASONABLE_MIN_MESSAGE: u64 = 65_536;

impl ServerConfig {
    /// One line per value below what the RFC (or common practice) expects.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.maxrcpt < RFC_MIN_RECIPIENTS {
            out.push(format!(
                "maxrcpt {} is below RFC 5321's minimum of {RFC_MIN_RECIPIENTS} recipients (§4.5.3.1.8)",
                self.maxrcpt
            ));
        }
        if self.maxdata < REASONABLE_MIN_MESSAGE {
            out.push(format!(
                "maxdata {} refuses messages larger than {} bytes, which most mail exceeds",
                self.maxdata, self.maxdata
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::ServerConfig;

    #[test]
    fn small_limits_are_accepted_with_a_warning() {
        let mut c = ServerConfig::default();
        assert!(c.warnings().is_empty());
        c.set("maxrcpt", "3").unwrap();
        c.set("maxdata", "16384").unwrap();
        let w = c.warnings();
        assert_eq!(w.len(), 2);
        assert!(w[0].contains("maxrcpt 3 is below RFC 5321's minimum of 100"));
        assert!(w[1].contains("maxdata 16384"));
    }
}

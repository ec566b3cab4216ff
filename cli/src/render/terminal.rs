//! Terminal safety and colour.
//!
//! Paths, members, messages and evidence come from the scanned files, so an attacker controls
//! them. Before they reach a terminal, control characters (escape sequences, carriage returns
//! that overwrite a line, newlines that forge extra lines) and invisible or bidirectional
//! formatting characters (which can make `os.system` read as something else) are escaped.

use core::fmt::Write as _;
use std::borrow::Cow;
use std::io::IsTerminal;

use modelsieve_core::{Severity, Verdict};

/// Whether text output should be coloured: stdout is a terminal, `--no-color` was not given and
/// `NO_COLOR` is unset or empty (<https://no-color.org>).
pub(crate) fn use_color(no_color_flag: bool) -> bool {
    if no_color_flag {
        return false;
    }
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    std::io::stdout().is_terminal()
}

/// `text` with every character that could mislead or drive a terminal escaped as `\u{…}`
/// (or `\n`, `\t`, `\r`). Borrowed when nothing needed escaping.
pub(crate) fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            // `escape_default` spells \n, \t, \r and \u{..}; nothing it emits needs escaping.
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// An ANSI style, or none when colour is off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    on: bool,
}

impl Paint {
    /// Colours only when `on`.
    pub(crate) fn new(on: bool) -> Paint {
        Paint { on }
    }

    /// `text` wrapped in the style for `verdict`.
    pub(crate) fn verdict(self, verdict: Verdict, text: &str) -> String {
        let code = match verdict {
            Verdict::Dangerous => "1;31",
            Verdict::Suspicious => "1;33",
            Verdict::Clean => "32",
        };
        self.wrap(code, text)
    }

    /// `text` wrapped in the style for `severity`.
    pub(crate) fn severity(self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.wrap(code, text)
    }

    /// `text` dimmed (secondary information).
    pub(crate) fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            String::from(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_bidi_overrides() {
        assert_eq!(sanitize("os.system"), "os.system");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
        assert_eq!(sanitize("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(sanitize("line\nCLEAN x"), "line\\nCLEAN x");
        assert_eq!(sanitize("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(sanitize("é ü 模型"), "é ü 模型");
    }

    #[test]
    fn no_escape_codes_without_colour() {
        assert_eq!(Paint::new(false).verdict(Verdict::Dangerous, "X"), "X");
        assert_eq!(Paint::new(true).dim("X"), "\x1b[2mX\x1b[0m");
    }
}

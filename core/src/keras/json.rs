//! JSON read the way Python's `json.loads` reads it, one token at a time.
//!
//! Keras parses `config.json` with `json.loads`, which accepts more than RFC 8259: `NaN`,
//! `Infinity` and `-Infinity`, lone UTF-16 surrogates in `\u` escapes, and (for bytes) UTF-8
//! that encodes surrogates (`surrogatepass`). A config that Keras loads but a stricter parser
//! refuses would hide whatever it holds, so this parser accepts exactly what Python accepts.
//! It keeps an explicit stack instead of recursing, so nesting depth costs no native stack and
//! has its own bound ([`MAX_DEPTH`]), and it yields each token with its byte offset.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// Deepest nesting read. CPython's decoder recurses once per level and stops at its recursion
/// limit (1,000 frames by default in 3.11, a C limit of a few thousand in later versions), so
/// a config nested deeper than this cannot be loaded by Keras either.
pub(super) const MAX_DEPTH: usize = 10_000;

/// A string as it appears between its quotes: checked, decoded only on demand.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawStr<'a> {
    /// The bytes between the quotes.
    raw: &'a [u8],
    /// Whether a decode is needed: escapes, or UTF-8-encoded surrogates.
    plain: bool,
}

impl<'a> RawStr<'a> {
    /// The string's text. Lone surrogates, which Rust strings cannot hold, become U+FFFD.
    pub(super) fn text(&self) -> Cow<'a, str> {
        if self.plain {
            if let Ok(s) = core::str::from_utf8(self.raw) {
                return Cow::Borrowed(s);
            }
        }
        Cow::Owned(decode(self.raw, usize::MAX))
    }

    /// At most `max` characters of the string's text, decoded without reading further (a
    /// path segment in a message; the key may be megabytes long).
    pub(super) fn head(&self, max: usize) -> String {
        decode(self.raw, max)
    }

    /// Whether the string is exactly `s` (compared without allocating when it has no escapes).
    pub(super) fn is(&self, s: &str) -> bool {
        if self.plain {
            self.raw == s.as_bytes()
        } else {
            self.text() == s
        }
    }
}

/// One token of a JSON text.
#[derive(Debug, Clone, Copy)]
pub(super) enum Token<'a> {
    /// `{`
    ObjectStart,
    /// `}`
    ObjectEnd,
    /// `[`
    ArrayStart,
    /// `]`
    ArrayEnd,
    /// An object member's name.
    Key(RawStr<'a>),
    /// A string value.
    Str(RawStr<'a>),
    /// A number, `true`, `false` or `null`, by the words that name its kind.
    Scalar(&'static str),
}

/// Why a text is not JSON that Python reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonError {
    /// Malformed at `offset`; `expected` says what Python's decoder wanted there.
    Syntax {
        /// Byte offset of the fault.
        offset: usize,
        /// What was expected, in Python's words where it has them.
        expected: &'static str,
    },
    /// The text ended inside a value.
    Truncated {
        /// Where it ended.
        offset: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep {
        /// The bracket that went one level too deep.
        offset: usize,
    },
}

/// What the parser expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Any value.
    Value,
    /// A value or `]` (right after `[`).
    ValueOrEnd,
    /// A member name (after `,` in an object).
    Key,
    /// A member name or `}` (right after `{`).
    KeyOrEnd,
    /// `:` after a member name.
    Colon,
    /// `,` or the closing bracket of the innermost container.
    CommaOrEnd,
    /// Only whitespace: the top-level value is complete.
    Nothing,
}

/// A pull parser over a whole JSON text.
#[derive(Debug)]
pub(super) struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
    /// Open containers, `true` for objects.
    stack: Vec<bool>,
    expect: Expect,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `text` (UTF-8, possibly with encoded surrogates).
    pub(super) fn new(text: &'a [u8]) -> Parser<'a> {
        Parser {
            text,
            pos: 0,
            stack: Vec::new(),
            expect: Expect::Value,
        }
    }

    /// The next token and the offset of its first byte; `Ok(None)` at the end of a complete text.
    pub(super) fn next_token(&mut self) -> Result<Option<(usize, Token<'a>)>, JsonError> {
        loop {
            self.skip_space();
            let at = self.pos;
            let Some(&b) = self.text.get(at) else {
                return if self.expect == Expect::Nothing {
                    Ok(None)
                } else {
                    Err(JsonError::Truncated { offset: at })
                };
            };
            match self.expect {
                Expect::Colon => {
                    self.require(b, b':', "':' delimiter")?;
                    self.expect = Expect::Value;
                }
                Expect::CommaOrEnd => {
                    let in_object = self.stack.last() == Some(&true);
                    match b {
                        b',' => {
                            self.pos += 1;
                            self.expect = if in_object {
                                Expect::Key
                            } else {
                                Expect::Value
                            };
                        }
                        b'}' if in_object => return Ok(Some((at, self.close(Token::ObjectEnd)))),
                        b']' if !in_object => return Ok(Some((at, self.close(Token::ArrayEnd)))),
                        _ => return Err(self.syntax("',' delimiter")),
                    }
                }
                Expect::Key | Expect::KeyOrEnd => {
                    if b == b'}' && self.expect == Expect::KeyOrEnd {
                        return Ok(Some((at, self.close(Token::ObjectEnd))));
                    }
                    if b != b'"' {
                        return Err(self.syntax("property name enclosed in double quotes"));
                    }
                    let s = self.string()?;
                    self.expect = Expect::Colon;
                    return Ok(Some((at, Token::Key(s))));
                }
                Expect::Value | Expect::ValueOrEnd => {
                    if b == b']' && self.expect == Expect::ValueOrEnd {
                        return Ok(Some((at, self.close(Token::ArrayEnd))));
                    }
                    return self.value(b).map(|t| Some((at, t)));
                }
                Expect::Nothing => return Err(self.syntax("end of data (extra data follows)")),
            }
        }
    }

    /// Reads the value starting with `b` at the current position.
    fn value(&mut self, b: u8) -> Result<Token<'a>, JsonError> {
        let token = match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(JsonError::TooDeep { offset: self.pos });
                }
                self.pos += 1;
                self.stack.push(b == b'{');
                self.expect = if b == b'{' {
                    Expect::KeyOrEnd
                } else {
                    Expect::ValueOrEnd
                };
                return Ok(if b == b'{' {
                    Token::ObjectStart
                } else {
                    Token::ArrayStart
                });
            }
            b'"' => Token::Str(self.string()?),
            b't' => self.word(b"true", "a boolean")?,
            b'f' => self.word(b"false", "a boolean")?,
            b'n' => self.word(b"null", "null")?,
            // Python's extensions: float('nan') and the infinities are written this way.
            b'N' => self.word(b"NaN", "a number")?,
            b'I' => self.word(b"Infinity", "a number")?,
            b'-' if self.text.get(self.pos + 1) == Some(&b'I') => {
                self.pos += 1;
                self.word(b"Infinity", "a number")?
            }
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return Err(self.syntax("value")),
        };
        self.expect = self.after_value();
        Ok(token)
    }

    /// What follows a complete value.
    fn after_value(&self) -> Expect {
        if self.stack.is_empty() {
            Expect::Nothing
        } else {
            Expect::CommaOrEnd
        }
    }

    /// Consumes a closing bracket and pops its container.
    fn close(&mut self, token: Token<'a>) -> Token<'a> {
        self.pos += 1;
        self.stack.pop();
        self.expect = self.after_value();
        token
    }

    fn skip_space(&mut self) {
        while matches!(self.text.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn syntax(&self, expected: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.pos,
            expected,
        }
    }

    fn require(&mut self, got: u8, want: u8, expected: &'static str) -> Result<(), JsonError> {
        if got != want {
            return Err(self.syntax(expected));
        }
        self.pos += 1;
        Ok(())
    }

    /// A literal word; `kind` names the scalar it is.
    fn word(&mut self, word: &[u8], kind: &'static str) -> Result<Token<'a>, JsonError> {
        let end = self.pos.saturating_add(word.len());
        match self.text.get(self.pos..end) {
            Some(w) if w == word => {
                self.pos = end;
                Ok(Token::Scalar(kind))
            }
            None if self
                .text
                .get(self.pos..)
                .is_some_and(|rest| word.starts_with(rest)) =>
            {
                Err(JsonError::Truncated {
                    offset: self.text.len(),
                })
            }
            _ => Err(self.syntax("value")),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, Python's `NUMBER_RE`. Where an optional
    /// part does not match, the number simply ends there, as in Python, and whatever follows
    /// must be a delimiter.
    fn number(&mut self) -> Result<Token<'a>, JsonError> {
        let digits = |p: &mut usize, text: &[u8]| -> usize {
            let start = *p;
            while text.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p - start
        };
        let mut p = self.pos;
        if self.text.get(p) == Some(&b'-') {
            p += 1;
        }
        match self.text.get(p) {
            Some(b'0') => p += 1,
            Some(b'1'..=b'9') => {
                digits(&mut p, self.text);
            }
            None => return Err(JsonError::Truncated { offset: p }),
            Some(_) => return Err(self.syntax("value")),
        }
        if self.text.get(p) == Some(&b'.') {
            let mut q = p + 1;
            if digits(&mut q, self.text) > 0 {
                p = q;
            }
        }
        if matches!(self.text.get(p), Some(b'e' | b'E')) {
            let mut q = p + 1;
            if matches!(self.text.get(q), Some(b'-' | b'+')) {
                q += 1;
            }
            if digits(&mut q, self.text) > 0 {
                p = q;
            }
        }
        self.pos = p;
        Ok(Token::Scalar("a number"))
    }

    /// A string starting at the opening quote, checked as Python's strict decoder checks it:
    /// no raw control characters, only the defined escapes, valid (surrogate-passing) UTF-8.
    fn string(&mut self) -> Result<RawStr<'a>, JsonError> {
        let start = self.pos + 1;
        let mut p = start;
        let mut plain = true;
        loop {
            let Some(&b) = self.text.get(p) else {
                return Err(JsonError::Truncated { offset: p });
            };
            match b {
                b'"' => break,
                b'\\' => {
                    plain = false;
                    match self.text.get(p + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => p += 2,
                        Some(b'u') => {
                            let hex = self.text.get(p + 2..p + 6);
                            match hex {
                                Some(h) if h.iter().all(u8::is_ascii_hexdigit) => p += 6,
                                None => return Err(JsonError::Truncated { offset: p }),
                                Some(_) => {
                                    self.pos = p;
                                    return Err(self.syntax("\\uXXXX escape"));
                                }
                            }
                        }
                        None => return Err(JsonError::Truncated { offset: p }),
                        Some(_) => {
                            self.pos = p;
                            return Err(self.syntax("valid \\escape"));
                        }
                    }
                }
                0x00..=0x1f => {
                    self.pos = p;
                    return Err(self.syntax("no control character in a string"));
                }
                0x80.. => {
                    let rest = self.text.get(p..).unwrap_or_default();
                    let Some((len, surrogate)) = utf8_sequence(rest) else {
                        self.pos = p;
                        return Err(self.syntax("UTF-8 text"));
                    };
                    plain &= !surrogate;
                    p += len;
                }
                _ => p += 1,
            }
        }
        self.pos = p + 1;
        Ok(RawStr {
            raw: self.text.get(start..p).unwrap_or_default(),
            plain,
        })
    }
}

/// The length of the UTF-8 sequence at the start of `bytes` and whether it encodes a surrogate
/// (which Python's `surrogatepass` accepts), or `None` when it is not valid or is cut short.
fn utf8_sequence(bytes: &[u8]) -> Option<(usize, bool)> {
    let cont = |i: usize| bytes.get(i).is_some_and(|b| (0x80..=0xbf).contains(b));
    let in_range = |i: usize, lo: u8, hi: u8| bytes.get(i).is_some_and(|b| (lo..=hi).contains(b));
    match *bytes.first()? {
        0xc2..=0xdf if cont(1) => Some((2, false)),
        0xe0 if in_range(1, 0xa0, 0xbf) && cont(2) => Some((3, false)),
        0xed if cont(1) && cont(2) => Some((3, in_range(1, 0xa0, 0xbf))),
        0xe1..=0xef if cont(1) && cont(2) => Some((3, false)),
        0xf0 if in_range(1, 0x90, 0xbf) && cont(2) && cont(3) => Some((4, false)),
        0xf1..=0xf3 if cont(1) && cont(2) && cont(3) => Some((4, false)),
        0xf4 if in_range(1, 0x80, 0x8f) && cont(2) && cont(3) => Some((4, false)),
        _ => None,
    }
}

/// Decodes the checked bytes of a string, up to `max` characters: escapes resolved, surrogate
/// pairs joined, anything that is not a Unicode scalar value (a lone surrogate) replaced by
/// U+FFFD.
fn decode(raw: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max.saturating_mul(4)));
    let mut chars = 0usize;
    let mut p = 0;
    let hex4 = |at: usize| -> Option<u32> {
        let h = raw.get(at..at + 4)?;
        let s = core::str::from_utf8(h).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    while let Some(&b) = raw.get(p) {
        if chars >= max {
            break;
        }
        chars += 1;
        match b {
            b'\\' => {
                let e = raw.get(p + 1).copied().unwrap_or(b'\\');
                p += 2;
                let c = match e {
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let unit = hex4(p).unwrap_or(0xfffd);
                        p += 4;
                        let low = (raw.get(p..p + 2) == Some(b"\\u"))
                            .then(|| hex4(p + 2))
                            .flatten()
                            .filter(|l| (0xdc00..=0xdfff).contains(l));
                        match (unit, low) {
                            (0xd800..=0xdbff, Some(low)) => {
                                p += 6;
                                char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))
                                    .unwrap_or('\u{fffd}')
                            }
                            _ => char::from_u32(unit).unwrap_or('\u{fffd}'),
                        }
                    }
                    other => char::from(other),
                };
                out.push(c);
            }
            0x80.. => {
                let rest = raw.get(p..).unwrap_or_default();
                let len = utf8_sequence(rest).map_or(1, |(len, _)| len);
                let piece = rest.get(..len).unwrap_or_default();
                out.push_str(core::str::from_utf8(piece).unwrap_or("\u{fffd}"));
                p += len;
            }
            _ => {
                out.push(char::from(b));
                p += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Every token of `text`, or the error.
    fn tokens(text: &str) -> Result<Vec<String>, JsonError> {
        let mut p = Parser::new(text.as_bytes());
        let mut out = vec![];
        while let Some((_, t)) = p.next_token()? {
            out.push(match t {
                Token::ObjectStart => String::from("{"),
                Token::ObjectEnd => String::from("}"),
                Token::ArrayStart => String::from("["),
                Token::ArrayEnd => String::from("]"),
                Token::Key(k) => alloc::format!("k:{}", k.text()),
                Token::Str(s) => alloc::format!("s:{}", s.text()),
                Token::Scalar(k) => String::from(k),
            });
        }
        Ok(out)
    }

    #[test]
    fn accepts_what_python_accepts() {
        assert_eq!(
            tokens(r#" {"a": [1, -2.5e3, NaN, -Infinity, Infinity, true, null], "b": {}} "#)
                .unwrap()
                .join(" "),
            "{ k:a [ a number a number a number a number a number a boolean null ] k:b { } }"
        );
        // Lone surrogates (json.loads keeps them; they become U+FFFD here), a joined pair,
        // and UTF-8 that encodes a surrogate (bytes are decoded with surrogatepass).
        assert_eq!(
            tokens(r#"["\ud800x", "\ud83d\ude00", "\u00e9\n"]"#).unwrap(),
            ["[", "s:\u{fffd}x", "s:\u{1f600}", "s:\u{e9}\n", "]"]
        );
        let mut p = Parser::new(b"\"\xed\xa0\x80\"");
        assert!(matches!(p.next_token(), Ok(Some((0, Token::Str(_))))));
        assert_eq!(tokens("[]").unwrap(), ["[", "]"]);
        assert_eq!(tokens("3").unwrap(), ["a number"]);
    }

    #[test]
    fn refuses_what_python_refuses() {
        for bad in [
            "{'a': 1}",
            "{\"a\" 1}",
            "[1,]",
            "{\"a\":1,}",
            "[01]",
            "[1.]",
            "[\"\t\"]",
            "[\"\\x\"]",
            "{} {}",
            "[nan]",
            "[-]",
        ] {
            assert!(
                matches!(tokens(bad), Err(JsonError::Syntax { .. })),
                "{bad} should be a syntax error"
            );
        }
        for cut in ["{", "{\"a\"", "[1, ", "\"abc", "[tru", "[\"\\u12"] {
            assert!(
                matches!(tokens(cut), Err(JsonError::Truncated { .. })),
                "{cut} should be truncated"
            );
        }
        let mut p = Parser::new(b"[\"\xff\"]");
        assert!(p.next_token().is_ok());
        assert!(matches!(p.next_token(), Err(JsonError::Syntax { .. })));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        let mut p = Parser::new(deep.as_bytes());
        let mut n = 0;
        let err = loop {
            match p.next_token() {
                Ok(Some(_)) => n += 1,
                Ok(None) => panic!("ended"),
                Err(e) => break e,
            }
        };
        assert_eq!(n, MAX_DEPTH);
        assert_eq!(err, JsonError::TooDeep { offset: MAX_DEPTH });
    }
}

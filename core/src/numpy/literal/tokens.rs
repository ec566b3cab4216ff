//! String and number literals: prefixes, escapes and implicit concatenation; radixes,
//! underscores, floats, imaginary numbers and Python 2 longs.

use alloc::string::String;

use super::{Encoding, Kind, Lit, LitError, Parser};

impl Parser<'_> {
    /// One or more adjacent string literals, concatenated as Python does.
    pub(super) fn strings(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        let mut text = String::new();
        let mut bytes = None;
        loop {
            let is_bytes = self.one_string(&mut text)?;
            if bytes.is_some_and(|b| b != is_bytes) {
                return Err(self.invalid("bytes and str literals side by side"));
            }
            bytes = Some(is_bytes);
            let end = self.pos;
            self.skip_ws();
            if !self.at_string_start() {
                self.pos = end;
                break;
            }
        }
        let kind = if bytes == Some(true) {
            Kind::Bytes
        } else {
            Kind::Str(text)
        };
        Ok(self.lit(kind, start))
    }

    /// Whether a string literal (with or without prefix) starts here.
    fn at_string_start(&self) -> bool {
        let mut i = self.pos;
        while i < self.pos + 2 && self.s.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
            i += 1;
        }
        matches!(self.s.get(i), Some(b'\'' | b'"'))
    }

    /// One string literal; appends its value to `out` and says whether it was bytes.
    fn one_string(&mut self, out: &mut String) -> Result<bool, LitError> {
        let (mut raw, mut bytes, mut unicode, mut format) = (false, false, false, false);
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphabetic()) {
            match c.to_ascii_lowercase() {
                b'r' if !raw => raw = true,
                b'b' if !bytes => bytes = true,
                b'u' if !unicode => unicode = true,
                b'f' | b't' if !format => format = true,
                _ => return Err(self.invalid("an unknown string prefix")),
            }
            self.pos += 1;
        }
        if unicode && (raw || bytes || format) || bytes && format {
            return Err(self.invalid("an unknown string prefix"));
        }
        if format {
            // f-strings and t-strings are expressions, which literal_eval refuses.
            return Err(self.invalid("an f-string"));
        }
        let Some(quote) = self.peek() else {
            return Err(self.invalid("the text ends inside a string"));
        };
        let triple = self.s.get(self.pos..self.pos + 3) == Some(&[quote, quote, quote][..]);
        self.pos += if triple { 3 } else { 1 };
        loop {
            let Some(c) = self.peek() else {
                return Err(self.invalid("the text ends inside a string"));
            };
            if c == quote {
                if !triple {
                    self.pos += 1;
                    return Ok(bytes);
                }
                if self.s.get(self.pos..self.pos + 3) == Some(&[quote, quote, quote][..]) {
                    self.pos += 3;
                    return Ok(bytes);
                }
            }
            if !triple && (c == b'\n' || c == b'\r') {
                return Err(self.invalid("a line break inside a one-line string"));
            }
            if bytes && c >= 0x80 {
                return Err(self.invalid("a non-ASCII character in a bytes literal"));
            }
            if c == b'\\' {
                if raw {
                    // A raw string keeps the backslash, and the next character cannot end it.
                    out.push('\\');
                    self.pos += 1;
                    if self.peek().is_some() {
                        self.push_char(out)?;
                    }
                } else {
                    self.escape(out, bytes)?;
                }
            } else {
                self.push_char(out)?;
            }
        }
    }

    /// Appends the character at the cursor, decoded as the header's encoding.
    fn push_char(&mut self, out: &mut String) -> Result<(), LitError> {
        let Some(first) = self.peek() else {
            return Ok(());
        };
        if first < 0x80 || self.options.encoding == Encoding::Latin1 {
            out.push(char::from(first));
            self.pos += 1;
            return Ok(());
        }
        let len = match first {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        let decoded = self
            .s
            .get(self.pos..self.pos + len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .ok_or(LitError::Invalid {
                at: self.pos,
                what: "invalid UTF-8",
            })?;
        out.push_str(decoded);
        self.pos += len;
        Ok(())
    }

    /// A backslash escape in a non-raw literal (the cursor is on the backslash).
    fn escape(&mut self, out: &mut String, bytes: bool) -> Result<(), LitError> {
        let at = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.invalid("the text ends inside a string"));
        };
        self.pos += 1;
        let simple = match c {
            b'\n' => return Ok(()),
            b'\r' => {
                if self.peek() == Some(b'\n') {
                    self.pos += 1;
                }
                return Ok(());
            }
            b'\\' => '\\',
            b'\'' => '\'',
            b'"' => '"',
            b'a' => '\x07',
            b'b' => '\x08',
            b'f' => '\x0c',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'v' => '\x0b',
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                return self.push_code(out, value, at);
            }
            b'x' => return self.hex_escape(out, 2, at),
            b'u' if !bytes => return self.hex_escape(out, 4, at),
            b'U' if !bytes => return self.hex_escape(out, 8, at),
            b'N' if !bytes => {
                return Err(LitError::Unsupported {
                    at,
                    what: "a \\N{...} named escape",
                });
            }
            _ => {
                // Python keeps unknown escapes as written (with a warning).
                out.push('\\');
                self.pos -= 1;
                return self.push_char(out);
            }
        };
        out.push(simple);
        Ok(())
    }

    /// `\x`, `\u` or `\U` followed by exactly `digits` hex digits.
    fn hex_escape(&mut self, out: &mut String, digits: usize, at: usize) -> Result<(), LitError> {
        let mut value = 0u32;
        for _ in 0..digits {
            let Some(d) = self.peek().and_then(|c| char::from(c).to_digit(16)) else {
                return Err(LitError::Invalid {
                    at,
                    what: "a truncated hex escape",
                });
            };
            value = value.saturating_mul(16).saturating_add(d);
            self.pos += 1;
        }
        self.push_code(out, value, at)
    }

    /// Appends the character with code point `value` from an escape at `at`.
    fn push_code(&mut self, out: &mut String, value: u32, at: usize) -> Result<(), LitError> {
        match char::from_u32(value) {
            Some(ch) => {
                out.push(ch);
                Ok(())
            }
            None if (0xd800..0xe000).contains(&value) => Err(LitError::Unsupported {
                at,
                what: "a lone surrogate escape",
            }),
            None => Err(LitError::Invalid {
                at,
                what: "an escape beyond U+10FFFF",
            }),
        }
    }

    /// A number literal: int (any radix), float or imaginary.
    pub(super) fn number(&mut self, start: usize) -> Result<Lit, LitError> {
        let radix = match (self.peek(), self.peek_at(1).map(|c| c.to_ascii_lowercase())) {
            (Some(b'0'), Some(b'x')) => 16,
            (Some(b'0'), Some(b'o')) => 8,
            (Some(b'0'), Some(b'b')) => 2,
            _ => 10,
        };
        let kind = if radix == 10 {
            self.decimal()?
        } else {
            self.pos += 2;
            // `0x_1f` is valid: an underscore may follow the prefix.
            let (value, count) = self.digits(radix, true)?;
            if count == 0 {
                return Err(self.invalid("an integer prefix without digits"));
            }
            Kind::Int(value)
        };
        self.long_suffix();
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        {
            return Err(self.invalid("an invalid number literal"));
        }
        Ok(self.lit(kind, start))
    }

    /// Python 2 `L` after a number, which numpy's `_filter_header` drops for old formats.
    fn long_suffix(&mut self) {
        if !self.options.python2_longs {
            return;
        }
        let mut i = self.pos;
        while matches!(self.s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let next = self.s.get(i + 1).copied();
        if self.s.get(i) == Some(&b'L')
            && !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos = i + 1;
        }
    }

    /// A decimal int, float or imaginary literal.
    fn decimal(&mut self) -> Result<Kind, LitError> {
        let int_start = self.pos;
        let (int, _) = self.digits(10, false)?;
        let int_digits = self.s.get(int_start..self.pos).unwrap_or_default();
        let mut float = false;
        if self.peek() == Some(b'.') {
            float = true;
            self.pos += 1;
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.digits(10, false)?;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            float = true;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.invalid("an exponent without digits"));
            }
            self.digits(10, false)?;
        }
        if matches!(self.peek(), Some(b'j' | b'J')) {
            self.pos += 1;
            return Ok(Kind::Complex);
        }
        if float {
            return Ok(Kind::Float);
        }
        let leading_zero = int_digits.first() == Some(&b'0');
        if leading_zero && int_digits.iter().any(|&c| c != b'0' && c != b'_') {
            return Err(LitError::Invalid {
                at: int_start,
                what: "leading zeros in a decimal integer",
            });
        }
        Ok(Kind::Int(int))
    }

    /// Digits of `radix` with single underscores between them (and, with `lead_underscore`,
    /// before the first). Returns the value (`None` past `i64`) and how many digits there were.
    fn digits(
        &mut self,
        radix: u32,
        lead_underscore: bool,
    ) -> Result<(Option<i64>, usize), LitError> {
        let mut value = Some(0i64);
        let mut count = 0usize;
        let mut after_underscore = false;
        loop {
            match self.peek() {
                Some(b'_') if (count > 0 || lead_underscore) && !after_underscore => {
                    after_underscore = true;
                }
                Some(c) if char::from(c).is_digit(radix) => {
                    let d = i64::from(char::from(c).to_digit(radix).unwrap_or(0));
                    value = value
                        .and_then(|v| v.checked_mul(i64::from(radix)))
                        .and_then(|v| v.checked_add(d));
                    count += 1;
                    after_underscore = false;
                }
                Some(c) if radix != 10 && c.is_ascii_digit() => {
                    return Err(self.invalid("a digit outside the literal's radix"));
                }
                _ => break,
            }
            self.pos += 1;
        }
        if after_underscore {
            return Err(self.invalid("an underscore not between digits"));
        }
        Ok((value, count))
    }
}

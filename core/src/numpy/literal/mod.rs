//! A strict reader of the Python literals `ast.literal_eval` builds, for `.npy` headers.
//!
//! numpy reads the header with `ast.literal_eval`, so the header is Python source, not JSON:
//! quotes of either kind, implicit string concatenation, comments, trailing commas, `0x1f`,
//! `1_000`, Python 2 `3L` longs (numpy strips them for format 1.0 and 2.0). This parser
//! accepts that language, builds only the values the header can hold, and sorts every failure
//! into one of two kinds: text Python certainly rejects (numpy.load fails at the header, so the
//! file's data is never read) and valid Python this parser does not model (numpy may read the
//! header, so the caller must not assume what it says). When unsure, it leans to the second.
//! [`tokens`] reads string and number literals.

#[cfg(test)]
mod tests;
/// String and number literals.
mod tokens;

use alloc::string::String;
use alloc::vec::Vec;

/// Containers nested deeper than this are not parsed. numpy's own headers nest a few levels
/// (a structured dtype inside a structured dtype); Python's parser stops at about 200.
pub(super) const MAX_DEPTH: usize = 32;

/// How the header's bytes become characters: format 1.0 and 2.0 are latin-1, 3.0 is UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    /// Every byte is the character with that code point.
    Latin1,
    /// UTF-8, already validated by the caller.
    Utf8,
}

/// What the parser accepts beyond Python 3 syntax.
#[derive(Debug, Clone, Copy)]
pub(super) struct Options {
    /// How string contents decode.
    pub(super) encoding: Encoding,
    /// Accept Python 2 long suffixes (`3L`), as numpy's `_filter_header` does for format 1.0
    /// and 2.0 headers.
    pub(super) python2_longs: bool,
}

/// A literal value and the bytes of the header it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Lit {
    /// The value.
    pub(super) kind: Kind,
    /// Byte offset of its first character in the parsed text.
    pub(super) start: usize,
    /// Byte offset just past its last character.
    pub(super) end: usize,
}

/// The values `ast.literal_eval` can build; numbers other than integers keep only their type,
/// since no header field accepts them.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// A `str`, decoded.
    Str(String),
    /// A `bytes` literal (never valid in a header, so its content is not kept).
    Bytes,
    /// An `int`; `None` when it does not fit an `i64`.
    Int(Option<i64>),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// A `float`.
    Float,
    /// An imaginary number such as `2j`.
    Complex,
    /// `...`.
    Ellipsis,
    /// A tuple.
    Tuple(Vec<Lit>),
    /// A list.
    List(Vec<Lit>),
    /// A set (`{1, 2}` or `set()`).
    Set(Vec<Lit>),
    /// A dict, pairs in source order, repeated keys included.
    Dict(Vec<(Lit, Lit)>),
}

impl Kind {
    /// The Python type name, for messages.
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Kind::Str(_) => "str",
            Kind::Bytes => "bytes",
            Kind::Int(_) => "int",
            Kind::Bool(_) => "bool",
            Kind::None => "None",
            Kind::Float => "float",
            Kind::Complex => "complex",
            Kind::Ellipsis => "Ellipsis",
            Kind::Tuple(_) => "tuple",
            Kind::List(_) => "list",
            Kind::Set(_) => "set",
            Kind::Dict(_) => "dict",
        }
    }
}

/// Why the text could not be read as a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LitError {
    /// Python rejects it (a `SyntaxError`, or a node `literal_eval` refuses): numpy.load fails.
    Invalid {
        /// Byte offset of the problem.
        at: usize,
        /// What is wrong, in a few words.
        what: &'static str,
    },
    /// Valid Python, or possibly valid, that this parser does not model.
    Unsupported {
        /// Byte offset of the construct.
        at: usize,
        /// What the construct is.
        what: &'static str,
    },
    /// Containers nest deeper than [`MAX_DEPTH`].
    TooDeep {
        /// Byte offset of the container that went too deep.
        at: usize,
    },
}

/// Parses `text` as `ast.literal_eval` would: one expression, or several separated by commas
/// (a tuple), surrounded by whitespace and comments.
pub(super) fn parse(text: &[u8], options: Options) -> Result<Lit, LitError> {
    // Python refuses source containing NUL bytes anywhere, even inside string literals.
    if let Some(at) = text.iter().position(|&b| b == 0) {
        return Err(LitError::Invalid {
            at,
            what: "a NUL byte",
        });
    }
    let mut parser = Parser {
        s: text,
        pos: 0,
        depth: 0,
        options,
    };
    parser.skip_ws();
    if parser.peek().is_none() {
        return Err(LitError::Invalid {
            at: parser.pos,
            what: "no expression",
        });
    }
    let first = parser.value()?;
    parser.after_value()?;
    let result = if parser.peek() == Some(b',') {
        // `a, b` at the top level is a tuple without parentheses.
        let start = first.start;
        let mut items = Vec::from([first]);
        while parser.eat(b',') {
            parser.skip_ws();
            if parser.peek().is_none() {
                break;
            }
            items.push(parser.value()?);
            parser.after_value()?;
        }
        Lit {
            kind: Kind::Tuple(items),
            start,
            end: parser.pos,
        }
    } else {
        first
    };
    parser.skip_ws();
    if parser.peek().is_some() {
        return Err(parser.invalid("text after the literal"));
    }
    Ok(result)
}

/// Cursor over the header text.
struct Parser<'a> {
    /// The header text.
    s: &'a [u8],
    /// The cursor.
    pos: usize,
    /// Containers open around the cursor.
    depth: usize,
    /// Encoding and leniency.
    options: Options,
}

impl Parser<'_> {
    /// The byte at the cursor.
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// The byte `ahead` bytes past the cursor.
    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.s.get(self.pos.saturating_add(ahead)).copied()
    }

    /// Python rejects what is at the cursor.
    fn invalid(&self, what: &'static str) -> LitError {
        LitError::Invalid { at: self.pos, what }
    }

    /// Consumes `b` after optional whitespace; says whether it was there.
    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips spaces, newlines, comments and backslash line continuations. Newlines are treated
    /// as spaces everywhere: the only place Python cares (indentation at the top level) is
    /// around the whole literal, and reading such a header leniently can only make the scanner
    /// trust the header's dtype, never miss a pickle that numpy would load.
    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' => self.pos += 1,
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n' && c != b'\r') {
                        self.pos += 1;
                    }
                }
                b'\\' if matches!(self.peek_at(1), Some(b'\n' | b'\r')) => self.pos += 2,
                _ => return,
            }
        }
    }

    /// After a value: Python's grammar would continue it with an operator, which
    /// `literal_eval` accepts only for complex numbers (`1+2j`); not modelled.
    fn after_value(&mut self) -> Result<(), LitError> {
        self.skip_ws();
        match self.peek() {
            Some(b'+' | b'-') => Err(LitError::Unsupported {
                at: self.pos,
                what: "arithmetic on literals",
            }),
            _ => Ok(()),
        }
    }

    /// One value, after optional whitespace.
    fn value(&mut self) -> Result<Lit, LitError> {
        self.skip_ws();
        let start = self.pos;
        let Some(b) = self.peek() else {
            return Err(self.invalid("the text ends where a value should start"));
        };
        match b {
            b'{' => self.braces(),
            b'(' => self.parens(),
            b'[' => self.brackets(),
            b'\'' | b'"' => self.strings(),
            b'0'..=b'9' => self.number(start),
            b'.' if self.s.get(self.pos..self.pos + 3) == Some(b"...") => {
                self.pos += 3;
                Ok(self.lit(Kind::Ellipsis, start))
            }
            b'.' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => self.number(start),
            b'+' | b'-' => self.signed(),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.name(),
            _ => Err(self.invalid("a character that cannot start a literal")),
        }
    }

    /// A value that started at `start` and ends at the cursor.
    fn lit(&self, kind: Kind, start: usize) -> Lit {
        Lit {
            kind,
            start,
            end: self.pos,
        }
    }

    /// Enters a container; fails when containers nest too deep.
    fn enter(&mut self) -> Result<(), LitError> {
        if self.depth >= MAX_DEPTH {
            return Err(LitError::TooDeep { at: self.pos });
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    /// `{}`, `{k: v, ...}` or `{a, b}`.
    fn braces(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        self.enter()?;
        let kind = if self.eat(b'}') {
            Kind::Dict(Vec::new())
        } else {
            let first = self.value()?;
            self.after_value()?;
            if self.eat(b':') {
                let value = self.value()?;
                self.after_value()?;
                let mut pairs = Vec::from([(first, value)]);
                while !self.close(b'}')? {
                    let key = self.value()?;
                    self.after_value()?;
                    if !self.eat(b':') {
                        return Err(self.invalid("a dict key without ':'"));
                    }
                    let value = self.value()?;
                    self.after_value()?;
                    pairs.push((key, value));
                }
                Kind::Dict(pairs)
            } else {
                Kind::Set(self.rest_of_sequence(first, b'}')?)
            }
        };
        self.depth -= 1;
        Ok(self.lit(kind, start))
    }

    /// `()`, `(x)` (just `x`), `(x,)`, `(x, y)`.
    fn parens(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        self.enter()?;
        let kind = if self.eat(b')') {
            Kind::Tuple(Vec::new())
        } else {
            let first = self.value()?;
            self.after_value()?;
            if self.eat(b')') {
                self.depth -= 1;
                // Parentheses group without making a tuple; the value keeps its own span.
                return Ok(first);
            }
            Kind::Tuple(self.rest_of_sequence(first, b')')?)
        };
        self.depth -= 1;
        Ok(self.lit(kind, start))
    }

    /// `[...]`.
    fn brackets(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        self.enter()?;
        let kind = if self.eat(b']') {
            Kind::List(Vec::new())
        } else {
            let first = self.value()?;
            self.after_value()?;
            Kind::List(self.rest_of_sequence(first, b']')?)
        };
        self.depth -= 1;
        Ok(self.lit(kind, start))
    }

    /// After the first item of a sequence: `, item`* `,`? then `close`.
    fn rest_of_sequence(&mut self, first: Lit, close: u8) -> Result<Vec<Lit>, LitError> {
        let mut items = Vec::from([first]);
        while !self.close(close)? {
            items.push(self.value()?);
            self.after_value()?;
        }
        Ok(items)
    }

    /// Between items: `close` ends the container (`Ok(true)`); `,` then `close` does too; `,`
    /// followed by anything else means another item follows (`Ok(false)`).
    fn close(&mut self, close: u8) -> Result<bool, LitError> {
        if self.eat(close) {
            return Ok(true);
        }
        if !self.eat(b',') {
            return Err(self.invalid("a missing ',' or closing bracket"));
        }
        Ok(self.eat(close))
    }

    /// A sign and a number: `literal_eval` allows one `+` or `-` directly on a number.
    fn signed(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        self.pos += 1;
        self.skip_ws();
        match self.peek() {
            Some(b'0'..=b'9') => {}
            Some(b'.') if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => {}
            // `-(3)` is a sign on a parenthesised number, which literal_eval accepts.
            Some(b'(') => {
                return Err(LitError::Unsupported {
                    at: self.pos,
                    what: "a sign before parentheses",
                });
            }
            _ => return Err(self.invalid("a sign on something that is not a number")),
        }
        let mut lit = self.number(self.pos)?;
        if let (true, Kind::Int(value)) = (negative, &mut lit.kind) {
            *value = value.and_then(i64::checked_neg);
        }
        lit.start = start;
        Ok(lit)
    }

    /// An identifier: `True`, `False`, `None`, `set()`, or a string prefix.
    fn name(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }
        let word = self.s.get(start..self.pos).unwrap_or_default();
        if matches!(self.peek(), Some(b'\'' | b'"')) && word.len() <= 2 {
            self.pos = start;
            return self.strings();
        }
        if self.peek().is_some_and(|c| c >= 0x80) {
            return Err(self.invalid("a name that is not a literal"));
        }
        let kind = match word {
            b"True" => Kind::Bool(true),
            b"False" => Kind::Bool(false),
            b"None" => Kind::None,
            b"set" => {
                // `set()` is the one call literal_eval accepts.
                if !self.eat(b'(') || !self.eat(b')') {
                    return Err(self.invalid("a call that is not set()"));
                }
                Kind::Set(Vec::new())
            }
            _ => {
                return Err(LitError::Invalid {
                    at: start,
                    what: "a name that is not a literal",
                });
            }
        };
        Ok(self.lit(kind, start))
    }
}

//! Splitting a Jinja template into the code of its tags, and a tag into tokens, the way
//! Jinja's own lexer does where it matters for hiding code.
//!
//! Where this lexer and Jinja's disagree, the disagreement must only ever make modelsieve read
//! *more* text as code than Jinja runs, never less: text read as code can at worst be flagged
//! wrongly, text skipped can hide a payload. Hence the details below: a tag ends at its closing
//! delimiter only outside string literals and open brackets (Jinja's balancing stack), a
//! comment ends at the first `#}` whatever it contains (Jinja's comments have no strings), and
//! a `{% raw %}` block ends at the first `{% endraw %}`, as in Jinja.

use alloc::string::String;
use alloc::vec::Vec;

/// A `{{ }}` or `{% %}` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tag<'a> {
    /// The code between the delimiters (whitespace-control `-`/`+` included).
    pub(super) code: &'a str,
    /// Whether it is a statement (`{% %}`) rather than an expression (`{{ }}`).
    pub(super) statement: bool,
}

/// A piece of a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// A name.
    Ident(String),
    /// A string literal, decoded, and whether an escape in it produced a character that is
    /// not itself an escape sequence's usual output (`\x5f`, `\u005f`, `\137`, `\N{…}`).
    Str(String, bool),
    /// A number literal, as written.
    Num(String),
    /// Any other character (operators, brackets).
    Punct(char),
}

/// The `{{ }}` and `{% %}` tags of a template, in order (an iterator, so that a template of
/// millions of tags is never held as a list).
pub(super) struct Tags<'a> {
    /// The text not yet split.
    rest: &'a str,
}

/// The tags of `text`.
pub(super) fn tags(text: &str) -> Tags<'_> {
    Tags { rest: text }
}

impl<'a> Iterator for Tags<'a> {
    type Item = Tag<'a>;

    fn next(&mut self) -> Option<Tag<'a>> {
        while let Some(open) = self.rest.find('{') {
            let after = self.rest.get(open.saturating_add(1)..).unwrap_or_default();
            let kind = after.chars().next();
            let body = after.get(1..).unwrap_or_default();
            match kind {
                Some('#') => {
                    // Comments hold no strings: the first `#}` ends one.
                    self.rest = body
                        .find("#}")
                        .and_then(|end| body.get(end.saturating_add(2)..))
                        .unwrap_or_default();
                }
                Some(k @ ('{' | '%')) => {
                    let close = if k == '{' { "}}" } else { "%}" };
                    let (code, next) = match find_close(body, close) {
                        Some(end) => (
                            body.get(..end).unwrap_or_default(),
                            body.get(end.saturating_add(2)..).unwrap_or_default(),
                        ),
                        None => (body, ""),
                    };
                    let statement = k == '%';
                    if statement && keyword(code) == "raw" {
                        self.rest = after_endraw(next);
                        continue;
                    }
                    self.rest = next;
                    return Some(Tag { code, statement });
                }
                _ => self.rest = after,
            }
        }
        self.rest = "";
        None
    }
}

/// The first word of a statement's code, after whitespace control.
pub(super) fn keyword(code: &str) -> &str {
    let code = code.trim_start_matches(['-', '+']).trim_start();
    let end = code
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(code.len());
    let word = code.get(..end).unwrap_or_default();
    // `raw` counts only alone in its tag, as in Jinja's `{%-?\s*raw\s*-?%}`.
    if word == "raw"
        && !code
            .get(end..)
            .unwrap_or_default()
            .trim()
            .trim_end_matches('-')
            .trim()
            .is_empty()
    {
        return "";
    }
    word
}

/// The text after the `{% endraw %}` that ends a raw block begun just before `text`; empty
/// when there is none (Jinja then refuses the template, so nothing of it runs).
fn after_endraw(text: &str) -> &str {
    let mut rest = text;
    while let Some(at) = rest.find("{%") {
        let tail = rest.get(at.saturating_add(2)..).unwrap_or_default();
        let inner = tail.strip_prefix(['-', '+']).unwrap_or(tail).trim_start();
        if let Some(inner) = inner.strip_prefix("endraw") {
            let inner = inner.trim_start();
            let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
            if let Some(after) = inner.strip_prefix("%}") {
                return after;
            }
        }
        rest = tail;
    }
    ""
}

/// Where `close` ends a tag body: outside string literals and with every bracket opened in the
/// tag closed again (Jinja does not end a tag inside `(`, `[` or `{`).
fn find_close(body: &str, close: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut depth: usize = 0;
    for (i, c) in body.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if depth == 0 && body.get(i..).is_some_and(|r| r.starts_with(close)) {
            return Some(i);
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth = depth.saturating_add(1),
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Most tokens read from one tag. Real chat templates stay under a few hundred per tag (a long
/// system prompt is one string token); the cap bounds memory on a hostile template.
pub(super) const MAX_TOKENS: usize = 1 << 16;

/// Splits a tag's code into at most [`MAX_TOKENS`] tokens; the flag says whether more were
/// left unread.
pub(super) fn tokens(code: &str) -> (Vec<Token>, bool) {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= MAX_TOKENS {
            return (out, true);
        }
        if c.is_alphabetic() || c == '_' {
            let mut name = String::from(c);
            while let Some(&n) = chars.peek() {
                if !(n.is_alphanumeric() || n == '_') {
                    break;
                }
                name.push(n);
                chars.next();
            }
            out.push(Token::Ident(name));
        } else if c.is_ascii_digit() {
            let mut num = String::from(c);
            while let Some(&n) = chars.peek() {
                if !(n.is_ascii_alphanumeric() || n == '_') {
                    break;
                }
                num.push(n);
                chars.next();
            }
            out.push(Token::Num(num));
        } else if c == '\'' || c == '"' {
            out.push(string(&mut chars, c));
        } else if !c.is_whitespace() {
            out.push(Token::Punct(c));
        }
    }
    (out, false)
}

/// Reads a string literal closed by `quote`, decoding escapes as Jinja does (Python's
/// `unicode-escape`).
fn string(chars: &mut core::iter::Peekable<core::str::Chars<'_>>, quote: char) -> Token {
    let mut value = String::new();
    let mut escaped = false;
    while let Some(n) = chars.next() {
        if n == quote {
            break;
        }
        if n != '\\' {
            value.push(n);
            continue;
        }
        match chars.next() {
            Some('x') => {
                escaped = true;
                value.push(code_point(chars, 2, 16));
            }
            Some('u') => {
                escaped = true;
                value.push(code_point(chars, 4, 16));
            }
            Some('U') => {
                escaped = true;
                value.push(code_point(chars, 8, 16));
            }
            Some(d @ '0'..='7') => {
                escaped = true;
                let mut code = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|p| p.to_digit(8)) {
                        Some(v) => {
                            code = code.saturating_mul(8).saturating_add(v);
                            chars.next();
                        }
                        None => break,
                    }
                }
                value.push(char::from_u32(code).unwrap_or('?'));
            }
            Some('N') => {
                escaped = true;
                value.push(named(chars));
            }
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some('r') => value.push('\r'),
            Some(other) => value.push(other),
            None => {}
        }
    }
    Token::Str(value, escaped)
}

/// Decodes up to `len` digits in `radix` into a character.
fn code_point(
    chars: &mut core::iter::Peekable<core::str::Chars<'_>>,
    len: usize,
    radix: u32,
) -> char {
    let mut code: u32 = 0;
    for _ in 0..len {
        match chars.peek().and_then(|p| p.to_digit(radix)) {
            Some(v) => {
                code = code.saturating_mul(radix).saturating_add(v);
                chars.next();
            }
            None => break,
        }
    }
    char::from_u32(code).unwrap_or('?')
}

/// Longest Unicode character name read in a `\N{…}` escape (the longest real one is 88).
const MAX_CHAR_NAME: usize = 128;

/// Decodes the `{NAME}` of a `\N{NAME}` escape: the names of `_` give `_`, any other name a
/// placeholder (modelsieve has no Unicode name table; only the underscore matters here).
fn named(chars: &mut core::iter::Peekable<core::str::Chars<'_>>) -> char {
    if chars.peek() != Some(&'{') {
        return '?';
    }
    chars.next();
    let mut name = String::new();
    for c in chars.by_ref() {
        if c == '}' || name.len() > MAX_CHAR_NAME {
            break;
        }
        name.push(c.to_ascii_uppercase());
    }
    // Python accepts the name and its aliases, any case.
    match name.trim() {
        "LOW LINE" | "SPACING UNDERSCORE" => '_',
        _ => '?',
    }
}

//! A rough reading of a Jinja chat template for sandbox escapes.
//!
//! Only the code inside `{{ }}` and `{% %}` tags is looked at (literal text and `{# #}`
//! comments are ignored). Each tag is split into identifiers, string literals (escapes decoded)
//! and punctuation, and a tag is flagged when it reaches for what sandbox escapes need: dunder
//! attributes, `attr`, underscores built from pieces or escapes, the objects whose globals lead
//! to `os`, or process-running names. Ordinary chat templates use none of these.

use alloc::string::String;
use alloc::vec::Vec;

/// Most findings reported for one template.
const MAX_HITS: usize = 10;

/// One suspicious tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hit {
    /// The tag's code.
    pub(super) snippet: String,
    /// What is wrong with it, completing "the chat template … ".
    pub(super) why: &'static str,
}

/// A piece of a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A name.
    Ident(String),
    /// A string literal, decoded, and whether it used escapes.
    Str(String, bool),
    /// Any other character (operators, brackets).
    Punct(char),
}

/// Globals of the default Jinja environment (and of Flask's) whose attributes lead out.
const ESCAPE_OBJECTS: &[&str] = &[
    "cycler",
    "joiner",
    "namespace",
    "lipsum",
    "self",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
    "range",
    "dict",
];

/// Names that run processes or code wherever they appear.
const PROCESS_NAMES: &[&str] = &[
    "popen",
    "subprocess",
    "import_module",
    "getattr",
    "builtins",
];

/// Names that run processes or code when called or opened.
const CALLED_NAMES: &[&str] = &["os", "eval", "exec", "system", "compile", "open"];

/// Checks `text`, returning the suspicious tags.
pub(super) fn check(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for tag in tags(text) {
        if hits.len() >= MAX_HITS {
            break;
        }
        if let Some(why) = judge(&tokens(tag)) {
            hits.push(Hit {
                snippet: String::from(tag.trim()),
                why,
            });
        }
    }
    hits
}

/// The code inside each `{{ }}` and `{% %}` tag.
fn tags(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open.saturating_add(1)..).unwrap_or_default();
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = after.get(1..).unwrap_or_default();
        let (inner, next) = match find_close(body, close) {
            Some(end) => (
                body.get(..end).unwrap_or_default(),
                body.get(end.saturating_add(2)..).unwrap_or_default(),
            ),
            None => (body, ""),
        };
        if close != "#}" {
            out.push(inner);
        }
        rest = next;
    }
    out
}

/// Where `close` ends a tag body, skipping string literals.
fn find_close(body: &str, close: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if body.get(i..).is_some_and(|r| r.starts_with(close)) {
            return Some(i);
        }
    }
    None
}

/// Splits a tag into tokens.
fn tokens(tag: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = tag.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphabetic() || c == '_' {
            let mut name = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_alphanumeric() || n == '_' {
                    name.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Token::Ident(name));
        } else if c == '\'' || c == '"' {
            let mut value = String::new();
            let mut escaped = false;
            while let Some(n) = chars.next() {
                if n == c {
                    break;
                }
                if n != '\\' {
                    value.push(n);
                    continue;
                }
                let numeric = matches!(chars.peek(), Some('x' | 'u' | 'U' | 'N' | '0'..='7'));
                escaped |= numeric;
                match chars.next() {
                    Some('x') => push_code(&mut value, &mut chars, 2, 16),
                    Some('u') => push_code(&mut value, &mut chars, 4, 16),
                    Some('U') => push_code(&mut value, &mut chars, 8, 16),
                    Some(d @ '0'..='7') => {
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
                    Some('N') => value.push('_'),
                    Some(other) => value.push(other),
                    None => {}
                }
            }
            out.push(Token::Str(value, escaped));
        } else if !c.is_whitespace() {
            out.push(Token::Punct(c));
        }
    }
    out
}

/// Decodes up to `len` digits in `radix` into a character.
fn push_code(
    value: &mut String,
    chars: &mut core::iter::Peekable<core::str::Chars<'_>>,
    len: usize,
    radix: u32,
) {
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
    value.push(char::from_u32(code).unwrap_or('?'));
}

/// Whether a string literal's decoded text names a dunder or private attribute.
fn dunderish(s: &str) -> bool {
    s.contains("__") || (s.starts_with('_') && s.len() > 1)
}

/// What is wrong with a tag, if anything.
fn judge(toks: &[Token]) -> Option<&'static str> {
    let builds = toks.iter().any(|t| match t {
        Token::Punct(c) => matches!(c, '~' | '+' | '*' | '%'),
        Token::Ident(n) => matches!(n.as_str(), "join" | "format" | "replace" | "reverse"),
        Token::Str(..) => false,
    });
    for (i, t) in toks.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        let next = toks.get(i.saturating_add(1));
        match t {
            Token::Ident(name) => {
                if name.contains("__") {
                    return Some(
                        "reaches a dunder attribute or name (such as __class__ or __globals__), the first step of every Jinja sandbox escape",
                    );
                }
                if name == "attr"
                    && (matches!(prev, Some(Token::Punct('|')))
                        || matches!(next, Some(Token::Punct('('))))
                {
                    return Some(
                        "uses the attr filter, which fetches an attribute by a computed name and is how sandbox escapes hide dunder names",
                    );
                }
                let accessed = matches!(next, Some(Token::Punct('.' | '[' | '|')));
                let dotted = matches!(prev, Some(Token::Punct('.')));
                if ESCAPE_OBJECTS.contains(&name.as_str()) && accessed && !dotted {
                    return Some(
                        "reads attributes of a Jinja global object (cycler, joiner, namespace, lipsum, self, …) whose internals lead to Python's globals",
                    );
                }
                if PROCESS_NAMES.contains(&name.as_str()) {
                    return Some(
                        "names a way to run a process or import a module (popen, subprocess, getattr, …)",
                    );
                }
                let called = matches!(next, Some(Token::Punct('(' | '.')));
                if CALLED_NAMES.contains(&name.as_str()) && (called || dotted) {
                    return Some(
                        "calls or opens os, eval, exec, system or a similar process-running name",
                    );
                }
            }
            Token::Str(value, escaped) => {
                if dunderish(value)
                    && (value.contains("__") || matches!(prev, Some(Token::Punct('['))))
                {
                    return Some(
                        "spells a dunder name in a string (such as ['__globals__']), used to reach Python internals by subscript or attr",
                    );
                }
                if *escaped && value.contains('_') {
                    return Some(
                        "writes an underscore as an escape (\\x5f, \\u005f, \\137), which hides a dunder name from simple filters",
                    );
                }
                if builds && !value.is_empty() && value.chars().all(|c| c == '_') {
                    return Some(
                        "builds a name from underscore pieces ('_' ~ '_', '_' * 2, join, format), which spells a dunder name at run time",
                    );
                }
                if PROCESS_NAMES.contains(&value.as_str()) {
                    return Some("names a way to run a process or import a module in a string");
                }
            }
            Token::Punct(_) => {}
        }
    }
    None
}

//! What a Lambda's serialized code says, read without running it.
//!
//! Keras stores a lambda as `marshal.dumps(fn.__code__)` in base64 (`python_utils.func_dump`);
//! `func_load` base64-decodes it, or, when that fails, takes the string's characters as bytes
//! (`raw_unicode_escape`), and hands the bytes to `marshal.loads`. This module does the same
//! decoding and then walks the marshal stream far enough to list the names the code looks up
//! (`co_names`: globals, attributes, imports) and its string constants, for the finding's
//! evidence. The code object's layout differs between Python versions and marshal carries no
//! version, so each known layout is tried and the one that reads the bytes exactly is kept.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Names and strings listed in the evidence; the rest are counted.
const MAX_LISTED: usize = 12;

/// Longest string constant quoted in the evidence.
const MAX_QUOTED: usize = 48;

/// Deepest nesting of marshal containers followed (CPython's own limit is 2,000).
const MAX_NESTING: usize = 200;

/// Marshal objects read before giving up on a layout.
const MAX_OBJECTS: usize = 100_000;

/// Bytes of a marshal string kept; longer ones are cut (they are only quoted, and a back
/// reference copies what was kept).
const MAX_KEPT: usize = 64;

/// String items kept per tuple, and names or strings kept per code walk: bounds what each back
/// reference copies and what the listing deduplicates.
const MAX_ITEMS: usize = 16;
const MAX_FOUND: usize = 256;

/// Marks an object that later `r` records refer back to.
const FLAG_REF: u8 = 0x80;

/// The field layout of a marshalled code object, by Python version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 3.11 and later: 5 ints, code, consts, names, localsplusnames, localspluskinds,
    /// filename, name, qualname, firstlineno, linetable, exceptiontable.
    Py311,
    /// 3.8 to 3.10: 6 ints (with posonlyargcount and nlocals), code, consts, names, varnames,
    /// freevars, cellvars, filename, name, firstlineno, lnotab.
    Py38,
    /// 3.7 and earlier Python 3: as 3.8 without posonlyargcount.
    Py37,
}

impl Layout {
    fn label(self) -> &'static str {
        match self {
            Layout::Py311 => "Python 3.11+",
            Layout::Py38 => "Python 3.8-3.10",
            Layout::Py37 => "Python 3.7 or older",
        }
    }
}

/// A marshal value as far as the evidence needs it.
#[derive(Debug, Clone)]
enum Value {
    /// A text string (kept whole up to the quoting limit).
    Str(String),
    /// A tuple or list: its text strings.
    Strings(Vec<String>),
    /// Anything else.
    Other,
}

/// What the walk found.
#[derive(Debug, Default)]
struct Found {
    names: Vec<String>,
    strings: Vec<String>,
}

/// A walk over one marshal stream with one layout.
struct Walk<'a> {
    data: &'a [u8],
    pos: usize,
    layout: Layout,
    /// Objects flagged for back-references, in the order marshal numbers them.
    refs: Vec<Value>,
    objects: usize,
    found: Found,
}

impl Walk<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(*self.take(1)?.first()?)
    }

    fn i32(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_le_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    }

    /// A length prefix: non-negative, and no more than the bytes left (every counted item
    /// takes at least one byte), so a hostile count cannot make the walk allocate or loop.
    fn count(&mut self, wide: bool) -> Option<usize> {
        let n = if wide {
            usize::try_from(self.i32()?).ok()?
        } else {
            usize::from(self.u8()?)
        };
        (n <= self.data.len().saturating_sub(self.pos)).then_some(n)
    }

    fn text(&mut self, wide: bool) -> Option<Value> {
        let n = self.count(wide)?;
        let bytes = self.take(n)?;
        let kept = bytes.get(..n.min(MAX_KEPT)).unwrap_or_default();
        Some(Value::Str(String::from_utf8_lossy(kept).into_owned()))
    }

    /// Reads one object.
    fn object(&mut self, depth: usize) -> Option<Value> {
        self.objects += 1;
        if depth > MAX_NESTING || self.objects > MAX_OBJECTS {
            return None;
        }
        let code = self.u8()?;
        // Containers and code objects take their reference number before their contents, as
        // CPython's r_ref_reserve does, so slot numbers match the writer's.
        let slot = (code & FLAG_REF != 0).then(|| {
            self.refs.push(Value::Other);
            self.refs.len() - 1
        });
        let value = match code & !FLAG_REF {
            b'0' | b'N' | b'F' | b'T' | b'S' | b'.' => Value::Other,
            b'i' => {
                self.take(4)?;
                Value::Other
            }
            b'I' | b'g' => {
                self.take(8)?;
                Value::Other
            }
            b'y' => {
                self.take(16)?;
                Value::Other
            }
            b'f' => {
                let n = self.count(false)?;
                self.take(n)?;
                Value::Other
            }
            b'x' => {
                for _ in 0..2 {
                    let n = self.count(false)?;
                    self.take(n)?;
                }
                Value::Other
            }
            b'l' => {
                let digits = self.i32()?.unsigned_abs();
                self.take(usize::try_from(digits).ok()?.checked_mul(2)?)?;
                Value::Other
            }
            b's' => {
                let n = self.count(true)?;
                self.take(n)?;
                Value::Other
            }
            b't' | b'u' | b'a' | b'A' => self.text(true)?,
            b'z' | b'Z' => self.text(false)?,
            b'r' => {
                let index = usize::try_from(self.i32()?).ok()?;
                self.refs.get(index)?.clone()
            }
            b'(' | b'[' | b'<' | b'>' => self.sequence(true, depth)?,
            b')' => self.sequence(false, depth)?,
            b'{' => {
                // Key/value pairs up to a NULL key.
                loop {
                    if self.data.get(self.pos) == Some(&b'0') {
                        self.pos += 1;
                        break;
                    }
                    self.object(depth + 1)?;
                    self.object(depth + 1)?;
                }
                Value::Other
            }
            b'c' => {
                self.code(depth)?;
                Value::Other
            }
            _ => return None,
        };
        if let Some(slot) = slot {
            *self.refs.get_mut(slot)? = value.clone();
        }
        Some(value)
    }

    /// A tuple, list, set or frozenset: its string items.
    fn sequence(&mut self, wide: bool, depth: usize) -> Option<Value> {
        let n = self.count(wide)?;
        let mut strings = Vec::new();
        for _ in 0..n {
            if let Value::Str(s) = self.object(depth + 1)? {
                if strings.len() < MAX_ITEMS {
                    strings.push(s);
                }
            }
        }
        Some(Value::Strings(strings))
    }

    /// A code object after its type byte: records its names and string constants.
    fn code(&mut self, depth: usize) -> Option<()> {
        let ints = if self.layout == Layout::Py38 { 6 } else { 5 };
        self.take(4 * ints)?;
        self.object(depth + 1)?; // co_code
        if let Value::Strings(consts) = self.object(depth + 1)? {
            let room = MAX_FOUND.saturating_sub(self.found.strings.len());
            self.found.strings.extend(consts.into_iter().take(room));
        }
        if let Value::Strings(names) = self.object(depth + 1)? {
            let room = MAX_FOUND.saturating_sub(self.found.names.len());
            self.found.names.extend(names.into_iter().take(room));
        }
        let (before_line, after_line) = match self.layout {
            Layout::Py311 => (5, 2),
            Layout::Py38 | Layout::Py37 => (5, 1),
        };
        for _ in 0..before_line {
            self.object(depth + 1)?;
        }
        self.take(4)?; // co_firstlineno
        for _ in 0..after_line {
            self.object(depth + 1)?;
        }
        Some(())
    }
}

/// Reads `bytes` as one marshalled code object, in the first layout that consumes them exactly.
fn walk(bytes: &[u8]) -> Option<(Layout, Found)> {
    if bytes.first().map(|b| b & !FLAG_REF) != Some(b'c') {
        return None;
    }
    [Layout::Py311, Layout::Py38, Layout::Py37]
        .into_iter()
        .find_map(|layout| {
            let mut w = Walk {
                data: bytes,
                pos: 0,
                layout,
                refs: Vec::new(),
                objects: 0,
                found: Found::default(),
            };
            w.object(0)?;
            (w.pos == bytes.len()).then_some((layout, w.found))
        })
}

/// Python's `binascii.a2b_base64` in its default, lenient mode: characters outside the
/// alphabet are skipped and decoding stops at complete padding. `None` where Python raises.
fn base64(text: &str) -> Option<Vec<u8>> {
    if !text.is_ascii() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut quad, mut left, mut pads) = (0u8, 0u32, 0u8);
    for &c in text.as_bytes() {
        if c == b'=' {
            pads = pads.saturating_add(1);
            if quad >= 2 && quad.saturating_add(pads) >= 4 {
                return Some(out);
            }
            continue;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        pads = 0;
        let v = u32::from(v);
        match quad {
            0 => {}
            1 => out.push(((left << 2) | (v >> 4)) as u8),
            2 => out.push(((left << 4) | (v >> 2)) as u8),
            _ => out.push(((left << 6) | v) as u8),
        }
        left = v & (0x3f >> (2 * quad));
        quad = (quad + 1) % 4;
    }
    (quad == 0).then_some(out)
}

/// The bytes `func_load` hands to `marshal.loads`, and how it got them.
fn code_bytes(code: &str) -> (Vec<u8>, &'static str) {
    match base64(code) {
        Some(bytes) => (bytes, "base64"),
        // raw_unicode_escape: characters below U+0100 are their own byte; others become
        // `\uXXXX` text, which cannot start a code object anyway.
        None => (
            code.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            "raw characters",
        ),
    }
}

/// Lists up to [`MAX_LISTED`] distinct items, then how many more there are.
fn listing(items: &[String], quote: bool) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item.as_str()) {
            seen.push(item);
        }
    }
    let mut out = String::new();
    for (i, item) in seen.iter().take(MAX_LISTED).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if quote {
            let shown: String = item
                .chars()
                .take(MAX_QUOTED)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let cut = if item.chars().count() > MAX_QUOTED {
                "…"
            } else {
                ""
            };
            out.push_str(&format!("'{shown}{cut}'"));
        } else {
            out.push_str(item);
        }
    }
    if seen.len() > MAX_LISTED {
        out.push_str(&format!(" and {} more", seen.len() - MAX_LISTED));
    }
    out
}

/// A short description of serialized lambda code for a finding's evidence: its size, the
/// Python layout it was written by, the names it looks up and its string constants.
pub(super) fn describe(code: &str) -> String {
    let (bytes, how) = code_bytes(code);
    let Some((layout, found)) = walk(&bytes) else {
        return format!(
            "{} bytes ({how}) that do not read as a marshalled code object",
            bytes.len()
        );
    };
    let mut out = format!(
        "{} bytes of {} bytecode ({how})",
        bytes.len(),
        layout.label()
    );
    if !found.names.is_empty() {
        out.push_str("; names: ");
        out.push_str(&listing(&found.names, false));
    }
    if !found.strings.is_empty() {
        out.push_str("; strings: ");
        out.push_str(&listing(&found.strings, true));
    }
    out
}

/// A dotted Python name (`relu`, `my_pkg.act`): what `function_type: "function"` holds.
pub(super) fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Text that is Python source rather than base64 or raw marshal data: it holds characters
/// base64 never does and starts like code.
pub(super) fn looks_like_source(code: &str) -> bool {
    let trimmed = code.trim_start();
    (trimmed.starts_with("lambda") || trimmed.starts_with("def ") || trimmed.contains('('))
        && code.bytes().any(|b| matches!(b, b' ' | b'(' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `marshal.dumps((lambda x: __import__("os").system("echo pwned") + x.y).__code__)`,
    /// Python 3.11.
    const PY311: &[u8] = b"\xe3\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x03\x00\x00\x00\xf3V\x00\x00\x00\x97\x00t\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00d\x01\xa6\x01\x00\x00\xab\x01\x00\x00\x00\x00\x00\x00\x00\x00\xa0\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00d\x02\xa6\x01\x00\x00\xab\x01\x00\x00\x00\x00\x00\x00\x00\x00|\x00j\x02\x00\x00\x00\x00\x00\x00\x00\x00z\x00\x00\x00S\x00)\x03N\xda\x02os\xfa\necho pwned)\x03\xda\n__import__\xda\x06system\xda\x01y)\x01\xda\x01xs\x01\x00\x00\x00 \xfa\x07<stdin>\xfa\x08<lambda>r\t\x00\x00\x00\x02\x00\x00\x00s#\x00\x00\x00\x80\x00\x8dj\x98\x14\xd1\x0e\x1e\xd4\x0e\x1e\xd7\x0e%\xd2\x0e%\xa0l\xd1\x0e3\xd4\x0e3\xb0a\xb4c\xd1\x0e9\x80\x00\xf3\x00\x00\x00\x00";

    /// Standard base64 with line breaks every 76 characters, as `codecs.encode(.., "base64")`.
    fn b64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, &b| a << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
            if out.len() % 77 == 76 {
                out.push('\n');
            }
        }
        out.push('\n');
        out
    }

    #[test]
    fn names_and_strings_of_a_real_lambda() {
        let text = describe(&b64(PY311));
        assert_eq!(
            text,
            "240 bytes of Python 3.11+ bytecode (base64); names: __import__, system, y; strings: 'os', 'echo pwned'"
        );
    }

    #[test]
    fn base64_is_lenient_like_python() {
        assert_eq!(base64("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64("a G\nk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64("aGk=garbage").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64("aGk"), None);
        assert_eq!(base64("aGVsbG8h").as_deref(), Some(&b"hello!"[..]));
        assert_eq!(base64("é"), None);
    }

    #[test]
    fn anything_else_is_described_without_a_walk() {
        assert_eq!(
            describe("not base64 at all!"),
            "18 bytes (raw characters) that do not read as a marshalled code object"
        );
        // A truncated code object and a hostile count.
        assert!(describe(&b64(&PY311[..100])).contains("do not read"));
        assert!(describe(&b64(b"\xe3\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x03\x00\x00\x00(\xff\xff\xff\x7f")).contains("do not read"));
    }
}

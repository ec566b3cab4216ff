//! Pickles inside pickles: constants that hold a pickle (raw, base64 or hex), scanned as they
//! are decoded, and judged at the end by whether the outer pickle hands them to a loader.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::findings::Findings;
use crate::limits::Limits;
use crate::policy::Policy;
use crate::report::{Finding, Format, Severity, Verdict};
use crate::rules::Rule;
use crate::scanner;

/// How a payload was stored in its constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Raw,
    Base64,
    Hex,
}

impl Encoding {
    fn as_str(self) -> &'static str {
        match self {
            Encoding::Raw => "pickle",
            Encoding::Base64 => "base64-pickle",
            Encoding::Hex => "hex-pickle",
        }
    }
}

#[derive(Debug)]
struct Payload {
    offset: u64,
    encoding: Encoding,
    len: usize,
    findings: Vec<Finding>,
    /// The loader it was passed to, if any.
    loaded_by: Option<String>,
}

/// The embedded payloads of one pickle stream.
#[derive(Debug)]
pub(crate) struct Payloads {
    policy: Policy,
    limits: Limits,
    depth: u32,
    member: Option<String>,
    entries: Vec<Payload>,
    depth_reported: bool,
}

impl Payloads {
    pub(crate) fn new(
        policy: Policy,
        limits: Limits,
        depth: u32,
        member: Option<String>,
    ) -> Payloads {
        Payloads {
            policy,
            limits,
            depth,
            member,
            entries: Vec::new(),
            depth_reported: false,
        }
    }

    /// Scans `content` if it looks like a pickle in any encoding; returns the payload's index.
    #[inline]
    pub(crate) fn detect(
        &mut self,
        content: &[u8],
        offset: u64,
        findings: &mut Findings,
    ) -> Option<u32> {
        if !may_hold_pickle(content) {
            return None;
        }
        if looks_like_pickle(content) {
            return self.scan(content, offset, Encoding::Raw, false, findings);
        }
        if let Some(decoded) = decode_base64(content, self.limits.max_inline_operand) {
            return self.scan(&decoded, offset, Encoding::Base64, false, findings);
        }
        if let Some(decoded) = decode_hex(content, self.limits.max_inline_operand) {
            return self.scan(&decoded, offset, Encoding::Hex, false, findings);
        }
        None
    }

    /// Scans `content` as a pickle because a loader receives it, whatever it looks like.
    pub(crate) fn scan_forced(
        &mut self,
        content: &[u8],
        offset: u64,
        findings: &mut Findings,
    ) -> Option<u32> {
        self.scan(content, offset, Encoding::Raw, true, findings)
    }

    /// Records the result of a payload scanned elsewhere (a streamed-past operand).
    pub(crate) fn record(&mut self, offset: u64, len: usize, nested: Vec<Finding>) -> Option<u32> {
        self.entries.push(Payload {
            offset,
            encoding: Encoding::Raw,
            len,
            findings: nested,
            loaded_by: None,
        });
        u32::try_from(self.entries.len() - 1).ok()
    }

    pub(crate) fn child_depth(&self) -> Option<u32> {
        (self.depth < self.limits.max_depth && self.entries.len() < self.limits.max_embedded_scans)
            .then_some(self.depth + 1)
    }

    fn scan(
        &mut self,
        content: &[u8],
        offset: u64,
        encoding: Encoding,
        forced: bool,
        findings: &mut Findings,
    ) -> Option<u32> {
        let Some(depth) = self.child_depth() else {
            if !self.depth_reported {
                self.depth_reported = true;
                findings.rule(
                    Rule::ScanLimitReached,
                    self.member.as_deref(),
                    Some(offset),
                    String::from("a nested pickle was not scanned: nesting depth or embedded-payload count limit reached"),
                    Some(String::from("max_depth")),
                );
            }
            return None;
        };
        let report = scanner::scan_nested(content, &self.policy, self.limits, depth);
        if report.format != Format::Pickle && !forced {
            return None;
        }
        self.entries.push(Payload {
            offset,
            encoding,
            len: content.len(),
            findings: report.findings,
            loaded_by: None,
        });
        u32::try_from(self.entries.len() - 1).ok()
    }

    /// Marks a payload as unpickled by `loader` during the outer load.
    pub(crate) fn activate(&mut self, index: u32, loader: &str) {
        if let Some(p) = self.entries.get_mut(index as usize)
            && p.loaded_by.is_none()
        {
            p.loaded_by = Some(String::from(loader));
        }
    }

    /// Reports every payload: loaded ones with their findings at full severity, the others
    /// as one `pickle.embedded-payload` finding each when their scan found something.
    pub(crate) fn finish(self, findings: &mut Findings) {
        let member = self.member.as_deref();
        for p in self.entries {
            let path = format!(
                "{}#{}@{}",
                member.unwrap_or(""),
                p.encoding.as_str(),
                p.offset
            );
            match p.loaded_by {
                Some(loader) => {
                    findings.rule(
                        Rule::PickleNestedLoad,
                        member,
                        Some(p.offset),
                        format!(
                            "passes a {}-byte pickle to {loader}; it was scanned as {path}",
                            p.len
                        ),
                        Some(path.clone()),
                    );
                    findings.absorb_under(&path, p.findings);
                }
                None => {
                    if Verdict::from_findings(&p.findings) == Verdict::Clean {
                        continue;
                    }
                    let worst = p.findings.iter().max_by_key(|f| f.severity);
                    let what = worst.map_or_else(String::new, |f| f.message.clone());
                    findings.push(
                        Rule::PickleEmbeddedPayload,
                        Severity::Medium,
                        member,
                        Some(p.offset),
                        format!(
                            "a {} constant holds a pickle that, if unpickled, {what}",
                            p.encoding.as_str()
                        ),
                        worst.and_then(|f| f.evidence.clone()),
                    );
                }
            }
        }
    }
}

/// A cheap first look at a constant: can it be a raw, base64 or hex pickle at all? Base64 of
/// PROTO starts with `g`, of GLOBAL `Y`, of MARK `K`, of INST `a`; hex of them with `8`, `6`, `2`.
#[inline(always)]
pub(crate) fn may_hold_pickle(content: &[u8]) -> bool {
    matches!(
        (content.first(), content.last()),
        (
            Some(0x80 | b'g' | b'Y' | b'K' | b'a' | b'8' | b'6' | b'2'),
            _
        ) | (Some(_), Some(b'.'))
    )
}

/// A raw pickle: PROTO with a known version, or an ASCII opcode and a final STOP.
pub(crate) fn looks_like_pickle(bytes: &[u8]) -> bool {
    match (bytes.first(), bytes.get(1), bytes.last()) {
        (Some(0x80), Some(&v), _) => v <= super::opcodes::HIGHEST_PROTOCOL,
        (Some(&first), Some(_), Some(b'.')) => {
            first < 0x80 && super::opcodes::name(first).is_some()
        }
        _ => false,
    }
}

/// Whether a decoded prefix starts like a pickle, for cheap rejection before a full decode.
fn starts_like_pickle(prefix: &[u8]) -> bool {
    match (prefix.first(), prefix.get(1)) {
        (Some(0x80), Some(&v)) => v <= super::opcodes::HIGHEST_PROTOCOL,
        (Some(b'c' | b'(' | b'i'), Some(_)) => true,
        _ => false,
    }
}

fn base64_digit(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => u32::from(b - b'A'),
        b'a'..=b'z' => u32::from(b - b'a') + 26,
        b'0'..=b'9' => u32::from(b - b'0') + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

/// Standard or URL-safe base64 of something that starts like a pickle.
fn decode_base64(text: &[u8], max: usize) -> Option<Vec<u8>> {
    let body = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    if body.len() < 12 || text.len() / 4 * 3 > max {
        return None;
    }
    let quad = |chunk: &[u8]| -> Option<u32> {
        chunk
            .iter()
            .try_fold(0u32, |acc, &b| Some(acc << 6 | base64_digit(b)?))
    };
    let first = quad(body.get(..4)?)?;
    if !starts_like_pickle(&[(first >> 16) as u8, (first >> 8) as u8]) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let mut chunks = body.chunks_exact(4);
    for chunk in chunks.by_ref() {
        let v = quad(chunk)?;
        out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
    }
    let rest = chunks.remainder();
    match rest.len() {
        0 => {}
        2 => out.push((quad(rest)? >> 4) as u8),
        3 => {
            let v = quad(rest)? >> 2;
            out.extend_from_slice(&[(v >> 8) as u8, v as u8]);
        }
        _ => return None,
    }
    Some(out)
}

fn decode_hex(text: &[u8], max: usize) -> Option<Vec<u8>> {
    if text.len() < 8 || text.len() % 2 != 0 || text.len() / 2 > max {
        return None;
    }
    let byte = |pair: &[u8]| -> Option<u8> {
        let digit = |b: u8| (b as char).to_digit(16);
        Some((digit(*pair.first()?)? << 4 | digit(*pair.get(1)?)?) as u8)
    };
    let head = [byte(text.get(..2)?)?, byte(text.get(2..4)?)?];
    if !starts_like_pickle(&head) {
        return None;
    }
    text.chunks_exact(2).map(byte).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_of_a_pickle_are_decoded() {
        // pickle.dumps(None, 2) == b'\x80\x02N.'; base64 'gAJOLg==', hex '80024e2e'.
        assert_eq!(
            decode_base64(b"gAJOLgAAAAAAAAAA", 100).as_deref(),
            Some(&b"\x80\x02N.\0\0\0\0\0\0\0\0"[..])
        );
        assert_eq!(
            decode_hex(b"80024e2e", 100).as_deref(),
            Some(&b"\x80\x02N."[..])
        );
        assert_eq!(decode_hex(b"deadbeef", 100), None);
        assert_eq!(decode_base64(b"SGVsbG8gd29ybGQhISE=", 100), None);
        assert!(looks_like_pickle(b"\x80\x04N."));
        assert!(looks_like_pickle(b"I12345\n."));
        assert!(!looks_like_pickle(b"zebra."));
        assert!(!looks_like_pickle(b"\x80\x09"));
    }
}

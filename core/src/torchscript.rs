//! TorchScript source in a PyTorch archive (`code/**.py`), read for what it does when the
//! archive loads.
//!
//! `torch.jit.load` compiles these files and then rebuilds the module's objects, calling each
//! scripted class's `__setstate__`: TorchScript code runs at load time, not only when the model
//! is called. Before torch 2.6, `torch.load(..., weights_only=True)` handed a TorchScript
//! archive to `torch.jit.load` (CVE-2025-32434, GHSA-53q9-r3pm-6pq6), so the code ran where
//! only tensors were expected. Most TorchScript is arithmetic; `torch.from_file` is the builtin
//! that reaches the file system: it maps any file the process can read (and with `shared=True`
//! writes back) into a tensor, so the model's state carries the file out. Its name in the code
//! is reported; the rest of the code stays at the archive's low `torch.torchscript-code` note.
//!
//! The text is searched as it streams past, with a carry of a needle's length between pieces,
//! so memory stays constant and every driver finds the same offsets.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::findings::Findings;
use crate::report::Severity;
use crate::rules::Rule;

/// What is looked for: the call of `torch.from_file` (or `torch.ops.aten.from_file`).
const FROM_FILE: &[u8] = b"from_file(";

/// A `__setstate__` method, which `torch.jit.load` runs while loading.
const SETSTATE: &[u8] = b"def __setstate__(";

/// The longest needle, less one: what is carried from one piece to the next.
const CARRY: usize = SETSTATE.len() - 1;

/// Whether a member named `path` is TorchScript source that `torch.jit.load` compiles.
pub(crate) fn is_code_member(path: &str) -> bool {
    (path.starts_with("code/") || path.contains("/code/")) && path.ends_with(".py")
}

/// The search over one code file.
#[derive(Debug, Default)]
pub(crate) struct CodeScan {
    /// Offset of the next byte to search.
    pos: u64,
    /// The last bytes searched, for a needle split between pieces.
    carry: Vec<u8>,
    /// Where `from_file(` first appears.
    from_file: Option<u64>,
    /// Whether the file defines `__setstate__`.
    setstate: bool,
}

impl CodeScan {
    /// The next offset the search needs.
    pub(crate) fn wanted(&self) -> u64 {
        self.pos
    }

    /// Bytes found at `offset`; bytes already searched are passed over, and bytes after a gap
    /// are searched as if they followed on (a needle across the gap is not found).
    pub(crate) fn feed(&mut self, offset: u64, data: &[u8]) {
        let skip = usize::try_from(self.pos.saturating_sub(offset)).unwrap_or(usize::MAX);
        let Some(fresh) = data.get(skip..).filter(|f| !f.is_empty()) else {
            return;
        };
        let start = offset.max(self.pos);
        if start > self.pos {
            self.carry.clear();
        }
        // Searched as carry + fresh; a match that starts in the carry began in an earlier
        // piece and is found at its true offset.
        let carried = self.carry.len() as u64;
        let mut window = core::mem::take(&mut self.carry);
        window.extend_from_slice(fresh);
        if self.from_file.is_none()
            && let Some(at) = find(&window, FROM_FILE)
        {
            self.from_file = Some((start + at as u64).saturating_sub(carried));
        }
        self.setstate |= find(&window, SETSTATE).is_some();
        let keep = window.len().saturating_sub(CARRY);
        self.carry = window.get(keep..).map(<[u8]>::to_vec).unwrap_or_default();
        self.pos = start.saturating_add(fresh.len() as u64);
    }

    /// Reports what the code does on load, into the member's own findings.
    pub(crate) fn finish(self, findings: &mut Findings) {
        let Some(at) = self.from_file else {
            return;
        };
        let when = if self.setstate {
            "this file defines __setstate__, which torch.jit.load runs while loading the archive"
        } else {
            "it runs when the code does (a __setstate__ method runs while the archive loads)"
        };
        findings.push(
            Rule::TorchTorchscriptCode,
            Severity::High,
            None,
            Some(at),
            format!(
                "the TorchScript code calls torch.from_file, which maps any file the process can read into a tensor: {when}; torch.load even with weights_only=True dispatched TorchScript archives to torch.jit.load before torch 2.6 (CVE-2025-32434)"
            ),
            Some(String::from("torch.from_file")),
        );
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    const CODE: &[u8] = b"class M(Module):\n  def __setstate__(self: __torch__.M,\n    state: Tuple[Tensor, bool]) -> NoneType:\n    _0 = torch.from_file(\"/etc/passwd\", False, 4, dtype=0)\n    return None\n";

    fn scan_in(pieces: usize) -> Vec<crate::report::Finding> {
        let mut scan = CodeScan::default();
        for (i, piece) in CODE.chunks(pieces).enumerate() {
            scan.feed((i * pieces) as u64, piece);
        }
        let mut findings = Findings::new(Policy::default(), 100);
        scan.finish(&mut findings);
        findings.into_vec()
    }

    #[test]
    fn from_file_is_found_at_its_offset_however_the_text_is_split() {
        let whole = scan_in(CODE.len());
        assert_eq!(whole.len(), 1);
        let at = find(CODE, FROM_FILE).unwrap() as u64;
        assert_eq!(whole[0].offset, Some(at));
        assert!(whole[0].message.contains("defines __setstate__"));
        for n in [1, 2, 3, 7, 16] {
            assert_eq!(scan_in(n), whole, "pieces of {n}");
        }
    }

    #[test]
    fn the_scanner_finds_it_in_an_archive_in_every_driver() {
        // Real torch.jit.save output; its code member is deflated, so the inflater hands the
        // text over in pieces, the first ones while the member's sniffer still gathers bytes.
        let archive = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/bypasses/torch_torchscript_setstate_from_file.pt"
        ));
        let report = crate::test_drivers::same_everywhere(archive);
        let high: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::High)
            .collect();
        assert_eq!(high.len(), 1, "{:?}", report.findings);
        assert!(high[0].message.contains("defines __setstate__"));
        assert_eq!(
            high[0].member.as_deref(),
            Some("archive/code/__torch__/leaky.py")
        );
    }

    #[test]
    fn code_without_file_access_says_nothing() {
        let mut scan = CodeScan::default();
        scan.feed(0, b"def forward(self, x):\n  return torch.add(x, self.w)\n");
        let mut findings = Findings::new(Policy::default(), 100);
        scan.finish(&mut findings);
        assert!(findings.into_vec().is_empty());
        assert!(is_code_member("archive/code/__torch__.py"));
        assert!(!is_code_member("archive/data.pkl"));
    }
}

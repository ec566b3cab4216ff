//! Budgets that bound the scanner's memory and time on hostile input.
//!
//! Every limit is configuration, not a hard-coded constant, and hitting one is reported as a
//! `scan.limit-reached` finding: a file that could not be fully judged is never called clean
//! without comment.

/// Resource budgets for one scan. `Limits::default()` suits files from public model registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// How deep containers and nested pickles may nest (a pickle in a pickle in a zip…).
    pub max_depth: u32,
    /// Longest operand (string, bytes, protocol-0 line) kept in memory; longer payloads stream
    /// past and are only sniffed, never buffered whole.
    pub max_inline_operand: usize,
    /// Memo slots a single pickle may fill before further slots are forgotten.
    pub max_memo_entries: usize,
    /// Values held on the symbolic stack (including below marks) before the pickle is judged
    /// too large to model.
    pub max_stack_values: usize,
    /// Container items remembered for analysis across one pickle; beyond it, containers keep
    /// only their length. Bounds memory on pickles with millions of small objects.
    pub max_retained_items: usize,
    /// Distinct imports remembered per pickle stream. Every import is judged and reported
    /// regardless; past this, calls through new ones are reported as opaque calls.
    pub max_distinct_imports: usize,
    /// Bytes of string and bytes constants remembered across one pickle.
    pub max_retained_bytes: usize,
    /// Findings kept per file; the rest are counted in one summary finding.
    pub max_findings: usize,
    /// Embedded payloads (base64, hex, raw pickles inside strings) decoded and scanned per file.
    pub max_embedded_scans: usize,
    /// Bytes decompressed (deflate, gzip, zlib) across the whole file, nested containers
    /// included; past it, decompression stops with a finding. Zip bombs end here. Content
    /// that is itself inflated gets half of what remains for its own inflation (it runs while
    /// its parent still inflates), so a file costs less than twice this however deep it nests.
    /// It also bounds time: every inflated byte a reader interprets costs work (a pickle's
    /// opcodes run at roughly 75 MB/s in a release build).
    pub max_inflated_bytes: u64,
    /// Members read from one archive (zip entries, tar members).
    pub max_archive_members: usize,
    /// Bytes of member names and directory entries kept per archive for cross-checks.
    pub max_directory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 8,
            max_inline_operand: 1 << 20,
            max_memo_entries: 1 << 22,
            max_stack_values: 1 << 20,
            max_retained_items: 1 << 20,
            max_distinct_imports: 1 << 16,
            max_retained_bytes: 16 << 20,
            max_findings: 1000,
            max_embedded_scans: 256,
            max_inflated_bytes: 4 << 30,
            max_archive_members: 1 << 16,
            max_directory_bytes: 16 << 20,
        }
    }
}

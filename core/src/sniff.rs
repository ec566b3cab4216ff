//! Format detection from leading bytes. Content decides, never the file name.

use crate::pickle::opcodes;

/// Bytes the sniffer wants before deciding (fewer at end of file).
pub(crate) const SNIFF_LEN: usize = 8;

/// What the leading bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// Starts with PROTO, or with a protocol-0/1 opcode: run the pickle engine, which decides
    /// from what the bytes do whether they really are a pickle.
    Pickle,
    /// Nothing known.
    Unknown,
}

pub(crate) fn sniff(prefix: &[u8]) -> Sniffed {
    match prefix.first() {
        Some(&b) if opcodes::name(b).is_some() => Sniffed::Pickle,
        _ => Sniffed::Unknown,
    }
}

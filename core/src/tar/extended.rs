//! What `L`, `K`, `x` and `g` headers say about the members after them, applied the way
//! `tarfile` applies them (`_proc_gnulong`, `_proc_pax`, `_apply_pax_info`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::header;
use crate::findings::Findings;
use crate::rules::Rule;

/// What extended headers say about the next member (or, from `g`, every later one).
#[derive(Debug, Default, Clone)]
pub(super) struct Patch {
    pub(super) name: Option<Vec<u8>>,
    pub(super) link: Option<Vec<u8>>,
    pub(super) size: Option<u64>,
    pub(super) sparse: bool,
    /// A pax header was seen (it makes a global `size` count for the layout).
    pub(super) pax: bool,
}

/// Applies the pax header data `data` (from the header at `at`) to the next member, or to
/// every later one when `global`. Returns `false` when the records are malformed: `tarfile`
/// rejects the archive there.
pub(super) fn apply_pax(
    data: &[u8],
    at: u64,
    global: bool,
    pending: &mut Patch,
    globals: &mut Patch,
    findings: &mut Findings,
) -> bool {
    let mut fields = Patch {
        pax: true,
        ..Patch::default()
    };
    let mut bad_size = false;
    let parsed = header::pax_records(data, |key, value| match key {
        b"path" | b"GNU.sparse.name" => {
            // tarfile strips trailing slashes from a pax path.
            let trimmed = value.len() - value.iter().rev().take_while(|&&b| b == b'/').count();
            fields.name = Some(value.get(..trimmed).unwrap_or_default().to_vec());
        }
        b"linkpath" => fields.link = Some(value.to_vec()),
        b"size" => {
            // tarfile takes a size that is not a number as 0.
            fields.size = Some(header::pax_number(value).unwrap_or_else(|| {
                bad_size = true;
                0
            }));
        }
        key if key.starts_with(b"GNU.sparse.") => fields.sparse = true,
        _ => {}
    });
    if parsed.is_err() {
        findings.rule(
            Rule::ArchiveMalformed,
            None,
            Some(at),
            format!("the pax header at offset {at} is malformed; tarfile rejects the archive there, so members after it were not judged"),
            Some(String::from("tar-pax")),
        );
        return false;
    }
    if bad_size {
        findings.rule(
            Rule::ArchiveMalformed,
            None,
            Some(at),
            format!("the pax header at offset {at} gives a size that is not a number; tarfile takes it as 0 and reads the member's data as headers"),
            Some(String::from("tar-pax-size")),
        );
    }
    if global {
        if fields.size.is_some() {
            findings.rule(
                Rule::ArchiveMalformed,
                None,
                Some(at),
                format!("the global pax header at offset {at} sets a size for every later member; readers disagree about where those members end"),
                Some(String::from("tar-global-size")),
            );
        }
        // Later global headers update the same dictionary in tarfile: the last one wins.
        globals.name = fields.name.or(globals.name.take());
        globals.link = fields.link.or(globals.link.take());
        globals.size = fields.size.or(globals.size);
        globals.sparse |= fields.sparse;
    } else {
        // Per-member headers: the first one wins (see `Patch`).
        pending.name = pending.name.take().or(fields.name);
        pending.link = pending.link.take().or(fields.link);
        pending.size = pending.size.or(fields.size);
        pending.sparse |= fields.sparse;
        pending.pax = true;
    }
    true
}

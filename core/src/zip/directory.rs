//! After the archive is read: the central directory against what the in-order read found,
//! the names loaders will use, and what kind of archive this is.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::records::{CentralHeader, Entry, FLAG_DESCRIPTOR};
use super::{Walked, ZipReader};
use crate::findings::Findings;
use crate::paths;
use crate::report::Format;
use crate::rules::Rule;

/// Flag bits model writers set: deflate options (1, 2), data descriptor (3), UTF-8 names (11).
const ORDINARY_FLAGS: u16 = 0x0002 | 0x0004 | FLAG_DESCRIPTOR | 0x0800;
/// Inflated size from which a near-maximal compression ratio is reported as a bomb.
const BOMB_MIN_SIZE: u64 = 64 << 20;
/// Compression ratio (inflated / compressed) reported as a bomb in large members.
const BOMB_RATIO: u64 = 1000;
/// Bit 0 (encrypted), bit 6 (strong encryption), bit 13 (encrypted central directory).
const ENCRYPTION_FLAGS: u16 = 0x0001 | 0x0040 | 0x2000;

/// The method and compressed size the in-order read used for a member, when known.
pub(super) fn walked_view(w: &Walked) -> Option<super::View> {
    let local = &w.local.entry;
    let compressed_size = match (&w.descriptor, local.flags & FLAG_DESCRIPTOR != 0) {
        (Some(d), true) => d.compressed_size,
        (None, true) if local.compressed_size == 0 => return None,
        _ => local.compressed_size,
    };
    Some(super::View {
        method: local.method,
        compressed_size,
    })
}

/// Members read in order, by where their data lies, to find the one holding an offset. Their
/// ranges ascend without overlapping, so a binary search finds it: a scan of every member
/// for each directory entry cost seconds on archives of tens of thousands of members.
pub(super) struct Holders<'w> {
    by_start: Vec<&'w Walked>,
}

impl<'w> Holders<'w> {
    /// The members read in order among `walked`.
    pub(super) fn new(walked: &'w [Walked]) -> Holders<'w> {
        let mut by_start: Vec<&Walked> = walked.iter().filter(|w| !w.revisited).collect();
        by_start.sort_by_key(|w| w.local_offset);
        Holders { by_start }
    }

    /// The member read in order whose header or data holds `offset`.
    pub(super) fn holding(&self, offset: u64) -> Option<&'w Walked> {
        let after = self.by_start.partition_point(|w| w.local_offset <= offset);
        let w = self.by_start.get(after.checked_sub(1)?)?;
        (w.local_offset..w.end).contains(&offset).then_some(*w)
    }
}

/// Whether a member name is a PyTorch tensor storage (`<folder>/data/<digits>`), whose bytes
/// `torch.load` copies into a tensor and never interprets.
pub(super) fn is_tensor_storage(name: &str) -> bool {
    let Some((dir, file)) = name.rsplit_once('/') else {
        return false;
    };
    let in_data = dir == "data" || dir.ends_with("/data");
    in_data && !file.is_empty() && file.bytes().all(|b| b.is_ascii_digit())
}

/// Cross-checks the directory, files every member's findings under the name loaders use, and
/// says what the archive is.
pub(super) fn file(zip: &mut ZipReader, eof: u64, findings: &mut Findings) -> Format {
    if zip.end.is_none() {
        findings.rule(
            Rule::ArchiveMalformed,
            None,
            Some(zip.pos.min(eof)),
            String::from("the archive has no end of central directory record (truncated or not a zip); members were read from their local headers"),
            None,
        );
    }
    report_lost(zip, findings);
    let central = core::mem::take(&mut zip.central);
    let walked = core::mem::take(&mut zip.walked);
    // The member read in order (or by a revisit) at each offset; reads the directory's way
    // are filed alongside it.
    let mut by_offset: BTreeMap<u64, usize> = BTreeMap::new();
    let mut central_views: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, w) in walked.iter().enumerate() {
        if w.central_view {
            central_views.entry(w.local_offset).or_insert(i);
        } else {
            by_offset.entry(w.local_offset).or_insert(i);
        }
    }
    let mut filed_views = alloc::vec![false; walked.len()];
    let in_order = Holders::new(&walked);
    // Directory entries inside another member's data, as the revisit plan counted them.
    let overlapping = zip.overlapping;
    let mut filed = alloc::vec![false; walked.len()];
    let mut names: BTreeMap<&[u8], usize> = BTreeMap::new();
    let mut referenced: BTreeMap<u64, usize> = BTreeMap::new();
    for c in &central {
        let name = c.entry.display_name();
        *names.entry(c.entry.name.as_slice()).or_insert(0) += 1;
        let sharing = referenced.entry(c.local_offset).or_insert(0);
        *sharing += 1;
        if *sharing > 1 {
            findings.rule(
                Rule::ZipOverlappingMembers,
                Some(&name),
                Some(c.local_offset),
                format!("member {name} points at a local header another member already uses"),
                Some(format!("local header at {}", c.local_offset)),
            );
            continue;
        }
        check_entry_flags(&c.entry, &name, findings);
        match by_offset.get(&c.local_offset).copied() {
            Some(i) => {
                let Some(w) = walked.get(i) else { continue };
                if let Some(done) = filed.get_mut(i) {
                    *done = true;
                }
                if w.revisited
                    && let Some(outer) = in_order.holding(c.local_offset)
                {
                    overlap(c, outer, &name, "", findings);
                }
                compare(c, w, &name, findings);
                findings.absorb_under(&name, w.findings.clone());
                match central_views.get(&c.local_offset) {
                    Some(&v) => {
                        if let (Some(view), Some(done)) = (walked.get(v), filed_views.get_mut(v)) {
                            findings.absorb_under(&name, view.findings.clone());
                            *done = true;
                        }
                    }
                    None if zip.planned_views.contains(&c.local_offset) => {
                        findings.rule(
                            Rule::ZipLayout,
                            Some(&name),
                            Some(c.local_offset),
                            format!("member {name} was read with its local header's method and size; loaders use the directory's, and the driver did not seek back to read it that way"),
                            Some(format!("local header at {}", c.local_offset)),
                        );
                    }
                    None => {}
                }
            }
            None => unreached(
                c,
                &walked,
                &in_order,
                &zip.no_local_header,
                overlapping,
                eof,
                &name,
                findings,
            ),
        }
    }
    for (name, count) in &names {
        if *count > 1 {
            let name = String::from_utf8_lossy(name);
            findings.rule(
                Rule::ArchiveDuplicateName,
                Some(&name),
                None,
                format!("{count} members are named {name}; readers disagree about which one a loader opens"),
                Some(name.clone().into_owned()),
            );
        }
    }
    for ((w, done), view_done) in walked.iter().zip(&filed).zip(&filed_views) {
        if *done || *view_done || w.central_view {
            continue;
        }
        let name = w.local.entry.display_name();
        if zip.end.is_some() {
            findings.rule(
                Rule::ZipLayout,
                Some(&name),
                Some(w.local_offset),
                format!("member {name} at offset {} is not listed in the central directory: loaders that use the directory never see it", w.local_offset),
                Some(name.clone()),
            );
        }
        check_entry_flags(&w.local.entry, &name, findings);
        findings.absorb_under(&name, w.findings.clone());
    }
    let listed: Vec<&Entry> = if central.is_empty() {
        walked.iter().map(|w| &w.local.entry).collect()
    } else {
        central.iter().map(|c| &c.entry).collect()
    };
    for entry in &listed {
        let name = entry.display_name();
        if let Some(problem) = paths::unsafe_path(&name) {
            findings.rule(
                Rule::ArchiveUnsafePath,
                Some(&name),
                None,
                format!("member name {name} {problem}"),
                Some(name.clone()),
            );
        }
    }
    check_end(zip, &central, eof, findings);
    classify(&listed, findings)
}

/// Flags of one entry: encryption and bits no model writer sets.
fn check_entry_flags(entry: &Entry, name: &str, findings: &mut Findings) {
    if entry.flags & ENCRYPTION_FLAGS != 0 {
        findings.rule(
            Rule::ZipEncryptedMember,
            Some(name),
            None,
            format!("member {name} is flagged as encrypted (flags {:#06x}); it was scanned as if stored plain", entry.flags),
            Some(format!("flags {:#06x}", entry.flags)),
        );
    }
    let unusual = entry.flags & !(ORDINARY_FLAGS | ENCRYPTION_FLAGS);
    if unusual != 0 {
        findings.rule(
            Rule::ZipUnusualFlags,
            Some(name),
            None,
            format!("member {name} sets flag bits {unusual:#06x}, which model writers never set"),
            Some(format!("flags {:#06x}", entry.flags)),
        );
    }
    // Deflate tops out near 1032:1, reached only by long runs of one byte value; real arrays
    // and pickles compress far less. A large member declaring more is an extraction bomb.
    if entry.method == 8
        && entry.size >= BOMB_MIN_SIZE
        && entry.size / entry.compressed_size.max(1) >= BOMB_RATIO
    {
        findings.rule(
            Rule::ArchiveDecompressionBomb,
            Some(name),
            None,
            format!(
                "member {name} declares {} bytes inflated from {} ({}:1): extracting it is a decompression bomb",
                entry.size,
                entry.compressed_size,
                entry.size / entry.compressed_size.max(1)
            ),
            Some(format!("{}:1", entry.size / entry.compressed_size.max(1))),
        );
    }
    if !matches!(entry.method, 0 | 8) {
        findings.rule(
            Rule::ArchiveUnscannable,
            Some(name),
            None,
            format!("member {name} uses compression method {}, which modelsieve cannot inflate; its content was not judged", entry.method),
            Some(format!("method {}", entry.method)),
        );
    }
}

/// Local header (and data descriptor) against the central entry, and the data against both.
fn compare(c: &CentralHeader, w: &Walked, name: &str, findings: &mut Findings) {
    let local = &w.local.entry;
    let central = &c.entry;
    let mut differences: Vec<String> = Vec::new();
    if local.name != central.name {
        differences.push(format!(
            "name: local {:?}, central {:?}",
            local.display_name(),
            central.display_name()
        ));
    }
    if local.method != central.method {
        differences.push(format!(
            "method: local {}, central {}",
            local.method, central.method
        ));
    }
    // Bit 3 may legitimately be set in one header only by some writers; the others must agree.
    if (local.flags ^ central.flags) & !FLAG_DESCRIPTOR & !0x0800 != 0 {
        differences.push(format!(
            "flags: local {:#06x}, central {:#06x}",
            local.flags, central.flags
        ));
    }
    let (crc, compressed, size) = match (&w.descriptor, local.flags & FLAG_DESCRIPTOR != 0) {
        (Some(d), true) => (d.crc32, d.compressed_size, d.size),
        _ => (local.crc32, local.compressed_size, local.size),
    };
    let sized_in_local = !(local.flags & FLAG_DESCRIPTOR != 0 && w.descriptor.is_none());
    if sized_in_local {
        if crc != central.crc32 && !(local.flags & FLAG_DESCRIPTOR != 0 && crc == 0) {
            differences.push(format!(
                "CRC: local {crc:#010x}, central {:#010x}",
                central.crc32
            ));
        }
        if compressed != central.compressed_size
            && !(local.flags & FLAG_DESCRIPTOR != 0 && compressed == 0)
        {
            differences.push(format!(
                "compressed size: local {compressed}, central {}",
                central.compressed_size
            ));
        }
        if size != central.size && !(local.flags & FLAG_DESCRIPTOR != 0 && size == 0) {
            differences.push(format!("size: local {size}, central {}", central.size));
        }
    }
    if !differences.is_empty() {
        findings.rule(
            Rule::ZipHeaderMismatch,
            Some(name),
            Some(w.local_offset),
            format!(
                "the local header of {name} disagrees with the central directory ({})",
                differences.join("; ")
            ),
            differences.first().cloned(),
        );
    }
    let Some(seen) = w.seen else { return };
    // An encrypted member's bytes are ciphertext (with a 12-byte header): its CRC and size
    // describe the plaintext, so comparing them says nothing.
    if local.flags & ENCRYPTION_FLAGS != 0 || central.flags & ENCRYPTION_FLAGS != 0 {
        return;
    }
    if seen.corrupt {
        findings.rule(
            Rule::ArchiveMalformed,
            Some(name),
            Some(w.local_offset),
            format!(
                "the deflate data of {name} is corrupt; what inflated before the error was scanned"
            ),
            None,
        );
    }
    if seen.capped {
        findings.rule(
            Rule::ArchiveDecompressionBomb,
            Some(name),
            Some(w.local_offset),
            format!("inflating {name} reached the decompression budget; the rest was not scanned"),
            Some(String::from("max_inflated_bytes")),
        );
    }
    if let Some(actual) = seen.crc32
        && actual != central.crc32
    {
        findings.rule(
            Rule::ZipCrcMismatch,
            Some(name),
            Some(w.local_offset),
            format!(
                "the content of {name} has CRC-32 {actual:#010x} but the directory says {:#010x}",
                central.crc32
            ),
            Some(format!("crc {actual:#010x} != {:#010x}", central.crc32)),
        );
    }
    if let Some(actual) = seen.size
        && actual != central.size
    {
        findings.rule(
            Rule::ZipHeaderMismatch,
            Some(name),
            Some(w.local_offset),
            format!(
                "{name} holds {actual} bytes but the directory says {}",
                central.size
            ),
            Some(format!("size {actual} != {}", central.size)),
        );
    }
}

/// A central entry whose local header the in-order read never reached.
#[allow(clippy::too_many_arguments)]
fn unreached(
    c: &CentralHeader,
    walked: &[Walked],
    in_order: &Holders<'_>,
    no_local_header: &BTreeSet<u64>,
    overlapping: usize,
    eof: u64,
    name: &str,
    findings: &mut Findings,
) {
    if c.local_offset >= eof {
        findings.rule(
            Rule::ZipLayout,
            Some(name),
            Some(c.local_offset),
            format!(
                "the central directory places member {name} at offset {}, past the end of the file",
                c.local_offset
            ),
            Some(format!("local header at {}", c.local_offset)),
        );
        return;
    }
    if no_local_header.contains(&c.local_offset) {
        findings.rule(
            Rule::ZipLayout,
            Some(name),
            Some(c.local_offset),
            format!(
                "the central directory places member {name} at offset {}, where there is no local header",
                c.local_offset
            ),
            Some(format!("local header at {}", c.local_offset)),
        );
        return;
    }
    // The members read in order come first in `walked`; the few read by seeking back after.
    let inside = in_order.holding(c.local_offset).or_else(|| {
        walked
            .iter()
            .filter(|w| w.revisited)
            .find(|w| (w.local_offset..w.end).contains(&c.local_offset))
    });
    let _ = match inside {
        Some(w) if overlapping > super::MAX_OVERLAP_REVISITS => {
            let tail = format!(
                "; {overlapping} members overlap, an overlap bomb, so none of them was read"
            );
            overlap(c, w, name, &tail, findings);
            None
        }
        Some(w) => {
            overlap(c, w, name, ", and the driver did not seek back to read it", findings);
            None
        }
        None => findings.rule(
            Rule::ZipLayout,
            Some(name),
            Some(c.local_offset),
            format!(
                "member {name} (local header at {}) could not be read: it lies outside the archive's member sequence and the driver did not seek back to it",
                c.local_offset
            ),
            Some(format!("local header at {}", c.local_offset)),
        ),
    };
}

/// A member whose local header lies inside another member's data.
fn overlap(c: &CentralHeader, outer: &Walked, name: &str, tail: &str, findings: &mut Findings) {
    findings.rule(
        Rule::ZipOverlappingMembers,
        Some(name),
        Some(c.local_offset),
        format!(
            "member {name} starts at offset {}, inside the data of {}: members overlap{tail}",
            c.local_offset,
            outer.local.entry.display_name()
        ),
        Some(format!("local header at {}", c.local_offset)),
    );
}

/// Places where the in-order read met bytes that are not a record.
fn report_lost(zip: &ZipReader, findings: &mut Findings) {
    if let Some((first, _)) = zip.lost.first() {
        findings.rule(
            Rule::ZipLayout,
            None,
            Some(*first),
            format!(
                "bytes at offset {first} are not a zip record ({} such place(s)): data hidden between members or a broken archive",
                zip.lost_count
            ),
            None,
        );
    }
}

/// The end record against the directory that was read, and bytes after the archive.
fn check_end(zip: &ZipReader, central: &[CentralHeader], eof: u64, findings: &mut Findings) {
    let Some(end) = &zip.end else { return };
    let counted = central.len() as u64;
    if end.entries != counted && end.entries != 0xffff && !zip.limited {
        findings.rule(
            Rule::ZipLayout,
            None,
            zip.end_offset,
            format!(
                "the end record announces {} members but the central directory lists {counted}",
                end.entries
            ),
            None,
        );
    }
    if let Some(start) = zip.directory_start
        && end.directory_offset != 0xffff_ffff
        && end.directory_offset != start
        && !central.is_empty()
    {
        findings.rule(
            Rule::ZipLayout,
            None,
            zip.end_offset,
            format!(
                "the end record places the central directory at {} but it starts at {start}",
                end.directory_offset
            ),
            None,
        );
    }
    // Only a known size says where the input ends: a member inflated until its archive was
    // complete ends wherever its container stopped feeding it.
    if zip.input.size.is_some() && zip.pos < eof && !zip.revisiting {
        findings.rule(
            Rule::ZipLayout,
            None,
            Some(zip.pos),
            format!("{} bytes follow the end of the archive", eof - zip.pos),
            None,
        );
    }
}

/// PyTorch, TorchScript, NumPy and Keras archives are zips with a recognisable member layout.
fn classify(names: &[&Entry], findings: &mut Findings) -> Format {
    let names: Vec<String> = names.iter().map(|e| e.display_name()).collect();
    let folder_has = |suffix: &str| {
        names.iter().any(|n| {
            n == suffix
                || n.rsplit_once('/').is_some_and(|(_, f)| f == suffix) && n.ends_with(suffix)
        })
    };
    let code: Vec<&String> = names
        .iter()
        .filter(|n| (n.starts_with("code/") || n.contains("/code/")) && n.ends_with(".py"))
        .collect();
    if folder_has("constants.pkl") || !code.is_empty() && folder_has("data.pkl") {
        if let Some(first) = code.first() {
            findings.rule(
                Rule::TorchTorchscriptCode,
                Some(first),
                None,
                format!(
                    "the archive holds {} TorchScript code file(s), which run when the model is called (and a __setstate__ method when it loads)",
                    code.len()
                ),
                Some((*first).clone()),
            );
        }
        return Format::Torchscript;
    }
    if folder_has("data.pkl") {
        return Format::PytorchZip;
    }
    // Keras 3 `.keras`: `config.json` at the top, with `metadata.json` and the weights
    // (`model.weights.h5`, or `model.weights.npz` from the numpy store). Keras reads exactly
    // these top-level names.
    let top = |name: &str| names.iter().any(|n| n == name);
    if top("config.json")
        && (top("metadata.json") || top("model.weights.h5") || top("model.weights.npz"))
    {
        return Format::Keras;
    }
    if !names.is_empty() && names.iter().all(|n| n.ends_with(".npy")) {
        return Format::Npz;
    }
    Format::Zip
}

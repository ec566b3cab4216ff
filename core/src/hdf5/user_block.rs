//! An HDF5 file after a user block: libhdf5 (and so h5py, and Keras' `load_model` on a `.h5`
//! file) looks for the superblock's signature at offset 0 and then at every power of two from
//! 512 on while the signature still fits in the file (`H5FD_locate_signature`), and opens the
//! file from the first place it matches. h5py writes such files itself (`userblock_size=`), and
//! what the user block holds is free: zeros, text, or the start of another format.
//!
//! A file whose first bytes are not HDF5 is watched at those offsets: a seeking driver is asked
//! for the eight bytes at each one (and, once found, for what the HDF5 file wants) before the
//! file's own reader jumps past them, as a streaming driver passes them anyway. The first match is read from there on as an HDF5 file of its own, a
//! member named `#hdf5@OFFSET` whose offsets count from the superblock, in every driver alike.

use alloc::format;
use alloc::vec::Vec;

use super::superblock::SIGNATURE;
use crate::findings::Findings;
use crate::limits::Limits;
use crate::reader::{Finished, Member};

/// The first offset after 0 where libhdf5 looks for the signature.
pub(crate) const FIRST: u64 = 512;

/// Bytes in the signature.
const SIGNATURE_LEN: u64 = SIGNATURE.len() as u64;

/// Where the search is.
#[derive(Debug)]
enum State {
    /// Comparing the bytes at `at` with the signature; `seen` holds those gathered so far (a
    /// stream may split them across feeds).
    Looking { at: u64, seen: Vec<u8> },
    /// The signature is at `at`; the HDF5 file from there is being scanned.
    Found { at: u64, member: Member },
    /// No offset is left to try, or the HDF5 file could not be scanned (reported).
    Over,
}

/// The search for an HDF5 superblock after a user block, and the scan of what it finds.
#[derive(Debug)]
pub(crate) struct UserBlock {
    state: State,
    /// The file's size, when the driver announced it.
    size: Option<u64>,
    limits: Limits,
    depth: u32,
}

impl UserBlock {
    /// Watches a file of `size` bytes (`None`: a stream) that is scanned at `depth`.
    pub(crate) fn new(size: Option<u64>, limits: Limits, depth: u32) -> UserBlock {
        UserBlock {
            state: State::Looking {
                at: FIRST,
                seen: Vec::new(),
            },
            size,
            limits,
            depth,
        }
    }

    /// The next offset a seeking driver should read for the search or the HDF5 scan, or `None`.
    /// The search looks only at offsets from `floor` on, and nowhere while it is `None`
    /// ([`crate::reader::Reader::user_block_from`]).
    pub(crate) fn wanted(&self, floor: Option<u64>) -> Option<u64> {
        let offset = match &self.state {
            State::Looking { at, seen } => {
                let floor = floor?;
                let mut candidate = *at;
                while candidate < floor {
                    candidate = candidate.checked_mul(2)?;
                }
                // libhdf5 stops where the signature no longer fits in the file.
                if self
                    .size
                    .is_some_and(|size| candidate.saturating_add(SIGNATURE_LEN) > size)
                {
                    return None;
                }
                if candidate == *at {
                    candidate + seen.len() as u64
                } else {
                    candidate
                }
            }
            State::Found { at, member } => at.checked_add(member.wanted()?)?,
            State::Over => return None,
        };
        self.size.is_none_or(|s| offset < s).then_some(offset)
    }

    /// How many bytes a read at [`wanted`](UserBlock::wanted) can use now, when fewer than a
    /// reader's usual hint: only the rest of a signature while searching.
    pub(crate) fn wanted_len(&self) -> Option<u64> {
        match &self.state {
            State::Looking { seen, .. } => Some(SIGNATURE_LEN - seen.len() as u64),
            _ => None,
        }
    }

    /// Bytes found at `offset`; offsets below `floor` (all while it is `None`) are passed over.
    pub(crate) fn feed(
        &mut self,
        offset: u64,
        data: &[u8],
        floor: Option<u64>,
        findings: &mut Findings,
    ) {
        let end = offset.saturating_add(data.len() as u64);
        loop {
            match &mut self.state {
                State::Looking { at, seen } => {
                    let need = *at + seen.len() as u64;
                    if offset > need {
                        // The driver skipped the candidate (no driver that follows the
                        // scanner's `want` does, since it names the first of what the reader
                        // and the search need): what was not seen cannot match, as for
                        // libhdf5 a short read.
                        let Some(next) = at.checked_mul(2) else {
                            self.state = State::Over;
                            return;
                        };
                        *at = next;
                        seen.clear();
                        continue;
                    }
                    if end <= need {
                        return;
                    }
                    // The candidate's bytes are here: one inside the content of the format
                    // the file starts with is not looked at (decided before any of its
                    // bytes is kept, so a floor that became known meanwhile changes nothing).
                    if seen.is_empty() && floor.is_none_or(|f| *at < f) {
                        let Some(next) = at.checked_mul(2) else {
                            self.state = State::Over;
                            return;
                        };
                        *at = next;
                        continue;
                    }
                    let from = usize::try_from(need - offset).unwrap_or(usize::MAX);
                    let take = (SIGNATURE.len() - seen.len()).min(data.len().saturating_sub(from));
                    seen.extend_from_slice(
                        data.get(from..from.saturating_add(take))
                            .unwrap_or_default(),
                    );
                    if seen.len() < SIGNATURE.len() {
                        return;
                    }
                    let at = *at;
                    if seen.as_slice() != SIGNATURE.as_slice() {
                        self.state = match at.checked_mul(2) {
                            Some(next) => State::Looking {
                                at: next,
                                seen: Vec::new(),
                            },
                            None => State::Over,
                        };
                        continue;
                    }
                    self.found(at, findings);
                }
                State::Found { at, member } => {
                    // Bytes from the superblock on, at offsets counted from it.
                    let skip = at.saturating_sub(offset);
                    let from = usize::try_from(skip).unwrap_or(usize::MAX);
                    if let Some(rest) = data.get(from..).filter(|r| !r.is_empty()) {
                        member.feed(offset.saturating_add(skip) - *at, rest);
                    }
                    return;
                }
                State::Over => return,
            }
        }
    }

    /// Starts the scan of the HDF5 file whose signature is at `at`, and gives it the signature.
    fn found(&mut self, at: u64, findings: &mut Findings) {
        let size = self.size.map(|s| s.saturating_sub(at));
        let member = Member::start(
            format!("#hdf5@{at}"),
            size,
            self.depth,
            self.limits,
            self.limits.max_inflated_bytes,
            findings,
        );
        self.state = match member {
            Some(mut member) => {
                member.feed(0, SIGNATURE);
                State::Found { at, member }
            }
            None => State::Over,
        };
    }

    /// Ends the search; returns what the HDF5 file was when one was found, after moving its
    /// findings in under its member name.
    pub(crate) fn finish(self, findings: &mut Findings) -> Option<Finished> {
        match self.state {
            State::Found { member, .. } => Some(member.finish(findings)),
            State::Looking { .. } | State::Over => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use crate::report::{Format, Report, Verdict};
    use crate::rules::Rule;
    use crate::test_drivers::{same_everywhere, seeking};

    const LAMBDA_512: &[u8] = fixture!("h5py/userblock_512_lambda.h5");

    /// The members that hold a Lambda finding.
    fn lambda_members(report: &Report) -> vec::Vec<Option<&str>> {
        report
            .findings
            .iter()
            .filter(|f| f.rule == Rule::KerasLambdaCode)
            .map(|f| f.member.as_deref())
            .collect()
    }

    #[test]
    fn an_hdf5_file_after_a_user_block_is_read_in_every_driver() {
        for (bytes, format, member) in [
            (LAMBDA_512, Format::KerasH5, "#hdf5@512"),
            (
                &fixture!("h5py/userblock_2048_lambda.h5")[..],
                Format::KerasH5,
                "#hdf5@2048",
            ),
            (
                fixture!("user_block/junk_lambda.h5"),
                Format::KerasH5,
                "#hdf5@2048",
            ),
            (
                fixture!("user_block/pickle_prefix_lambda.h5"),
                Format::Pickle,
                "#hdf5@512",
            ),
            (
                fixture!("user_block/npy_prefix_lambda.h5"),
                Format::Npy,
                "#hdf5@512",
            ),
            (
                fixture!("user_block/gguf_prefix_lambda.h5"),
                Format::Gguf,
                "#hdf5@2048",
            ),
        ] {
            let report = same_everywhere(bytes);
            assert_eq!(report.format, format, "{member}");
            assert_eq!(report.verdict, Verdict::Dangerous, "{member}");
            assert_eq!(lambda_members(&report), vec![Some(member)]);
            assert!(
                !report
                    .findings
                    .iter()
                    .any(|f| f.rule == Rule::FormatUnrecognized || f.rule == Rule::Hdf5Malformed),
                "{member}: {:?}",
                report.findings
            );
        }
    }

    #[test]
    fn a_benign_file_after_a_user_block_is_clean() {
        let report = same_everywhere(fixture!("h5py/userblock_4096_benign.h5"));
        assert_eq!(report.format, Format::KerasH5);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn addresses_count_from_the_superblock_not_the_recorded_base() {
        // The superblock at 0 records base address 512: libhdf5 ignores it.
        let report = same_everywhere(fixture!("user_block/recorded_base_ignored.h5"));
        assert_eq!(report.format, Format::KerasH5);
        assert_eq!(lambda_members(&report), vec![None]);
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    }

    #[test]
    fn only_powers_of_two_are_searched_and_the_first_match_wins() {
        // 256 more bytes in front: the superblock at 768 is where libhdf5 never looks.
        let mut shifted = vec![0u8; 256];
        shifted.extend_from_slice(LAMBDA_512);
        let report = same_everywhere(&shifted);
        assert_eq!(report.format, Format::Unknown);
        assert_eq!(report.verdict, Verdict::Clean);
        // A second signature at 8192 (inside the first file's data) is not another file.
        let mut twice = LAMBDA_512.to_vec();
        twice[8192..8200].copy_from_slice(super::SIGNATURE);
        let report = same_everywhere(&twice);
        assert_eq!(lambda_members(&report), vec![Some("#hdf5@512")]);
        assert!(
            !report
                .findings
                .iter()
                .any(|f| f.member.as_deref().is_some_and(|m| m.contains("8192")))
        );
    }

    #[test]
    fn numeric_data_a_header_lays_out_is_not_searched() {
        // The .npy in the user block now declares 3000 floats: its data covers the superblock
        // at 512, and a seeking driver must not be sent into numeric data (the documented
        // limit: an HDF5 file inside the data a format skips is not found).
        let mut bytes = fixture!("user_block/npy_prefix_lambda.h5").to_vec();
        let at = bytes.windows(4).position(|w| w == b"(6,)").unwrap();
        bytes.splice(at..at + 4, b"(3000,)".iter().copied());
        let pad = bytes.windows(4).position(|w| w == b"   \n").unwrap();
        bytes.drain(pad..pad + 3);
        let report = same_everywhere(&bytes);
        assert_eq!(report.format, Format::Npy);
        assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
        assert!(lambda_members(&report).is_empty());
    }

    /// A ustar archive of `(name, content)` members, each padded to 512 bytes, with its two
    /// zero end blocks.
    fn tar(members: &[(&str, &[u8])]) -> vec::Vec<u8> {
        let mut out = vec::Vec::new();
        for (name, content) in members {
            let mut header = vec![0u8; 512];
            header[..name.len()].copy_from_slice(name.as_bytes());
            header[100..108].copy_from_slice(b"0000644\0");
            header[124..136].copy_from_slice(alloc::format!("{:011o}\0", content.len()).as_bytes());
            header[156] = b'0';
            header[257..265].copy_from_slice(b"ustar\x0000");
            header[148..156].copy_from_slice(b"        ");
            let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
            header[148..156].copy_from_slice(alloc::format!("{sum:06o}\0 ").as_bytes());
            out.extend_from_slice(&header);
            out.extend_from_slice(content);
            out.resize(out.len().next_multiple_of(512), 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    /// The findings filed under `member`.
    fn under<'a>(report: &'a Report, member: &str) -> vec::Vec<&'a crate::report::Finding> {
        report
            .findings
            .iter()
            .filter(|f| f.member.as_deref() == Some(member))
            .collect()
    }

    #[test]
    fn an_hdf5_file_the_reader_jumps_out_of_is_read_to_its_end_by_a_seeking_driver() {
        // The tar's first member is only the signature, so the tar reader jumps from 520 to
        // the next header at 1024 while the HDF5 file found at 512 still wants its superblock
        // (zeros: version 0, offsets of 0 bytes). A seeking driver with short reads followed
        // the tar alone and left the HDF5 file a gap (`scan.incomplete`).
        let bytes = tar(&[("sig.bin", super::SIGNATURE)]);
        let report = same_everywhere(&bytes);
        assert_eq!(report.format, Format::Tar);
        let found = under(&report, "#hdf5@512");
        assert_eq!(found.len(), 1, "{:?}", report.findings);
        assert_eq!(found[0].rule, Rule::Hdf5Malformed);
        assert!(
            found[0].message.contains("size of offsets of 0"),
            "{found:?}"
        );
        assert!(
            !report
                .findings
                .iter()
                .any(|f| f.rule == Rule::ScanIncomplete)
        );
    }

    #[test]
    fn a_signature_in_bytes_the_reader_jumps_over_is_still_looked_at() {
        // A tar member holding a .npy: its numeric data is not read, so the tar reader jumps
        // to the next header, over 1024, where an HDF5 signature sits in the data. libhdf5
        // (and a streaming driver) find it there; a seeking driver passed it by.
        let header = b"{'descr': '<u1', 'fortran_order': False, 'shape': (1200,), }";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&(118u16).to_le_bytes());
        npy.extend_from_slice(header);
        npy.resize(127, b' ');
        npy.push(b'\n');
        npy.resize(128 + 1200, 0);
        // The member's content starts at 512, so file offset 1024 is its byte 512.
        npy[512..520].copy_from_slice(super::SIGNATURE);
        let bytes = tar(&[("a.npy", &npy)]);
        let report = same_everywhere(&bytes);
        assert_eq!(report.format, Format::Tar);
        let found = under(&report, "#hdf5@1024");
        assert_eq!(found.len(), 1, "{:?}", report.findings);
        assert_eq!(found[0].rule, Rule::Hdf5Malformed);
    }

    #[test]
    fn a_signature_cut_by_the_end_of_the_file_is_not_a_match() {
        let mut bytes = vec![0u8; 1024 + 5];
        bytes[1024..].copy_from_slice(&super::SIGNATURE[..5]);
        let report = same_everywhere(&bytes);
        assert_eq!(report.format, Format::Unknown);
    }

    #[test]
    fn a_seeking_driver_reads_a_few_bytes_at_each_power_of_two() {
        // 8 MiB of zeros: the sniffer's first read, the zip tail's window, eight bytes at each
        // of 64 KiB .. 4 MiB; nothing in between.
        let bytes = vec![0u8; 8 << 20];
        let report = seeking(&bytes, usize::MAX);
        assert_eq!(report.format, Format::Unknown);
        let expected = 64 * 1024 + (22 + 65_535) + 7 * 8;
        assert!(
            report.bytes_read <= expected,
            "read {} bytes, expected at most {expected}",
            report.bytes_read
        );
    }
}

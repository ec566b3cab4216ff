//! tar archives (v7, ustar, GNU, pax), read header by header as Python's `tarfile` reads them.
//!
//! Each regular member's data goes to a child scan with member-relative offsets. The reader
//! wants only header blocks and what each child wants, so a seeking driver jumps over a tensor
//! blob or a numeric npy member (the next header is at `data_start + round_up(size, 512)`); a
//! streaming driver's bytes in between are accepted and passed over.
//!
//! Choices, where `tarfile` and other readers differ or the brief left them open:
//! - The archive ends at the first zero block, as in `tarfile`. The block after it is read: if
//!   it is not zero too, a low finding says that `tar --ignore-zeros` reads on where `tarfile`
//!   stopped. Bytes after the end are not read.
//! - A header whose checksum (unsigned or signed sum) or numeric fields are invalid ends the
//!   reading with a medium `archive.malformed`: `tarfile` stops there (or refuses the archive
//!   at offset 0).
//! - Typeflags `tarfile` does not know are scanned like regular files, since `extractfile` and
//!   `extract` treat them as such. Links, directories and devices carry no data for `tarfile`,
//!   whatever their size field says; a non-zero size there is reported (readers disagree about
//!   where the next header is).
//! - Links are `archive.link-member`, medium, with the target as evidence; the message says
//!   when the target is absolute or climbs out with `..`.
//! - GNU sparse members (typeflag `S`, or pax `GNU.sparse.*` records) are reported as
//!   `archive.unscannable` and their stored data is skipped: the stored bytes are not the file
//!   (holes are missing), so scanning them would judge something no loader sees.
//! - Unsafe names ([`crate::paths::unsafe_path`]): absolute, drive-letter or `..` names are
//!   high; a backslash alone is medium, since it is a separator only on Windows and the name
//!   stays inside the folder there. Duplicates are judged on names normalised as extraction
//!   resolves them (`./a` is `a`); directories may repeat.
//! - When the first byte is a pickle opcode, the archive is also read as a pickle: a file can
//!   be both a valid tar and a valid pickle, and `pickle.load` (or `torch.load`, which falls
//!   back to the pickle reader when `tarfile` rejects the file) would run that pickle. If it
//!   is one, a medium `archive.malformed` says so and the pickle's findings are reported with
//!   the file.
//! - The old PyTorch layout (`sys_info`, `pickle`, `tensors`, `storages`) is recognised
//!   ([`Format::PytorchTar`]); `tensors` and `storages` are walked by [`crate::torch_tar`].

mod extended;
mod header;
mod member;
mod names;
mod polyglot;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use self::extended::Patch;
pub(crate) use self::header::header_checksum_ok;
use self::header::{BLOCK, Header, Kind};
use self::member::{Body, Data};
use self::names::Names;
use self::polyglot::Polyglot;
use crate::findings::Findings;
use crate::reader::{Finished, Gap, Member, Reader};
use crate::report::{Format, Severity};
use crate::rules::Rule;
use crate::scanner::Input;
use crate::torch_tar::{Layout, Walker};

/// Where the reader stands.
#[derive(Debug)]
enum State {
    /// A header block.
    Header,
    /// The data of an `L`, `K`, `x` or `g` header (gathered in `buf`), then padding to `next`.
    Extended {
        kind: Kind,
        at: u64,
        size: u64,
        next: u64,
    },
    /// Extension blocks of an old GNU sparse header; the stored data (`size` bytes) follows.
    SparseMap { name: String, size: u64 },
    /// A member's data.
    Data(Data),
    /// The block after the first zero block.
    AfterZero,
    /// Nothing more is read.
    Done,
}

/// A tar archive being read.
#[derive(Debug)]
pub(crate) struct TarReader {
    input: Input,
    /// The next archive offset to consume.
    pos: u64,
    /// The header block or extended header data gathered so far.
    buf: Vec<u8>,
    state: State,
    /// Extended headers for the next member; the first one to set a field wins, as in tarfile,
    /// where each patches the member after the ones that follow it did.
    pending: Patch,
    global: Patch,
    /// Offset of the last extended header applied, for a finding if no member follows it.
    extended_at: u64,
    names: Names,
    members: usize,
    inflated: u64,
    layout: Layout,
    skipped: bool,
    side: Option<Polyglot>,
    side_started: bool,
}

impl TarReader {
    /// A reader for a tar archive at the start of `input`.
    pub(crate) fn new(input: Input) -> TarReader {
        TarReader {
            input,
            pos: 0,
            buf: Vec::new(),
            state: State::Header,
            pending: Patch::default(),
            global: Patch::default(),
            extended_at: 0,
            names: Names::default(),
            members: 0,
            inflated: 0,
            layout: Layout::default(),
            skipped: false,
            side: None,
            side_started: false,
        }
    }

    /// What the archive's members may still decompress.
    fn budget(&self) -> u64 {
        self.input
            .limits
            .max_inflated_bytes
            .saturating_sub(self.inflated)
    }

    /// The next offset the archive itself needs (the pickle side-read aside).
    fn own_wanted(&self) -> Option<u64> {
        match &self.state {
            State::Header | State::AfterZero | State::SparseMap { .. } => Some(self.pos),
            State::Extended { size, next, .. } => Some(if (self.buf.len() as u64) < *size {
                self.pos
            } else {
                *next
            }),
            State::Data(data) => Some(data.body_wants().unwrap_or(data.next)),
            State::Done => None,
        }
    }

    /// Feeds the archive reader proper (not the pickle side-read): bytes at `offset`, trimmed to
    /// what is new, and a [`Gap`] when they start past what it wants.
    fn feed_archive(
        &mut self,
        offset: u64,
        data: &[u8],
        findings: &mut Findings,
    ) -> Result<(), Gap> {
        let (mut cur, mut data) = (offset, data);
        loop {
            if let State::Data(member) = &mut self.state {
                member.serve(cur, data, findings);
            }
            let Some(wanted) = self.own_wanted() else {
                return Ok(());
            };
            let end = cur.saturating_add(data.len() as u64);
            if end <= self.pos {
                return Ok(());
            }
            if cur > self.pos.max(wanted) {
                return Err(Gap { expected: wanted });
            }
            // Past `pos` only where the state skips (data no body wants, padding).
            self.pos = self.pos.max(cur);
            let skip = usize::try_from(self.pos - cur).unwrap_or(usize::MAX);
            data = data.get(skip..).unwrap_or_default();
            cur = self.pos;
            let used = self.step(data, findings);
            cur += used as u64;
            data = data.get(used..).unwrap_or_default();
            if data.is_empty() {
                return Ok(());
            }
        }
    }

    /// Consumes bytes at `self.pos` and moves past them; returns how many. Every call uses
    /// bytes or changes the state.
    fn step(&mut self, data: &[u8], findings: &mut Findings) -> usize {
        let take = match &self.state {
            State::Header | State::AfterZero | State::SparseMap { .. } => {
                let take = data.len().min(BLOCK - self.buf.len());
                self.buf
                    .extend_from_slice(data.get(..take).unwrap_or_default());
                take
            }
            State::Extended { size, next, .. } => {
                let have = self.buf.len() as u64;
                if have < *size {
                    let take = usize::try_from(size - have)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    self.buf
                        .extend_from_slice(data.get(..take).unwrap_or_default());
                    take
                } else {
                    usize::try_from(next - self.pos)
                        .unwrap_or(usize::MAX)
                        .min(data.len())
                }
            }
            State::Data(member) => {
                if self.pos >= member.next {
                    self.leave_data(findings);
                    return 0;
                }
                usize::try_from(member.next - self.pos)
                    .unwrap_or(usize::MAX)
                    .min(data.len())
            }
            State::Done => data.len(),
        };
        self.pos += take as u64;
        match &self.state {
            State::Header | State::AfterZero | State::SparseMap { .. }
                if self.buf.len() == BLOCK =>
            {
                let block = core::mem::take(&mut self.buf);
                self.on_block(&block, findings);
            }
            State::Extended { next, .. } if self.pos == *next => self.on_extended(findings),
            _ => {}
        }
        take
    }

    /// A complete block at `self.pos - 512`.
    fn on_block(&mut self, block: &[u8], findings: &mut Findings) {
        let at = self.pos - BLOCK as u64;
        if let State::SparseMap { name, size } = &self.state {
            if block.get(504).is_some_and(|&b| b == 0) {
                let (name, size) = (name.clone(), *size);
                self.begin_data(name, &[], size, false, findings);
            }
            return;
        }
        let after_zero = matches!(self.state, State::AfterZero);
        if header::is_zero(block) {
            self.state = if after_zero {
                State::Done
            } else {
                State::AfterZero
            };
            return;
        }
        if after_zero {
            findings.push(
                Rule::ArchiveMalformed,
                Severity::Low,
                None,
                Some(at),
                format!("a single zero block ends the archive at offset {}, but data follows it; tarfile stops at the zero block, tar --ignore-zeros reads on", at - BLOCK as u64),
                Some(String::from("tar-lone-zero-block")),
            );
            self.state = State::Done;
            return;
        }
        match header::parse(block) {
            Ok(header) => self.on_header(header, at, findings),
            Err(reason) => {
                findings.rule(
                    Rule::ArchiveMalformed,
                    None,
                    Some(at),
                    format!("the header block at offset {at} is invalid ({reason}); tarfile stops reading the archive there, so members after it were not judged"),
                    Some(String::from("tar-header")),
                );
                self.state = State::Done;
            }
        }
    }

    /// A valid header block at `at`: an extended header, or a member.
    fn on_header(&mut self, header: Header, at: u64, findings: &mut Findings) {
        if matches!(
            header.kind,
            Kind::LongName | Kind::LongLink | Kind::Pax | Kind::GlobalPax
        ) {
            let limit = self.input.limits.max_directory_bytes;
            let next = header::blocks(header.size).and_then(|n| self.pos.checked_add(n));
            match next {
                Some(next) if header.size <= limit as u64 => {
                    self.state = State::Extended {
                        kind: header.kind,
                        at,
                        size: header.size,
                        next,
                    };
                    if header.size == 0 {
                        self.on_extended(findings);
                    }
                }
                _ => {
                    findings.rule(
                        Rule::ScanLimitReached,
                        None,
                        Some(at),
                        format!("an extended header at offset {at} holds {} bytes, more than max_directory_bytes ({limit}); the rest of the archive was not read", header.size),
                        Some(String::from("max_directory_bytes")),
                    );
                    self.state = State::Done;
                }
            }
            return;
        }
        self.members += 1;
        if self.members > self.input.limits.max_archive_members {
            findings.rule(
                Rule::ScanLimitReached,
                None,
                Some(at),
                format!("the archive has more than {} members (max_archive_members); the rest were not read", self.input.limits.max_archive_members),
                Some(String::from("max_archive_members")),
            );
            self.state = State::Done;
            return;
        }
        let patch = core::mem::take(&mut self.pending);
        let name = patch
            .name
            .or_else(|| self.global.name.clone())
            .unwrap_or(header.name);
        let link = patch
            .link
            .or_else(|| self.global.link.clone())
            .unwrap_or(header.link);
        // tarfile recomputes where the next header is from a pax size, its own or (when the
        // member has a pax header) a global one.
        let size = patch
            .pax
            .then(|| patch.size.or(self.global.size))
            .flatten()
            .unwrap_or(header.size);
        let display = String::from_utf8_lossy(&name).into_owned();
        let limit = self.input.limits.max_directory_bytes;
        self.names
            .check(&name, &display, at, header.kind, limit, findings);
        self.layout
            .note(&name, header.kind == Kind::Regular && !patch.sparse);
        match header.kind {
            Kind::Sparse => self.sparse(display, size, header.extended, at, findings),
            _ if patch.sparse => self.sparse(display, size, false, at, findings),
            kind if kind.has_data() => self.begin_data(display, &name, size, true, findings),
            Kind::HardLink | Kind::SymLink => {
                names::link(&display, &link, header.kind, at, findings);
                self.no_data(&display, size, at, findings);
            }
            _ => self.no_data(&display, size, at, findings),
        }
    }

    /// Applies a complete extended header to the next member (or to all, for `g`).
    fn on_extended(&mut self, findings: &mut Findings) {
        let State::Extended { kind, at, size, .. } =
            core::mem::replace(&mut self.state, State::Header)
        else {
            return;
        };
        let data = core::mem::take(&mut self.buf);
        self.extended_at = at;
        if size % BLOCK as u64 != 0 {
            self.skipped = true;
        }
        let text = header::nts(&data).to_vec();
        match kind {
            Kind::LongName => {
                self.pending.name.get_or_insert(text);
            }
            Kind::LongLink => {
                self.pending.link.get_or_insert(text);
            }
            _ => {
                let ok = extended::apply_pax(
                    &data,
                    at,
                    kind == Kind::GlobalPax,
                    &mut self.pending,
                    &mut self.global,
                    findings,
                );
                if !ok {
                    self.state = State::Done;
                }
            }
        }
    }

    /// A member without data for tarfile: the next header follows at once.
    fn no_data(&mut self, display: &str, size: u64, at: u64, findings: &mut Findings) {
        if size > 0 {
            findings.rule(
                Rule::ArchiveMalformed,
                Some(display),
                Some(at),
                format!("member `{display}` has no data for tarfile but its header declares {size} bytes; tarfile reads the next header right after it, other readers after the data"),
                Some(String::from("tar-size-without-data")),
            );
        }
    }

    /// A GNU sparse member: reported as unscannable, its map blocks and stored data skipped.
    fn sparse(
        &mut self,
        display: String,
        size: u64,
        extended: bool,
        at: u64,
        findings: &mut Findings,
    ) {
        findings.rule(
            Rule::ArchiveUnscannable,
            Some(&display),
            Some(at),
            format!("member `{display}` is a GNU sparse file; its stored data is not its content, which was not judged"),
            Some(String::from("tar-sparse")),
        );
        if extended {
            self.state = State::SparseMap {
                name: display,
                size,
            };
        } else {
            self.begin_data(display, &[], size, false, findings);
        }
    }

    /// A member's data starts at `self.pos`; `scan` says whether a child reads it.
    fn begin_data(
        &mut self,
        display: String,
        name: &[u8],
        size: u64,
        scan: bool,
        findings: &mut Findings,
    ) {
        let start = self.pos;
        let Some(next) = header::blocks(size).and_then(|n| start.checked_add(n)) else {
            findings.rule(
                Rule::ArchiveMalformed,
                Some(&display),
                Some(start),
                format!("member `{display}` declares {size} bytes, more than any archive holds"),
                Some(String::from("tar-size")),
            );
            self.state = State::Done;
            return;
        };
        let (depth, limits, budget) = (self.input.depth, self.input.limits, self.budget());
        let body = match (scan && size > 0, self.layout.part(name)) {
            (false, _) => None,
            (true, Some(part)) => Some(Body::Torch(Box::new(Walker::new(
                part,
                display.clone(),
                size,
                depth,
                limits,
                budget,
                findings,
            )))),
            (true, None) => {
                Member::start(display.clone(), Some(size), depth, limits, budget, findings)
                    .map(Body::Plain)
            }
        };
        if next > start + size || (body.is_none() && size > 0) {
            self.skipped = true;
        }
        self.state = State::Data(Data {
            name: display,
            start,
            size,
            next,
            body,
        });
    }

    /// Ends the current member's data and its child scan.
    fn leave_data(&mut self, findings: &mut Findings) {
        let State::Data(data) = core::mem::replace(&mut self.state, State::Header) else {
            return;
        };
        if let Some(body) = data.body {
            if !body.took_everything(data.size) {
                self.skipped = true;
            }
            self.inflated = self.inflated.saturating_add(body.finish(findings));
        }
    }
}

impl Reader for TarReader {
    fn wanted(&self) -> Option<u64> {
        let side = self.side.as_ref().and_then(Polyglot::wanted);
        match (self.own_wanted(), side) {
            (Some(own), Some(side)) => Some(own.min(side)),
            (own, side) => own.or(side),
        }
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        if !self.side_started && !data.is_empty() {
            self.side_started = true;
            if offset == 0 {
                self.side = Polyglot::start(data, self.input.limits, self.input.depth, findings);
            }
        }
        if let Some(side) = &mut self.side
            && side.feed(offset, data).is_err()
        {
            // Only a driver that ignores `wanted` gets here; the side-read is dropped.
            self.side = None;
        }
        self.feed_archive(offset, data, findings)
    }

    fn skipped(&self) -> bool {
        self.skipped
    }

    fn finish(mut self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let ends_inside = |what: &str, at: u64, findings: &mut Findings| {
            findings.rule(
                Rule::ArchiveMalformed,
                None,
                Some(at),
                format!("the archive ends at offset {eof} {what}"),
                Some(String::from("tar-truncated")),
            );
        };
        // An extended header whose data is complete applies whether or not its padding was
        // read (a seeking driver stops before padding that runs to the end of the input).
        if let State::Extended { size, .. } = self.state
            && self.buf.len() as u64 == size
        {
            self.on_extended(findings);
        }
        let patched =
            self.pending.name.is_some() || self.pending.link.is_some() || self.pending.pax;
        // Offsets of where the archive broke off, the same whichever bytes a driver skipped.
        let block_start = self.pos - self.buf.len() as u64;
        match core::mem::replace(&mut self.state, State::Done) {
            State::Header if !self.buf.is_empty() => {
                ends_inside("inside a header block", block_start, findings);
            }
            State::Header if patched => {
                ends_inside(
                    "after an extended header, before the member it describes",
                    self.extended_at,
                    findings,
                );
            }
            State::Extended { at, .. } => {
                ends_inside("inside an extended header", at, findings);
            }
            State::SparseMap { .. } => {
                ends_inside("inside a sparse member's map", block_start, findings);
            }
            State::Data(data) => {
                if data.end() > eof {
                    findings.rule(
                        Rule::ArchiveMalformed,
                        Some(&data.name),
                        Some(data.start),
                        format!("member `{}` is truncated: its {} bytes run past the end of the archive at offset {eof}", data.name, data.size),
                        Some(String::from("tar-truncated")),
                    );
                }
                if let Some(body) = data.body {
                    self.inflated = self.inflated.saturating_add(body.finish(findings));
                }
            }
            _ => {}
        }
        if let Some(side) = self.side.take() {
            side.finish(eof, findings);
        }
        let format = if self.layout.complete() {
            Format::PytorchTar
        } else {
            Format::Tar
        };
        Finished {
            format,
            inflated: self.inflated,
        }
    }
}

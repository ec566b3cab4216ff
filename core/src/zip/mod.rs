//! Zip archives, read the way they arrive: local headers and member data in order, then the
//! central directory, which is cross-checked against what was read.
//!
//! Reading in order serves both drivers with one code path: a streaming driver has no choice,
//! and a seeking driver reads the same headers while jumping over data that no child scan
//! wants (tensor storages, numeric arrays), so a 1 GB checkpoint costs a few kilobytes.
//! Loaders trust the central directory instead, so every disagreement between the two views
//! is a finding ([`directory`]), and members the directory lists where an in-order read never
//! went are read afterwards when the driver can seek.

mod appended;
mod data;
mod directory;
mod lookahead;
mod records;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub(crate) use self::appended::Tail;
use self::data::{Coding, Data, Progress, Seen};
use self::lookahead::Lookahead;
use self::records::{
    CENTRAL_SIG, CentralHeader, Descriptor, END_SIG, END64_SIG, End, FLAG_DESCRIPTOR, LOCAL_SIG,
    LOCATOR64_SIG, LocalHeader, Parse, SIGNATURE_SIG,
};
use crate::findings::Findings;
use crate::inflate::Inflater;
use crate::reader::{Finished, Gap, Member, Reader, inflated_child_budget};
use crate::report::{Finding, Format};
use crate::rules::Rule;
use crate::scanner::Input;

/// Longest record the reader assembles: a central header with maximal name, extra and comment.
const MAX_RECORD: usize = 46 + 3 * 65535;
/// Overlapping members read by seeking back; an archive with more is an overlap bomb.
pub(super) const MAX_OVERLAP_REVISITS: usize = 4;
/// Lost ranges remembered for the layout report and for placing directory entries.
const MAX_LOST_RANGES: usize = 1024;

/// What the reader expects at its position.
#[derive(Debug)]
enum State {
    /// A record signature (local header, central header, end records).
    Record,
    /// A member's data.
    Data(Box<Data>),
    /// The data descriptor after a member's data.
    Descriptor,
    /// Looking for the next signature after bytes that are not a record.
    Lost,
    /// After the end record: nothing more is needed, unless members remain to revisit.
    Ended,
}

/// How the central directory says a member's data is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
    method: u16,
    compressed_size: u64,
}

/// A local header to read again by seeking back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Revisit {
    offset: u64,
    /// Read the data as the directory describes it (loaders do), not as the local header does.
    view: Option<View>,
}

/// A member found by reading in order.
#[derive(Debug)]
struct Walked {
    local_offset: u64,
    local: LocalHeader,
    descriptor: Option<Descriptor>,
    /// Offset just past the member's data and descriptor.
    end: u64,
    seen: Option<Seen>,
    /// The child scan's findings, filed once the central directory names the member.
    findings: Vec<Finding>,
    format: Format,
    /// Read by seeking back to a directory entry, not in order.
    revisited: bool,
    /// Read with the directory's method and size instead of the local header's.
    central_view: bool,
}

/// A zip archive being read.
#[derive(Debug)]
pub(crate) struct ZipReader {
    input: Input,
    state: State,
    /// Offset of the first byte of `record` (the next byte to consume).
    pos: u64,
    record: Vec<u8>,
    /// Length `record` must reach before the next parse attempt.
    need: usize,
    walked: Vec<Walked>,
    central: Vec<CentralHeader>,
    end: Option<End>,
    /// Offset where the central directory started.
    directory_start: Option<u64>,
    end_offset: Option<u64>,
    /// Where the in-order read lost its way, for the layout finding.
    /// Byte ranges that held no record (start, end; end is `u64::MAX` while still lost). No
    /// local header starts inside them, or the search would have found it.
    lost: Vec<(u64, u64)>,
    /// Byte ranges parsed as records (merged when adjacent).
    records: Vec<(u64, u64)>,
    /// Local header signatures found inside parsed records.
    hidden_locals: Vec<u64>,
    /// How many times the read lost its way (only the first [`MAX_LOST_RANGES`] are kept).
    lost_count: usize,
    /// Central entries still to read by seeking back, and whether the read is a revisit.
    revisits: Vec<Revisit>,
    /// The directory's view of the member being revisited, when it differs from the local one.
    view: Option<View>,
    revisiting: bool,
    /// Directory entries inside other members' data that the plan found (bomb above
    /// [`MAX_OVERLAP_REVISITS`]).
    overlapping: usize,
    /// Members planned to be read again the directory's way.
    planned_views: Vec<u64>,
    /// Revisited offsets where no local header was found (a set: one is looked up for each
    /// directory entry the read did not reach).
    no_local_header: BTreeSet<u64>,
    directory_bytes: usize,
    inflated: u64,
    limited: bool,
    /// Last bytes seen while lost, so a signature split across feeds is found.
    lost_tail: Vec<u8>,
    /// The directory read ahead by a seeking driver, and the bytes of it gathered so far.
    lookahead: Lookahead,
    ahead: Vec<u8>,
}

impl ZipReader {
    pub(crate) fn new(input: Input) -> ZipReader {
        ZipReader {
            input,
            state: State::Record,
            pos: 0,
            record: Vec::new(),
            need: 0,
            walked: Vec::new(),
            central: Vec::new(),
            end: None,
            directory_start: None,
            end_offset: None,
            lost: Vec::new(),
            lost_count: 0,
            records: Vec::new(),
            hidden_locals: Vec::new(),
            revisits: Vec::new(),
            view: None,
            revisiting: false,
            no_local_header: BTreeSet::new(),
            planned_views: Vec::new(),
            overlapping: 0,
            directory_bytes: 0,
            inflated: 0,
            limited: false,
            lost_tail: Vec::new(),
            lookahead: Lookahead::Idle,
            ahead: Vec::new(),
        }
    }

    /// The offset to read ahead at, when the current member's end is all that matters and only
    /// the directory can say where it is without reading the data.
    fn lookahead_offset(&self) -> Option<u64> {
        // Only a file's own size is known to be true: a member's is what its container
        // declares, and a tail asked for beyond its real data would never come.
        if self.input.depth > 0 {
            return None;
        }
        let size = self.input.size?;
        if !matches!(&self.state, State::Data(data) if data.only_end_matters()) {
            return None;
        }
        match &self.lookahead {
            Lookahead::Idle => match Lookahead::ask_tail(size) {
                Lookahead::Asked { offset, .. } => Some(offset),
                _ => None,
            },
            Lookahead::Asked { offset, .. } => Some(offset + self.ahead.len() as u64),
            Lookahead::Known(_) | Lookahead::Unavailable => None,
        }
    }

    /// Takes read-ahead bytes at `offset`; returns whether they were used.
    fn take_ahead(&mut self, offset: u64, bytes: &[u8]) -> bool {
        let Some(at) = self.lookahead_offset() else {
            return false;
        };
        let end = offset.saturating_add(bytes.len() as u64);
        if offset > at || end <= at {
            return false;
        }
        if let (Lookahead::Idle, Some(size)) = (&self.lookahead, self.input.size) {
            self.lookahead = Lookahead::ask_tail(size);
        }
        let Lookahead::Asked { len, .. } = self.lookahead else {
            return false;
        };
        let want = usize::try_from(len).unwrap_or(usize::MAX) - self.ahead.len();
        let from = usize::try_from(at - offset).unwrap_or(usize::MAX);
        let fresh = bytes.get(from..).unwrap_or_default();
        self.ahead
            .extend_from_slice(fresh.get(..want.min(fresh.len())).unwrap_or_default());
        if self.ahead.len() as u64 >= len {
            let ahead = core::mem::take(&mut self.ahead);
            let limits = self.input.limits;
            self.lookahead.answer(
                &ahead,
                limits.max_directory_bytes,
                limits.max_archive_members,
            );
            // The directory may be elsewhere: gather it next.
            if matches!(self.lookahead, Lookahead::Asked { .. }) {
                return true;
            }
        }
        self.apply_lookahead();
        true
    }

    /// Gives the current member the directory's compressed size, when only its end matters.
    fn apply_lookahead(&mut self) {
        let Lookahead::Known(sizes) = &self.lookahead else {
            return;
        };
        let Some(local_offset) = self.walked.last().map(|w| w.local_offset) else {
            return;
        };
        if let (State::Data(data), Some(&len)) = (&mut self.state, sizes.get(&local_offset))
            && data.only_end_matters()
        {
            data.set_len(len);
        }
    }

    /// The next byte the reader consumes (behind `wanted` while data is being skipped).
    fn expected(&self) -> u64 {
        match &self.state {
            State::Data(data) => data.next_offset(),
            _ => self.pos + self.record.len() as u64,
        }
    }

    fn budget(&self) -> u64 {
        self.input
            .limits
            .max_inflated_bytes
            .saturating_sub(self.inflated)
    }

    /// Handles bytes that start exactly at the next byte to consume; returns how many were used.
    fn step(&mut self, data: &[u8], findings: &mut Findings) -> usize {
        match &mut self.state {
            State::Data(member) => {
                let (used, progress) = member.feed(data);
                match progress {
                    Progress::Going => {}
                    Progress::Ended { len } => {
                        let start = member.start;
                        self.end_data(start + len, true, findings);
                    }
                    Progress::Described {
                        len,
                        descriptor,
                        descriptor_len,
                    } => {
                        let start = member.start;
                        self.end_data(start + len, true, findings);
                        if let Some(w) = self.walked.last_mut() {
                            w.descriptor = Some(descriptor);
                            w.end += descriptor_len;
                        }
                        self.pos = start + len + descriptor_len;
                        self.after_member();
                    }
                    Progress::Lost => {
                        let at = member.start + member.consumed;
                        self.end_data(at, false, findings);
                        self.record.clear();
                        self.lose(at);
                    }
                }
                used
            }
            State::Lost => self.search(data),
            State::Ended => data.len(),
            State::Record | State::Descriptor => self.assemble(data, findings),
        }
    }

    /// Gathers a record's bytes and parses it once complete.
    fn assemble(&mut self, data: &[u8], findings: &mut Findings) -> usize {
        let before = self.record.len();
        // Parse at the same lengths however the bytes arrive (4, then what each attempt asks
        // for), so a record that turns out invalid has gathered the same bytes in every driver.
        let mut need = self.need.max(4);
        loop {
            if self.record.len() < need {
                let take =
                    (need - self.record.len()).min(data.len() - (self.record.len() - before));
                let from = self.record.len() - before;
                self.record
                    .extend_from_slice(data.get(from..from + take).unwrap_or_default());
                if self.record.len() < need {
                    return data.len();
                }
            }
            let record_start = self.pos;
            match self.parse_record(findings) {
                Some(Parse::Incomplete(more)) if more <= MAX_RECORD && more > need => {
                    need = more;
                    self.need = more;
                }
                Some(Parse::Incomplete(_)) | Some(Parse::Invalid(_)) | None => {
                    let used = self.record.len() - before;
                    self.need = 0;
                    if !matches!(self.state, State::Lost) {
                        let at = self.pos;
                        self.lose(at);
                    }
                    return used;
                }
                Some(Parse::Done((), len)) => {
                    let used = len.saturating_sub(before);
                    self.need = 0;
                    self.note_record(record_start, len);
                    self.record.clear();
                    return used;
                }
            }
        }
    }

    /// Parses the record in `record`, acting on it when complete. `None` means unknown.
    fn parse_record(&mut self, findings: &mut Findings) -> Option<Parse<()>> {
        if matches!(self.state, State::Descriptor) {
            let zip64 = self.walked.last().is_some_and(|w| w.local.entry.zip64);
            return Some(match records::descriptor(&self.record, zip64) {
                Parse::Done(d, len) => {
                    if let Some(w) = self.walked.last_mut() {
                        w.descriptor = Some(d);
                        w.end += len as u64;
                    }
                    self.pos += len as u64;
                    self.after_member();
                    Parse::Done((), len)
                }
                Parse::Incomplete(n) => Parse::Incomplete(n),
                Parse::Invalid(r) => Parse::Invalid(r),
            });
        }
        let sig: [u8; 4] = self.record.get(..4)?.try_into().ok()?;
        if self.revisiting && sig != LOCAL_SIG {
            // The directory points where there is no local header: note it and move on, never
            // wander back into records already read.
            if self.no_local_header.len() < 1024 {
                self.no_local_header.insert(self.pos);
            }
            self.record.clear();
            self.next_revisit();
            return Some(Parse::Done((), 0));
        }
        Some(match sig {
            LOCAL_SIG if self.end.is_none() || self.revisiting => {
                match records::local_header(&self.record) {
                    Parse::Done(local, len) => {
                        self.start_member(local, len, findings);
                        Parse::Done((), len)
                    }
                    Parse::Incomplete(n) => Parse::Incomplete(n),
                    Parse::Invalid(r) => Parse::Invalid(r),
                }
            }
            CENTRAL_SIG => match records::central_header(&self.record) {
                Parse::Done(central, len) => {
                    self.directory_start.get_or_insert(self.pos);
                    self.keep_central(central, findings);
                    self.pos += len as u64;
                    Parse::Done((), len)
                }
                Parse::Incomplete(n) => Parse::Incomplete(n),
                Parse::Invalid(r) => Parse::Invalid(r),
            },
            END64_SIG => self.skip_record(records::end64_record(&self.record).map_end()),
            LOCATOR64_SIG => self.skip_record(records::locator64(&self.record)),
            SIGNATURE_SIG => self.skip_record(records::digital_signature(&self.record)),
            END_SIG => match records::end_record(&self.record) {
                Parse::Done(end, len) => {
                    self.directory_start.get_or_insert(self.pos);
                    self.end_offset = Some(self.pos);
                    let comment = end.comment_len as u64;
                    self.end = Some(end);
                    self.pos += len as u64 + comment;
                    self.state = State::Ended;
                    self.plan_revisits();
                    Parse::Done((), len)
                }
                Parse::Incomplete(n) => Parse::Incomplete(n),
                Parse::Invalid(r) => Parse::Invalid(r),
            },
            _ => return None,
        })
    }

    fn skip_record(&mut self, parse: Parse<()>) -> Parse<()> {
        if let Parse::Done((), len) = parse {
            self.directory_start.get_or_insert(self.pos);
            self.pos += len as u64;
        }
        parse
    }

    /// A local header was read: set up the member's data and its child scan.
    fn start_member(&mut self, local: LocalHeader, header_len: usize, findings: &mut Findings) {
        let local_offset = self.pos;
        let start = local_offset + header_len as u64;
        self.pos = start;
        if self.walked.len() >= self.input.limits.max_archive_members {
            self.limit(findings, "members", "max_archive_members");
            self.state = State::Ended;
            return;
        }
        let entry = &local.entry;
        let view = self.view.take();
        // Writers that stream set bit 3 and leave the sizes zero: the data descriptor after
        // the data has them, and the data's own end must be found by reading it.
        let size_unknown = entry.flags & FLAG_DESCRIPTOR != 0 && entry.compressed_size == 0;
        let len = match view {
            Some(v) => Some(v.compressed_size),
            None => (!size_unknown).then_some(entry.compressed_size),
        };
        let method = view.map_or(entry.method, |v| v.method);
        let name = entry.display_name();
        let scanned = !directory::is_tensor_storage(&name);
        let coding = match method {
            0 if scanned => Coding::Stored,
            8 if scanned => Coding::Deflate(Inflater::raw(self.budget())),
            8 if len.is_none() => Coding::Deflate(Inflater::raw(self.budget())),
            0 if len.is_none() => Coding::Stored,
            _ => Coding::Skip,
        };
        let member = match (&coding, scanned) {
            (Coding::Skip, _) | (_, false) => None,
            (Coding::Stored, true) => Member::start(
                name,
                len,
                self.input.depth,
                self.input.limits,
                self.budget(),
                findings,
            ),
            // The declared size bounds what loaders read (zipfile stops there), and lets a
            // child that needs to know where its input ends (a numeric .npy) stop early.
            (Coding::Deflate(_), true) => Member::start(
                name,
                (!size_unknown).then_some(entry.size),
                self.input.depth,
                self.input.limits,
                inflated_child_budget(self.budget()),
                findings,
            ),
        };
        self.walked.push(Walked {
            local_offset,
            local,
            descriptor: None,
            end: start,
            seen: None,
            findings: Vec::new(),
            format: Format::Unknown,
            revisited: self.revisiting,
            central_view: view.is_some(),
        });
        let data = Data::new(
            start,
            len,
            coding,
            member,
            self.walked.last().is_some_and(|w| w.local.entry.zip64),
        );
        self.state = State::Data(Box::new(data));
        // An empty member ends at once.
        if len == Some(0) {
            self.end_data(start, true, findings);
        }
    }

    /// A member's data ended at `end` (complete) or was abandoned there.
    fn end_data(&mut self, end: u64, complete: bool, findings: &mut Findings) {
        let State::Data(data) = core::mem::replace(&mut self.state, State::Record) else {
            return;
        };
        let (member, seen) = data.finish(complete);
        self.inflated = self.inflated.saturating_add(seen.inflated);
        let Some(walked) = self.walked.last_mut() else {
            return;
        };
        walked.end = end;
        walked.seen = Some(seen);
        if let Some(member) = member {
            let (_, nested, finished) = member.finish_detached();
            self.inflated = self.inflated.saturating_add(finished.inflated);
            walked.findings = nested;
            walked.format = finished.format;
        }
        self.pos = end;
        if !complete {
            return;
        }
        if walked.local.entry.flags & FLAG_DESCRIPTOR != 0 {
            self.state = State::Descriptor;
        } else {
            self.after_member();
        }
        let _ = findings;
    }

    /// After a member: go on in order, or to the next member to revisit.
    fn after_member(&mut self) {
        self.state = State::Record;
        if self.revisiting {
            self.next_revisit();
        }
    }

    fn keep_central(&mut self, central: CentralHeader, findings: &mut Findings) {
        let cost = central.entry.name.len() + 64;
        if self.central.len() >= self.input.limits.max_archive_members
            || self.directory_bytes + cost > self.input.limits.max_directory_bytes
        {
            self.limit(findings, "central directory entries", "max_archive_members");
            return;
        }
        self.directory_bytes += cost;
        self.central.push(central);
    }

    fn limit(&mut self, findings: &mut Findings, what: &str, limit: &str) {
        if self.limited {
            return;
        }
        self.limited = true;
        findings.rule(
            Rule::ScanLimitReached,
            None,
            Some(self.pos),
            format!("the archive has more {what} than the limit; the rest were not read"),
            Some(String::from(limit)),
        );
    }

    /// The bytes at `at` (already gathered in `record`, if any) are not a record: note it and
    /// look for the next signature, starting one byte further.
    fn lose(&mut self, at: u64) {
        self.lost_count += 1;
        if self.lost.len() < MAX_LOST_RANGES {
            self.lost.push((at, u64::MAX));
        }
        let gathered = core::mem::take(&mut self.record);
        self.need = 0;
        self.pos = at + gathered.len() as u64;
        let after_first = gathered.get(1..).unwrap_or_default();
        let keep = after_first.len().min(3);
        self.lost_tail = after_first
            .get(after_first.len() - keep..)
            .unwrap_or_default()
            .to_vec();
        self.state = State::Lost;
    }

    /// Scans for the next local or central header signature; returns the bytes used.
    fn search(&mut self, data: &[u8]) -> usize {
        // The tail carries up to three bytes of a signature split across feeds.
        let tail_len = self.lost_tail.len();
        let mut window = core::mem::take(&mut self.lost_tail);
        window.extend_from_slice(data.get(..data.len().min(3)).unwrap_or_default());
        let candidates = [LOCAL_SIG, CENTRAL_SIG, END_SIG];
        let find = |hay: &[u8]| {
            hay.windows(4)
                .position(|w| candidates.iter().any(|c| w == c.as_slice()))
        };
        if let Some(i) = find(&window).filter(|&i| i < tail_len) {
            // The signature started in the previous feed: rewind into the record buffer.
            let back = tail_len - i;
            self.record = window.get(i..tail_len).unwrap_or_default().to_vec();
            self.pos -= back as u64;
            self.found_again();
            return 0;
        }
        match find(data) {
            Some(i) => {
                self.pos += i as u64;
                self.found_again();
                i
            }
            None => {
                let recent: &[u8] = if data.len() >= 3 { data } else { &window };
                let keep = recent.len().min(3);
                self.lost_tail = recent
                    .get(recent.len() - keep..)
                    .unwrap_or_default()
                    .to_vec();
                self.pos += data.len() as u64;
                data.len()
            }
        }
    }

    /// Remembers the span of a parsed record, and any local header signature inside it (a
    /// member hidden in a name, extra field or comment), so that directory entries pointing
    /// into records are judged the same way whether or not the driver can seek back.
    fn note_record(&mut self, start: u64, len: usize) {
        if len == 0 {
            return;
        }
        let end = start + len as u64;
        let count = self.records.len();
        match self.records.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ if count < MAX_LOST_RANGES => self.records.push((start, end)),
            _ => {}
        }
        let body = self.record.get(1..len).unwrap_or_default();
        for (i, w) in body.windows(4).enumerate() {
            if w == LOCAL_SIG && self.hidden_locals.len() < MAX_LOST_RANGES {
                self.hidden_locals.push(start + 1 + i as u64);
            }
        }
    }

    /// The search found a signature at `pos`: the lost range ends there.
    fn found_again(&mut self) {
        if self.lost_count <= MAX_LOST_RANGES
            && let Some(range) = self.lost.last_mut()
        {
            range.1 = self.pos;
        }
        self.state = State::Record;
    }

    /// After the end record: central entries that the in-order read never reached are read by
    /// seeking back (a streaming driver cannot, and they are reported as unread).
    fn plan_revisits(&mut self) {
        // Members inside another member's data are revisited too: they overlap, which is
        // reported either way, and a seeking driver can still judge what they hold.
        // Looked up in a set: an archive of tens of thousands of members would otherwise
        // compare every directory entry with every member read (seconds at 65,536).
        let walked_at: BTreeMap<u64, usize> = self
            .walked
            .iter()
            .enumerate()
            .map(|(i, w)| (w.local_offset, i))
            .rev()
            .collect();
        let mut targets: Vec<u64> = self
            .central
            .iter()
            .map(|c| c.local_offset)
            .filter(|offset| !walked_at.contains_key(offset))
            .collect();
        targets.sort_unstable();
        targets.dedup();
        // Inside a range that held no record, or inside a record (except where a local header
        // signature hides in it), there is no local header to revisit.
        let (lost, records, hidden) = (&self.lost, &self.records, &self.hidden_locals);
        let (inside_lost, targets): (Vec<u64>, Vec<u64>) = targets.into_iter().partition(|t| {
            lost.iter().any(|(start, end)| (*start..*end).contains(t))
                || records
                    .iter()
                    .any(|(start, end)| (*start..*end).contains(t))
                    && !hidden.contains(t)
        });
        self.no_local_header.extend(inside_lost);
        // A member or two hidden inside another is an attack worth reading; dozens sharing one
        // deflate kernel are an overlap bomb, each of which may hold the next: those are only
        // reported.
        let holders = directory::Holders::new(&self.walked);
        let inside_data = |t: &u64| holders.holding(*t).is_some();
        let overlapping = targets.iter().filter(|t| inside_data(t)).count();
        self.overlapping = overlapping;
        let mut revisits: Vec<Revisit> = targets
            .iter()
            .filter(|t| overlapping <= MAX_OVERLAP_REVISITS || !inside_data(t))
            .map(|&offset| Revisit { offset, view: None })
            .collect();
        // Members whose local header gives another method or size than the directory were
        // read the local way; loaders read them the directory's way, so read them that way too.
        revisits.extend(self.central.iter().filter_map(|c| {
            let w = self.walked.get(*walked_at.get(&c.local_offset)?)?;
            let view = View {
                method: c.entry.method,
                compressed_size: c.entry.compressed_size,
            };
            (directory::walked_view(w) != Some(view)).then_some(Revisit {
                offset: c.local_offset,
                view: Some(view),
            })
        }));
        revisits.sort_unstable_by_key(|r| core::cmp::Reverse(r.offset));
        revisits.dedup_by_key(|r| r.offset);
        self.planned_views = revisits
            .iter()
            .filter(|r| r.view.is_some())
            .map(|r| r.offset)
            .collect();
        self.revisits = revisits;
        if !self.revisits.is_empty() {
            self.revisiting = true;
            self.next_revisit();
        }
    }

    fn next_revisit(&mut self) {
        match self.revisits.pop() {
            Some(Revisit { offset, view }) => {
                self.view = view;
                self.pos = offset;
                self.record.clear();
                self.need = 0;
                self.state = State::Record;
            }
            None => self.state = State::Ended,
        }
    }
}

trait MapEnd {
    fn map_end(self) -> Parse<()>;
}

impl MapEnd for Parse<End> {
    fn map_end(self) -> Parse<()> {
        match self {
            Parse::Done(_, len) => Parse::Done((), len),
            Parse::Incomplete(n) => Parse::Incomplete(n),
            Parse::Invalid(r) => Parse::Invalid(r),
        }
    }
}

impl Reader for ZipReader {
    fn wanted(&self) -> Option<u64> {
        if let Some(ahead) = self.lookahead_offset() {
            return Some(ahead);
        }
        match &self.state {
            State::Data(data) => data.wanted().or_else(|| data.end_wanted(self.input.size)),
            State::Ended => None,
            _ => Some(self.expected()),
        }
    }

    fn feed(&mut self, offset: u64, bytes: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        // Read-ahead bytes are copied, not consumed: where they overlap what the in-order read
        // needs next (a small file's tail is the whole file), both use them.
        let took_ahead = self.take_ahead(offset, bytes);
        let (mut offset, mut bytes) = (offset, bytes);
        while !bytes.is_empty() && !matches!(self.state, State::Ended) {
            let expected = self.expected();
            if offset.saturating_add(bytes.len() as u64) <= expected {
                return Ok(());
            }
            if offset > expected {
                if took_ahead {
                    return Ok(());
                }
                let skipped = match &mut self.state {
                    State::Data(data) => data.skip_to(offset),
                    _ => false,
                };
                if skipped {
                    if let State::Data(data) = &self.state
                        && data.end() == Some(offset)
                    {
                        self.end_data(offset, true, findings);
                    }
                    continue;
                }
                // A member to revisit lies behind these bytes: a streaming driver cannot go
                // back, and the member is reported as unread at the end.
                if self.revisiting {
                    return Ok(());
                }
                // Bytes before the read-ahead the reader asked for are before what it wants,
                // not past it: the scanner serves another search's read first (the HDF5
                // user-block probe at a power of two inside a tensor), and the reader asks
                // for them again once the directory gives the member's size.
                if self.lookahead_offset().is_some_and(|at| offset < at) {
                    return Ok(());
                }
                return Err(Gap { expected });
            }
            let from = usize::try_from(expected - offset).unwrap_or(usize::MAX);
            let rest = bytes.get(from..).unwrap_or_default();
            let state_before = core::mem::discriminant(&self.state);
            let used = self.step(rest, findings);
            if used == 0
                && self.expected() == expected
                && core::mem::discriminant(&self.state) == state_before
            {
                break;
            }
            offset = expected + used as u64;
            bytes = rest.get(used..).unwrap_or_default();
        }
        self.apply_lookahead();
        Ok(())
    }

    fn finish(mut self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        if let State::Data(data) = &self.state {
            // Where the file ended, not where reading stopped: a seeking driver may have
            // stopped earlier, at data no child wanted.
            let at = eof.max(data.start).min(data.end().unwrap_or(eof));
            let _ = data;
            let name = self
                .walked
                .last()
                .map(|w| w.local.entry.display_name())
                .unwrap_or_default();
            findings.rule(
                Rule::ArchiveMalformed,
                Some(&name),
                Some(at),
                format!("the archive ends inside the data of member {name}"),
                None,
            );
            self.end_data(at, false, findings);
        }
        let format = directory::file(&mut self, eof, findings);
        Finished {
            format,
            inflated: self.inflated,
        }
    }
}

#[cfg(test)]
mod tests;

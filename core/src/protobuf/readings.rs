//! Several readers over the same bytes, each with its own findings until the end decides which
//! of them describe the file.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::Reading as Candidate;
use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::{Format, Severity};

/// One reading and what it found.
#[derive(Debug)]
struct Reading {
    reader: Box<dyn Candidate>,
    findings: Findings,
}

/// Readers run side by side on one input.
///
/// At the end, every reading that recognised the input (finished with a known format) keeps
/// all its findings, and the first of them names the format. When none did, the first reading
/// that partly recognised it (a model cut short) stands in for them, beside the reading the
/// sniff chose by the input's magic, if any. The other readings keep
/// only their high and critical findings, so that making a file ambiguous never hides a
/// payload, while the complaints of a schema that does not apply (a malformed ONNX message in
/// what is really a SavedModel) are dropped.
#[derive(Debug)]
pub(crate) struct Readings {
    readings: Vec<Reading>,
}

impl Readings {
    /// Runs `readers` over the same input; `findings` gives their sinks' policy and size.
    pub(crate) fn new(readers: Vec<Box<dyn Candidate>>, findings: &Findings) -> Readings {
        Readings {
            readings: readers
                .into_iter()
                .map(|reader| Reading {
                    reader,
                    findings: findings.empty_like(),
                })
                .collect(),
        }
    }
}

impl Reader for Readings {
    fn wanted(&self) -> Option<u64> {
        self.readings.iter().filter_map(|r| r.reader.wanted()).min()
    }

    fn feed(&mut self, offset: u64, data: &[u8], _findings: &mut Findings) -> Result<(), Gap> {
        let mut result = Ok(());
        for reading in &mut self.readings {
            if reading.reader.wanted().is_none() {
                continue;
            }
            let fed = reading.reader.feed(offset, data, &mut reading.findings);
            result = result.and(fed);
        }
        result
    }

    fn recognized(&self) -> bool {
        self.readings.iter().any(|r| r.reader.recognized())
    }

    fn unrecognized(&self) -> bool {
        self.readings.iter().all(|r| r.reader.unrecognized())
    }

    fn skipped(&self) -> bool {
        self.readings.iter().any(|r| r.reader.skipped())
    }

    fn settle(&mut self, _findings: &mut Findings) {
        for reading in &mut self.readings {
            reading.reader.settle(&mut reading.findings);
        }
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let partly: Vec<bool> = self
            .readings
            .iter()
            .map(|r| r.reader.partly_recognized())
            .collect();
        let done: Vec<(Finished, Findings, bool)> = self
            .readings
            .into_iter()
            .map(|Reading { reader, findings }| {
                let sniffed = reader.sniffed();
                let mut own = findings;
                (reader.finish(eof, &mut own), own, sniffed)
            })
            .collect();
        let any_recognized = done.iter().any(|(d, _, _)| d.format != Format::Unknown);
        let stand_in = (!any_recognized)
            .then(|| partly.iter().position(|&p| p))
            .flatten();
        let mut chosen = Finished::plain(Format::Unknown);
        for (index, (finished, own, sniffed)) in done.into_iter().enumerate() {
            let recognized = finished.format != Format::Unknown;
            if recognized && chosen.format == Format::Unknown {
                chosen = finished;
            }
            let keep_all = recognized || stand_in == Some(index) || (!any_recognized && sniffed);
            let kept = own
                .into_vec()
                .into_iter()
                .filter(|f| keep_all || f.severity >= Severity::High)
                .collect();
            findings.absorb(kept);
        }
        chosen
    }
}

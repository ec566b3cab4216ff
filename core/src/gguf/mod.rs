//! GGUF files (llama.cpp's model format), versions 1 to 3, in either byte order.
//!
//! Layout: magic `GGUF`, a u32 version, the tensor count and the metadata key/value count (u64,
//! u32 in version 1), the key/value pairs, one info record per tensor (name, dimensions, type,
//! offset), padding to the alignment, then the raw tensor data, which is never read.
//!
//! Loading a GGUF file runs no code of its own, but the `tokenizer.chat_template` metadata is a
//! Jinja template that chat front ends render: a template that escapes Jinja's sandbox runs
//! code when a chat starts ([`Rule::GgufTemplateInjection`]). Anything that breaks the format's
//! rules is [`Rule::GgufMalformed`].
//!
//! The header is parsed one field group at a time ([`metadata`]): only the group being read is
//! buffered, so findings do not depend on how the bytes were split into pieces.

mod metadata;
mod template;
mod template_lex;
#[cfg(test)]
mod template_tests;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::rules::Rule;
use crate::scanner::Input;

use metadata::{Parser, Step};

/// Most bytes of header (metadata and tensor infos) read before the file is called malformed.
pub(crate) const MAX_HEADER_BYTES: u64 = 256 << 20;

/// A GGUF file.
#[derive(Debug)]
pub(crate) struct GgufReader {
    /// What the scanner knows about the input.
    input: Input,
    /// The header parser, `None` once nothing more is read.
    parser: Option<Parser>,
    /// The bytes of the field group being read, starting at `base`.
    buf: Vec<u8>,
    /// Offset of `buf`'s first byte.
    base: u64,
    /// Offset up to which the field group being read needs bytes.
    need: u64,
    /// What the completed tensor infos say about the data, once read.
    data: Option<metadata::DataExtent>,
}

/// Starts a reader for an input that the sniffer found to start with `GGUF`.
pub(crate) fn new(input: Input) -> GgufReader {
    GgufReader {
        input,
        parser: Some(Parser::new()),
        buf: Vec::new(),
        base: 0,
        need: 0,
        data: None,
    }
}

impl GgufReader {
    /// Offset one past the last byte buffered.
    fn have_end(&self) -> u64 {
        self.base.saturating_add(self.buf.len() as u64)
    }

    /// Runs field groups over the buffer until one needs more bytes or the header ends.
    fn advance(&mut self, findings: &mut Findings) {
        while let Some(parser) = self.parser.as_mut() {
            match parser.step(&self.buf, self.base, findings) {
                Step::Consumed(n) => {
                    let n = n.min(self.buf.len());
                    self.buf.drain(..n);
                    self.base = self.base.saturating_add(n as u64);
                    self.need = self.base;
                    if self.base > MAX_HEADER_BYTES {
                        self.header_too_long(findings);
                    }
                }
                Step::Need(n) => {
                    self.need = self.base.saturating_add(n as u64);
                    if self.need > MAX_HEADER_BYTES.saturating_add(metadata::MAX_STRING) {
                        self.header_too_long(findings);
                    }
                    return;
                }
                Step::Stop => {
                    self.stop();
                }
                Step::Finished(extent) => {
                    self.data = Some(extent);
                    self.stop();
                }
            }
        }
    }

    /// Reads nothing more.
    /// Reports a header that runs past [`MAX_HEADER_BYTES`] and stops reading.
    fn header_too_long(&mut self, findings: &mut Findings) {
        findings.rule(
            Rule::GgufMalformed,
            None,
            Some(self.base),
            format!(
                "the metadata and tensor infos run past {MAX_HEADER_BYTES} bytes; modelsieve read nothing more"
            ),
            Some(format!("header over {MAX_HEADER_BYTES} bytes")),
        );
        self.stop();
    }

    fn stop(&mut self) {
        self.parser = None;
        self.buf = Vec::new();
    }
}

impl Reader for GgufReader {
    fn skipped(&self) -> bool {
        // The tensor data is never read.
        self.data.as_ref().is_some_and(|d| d.tensors > 0)
    }

    fn user_block_from(&self) -> Option<u64> {
        // The data section runs from its aligned start to the end of the file (llama.cpp maps
        // it whole) and is never read, so it is not searched; a file without tensors has no
        // data, and whatever follows its header is searched.
        let extent = self.data.as_ref()?;
        extent.furthest.is_none().then_some(extent.start)
    }

    fn wanted(&self) -> Option<u64> {
        self.parser.as_ref()?;
        let have = self.have_end();
        // A field group that overruns a file of known size is never complete: the finish
        // reports it.
        if self.input.size.is_some_and(|size| self.need > size) {
            return None;
        }
        Some(have)
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        let mut offset = offset;
        let mut data = data;
        loop {
            if self.parser.is_none() || data.is_empty() {
                return Ok(());
            }
            let have = self.have_end();
            let end = offset.saturating_add(data.len() as u64);
            if end <= have {
                return Ok(());
            }
            if offset > have {
                return Err(Gap { expected: have });
            }
            let skip = usize::try_from(have - offset).unwrap_or(usize::MAX);
            let fresh = data.get(skip..).unwrap_or_default();
            // Take only what the field group needs, so the tensor data is never buffered.
            let wanted = usize::try_from(self.need.saturating_sub(have)).unwrap_or(usize::MAX);
            let take = fresh.len().min(wanted.max(1));
            self.buf
                .extend_from_slice(fresh.get(..take).unwrap_or_default());
            offset = have.saturating_add(take as u64);
            data = fresh.get(take..).unwrap_or_default();
            if self.have_end() >= self.need {
                self.advance(findings);
            }
        }
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        if let Some(parser) = &self.parser {
            let have = self.have_end();
            let overran = self.input.size.is_some_and(|size| size < self.need);
            if eof < self.need && (overran || eof <= have) {
                findings.rule(
                    Rule::GgufMalformed,
                    None,
                    Some(eof),
                    format!(
                        "the file ends at offset {eof}, inside {} (which runs to offset {}); llama.cpp refuses it",
                        parser.reading(),
                        self.need
                    ),
                    Some(String::from("truncated header")),
                );
            }
        }
        if let Some(extent) = &self.data {
            if let Some((end, name)) = extent.furthest.as_ref() {
                let data_end = extent.start.saturating_add(*end);
                if data_end > eof {
                    findings.rule(
                        Rule::GgufMalformed,
                        None,
                        Some(extent.start),
                        format!("tensor '{}' ends at offset {data_end} (data section starts at {}), but the file is {eof} bytes long; llama.cpp refuses it", crate::numpy::shown(name), extent.start),
                        Some(format!("{} data bytes missing", data_end - eof)),
                    );
                }
            }
        }
        Finished::plain(Format::Gguf)
    }
}

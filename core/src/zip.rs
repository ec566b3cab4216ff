//! zip archives. (stub)

use alloc::boxed::Box;

use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::scanner::Input;

/// A gzip or zlib stream.
#[derive(Debug)]
pub(crate) struct ZipReader {
    format: Format,
    _input: Input,
}

impl ZipReader {
    pub(crate) fn new(input: Input) -> ZipReader {
        ZipReader {
            format: Format::Zip,
            _input: input,
        }
    }
}

impl Reader for ZipReader {
    fn wanted(&self) -> Option<u64> {
        None
    }
    fn feed(&mut self, _offset: u64, _data: &[u8], _findings: &mut Findings) -> Result<(), Gap> {
        Ok(())
    }
    fn finish(self: Box<Self>, _eof: u64, _findings: &mut Findings) -> Finished {
        Finished::plain(self.format)
    }
}

//! gzip and zlib streams, inflated as they arrive and scanned by a child scan. (stub)

use alloc::boxed::Box;

use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::scanner::Input;

/// A gzip or zlib stream.
#[derive(Debug)]
pub(crate) struct Inflated {
    format: Format,
    _input: Input,
}

impl Inflated {
    pub(crate) fn gzip(input: Input) -> Inflated {
        Inflated {
            format: Format::Gzip,
            _input: input,
        }
    }
    pub(crate) fn zlib(input: Input) -> Inflated {
        Inflated {
            format: Format::Zlib,
            _input: input,
        }
    }
}

impl Reader for Inflated {
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

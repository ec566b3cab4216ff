//! HDF5 files, read as far as Keras `.h5` models need: the root group's `model_config` and
//! `training_config` attributes.
//!
//! STUB: filled in by the HDF5 work (issue 4, item 6).

use alloc::boxed::Box;

use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::scanner::Input;

/// An HDF5 file.
#[derive(Debug)]
pub(crate) struct Hdf5Reader {
    input: Input,
}

impl Hdf5Reader {
    /// Starts a reader for an input that starts with the HDF5 signature.
    pub(crate) fn new(input: Input) -> Hdf5Reader {
        Hdf5Reader { input }
    }
}

impl Reader for Hdf5Reader {
    fn wanted(&self) -> Option<u64> {
        None
    }

    fn feed(&mut self, _offset: u64, _data: &[u8], _findings: &mut Findings) -> Result<(), Gap> {
        let _ = self.input;
        Ok(())
    }

    fn finish(self: Box<Self>, _eof: u64, _findings: &mut Findings) -> Finished {
        Finished::plain(Format::Unknown)
    }
}

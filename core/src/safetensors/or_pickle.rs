//! A file that starts like a safetensors header and also like a pickle.
//!
//! A safetensors file begins with a little-endian header length; a pickle can be crafted so
//! that its first eight bytes read as a plausible length and its ninth is `{` (inside a string
//! operand), with its payload after. Judged only as safetensors, such a file would be a
//! malformed header (medium) and its payload never seen. So both readings run side by side on
//! the same bytes, and the header decides: a JSON object makes it safetensors, otherwise what
//! the pickle engine found stands.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::SafetensorsReader;
use crate::findings::Findings;
use crate::pickle::PickleStream;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;

/// Both readings of an ambiguous file, each with its own findings until one is chosen.
#[derive(Debug)]
pub(crate) struct OrPickle {
    tensors: Box<SafetensorsReader>,
    tensors_findings: Findings,
    pickle: Box<PickleStream>,
    pickle_findings: Findings,
}

impl OrPickle {
    /// Runs `tensors` and `pickle` over the same input; `findings` gives their sinks' policy
    /// and size.
    pub(crate) fn new(
        tensors: SafetensorsReader,
        pickle: PickleStream,
        findings: &Findings,
    ) -> OrPickle {
        OrPickle {
            tensors: Box::new(tensors),
            tensors_findings: findings.empty_like(),
            pickle: Box::new(pickle),
            pickle_findings: findings.empty_like(),
        }
    }
}

impl Reader for OrPickle {
    fn wanted(&self) -> Option<u64> {
        match (self.tensors.wanted(), Reader::wanted(self.pickle.as_ref())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn feed(&mut self, offset: u64, data: &[u8], _findings: &mut Findings) -> Result<(), Gap> {
        let tensors = self.tensors.feed(offset, data, &mut self.tensors_findings);
        let pickle = Reader::feed(
            self.pickle.as_mut(),
            offset,
            data,
            &mut self.pickle_findings,
        );
        tensors.and(pickle)
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let OrPickle {
            tensors,
            mut tensors_findings,
            pickle,
            mut pickle_findings,
        } = *self;
        let json = tensors.json;
        let tensors_done = tensors.finish(eof, &mut tensors_findings);
        let pickle_done = pickle.finish(eof, &mut pickle_findings);
        let (chosen, done): (Vec<_>, Finished) = if json || pickle_done.format == Format::Unknown {
            (tensors_findings.into_vec(), tensors_done)
        } else {
            (pickle_findings.into_vec(), pickle_done)
        };
        findings.absorb(chosen);
        done
    }
}

//! HDF5 files, read as far as Keras `.h5` models need: the root group's `model_config` and
//! `training_config` attributes, judged as Keras configs ([`crate::keras::check_config`]).
//!
//! Keras' legacy `model.save("x.h5")` (and tf.keras before it) writes the model's JSON config
//! as the root attribute `model_config`, the compile arguments as `training_config`, and the
//! weights as datasets under `model_weights/`. Loading the file deserializes the configs, which
//! is where a Lambda layer's code or an arbitrary callable gets in; the weights are plain
//! numbers and are never read.
//!
//! What is read: the superblock (versions 0 to 3, 2/4/8-byte addresses and lengths; addresses
//! count from the superblock itself, as libhdf5 counts them whatever base address it records), the root group's object header (version 1 with its continuation chunks, version 2
//! `OHDR` with `OCHK` chunks), its attribute messages (versions 1 to 3; fixed-length strings and
//! variable-length strings from global heap collections), and dense attribute storage
//! ([`dense`]). Checksums of versioned metadata (Jenkins lookup3) are verified; a mismatch is
//! reported (libhdf5 refuses such a file) and the content is judged anyway.
//!
//! Pointers go anywhere, but the reader makes one forward pass ([`regions`]): it keeps the
//! first MiB whole, and past it reads only what lies ahead. Every bound (continuation chunks,
//! B-tree nodes, heap blocks, bytes buffered) and everything not read (a backward pointer past
//! the first MiB, shared messages, filtered heaps) is a finding, never a silent clean.

/// The committed HDF5 fixture at `tests/fixtures/hdf5/<path>`, for the unit tests of this module.
#[cfg(test)]
macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/hdf5/",
            $path
        ))
    };
}

mod attribute;
mod btree;
mod bytes;
mod dense;
mod fractal_heap;
mod global_heap;
mod object_header;
mod problems;
mod regions;
mod superblock;
#[cfg(test)]
mod tests;
mod user_block;
mod walk;

use alloc::boxed::Box;
use alloc::format;

use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::scanner::Input;

pub(crate) use user_block::UserBlock;

use problems::malformed;
use regions::{Feed, Regions};
use walk::{Ctx, Task, Walk};

/// An HDF5 file.
#[derive(Debug)]
pub(crate) struct Hdf5Reader {
    /// The ranges being read.
    regions: Regions<Task>,
    /// What they are read for, and what was found.
    walk: Walk,
}

impl Hdf5Reader {
    /// Starts a reader for an input that starts with the HDF5 signature.
    pub(crate) fn new(input: Input) -> Hdf5Reader {
        Hdf5Reader::with_window(input, regions::WINDOW)
    }

    /// A reader that keeps the first `window` bytes (tests shrink it to exercise the one-pass
    /// rules on small files).
    fn with_window(input: Input, window: u64) -> Hdf5Reader {
        let mut regions = Regions::new(input.size, window);
        let start = Feed {
            offset: 0,
            data: &[],
        };
        // The first range cannot be refused: it is short and at the start of the window.
        let _ = regions.open(0, superblock::PREFIX_LEN, Task::Superblock, start);
        Hdf5Reader {
            regions,
            walk: Walk::default(),
        }
    }
}

impl Reader for Hdf5Reader {
    fn wanted(&self) -> Option<u64> {
        self.regions.wanted()
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        let Some(wanted) = self.regions.wanted() else {
            return Ok(());
        };
        if offset > wanted {
            return Err(Gap { expected: wanted });
        }
        self.regions.fill(offset, data);
        let feed = Feed { offset, data };
        while let Some(region) = self.regions.take_complete() {
            let mut ctx = Ctx {
                regions: &mut self.regions,
                feed,
                findings,
            };
            self.walk.step(region, &mut ctx);
        }
        Ok(())
    }

    fn skipped(&self) -> bool {
        // Everything but the root group's metadata (the weights above all) is passed over.
        true
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let Hdf5Reader { regions, walk } = *self;
        for region in regions.into_unfinished() {
            let end = region.end();
            if end > eof {
                malformed(
                    findings,
                    region.start,
                    format!(
                        "{} at offset {} runs to offset {end}, past the end of the file at {eof}",
                        region.task.what(),
                        region.start
                    ),
                    "past end of file",
                );
            }
        }
        if let Some(sb) = walk.superblock {
            // The recorded end is absolute; libhdf5 moves it by as much as the recorded base
            // differs from where the superblock is (here, the input's start), in unsigned
            // arithmetic that wraps.
            let recorded = sb.eof.map(|e| e.wrapping_sub(sb.base));
            if let Some(recorded) = recorded.filter(|&r| r > eof) {
                malformed(
                    findings,
                    0,
                    format!(
                        "the superblock records the file's end at offset {recorded}, but the file is {eof} bytes long; libhdf5 refuses a truncated file"
                    ),
                    "truncated file",
                );
            }
        }
        let format = if walk.found.model_config {
            Format::KerasH5
        } else {
            Format::Hdf5
        };
        Finished::plain(format)
    }
}

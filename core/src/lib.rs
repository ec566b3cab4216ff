//! modelsieve-core: tells whether loading a machine-learning model file can run code, without
//! loading it.
//!
//! The core owns no I/O. A [`Scanner`] is fed bytes at offsets and says which bytes it wants next;
//! drivers decide how to get them (`pread` in the CLI, `Blob.slice()` in a browser, a request
//! body in an edge worker). Callers that hold the whole file use [`scan_bytes`].
//!
//! ```
//! use modelsieve_core::{scan_bytes, Policy, Verdict};
//! // pickle.dumps(['a', 'b'], protocol=2)
//! let report = scan_bytes(b"\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02e.", &Policy::default());
//! assert_eq!(report.verdict, Verdict::Clean);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

mod compressed;
mod findings;
mod gguf;
mod hdf5;
mod inflate;
mod keras;
mod limits;
mod numpy;
mod onnx;
mod paths;
mod pickle;
mod policy;
mod protobuf;
mod reader;
mod report;
mod rules;
mod safetensors;
pub mod sarif;
mod scanner;
mod sniff;
mod tar;
#[cfg(test)]
mod test_drivers;
mod tf;
mod torch_tar;
mod torchscript;
mod zip;

pub use limits::Limits;
pub use policy::{GlobalClass, Policy, PolicyError};
pub use report::{Finding, Format, Report, ReportDocument, SCHEMA_VERSION, Severity, Verdict};
pub use rules::Rule;
pub use scanner::{Scanner, Want};

/// Scans a file held entirely in memory with the default [`Limits`].
///
/// Equivalent to feeding `bytes` to a [`Scanner`] in one call; use a `Scanner` when the file is
/// large or arrives in pieces.
pub fn scan_bytes(bytes: &[u8], policy: &Policy) -> Report {
    scan_bytes_with_limits(bytes, policy, Limits::default())
}

/// Scans a file held entirely in memory with explicit [`Limits`].
pub fn scan_bytes_with_limits(bytes: &[u8], policy: &Policy, limits: Limits) -> Report {
    scanner::scan_nested(bytes, policy, limits, 0)
}

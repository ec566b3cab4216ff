//! End-to-end tests of the `modelsieve` binary: exit codes, output formats, inputs.
//!
//! Tests that need real detection (a dangerous or unknown import) depend on the core's pickle
//! analysis; everything else holds with any scanner that returns a report per file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod exit_codes;
mod fixtures;
mod formats;
mod inputs;
mod support;

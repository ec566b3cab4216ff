//! Builders of hostile inputs for the resource tests: every attack is made here in Rust, byte
//! by byte, so the tests need no Python and no committed multi-megabyte files.
//!
//! These build inputs from the tests' own constants, never from input they read: a builder
//! asked for something impossible (a zip32 member over 4 GiB) is a bug in the calling test,
//! and panicking says so loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod deflate;
pub mod formats;
pub mod hdf5;
pub mod zip;

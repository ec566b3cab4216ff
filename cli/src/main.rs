//! `modelsieve`: tells whether loading a machine-learning model file can run code, without
//! loading it.
//!
//! `main` only parses the command line; every job lives in a module of its own:
//! [`args`] (the command line), [`discover`] (which files), [`pool`] (in parallel, in order),
//! [`scan`] and [`driver`] (bytes into the core's scanner), [`render`] (text, JSON, SARIF),
//! [`status`] (the exit code) and [`rules_table`] (`modelsieve rules`).
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod app;
mod args;
mod discover;
mod driver;
mod pool;
mod render;
mod rules_table;
mod scan;
mod status;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    app::run(args::Cli::parse())
}

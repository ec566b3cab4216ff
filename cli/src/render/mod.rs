//! Writing results: [`text`] for people, [`json`] for programs, [`sarif`] for code-scanning
//! dashboards. [`terminal`] keeps hostile strings from driving the terminal.

pub(crate) mod json;
pub(crate) mod sarif;
pub(crate) mod terminal;
pub(crate) mod text;

//! The pickle engine.

//! The sans-IO scanner: fed bytes at offsets, it says which bytes it wants next.

use crate::limits::Limits;
use crate::policy::Policy;
use crate::report::Report;

/// What the scanner asks its driver for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Read about `len` bytes at `offset` and [`Scanner::feed`] them (fewer at end of file is
    /// fine; more is fine too).
    Range {
        /// Absolute offset in the file.
        offset: u64,
        /// How many bytes the scanner can use now; a hint, not a contract.
        len: u64,
    },
    /// Nothing more is needed: call [`Scanner::finish`].
    Done,
}

/// A scan of one file in progress (stub).
#[derive(Debug)]
pub struct Scanner {
    _policy: Policy,
    _limits: Limits,
    _size: Option<u64>,
}

impl Scanner {
    /// Starts a scan.
    pub fn new(policy: &Policy, limits: Limits, size: Option<u64>) -> Scanner {
        Scanner {
            _policy: policy.clone(),
            _limits: limits,
            _size: size,
        }
    }
    /// Next bytes wanted.
    pub fn want(&self) -> Want {
        Want::Done
    }
    /// Feeds bytes.
    pub fn feed(&mut self, _offset: u64, _bytes: &[u8]) {}
    /// Ends the scan.
    pub fn finish(self) -> Report {
        Report {
            path: alloc::string::String::new(),
            format: crate::report::Format::Unknown,
            verdict: crate::report::Verdict::Clean,
            bytes_read: 0,
            size: self._size,
            findings: alloc::vec::Vec::new(),
        }
    }
}

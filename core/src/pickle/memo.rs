//! The unpickler's memo: slots written by PUT/BINPUT/LONG_BINPUT/MEMOIZE, read by GET and friends.
//!
//! Dense indices (what picklers write) live in a vector; far-flung ones (an attacker's
//! `LONG_BINPUT 0xffffffff`) in a sorted map. Past `max_entries` new slots are forgotten, and a
//! later read of a forgotten slot is reported instead of guessed.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::value::Value;

/// How far past the dense end an index may land and still extend the dense vector.
const DENSE_SLACK: u64 = 1 << 12;

/// What a memo read found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Slot {
    Set(Value),
    /// Never written: CPython raises `KeyError` / "Memo value not found".
    Unset,
    /// Written after the memo budget ran out: the value was not kept.
    Forgotten,
}

#[derive(Debug, Clone)]
pub(crate) struct Memo {
    dense: Vec<Option<Value>>,
    sparse: BTreeMap<u64, Value>,
    /// Occupied slots, which is where MEMOIZE writes next (CPython's `memo_len`).
    occupied: u64,
    max_entries: usize,
    /// Set when a slot had to be forgotten.
    pub(crate) overflowed: bool,
}

impl Memo {
    pub(crate) fn new(max_entries: usize) -> Memo {
        Memo {
            dense: Vec::new(),
            sparse: BTreeMap::new(),
            occupied: 0,
            max_entries,
            overflowed: false,
        }
    }

    /// The index MEMOIZE writes to.
    pub(crate) fn next_index(&self) -> u64 {
        self.occupied
    }

    #[inline]
    pub(crate) fn put(&mut self, index: u64, value: Value) {
        let dense_len = self.dense.len() as u64;
        // What picklers write: the next slot, in order.
        if index == dense_len && self.sparse.is_empty() && self.dense.len() < self.max_entries {
            self.dense.push(Some(value));
            self.occupied += 1;
            return;
        }
        if index < dense_len {
            if let Some(slot) = self.dense.get_mut(index as usize) {
                if slot.is_none() {
                    self.occupied += 1;
                }
                *slot = Some(value);
            }
            return;
        }
        if let Some(existing) = self.sparse.get_mut(&index) {
            *existing = value;
            return;
        }
        let stored = self.dense.len() + self.sparse.len();
        if stored >= self.max_entries {
            self.overflowed = true;
            self.occupied += 1;
            return;
        }
        self.occupied += 1;
        if index < dense_len + DENSE_SLACK {
            self.dense.resize(index as usize, None);
            self.dense.push(Some(value));
        } else {
            self.sparse.insert(index, value);
        }
    }

    pub(crate) fn get(&self, index: u64) -> Slot {
        let found = match self.dense.get(index as usize) {
            Some(slot) if index < self.dense.len() as u64 => *slot,
            _ => self.sparse.get(&index).copied(),
        };
        match found {
            Some(value) => Slot::Set(value),
            // Once slots have been dropped, an unset slot may be one of them: say so rather
            // than call the stream broken.
            None if self.overflowed => Slot::Forgotten,
            None => Slot::Unset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_sparse_and_memoize_indices() {
        let mut m = Memo::new(10);
        m.put(0, Value::Int(1));
        m.put(5, Value::Int(2));
        assert_eq!(m.next_index(), 2);
        m.put(0xffff_ffff, Value::Int(3));
        assert_eq!(m.get(0), Slot::Set(Value::Int(1)));
        assert_eq!(m.get(5), Slot::Set(Value::Int(2)));
        assert_eq!(m.get(0xffff_ffff), Slot::Set(Value::Int(3)));
        assert_eq!(m.get(3), Slot::Unset);
        assert_eq!(m.get(7), Slot::Unset);
    }

    #[test]
    fn overflow_forgets_and_says_so() {
        let mut m = Memo::new(2);
        m.put(0, Value::Int(1));
        m.put(1, Value::Int(2));
        m.put(2, Value::Int(3));
        assert!(m.overflowed);
        assert_eq!(m.get(2), Slot::Forgotten);
        assert_eq!(m.get(0), Slot::Set(Value::Int(1)));
    }
}

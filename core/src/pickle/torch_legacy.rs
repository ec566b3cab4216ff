//! Legacy (non-zip) `torch.save` files: five pickles, then raw storage bytes.
//!
//! `torch.serialization._legacy_load` unpickles a magic number, a protocol version, a sys_info
//! dict, the object itself (with persistent ids for its storages) and the list of storage keys;
//! then `_set_from_file` reads each storage as an 8-byte element count and the elements, and
//! nothing is unpickled again. When the first pickle is the literal magic number and the fifth a
//! list of strings, what follows the fifth is storage data: the stream stops there, so a seeking
//! driver reads none of it and nothing is reported as trailing bytes. A magic number made any
//! other way (picklescan's `eval` bypass) leaves the stream scanning on, as for any
//! concatenation of pickles.

use super::opcodes::{INT, LONG, LONG1, LONG4};
use super::stream::{PickleStream, State};
use super::value::{Heap, ObjKind, Value};
use crate::findings::Findings;

/// `torch.serialization.MAGIC_NUMBER`.
const MAGIC: u128 = 0x1950_a86a_20f9_469c_fc6c;

/// What the stream has seen of the pickles a legacy `torch.save` writes.
#[derive(Debug)]
pub(crate) struct Legacy {
    /// Off for pickles nested in constants, which `torch.load` never reads as a file.
    pub(crate) enabled: bool,
    /// Big-integer opcodes in the first pickle.
    big_ints: u32,
    /// One of them was the magic number.
    magic_op: bool,
    /// The first pickle returned the literal magic number.
    magic: bool,
    /// The fifth pickle was the list of storage keys: what follows is storage data.
    pub(crate) storages: bool,
}

impl Legacy {
    pub(crate) fn new() -> Legacy {
        Legacy {
            enabled: true,
            big_ints: 0,
            magic_op: false,
            magic: false,
            storages: false,
        }
    }

    /// A big-integer opcode of the first pickle, as encoded (opcode and operand).
    pub(crate) fn big_int(&mut self, encoded: &[u8]) {
        self.big_ints = self.big_ints.saturating_add(1);
        if int_value(encoded) == Some(MAGIC) {
            self.magic_op = true;
        }
    }

    /// The STOP of pickle `index` (from 0) returned `result`; true once the storages begin.
    pub(crate) fn stop(&mut self, index: u32, result: Option<Value>, heap: &Heap) -> bool {
        if !self.enabled {
            return false;
        }
        match index {
            // The only big integer the pickle made is what it returned: the literal itself.
            0 => self.magic = self.magic_op && self.big_ints == 1 && result == Some(Value::BigInt),
            4 => self.storages = self.magic && is_key_list(result, heap),
            _ => {}
        }
        self.storages
    }
}

/// A list whose retained items are all strings (torch writes the storage keys as `str`).
fn is_key_list(value: Option<Value>, heap: &Heap) -> bool {
    match value {
        Some(Value::Object(id)) => heap.obj(id).is_some_and(|o| {
            o.kind == ObjKind::List && o.items.iter().all(|v| matches!(v, Value::Str(_)))
        }),
        _ => false,
    }
}

/// The non-negative value of a LONG1, LONG4, LONG or INT opcode, when it fits 128 bits.
fn int_value(encoded: &[u8]) -> Option<u128> {
    let (&opcode, rest) = encoded.split_first()?;
    match opcode {
        LONG1 => little_endian(rest.get(1..)?),
        LONG4 => little_endian(rest.get(4..)?),
        LONG | INT => {
            let line = rest.strip_suffix(b"\n")?;
            let digits = line.strip_suffix(b"L").unwrap_or(line);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            core::str::from_utf8(digits).ok()?.parse().ok()
        }
        _ => None,
    }
}

/// Two's-complement little-endian digits as pickle writes them; `None` when negative or wider
/// than 128 bits.
fn little_endian(digits: &[u8]) -> Option<u128> {
    if digits.last().is_some_and(|&b| b & 0x80 != 0) {
        return None;
    }
    let significant = digits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let digits = digits.get(..significant)?;
    if digits.len() > 16 {
        return None;
    }
    Some(
        digits
            .iter()
            .rev()
            .fold(0u128, |acc, &b| (acc << 8) | u128::from(b)),
    )
}

impl PickleStream {
    /// After a STOP, which returned `result`: the end of a joblib array's nested pickle, or of
    /// pickle `self.pickles - 1`.
    pub(super) fn after_stop(&mut self, result: Option<Value>, findings: &mut Findings) {
        if self.suspended.is_some() {
            self.end_nested(findings);
            return;
        }
        let index = self.pickles.saturating_sub(1);
        if self.legacy.stop(index, result, &self.machine.heap) {
            // Storage data follows; `torch.load` never unpickles anything after it.
            self.state = State::Done;
            self.skipped_operand = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_in_every_encoding() {
        let long1 = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
        assert_eq!(int_value(long1), Some(MAGIC));
        // A redundant zero byte is the same number.
        let padded = b"\x8a\x0b\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x00";
        assert_eq!(int_value(padded), Some(MAGIC));
        let long4 = b"\x8b\x0a\x00\x00\x00\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
        assert_eq!(int_value(long4), Some(MAGIC));
        assert_eq!(int_value(b"L119547037146038801333356L\n"), Some(MAGIC));
        assert_eq!(int_value(b"I119547037146038801333356\n"), Some(MAGIC));
        // Negative, hex text and other numbers are not it.
        assert_eq!(int_value(b"\x8a\x02\x00\x80"), None);
        assert_ne!(int_value(b"\x8a\x02\x01\x02"), Some(MAGIC));
        assert_eq!(int_value(b"L0x1950A86A20F9469CFC6CL\n"), None);
        assert_eq!(int_value(b"K\x05"), None);
    }

    #[test]
    fn storages_need_the_literal_magic_and_a_key_list() {
        let limits = crate::limits::Limits::default();
        let mut heap = Heap::new(&limits);
        let key = Value::Str(heap.text(b"140483767857136", 15, None));
        let list = heap.object(ObjKind::List);
        if let Value::Object(id) = list {
            heap.extend(id, &[key, key]);
        }
        let mut legacy = Legacy::new();
        legacy.big_int(b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19");
        assert!(!legacy.stop(0, Some(Value::BigInt), &heap));
        assert!(!legacy.stop(1, Some(Value::Int(1001)), &heap));
        assert!(!legacy.stop(3, Some(Value::Unknown), &heap));
        assert!(legacy.stop(4, Some(list), &heap));

        // The magic computed by a call is not the literal.
        let mut legacy = Legacy::new();
        assert!(!legacy.stop(0, Some(Value::Unknown), &heap));
        assert!(!legacy.stop(4, Some(list), &heap));

        // A pickle that made two big integers may have returned the other one.
        let mut legacy = Legacy::new();
        legacy.big_int(b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19");
        legacy.big_int(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01");
        assert!(!legacy.stop(0, Some(Value::BigInt), &heap));

        // A fifth pickle that is not a list of strings.
        let mut legacy = Legacy::new();
        legacy.big_int(b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19");
        legacy.stop(0, Some(Value::BigInt), &heap);
        assert!(!legacy.stop(4, Some(Value::Int(3)), &heap));

        let mut legacy = Legacy::new();
        legacy.enabled = false;
        legacy.big_int(b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19");
        legacy.stop(0, Some(Value::BigInt), &heap);
        assert!(!legacy.stop(4, Some(list), &heap));
    }
}

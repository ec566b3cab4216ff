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

use super::machine::Machine;
use super::stream::{PickleStream, State};
use super::value::{ObjKind, Value};

/// `torch.serialization.MAGIC_NUMBER`.
const MAGIC: u128 = 0x1950_a86a_20f9_469c_fc6c;

/// What the stream has seen of the pickles a legacy `torch.save` writes.
#[derive(Debug)]
pub(crate) struct Legacy {
    /// Off for pickles nested in constants, which `torch.load` never reads as a file.
    pub(crate) enabled: bool,
    /// The first pickle returned the literal magic number.
    magic: bool,
    /// The fifth pickle was the list of storage keys: what follows is storage data.
    pub(crate) storages: bool,
}

impl Legacy {
    pub(crate) fn new() -> Legacy {
        Legacy {
            enabled: true,
            magic: false,
            storages: false,
        }
    }

    /// The STOP of pickle `index` (from 0), run on `machine`; true once the storages begin.
    pub(crate) fn stop(&mut self, index: u32, machine: &Machine) -> bool {
        if !self.enabled {
            return false;
        }
        match index {
            // The only big integer the pickle made is the magic, and it is what it returned:
            // the literal itself, not a number computed by a call.
            0 => {
                self.magic = machine.big_ints == (1, 1) && machine.returned == Value::BigInt;
            }
            4 => self.storages = self.magic && is_key_list(machine),
            _ => {}
        }
        self.storages
    }
}

/// The returned value is a list whose retained items are all strings (torch writes the storage
/// keys as `str`).
fn is_key_list(machine: &Machine) -> bool {
    match machine.returned {
        Value::Object(id) => machine.heap.obj(id).is_some_and(|o| {
            o.kind == ObjKind::List && o.items.iter().all(|v| matches!(v, Value::Str(_)))
        }),
        _ => false,
    }
}

/// Whether a LONG1/LONG4 operand (two's-complement little-endian digits) is the magic number.
pub(crate) fn is_magic_le(digits: &[u8]) -> bool {
    // Positive, and no wider than 128 bits once redundant high zero bytes are dropped.
    if digits.last().is_some_and(|&b| b & 0x80 != 0) {
        return false;
    }
    let significant = digits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let Some(digits) = digits.get(..significant).filter(|d| d.len() <= 16) else {
        return false;
    };
    let value = digits
        .iter()
        .rev()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    value == MAGIC
}

/// Whether an INT or LONG operand line (decimal digits, LONG's optional `L`) is the magic number.
pub(crate) fn is_magic_text(line: &[u8]) -> bool {
    let digits = line.strip_suffix(b"L").unwrap_or(line);
    digits.iter().all(u8::is_ascii_digit)
        && core::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<u128>().ok())
            == Some(MAGIC)
}

impl PickleStream {
    /// After the STOP that ended pickle `self.pickles - 1`.
    pub(super) fn after_stop(&mut self) {
        let index = self.pickles.saturating_sub(1);
        if self.legacy.stop(index, &self.machine) {
            // Storage data follows; `torch.load` never unpickles anything after it.
            self.state = State::Done;
            self.skipped_operand = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    const LONG1_DIGITS: &[u8] = b"\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

    #[test]
    fn the_magic_in_every_encoding() {
        assert!(is_magic_le(LONG1_DIGITS));
        // A redundant zero byte is the same number.
        assert!(is_magic_le(
            b"\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x00\x00"
        ));
        assert!(is_magic_text(b"119547037146038801333356"));
        assert!(is_magic_text(b"119547037146038801333356L"));
        // Negative, hex text, signs and other numbers are not it.
        assert!(!is_magic_le(b"\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x99"));
        assert!(!is_magic_le(b"\x6d\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"));
        assert!(!is_magic_le(&[0xff; 20]));
        assert!(!is_magic_text(b"0x1950A86A20F9469CFC6C"));
        assert!(!is_magic_text(b"+119547037146038801333356"));
        assert!(!is_magic_text(b"119547037146038801333357"));
    }

    fn machine(big_ints: (u32, u32), returned: Value) -> Machine {
        let mut m = Machine::new(&Limits::default());
        m.big_ints = big_ints;
        m.returned = returned;
        m
    }

    fn key_list(m: &mut Machine) -> Value {
        let key = Value::Str(m.heap.text(b"140483767857136", 15, None));
        let list = m.heap.object(ObjKind::List);
        if let Value::Object(id) = list {
            m.heap.extend(id, &[key, key]);
        }
        list
    }

    #[test]
    fn storages_need_the_literal_magic_and_a_key_list() {
        let mut legacy = Legacy::new();
        assert!(!legacy.stop(0, &machine((1, 1), Value::BigInt)));
        assert!(!legacy.stop(1, &machine((1, 1), Value::Int(1001))));
        assert!(!legacy.stop(3, &machine((1, 1), Value::Unknown)));
        let mut m = machine((1, 1), Value::None);
        m.returned = key_list(&mut m);
        assert!(legacy.stop(4, &m));

        // The magic computed by a call is not the literal, nor is one of two big integers.
        for first in [
            machine((1, 1), Value::Unknown),
            machine((2, 1), Value::BigInt),
        ] {
            let mut legacy = Legacy::new();
            legacy.stop(0, &first);
            assert!(!legacy.stop(4, &m));
        }

        // A fifth pickle that is not a list of strings.
        let mut legacy = Legacy::new();
        legacy.stop(0, &machine((1, 1), Value::BigInt));
        assert!(!legacy.stop(4, &machine((1, 1), Value::Int(3))));

        let mut legacy = Legacy::new();
        legacy.enabled = false;
        legacy.stop(0, &machine((1, 1), Value::BigInt));
        assert!(!legacy.stop(4, &m));
    }
}

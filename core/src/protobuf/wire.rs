//! The protobuf wire format: varints and field tags, decoded from byte slices that may end in
//! the middle of a token.

use core::fmt;

/// How a field's value is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    /// A varint (int32, int64, uint*, sint*, bool, enum).
    Varint,
    /// Eight little-endian bytes (fixed64, sfixed64, double).
    I64,
    /// A varint length, then that many bytes (string, bytes, messages, packed repeated).
    Len,
    /// The start of a group (deprecated; still accepted by parsers as an unknown field).
    StartGroup,
    /// The end of a group.
    EndGroup,
    /// Four little-endian bytes (fixed32, sfixed32, float).
    I32,
}

impl WireType {
    fn from_bits(bits: u64) -> Option<WireType> {
        Some(match bits {
            0 => WireType::Varint,
            1 => WireType::I64,
            2 => WireType::Len,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::I32,
            _ => return None,
        })
    }
}

/// A field key: which field, and how its value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag {
    /// The field number, `1..=MAX_FIELD`.
    pub(crate) field: u32,
    /// The value's encoding.
    pub(crate) wire: WireType,
}

/// The largest field number protobuf allows (2^29 - 1).
const MAX_FIELD: u64 = (1 << 29) - 1;

/// Bytes in the longest varint (ten: 64 bits in 7-bit groups).
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// Bytes that no protobuf parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    /// A varint longer than ten bytes, or one whose tenth byte overflows 64 bits.
    VarintTooLong,
    /// A tag with field number 0 or above 2^29 - 1.
    BadFieldNumber(u64),
    /// A tag with wire type 6 or 7.
    BadWireType(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::VarintTooLong => f.write_str("a varint runs past ten bytes"),
            WireError::BadFieldNumber(n) => write!(f, "field number {n} is out of range"),
            WireError::BadWireType(t) => write!(f, "wire type {t} does not exist"),
        }
    }
}

/// Decodes a varint at the start of `bytes`: its value and length, or `None` when `bytes` ends
/// before the varint does.
pub(crate) fn varint(bytes: &[u8]) -> Result<Option<(u64, usize)>, WireError> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_VARINT_LEN) {
        let low = u64::from(byte & 0x7f);
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(WireError::VarintTooLong);
        }
        value |= low << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= MAX_VARINT_LEN {
        Err(WireError::VarintTooLong)
    } else {
        Ok(None)
    }
}

/// Decodes a field tag at the start of `bytes`, or `None` when `bytes` ends inside it.
pub(crate) fn tag(bytes: &[u8]) -> Result<Option<(Tag, usize)>, WireError> {
    let Some((key, len)) = varint(bytes)? else {
        return Ok(None);
    };
    Ok(Some((tag_from_key(key)?, len)))
}

/// Splits a decoded tag varint into field number and wire type.
pub(crate) fn tag_from_key(key: u64) -> Result<Tag, WireError> {
    let field = key >> 3;
    let wire_bits = key & 7;
    let wire = WireType::from_bits(wire_bits).ok_or(WireError::BadWireType(wire_bits as u8))?;
    if field == 0 || field > MAX_FIELD {
        return Err(WireError::BadFieldNumber(field));
    }
    let field = u32::try_from(field).map_err(|_| WireError::BadFieldNumber(field))?;
    Ok(Tag { field, wire })
}

/// Whether `prefix` (the first bytes of an input) reads as a sequence of well-formed protobuf
/// fields: at least one, and every complete field well formed until the prefix ends (a
/// length-delimited field may run past it).
///
/// Protobuf has no magic number, so this is all a sniffer can go on; the readers then decide
/// whether the message is one they know. Nothing more is asked of the first field: protobuf
/// parsers keep unknown fields, whatever their number or wire type, so `onnx.load` reads a
/// model that starts with field 1000 or a group, and a sniffer that wanted `ir_version` first
/// would let such a model pass unread.
pub(crate) fn looks_like_message(prefix: &[u8]) -> bool {
    let mut at = 0usize;
    let mut fields = 0usize;
    while let Some(rest) = prefix.get(at..).filter(|r| !r.is_empty()) {
        let Ok(Some((tag, len))) = tag(rest) else {
            return false;
        };
        let Some(value) = rest.get(len..) else {
            return false;
        };
        let value_len = match tag.wire {
            WireType::Varint => match varint(value) {
                Ok(Some((_, n))) => n,
                Ok(None) => return fields > 0 || len == rest.len(),
                Err(_) => return false,
            },
            WireType::I64 => 8,
            WireType::I32 => 4,
            WireType::Len => match varint(value) {
                Ok(Some((n, header))) => match usize::try_from(n) {
                    Ok(n) => header.saturating_add(n),
                    Err(_) => return false,
                },
                Ok(None) => return true,
                Err(_) => return false,
            },
            WireType::StartGroup | WireType::EndGroup => 0,
        };
        fields += 1;
        at = at.saturating_add(len).saturating_add(value_len);
    }
    fields > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_across_their_whole_range() {
        assert_eq!(varint(&[0]), Ok(Some((0, 1))));
        assert_eq!(varint(&[0x96, 0x01]), Ok(Some((150, 2))));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&max), Ok(Some((u64::MAX, 10))));
        assert_eq!(varint(&[0x96]), Ok(None));
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(varint(&overflow), Err(WireError::VarintTooLong));
        assert_eq!(varint(&[0x80; 11]), Err(WireError::VarintTooLong));
    }

    #[test]
    fn tags_reject_field_zero_and_unknown_wire_types() {
        assert_eq!(
            tag(&[0x08]),
            Ok(Some((
                Tag {
                    field: 1,
                    wire: WireType::Varint
                },
                1
            )))
        );
        assert_eq!(tag(&[0x02]), Err(WireError::BadFieldNumber(0)));
        assert_eq!(tag(&[0x0e]), Err(WireError::BadWireType(6)));
    }

    #[test]
    fn sniffing_accepts_model_starts_and_rejects_text() {
        // ONNX: ir_version 8, producer_name "pytorch" (whose length runs on).
        assert!(looks_like_message(b"\x08\x08\x12\x07pytorch\x1a\x052.1.0"));
        // SavedModel: meta_graphs, whose content runs past the prefix.
        assert!(looks_like_message(b"\x12\xa1\x03\x0a"));
        assert!(!looks_like_message(b"hello world"));
        assert!(!looks_like_message(b""));
        // Unknown fields first, as protobuf parsers accept them: field 100 (a varint), field
        // 1023 (bytes), an empty group.
        assert!(looks_like_message(b"\xa0\x06\x01\x08\x08"));
        assert!(looks_like_message(b"\xfa\x3f\x03abc\x08\x08"));
        assert!(looks_like_message(b"\x0b\x0c\x08\x08"));
        // A wire type protobuf does not have, or field 0.
        assert!(!looks_like_message(b"\x08\x08\x0e"));
        assert!(!looks_like_message(b"\x02\x00"));
    }
}

//! Format detection from leading bytes. Content decides, never the file name.

use crate::pickle::opcodes;
use crate::report::Format;

/// Bytes the sniffer wants before deciding (fewer at end of file): one tar header block, whose
/// `ustar` magic sits at offset 257.
pub(crate) const SNIFF_LEN: usize = 512;

/// What the leading bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// Starts with PROTO, or with a protocol-0/1 opcode: run the pickle engine, which decides
    /// from what the bytes do whether they really are a pickle.
    Pickle,
    /// `PK\3\4` (or an empty archive's `PK\5\6`).
    Zip,
    /// A tar header block (ustar/gnu magic, or a valid v7 checksum).
    Tar,
    /// `\x1f\x8b`.
    Gzip,
    /// A zlib header (joblib's default compressor).
    Zlib,
    /// joblib's pre-0.10 `ZF` file; the zlib stream starts at the offset given.
    JoblibZfile(u64),
    /// `\x93NUMPY`.
    Npy,
    /// A little-endian u64 header length in `2..=MAX_HEADER`, then `{` (safetensors).
    Safetensors,
    /// A compressed or archive format the core cannot open.
    Unscannable(Format),
    /// `GGUF` (llama.cpp model file).
    Gguf,
    /// The HDF5 signature `\x89HDF\r\n\x1a\n` (a Keras `.h5` model, or weights).
    Hdf5,
    /// A JSON object, or an array of objects, in any encoding `json.loads` detects (a Keras
    /// `config.json`, or any other JSON document).
    Json,
    /// A protobuf message (ONNX, TensorFlow SavedModel, Keras metadata): no magic, so the
    /// leading fields must be well formed on the wire. (Bytes that another format's sniff
    /// claims first, a pickle opcode or a JSON object, may be protobuf too: the scanner then
    /// adds the protobuf readings.)
    Protobuf,
    /// Nothing known.
    Unknown,
}

/// Signatures of formats that are recognised but not opened, most specific first.
const UNSCANNABLE: &[(&[u8], Format)] = &[
    (b"7z\xbc\xaf\x27\x1c", Format::SevenZip),
    (b"\xfd7zXZ\x00", Format::Xz),
    (b"Rar!\x1a\x07", Format::Rar),
    (b"\x28\xb5\x2f\xfd", Format::Zstd),
    (b"\x04\x22\x4d\x18", Format::Lz4),
];

pub(crate) fn sniff(prefix: &[u8]) -> Sniffed {
    // `\x93` is also STACK_GLOBAL and `B`, `(`, `]` are opcodes: signatures come first.
    if prefix.starts_with(b"\x93NUMPY") {
        return Sniffed::Npy;
    }
    // `G` is the pickle opcode BINFLOAT: the GGUF magic must be checked before any pickle.
    if prefix.starts_with(b"GGUF") {
        return Sniffed::Gguf;
    }
    // A safetensors file starts with its header length, whose low bytes can look like any
    // signature below (a 35 615-byte header starts `\x1f\x8b`, gzip's) or a pickle opcode.
    if is_safetensors(prefix) {
        return Sniffed::Safetensors;
    }
    if prefix.starts_with(HDF5_SIGNATURE) {
        return Sniffed::Hdf5;
    }
    if prefix.starts_with(b"PK\x03\x04") || prefix.starts_with(b"PK\x05\x06") {
        return Sniffed::Zip;
    }
    if prefix.starts_with(b"\x1f\x8b") {
        return Sniffed::Gzip;
    }
    if let Some((_, format)) = UNSCANNABLE
        .iter()
        .find(|(magic, _)| prefix.starts_with(magic))
    {
        return Sniffed::Unscannable(*format);
    }
    if is_bzip2(prefix) {
        return Sniffed::Unscannable(Format::Bzip2);
    }
    if is_lzma_alone(prefix) {
        return Sniffed::Unscannable(Format::Lzma);
    }
    if is_zlib(prefix) {
        return Sniffed::Zlib;
    }
    if let Some(start) = joblib_zfile_start(prefix) {
        return Sniffed::JoblibZfile(start);
    }
    if is_tar(prefix) {
        return Sniffed::Tar;
    }
    if crate::keras::looks_like_json(prefix) {
        return Sniffed::Json;
    }
    match prefix.first() {
        Some(&b) if opcodes::name(b).is_some() => Sniffed::Pickle,
        _ if crate::protobuf::looks_like_message(prefix) => Sniffed::Protobuf,
        _ => Sniffed::Unknown,
    }
}

/// The eight bytes every HDF5 superblock starts with.
const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

/// A header length the reference library accepts (at least `{}`, at most
/// [`MAX_HEADER`](crate::safetensors::MAX_HEADER)) followed by `{`. The length is not compared
/// with the file size, which a streaming driver does not know: a header that overruns the file
/// is the safetensors reader's finding, in every driver alike.
fn is_safetensors(prefix: &[u8]) -> bool {
    let Some(&[b0, b1, b2, b3, b4, b5, b6, b7, b'{']) = prefix.get(..9) else {
        return false;
    };
    let len = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
    (2..=crate::safetensors::MAX_HEADER).contains(&len)
}

/// `BZh` + block size digit + the first block's magic (π in BCD) or the end-of-stream magic.
fn is_bzip2(prefix: &[u8]) -> bool {
    matches!(prefix, [b'B', b'Z', b'h', b'1'..=b'9', rest @ ..]
        if rest.starts_with(b"\x31\x41\x59\x26\x53\x59") || rest.starts_with(b"\x17\x72\x45\x38\x50\x90"))
}

/// LZMA-alone, as `lzma.FORMAT_ALONE` (and joblib's `lzma` compressor) writes it: a properties
/// byte `lc + lp*9 + pb*45` (0x5d for the defaults), then a little-endian power-of-two dictionary
/// size. A pickle cannot start like this: `]` followed by `\0` is not a valid opcode sequence.
fn is_lzma_alone(prefix: &[u8]) -> bool {
    let [props, d0, d1, d2, d3, ..] = *prefix else {
        return false;
    };
    let dict = u32::from_le_bytes([d0, d1, d2, d3]);
    props == 0x5d && dict.is_power_of_two() && dict >= 1 << 12
}

/// A zlib header: deflate with a window of at most 32 KiB, no preset dictionary, and the header
/// checksum. Only `0x78` (32 KiB window) is accepted as the first byte; it is not a pickle opcode.
fn is_zlib(prefix: &[u8]) -> bool {
    let [cmf @ 0x78, flg, ..] = *prefix else {
        return false;
    };
    (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0 && flg & 0x20 == 0
}

/// `ZF`, a hex length left-justified in 19 characters (`'{:#x}'.format(2**64)` is that long),
/// then a zlib stream, one byte later when joblib 0.8 wrote an extra space.
fn joblib_zfile_start(prefix: &[u8]) -> Option<u64> {
    let length = prefix.strip_prefix(b"ZF")?.get(..19)?;
    let digits = length.strip_prefix(b"0x")?;
    let hex_then_spaces = digits
        .iter()
        .skip_while(|b| b.is_ascii_hexdigit())
        .all(|&b| b == b' ');
    if !hex_then_spaces || !digits.first()?.is_ascii_hexdigit() {
        return None;
    }
    [21u64, 22]
        .into_iter()
        .find(|&start| prefix.get(start as usize..).is_some_and(is_zlib))
}

/// A tar header block: `ustar` magic at 257, or an old v7 header whose checksum adds up.
fn is_tar(prefix: &[u8]) -> bool {
    if prefix.get(257..262) == Some(b"ustar") {
        return true;
    }
    prefix
        .get(..512)
        .is_some_and(crate::tar::header_checksum_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_win_over_opcodes() {
        assert_eq!(sniff(b"\x93NUMPY\x01\x00"), Sniffed::Npy);
        assert_eq!(sniff(b"BZh91AY&SY"), Sniffed::Unscannable(Format::Bzip2));
        assert_eq!(sniff(b"(\xb5/\xfd\x00"), Sniffed::Unscannable(Format::Zstd));
        assert_eq!(
            sniff(b"]\x00\x00\x80\x00\xff\xff"),
            Sniffed::Unscannable(Format::Lzma)
        );
        assert_eq!(sniff(b"x\x9c\x01\x02"), Sniffed::Zlib);
        assert_eq!(
            sniff(b"ZF0x2a               x\x9c\x01\x02"),
            Sniffed::JoblibZfile(21)
        );
        assert_eq!(sniff(b"\x80\x04\x95"), Sniffed::Pickle);
        assert_eq!(sniff(b"]q\x00."), Sniffed::Pickle);
        assert_eq!(sniff(b"BZh9"), Sniffed::Pickle);
        assert_eq!(sniff(b"\x00\x01"), Sniffed::Unknown);
        // Header lengths whose low bytes are gzip's and zlib's magic.
        assert_eq!(
            sniff(b"\x1f\x8b\x00\x00\x00\x00\x00\x00{"),
            Sniffed::Safetensors
        );
        assert_eq!(
            sniff(b"\x78\x9c\x00\x00\x00\x00\x00\x00{"),
            Sniffed::Safetensors
        );
        assert_eq!(
            sniff(b"\x02\x00\x00\x00\x00\x00\x00\x00{}"),
            Sniffed::Safetensors
        );
        // Too short a length, too long a length, no brace.
        assert_eq!(
            sniff(b"\x01\x00\x00\x00\x00\x00\x00\x00{"),
            Sniffed::Unknown
        );
        assert_eq!(
            sniff(b"\x00\xe2\xf5\x05\x00\x00\x00\x00{"),
            Sniffed::Unknown
        );
        assert_eq!(
            sniff(b"\x02\x00\x00\x00\x00\x00\x00\x00["),
            Sniffed::Unknown
        );
    }
}

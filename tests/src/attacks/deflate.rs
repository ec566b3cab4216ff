//! Raw deflate streams for decompression bombs, written bit by bit so that a gigabyte of
//! output costs the test a megabyte of work, not a gigabyte of compression.

/// Bits in deflate order: least significant bit of each byte first.
#[derive(Debug, Default)]
struct Bits {
    /// Finished bytes.
    out: Vec<u8>,
    /// Bits not yet making a whole byte, in the low `used` bits.
    acc: u32,
    /// How many bits of `acc` are filled.
    used: u32,
}

impl Bits {
    /// Appends the low `n` bits of `value`, least significant first (header fields, extra bits).
    fn int(&mut self, value: u32, n: u32) {
        for i in 0..n {
            self.bit((value >> i) & 1);
        }
    }

    /// Appends a Huffman code of `n` bits, most significant first (how deflate packs codes).
    fn code(&mut self, code: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit((code >> i) & 1);
        }
    }

    /// Appends one bit.
    fn bit(&mut self, b: u32) {
        self.acc |= b << self.used;
        self.used += 1;
        if self.used == 8 {
            self.out.push(self.acc as u8);
            self.acc = 0;
            self.used = 0;
        }
    }

    /// Appends `n` zero bits quickly (whole zero bytes once aligned).
    fn zeros(&mut self, mut n: u64) {
        while n > 0 && self.used != 0 {
            self.bit(0);
            n -= 1;
        }
        let whole = usize::try_from(n / 8).unwrap_or(usize::MAX);
        self.out.resize(self.out.len() + whole, 0);
        for _ in 0..n % 8 {
            self.bit(0);
        }
    }

    /// The bytes, the last one padded with zero bits.
    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// The longest match deflate can express.
const MAX_MATCH: u64 = 258;

/// Two deflate blocks that inflate to `pattern` (1 to 4 bytes) repeated, at least `min_len`
/// bytes in all, near deflate's best ratio (about 1032:1). Returns the stream and the exact
/// inflated length (`pattern.len() + 258 k`).
///
/// A fixed-Huffman block writes the pattern once; a final dynamic-Huffman block then holds
/// `k` copies of "repeat 258 bytes from `pattern.len()` back" and end-of-block. Its codes give
/// length 258 and that distance one-bit codes of value 0, so each copy costs two zero bits and
/// the body is a run of zero bytes, as in David Fifield's zip-bomb kernel (2019).
pub fn repeated(pattern: &[u8], min_len: u64) -> (Vec<u8>, u64) {
    assert!(
        (1..=4).contains(&pattern.len()),
        "distance codes 0..=3 only"
    );
    let period = pattern.len() as u64;
    let copies = min_len.saturating_sub(period).div_ceil(MAX_MATCH);
    let mut bits = Bits::default();
    // Block 1: BFINAL 0, BTYPE 1 (fixed codes), the literals, end-of-block (7 zero bits).
    bits.int(0, 1);
    bits.int(1, 2);
    for &b in pattern {
        match b {
            0..=143 => bits.code(0x30 + u32::from(b), 8),
            _ => bits.code(0x190 + u32::from(b) - 144, 9),
        }
    }
    bits.code(0, 7);
    // Block 2: BFINAL 1, BTYPE 2 (dynamic), HLIT 286 - 257, HDIST, HCLEN 18 - 4.
    let distance_code = pattern.len() - 1;
    bits.int(1, 1);
    bits.int(2, 2);
    bits.int(29, 5);
    bits.int(distance_code as u32 + 1, 5);
    bits.int(14, 4);
    // Code-length code lengths in their permuted order: symbols 0, 1, 2 and 18 (a run of
    // zeros) two bits each, canonically 00, 01, 10, 11; the others unused.
    const ORDER: [usize; 18] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
    for symbol in ORDER {
        bits.int(
            if matches!(symbol, 0 | 1 | 2 | 18) {
                2
            } else {
                0
            },
            3,
        );
    }
    let length = |bits: &mut Bits, len: u32| bits.code(len, 2);
    let zero_run = |bits: &mut Bits, n: u32| {
        bits.code(0b11, 2);
        bits.int(n - 11, 7);
    };
    // Literal/length code lengths: 0..=255 unused, 256 (end) and 257 two bits, 258..=284
    // unused, 285 (length 258) one bit: canonically 285 -> 0, 256 -> 10, 257 -> 11.
    zero_run(&mut bits, 138);
    zero_run(&mut bits, 118);
    length(&mut bits, 2);
    length(&mut bits, 2);
    zero_run(&mut bits, 27);
    length(&mut bits, 1);
    // Distance code lengths: the pattern's distance and the next code one bit each, so the
    // pattern's is 0.
    for _ in 0..distance_code {
        length(&mut bits, 0);
    }
    length(&mut bits, 1);
    length(&mut bits, 1);
    bits.zeros(copies * 2);
    bits.code(0b10, 2);
    (bits.finish(), period + copies * MAX_MATCH)
}

/// [`repeated`] zero bytes.
pub fn zeros(min_len: u64) -> (Vec<u8>, u64) {
    repeated(&[0], min_len)
}

/// A non-final stored block quoting `data` (at most 65535 bytes): its bytes pass through
/// inflation unchanged. Starts and ends on a byte boundary.
pub fn stored_block(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let mut out = vec![0];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(&data[..usize::from(len)]);
    out
}

/// `data` deflated (level 6), for members whose content is not a bomb kernel.
pub fn compress(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(data, 6)
}

/// The CRC-32 state of `len` bytes of `pattern` repeated (as [`repeated`] inflates to),
/// combined from powers of two instead of hashing every byte; a state, so that it can be
/// combined after other bytes ([`crc32fast::Hasher::combine`]).
pub fn repeated_crc(pattern: &[u8], len: u64) -> crc32fast::Hasher {
    let period = pattern.len() as u64;
    let mut total = crc32fast::Hasher::new();
    let mut power = crc32fast::Hasher::new();
    power.update(pattern);
    let mut periods = len / period;
    while periods > 0 {
        if periods & 1 == 1 {
            total.combine(&power);
        }
        let copy = power.clone();
        power.combine(&copy);
        periods >>= 1;
    }
    total.update(&pattern[..(len % period) as usize]);
    total
}

/// The CRC-32 of `len` zero bytes.
pub fn crc_of_zeros(len: u64) -> u32 {
    repeated_crc(&[0], len).finalize()
}

/// A gzip file (one member, no name) around a raw deflate `stream` whose content is `len`
/// bytes with CRC-32 `crc`.
pub fn gzip(stream: &[u8], len: u64, crc: u32) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(stream);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zeros_kernel_inflates_to_zeros() {
        for want in [1, 2, 258, 259, 260, 100_000] {
            let (block, len) = zeros(want);
            assert!(len >= want);
            let out = miniz_oxide::inflate::decompress_to_vec(&block).unwrap();
            assert_eq!(out.len() as u64, len);
            assert!(out.iter().all(|&b| b == 0));
            assert_eq!(crc_of_zeros(len), crc32fast::hash(&out));
        }
    }

    #[test]
    fn a_repeated_pattern_inflates_to_its_repetition() {
        for pattern in [&b"N0"[..], b"abc", b"\xff\x01\x80q"] {
            let (stream, len) = repeated(pattern, 10_000);
            let out = miniz_oxide::inflate::decompress_to_vec(&stream).unwrap();
            assert_eq!(out.len() as u64, len);
            for (i, b) in out.iter().enumerate() {
                assert_eq!(*b, pattern[i % pattern.len()]);
            }
            assert_eq!(repeated_crc(pattern, len).finalize(), crc32fast::hash(&out));
        }
    }

    #[test]
    fn stored_blocks_quote_before_a_kernel() {
        let mut stream = stored_block(b"hello");
        let (kernel, len) = zeros(1000);
        stream.extend_from_slice(&kernel);
        let out = miniz_oxide::inflate::decompress_to_vec(&stream).unwrap();
        assert_eq!(&out[..5], b"hello");
        assert_eq!(out.len() as u64, 5 + len);
    }
}

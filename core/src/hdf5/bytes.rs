//! Little-endian field decoding for HDF5 structures, the file's address and length widths, and
//! the Jenkins lookup3 checksum that versioned HDF5 metadata carries.

/// Widths of addresses ("size of offsets") and lengths ("size of lengths") in bytes, as the
/// superblock declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sizes {
    /// Bytes in an address: 2, 4 or 8.
    pub(super) offsets: u8,
    /// Bytes in a length: 2, 4 or 8.
    pub(super) lengths: u8,
}

impl Sizes {
    /// Bytes in an address.
    pub(super) fn o(self) -> usize {
        usize::from(self.offsets)
    }

    /// Bytes in a length.
    pub(super) fn l(self) -> usize {
        usize::from(self.lengths)
    }

    /// The address value that means "undefined" (all bits set).
    pub(super) fn undefined(self) -> u64 {
        all_ones(self.offsets)
    }
}

/// The largest value `width` bytes hold.
pub(super) fn all_ones(width: u8) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (u32::from(width) * 8)) - 1
    }
}

/// A read position in a byte slice; every read is bounds-checked and returns `None` past the
/// end, so parsers propagate truncation with `?`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cur<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    /// A cursor at the start of `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Cur<'a> {
        Cur { bytes, pos: 0 }
    }

    /// A cursor at `pos` in `bytes`.
    pub(super) fn at(bytes: &'a [u8], pos: usize) -> Cur<'a> {
        Cur { bytes, pos }
    }

    /// Bytes consumed so far.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Skips `n` bytes.
    pub(super) fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// One byte.
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    /// A little-endian u16.
    pub(super) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }

    /// A little-endian u32.
    pub(super) fn u32(&mut self) -> Option<u32> {
        let v = self.uint(4)?;
        u32::try_from(v).ok()
    }

    /// A little-endian unsigned integer of `width` bytes (at most 8).
    pub(super) fn uint(&mut self, width: usize) -> Option<u64> {
        if width > 8 {
            return None;
        }
        let b = self.take(width)?;
        Some(le(b))
    }

    /// An address (`None` inside the option means the all-ones "undefined" address).
    pub(super) fn addr(&mut self, sizes: Sizes) -> Option<Option<u64>> {
        let v = self.uint(sizes.o())?;
        Some((v != sizes.undefined()).then_some(v))
    }

    /// A length.
    pub(super) fn len(&mut self, sizes: Sizes) -> Option<u64> {
        self.uint(sizes.l())
    }
}

/// A little-endian unsigned integer from up to 8 bytes (longer input uses its first 8).
pub(super) fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Bytes needed to encode `n` as libhdf5's `H5VM_limit_enc_size` does: `floor(log2(n)) / 8 + 1`.
pub(super) fn limit_enc_size(n: u64) -> usize {
    let log2 = if n == 0 { 0 } else { 63 - n.leading_zeros() };
    (log2 / 8 + 1) as usize
}

/// Bob Jenkins' lookup3 `hashlittle` with an initial value of 0, which libhdf5 uses as
/// `H5_checksum_metadata` for every checksummed structure (superblock v2+, object header v2
/// chunks, fractal heap and v2 B-tree blocks).
pub(super) fn lookup3(data: &[u8]) -> u32 {
    let mut a: u32 = 0xdead_beef_u32.wrapping_add(data.len() as u32);
    let mut b = a;
    let mut c = a;
    let mut rest = data;
    while rest.len() > 12 {
        let (block, tail) = rest.split_at(12);
        a = a.wrapping_add(word(block, 0));
        b = b.wrapping_add(word(block, 4));
        c = c.wrapping_add(word(block, 8));
        mix(&mut a, &mut b, &mut c);
        rest = tail;
    }
    if rest.is_empty() {
        return c;
    }
    // The last 1..=12 bytes, zero-padded: adding zero bytes changes nothing, which is what the
    // reference implementation's fall-through switch does.
    let mut block = [0u8; 12];
    for (slot, &byte) in block.iter_mut().zip(rest) {
        *slot = byte;
    }
    a = a.wrapping_add(word(&block, 0));
    b = b.wrapping_add(word(&block, 4));
    c = c.wrapping_add(word(&block, 8));
    final_mix(&mut a, &mut b, &mut c);
    c
}

/// The little-endian u32 at `at` (zero where the slice is short).
fn word(block: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    for (i, slot) in w.iter_mut().enumerate() {
        *slot = block.get(at + i).copied().unwrap_or(0);
    }
    u32::from_le_bytes(w)
}

/// lookup3's `mix`.
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3's `final`.
fn final_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// Whether the last 4 bytes of `block` are the lookup3 checksum of the bytes before them.
pub(super) fn checksum_ok(block: &[u8]) -> bool {
    let Some(split) = block.len().checked_sub(4) else {
        return false;
    };
    let (body, stored) = block.split_at(split);
    lookup3(body) == word(stored, 0)
}

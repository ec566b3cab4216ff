//! HDF5 files whose metadata points in cycles or runs on without end: only the structures the
//! scanner follows from the superblock to the root group's attributes (object header chunks,
//! and dense attribute storage's fractal heap and name-index B-tree).
//!
//! Addresses and lengths are 8 bytes; version 2 structures carry the Jenkins lookup3
//! checksum libhdf5 verifies, so every file here is one libhdf5 itself would start to read.

/// The HDF5 signature.
const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
/// The all-ones "undefined" address.
const UNDEFINED: u64 = u64::MAX;
/// Object header message: continuation.
const CONTINUATION: u16 = 0x10;
/// Object header message: attribute info.
const ATTRIBUTE_INFO: u8 = 0x15;

/// A superblock of version 0 whose root symbol table entry points at `root` (96 bytes).
fn superblock_v0(root: u64, eof: u64) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    // Versions (superblock, free space, root symbol table, reserved, shared header), sizes of
    // offsets and lengths, reserved; group leaf and internal K; consistency flags.
    out.extend_from_slice(&[0, 0, 0, 0, 0, 8, 8, 0]);
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for addr in [0, UNDEFINED, eof, UNDEFINED] {
        out.extend_from_slice(&addr.to_le_bytes());
    }
    // Root symbol table entry: link name offset, object header address, cache type,
    // reserved, scratch pad.
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&root.to_le_bytes());
    out.extend_from_slice(&[0; 24]);
    out
}

/// A version 1 object header message of `kind` with `data` (padded to 8 bytes).
fn message_v1(kind: u16, data: &[u8]) -> Vec<u8> {
    let padded = data.len().div_ceil(8) * 8;
    let mut out = kind.to_le_bytes().to_vec();
    out.extend_from_slice(&(padded as u16).to_le_bytes());
    out.extend_from_slice(&[0; 4]); // flags, reserved
    out.extend_from_slice(data);
    out.resize(8 + padded, 0);
    out
}

/// A continuation message pointing at a chunk of `len` bytes at `addr`.
fn continuation(addr: u64, len: u64) -> Vec<u8> {
    let mut data = addr.to_le_bytes().to_vec();
    data.extend_from_slice(&len.to_le_bytes());
    message_v1(CONTINUATION, &data)
}

/// Bytes of one continuation message (and so of each chunk below).
const CONTINUATION_LEN: u64 = 24;

/// A file whose root group's version 1 object header is followed by `chunks` continuation
/// chunks, each holding one continuation message pointing at the next; the last points back
/// at chunk `back_to` (a cycle), or, with `None`, at nothing more (a chain that just runs on).
pub fn continuation_chain(chunks: usize, back_to: Option<usize>) -> Vec<u8> {
    let root = 96u64;
    let first_chunk = root + 16 + CONTINUATION_LEN;
    let chunk_at = |i: usize| first_chunk + i as u64 * CONTINUATION_LEN;
    let eof = chunk_at(chunks);
    let mut out = superblock_v0(root, eof);
    // Version 1 prefix: version, reserved, message count, reference count, chunk size, pad.
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(CONTINUATION_LEN as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&continuation(chunk_at(0), CONTINUATION_LEN));
    for i in 0..chunks {
        let next = if i + 1 < chunks { Some(i + 1) } else { back_to };
        match next {
            Some(n) => out.extend_from_slice(&continuation(chunk_at(n), CONTINUATION_LEN)),
            // A null message (type 0) of the same size ends the chain.
            None => out.extend_from_slice(&message_v1(0, &[0; 16])),
        }
    }
    out
}

/// Jenkins' lookup3 `hashlittle` with initial value 0 (libhdf5's metadata checksum).
pub fn lookup3(data: &[u8]) -> u32 {
    fn rot(x: u32, k: u32) -> u32 {
        x.rotate_left(k)
    }
    let word = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let init = 0xdead_beef_u32.wrapping_add(data.len() as u32);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(word(rest, 0));
        b = b.wrapping_add(word(rest, 4));
        c = c.wrapping_add(word(rest, 8));
        // mix
        a = a.wrapping_sub(c) ^ rot(c, 4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ rot(a, 6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ rot(b, 8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c) ^ rot(c, 16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ rot(a, 19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ rot(b, 4);
        b = b.wrapping_add(a);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    let mut last = [0u8; 12];
    last[..rest.len()].copy_from_slice(rest);
    a = a.wrapping_add(word(&last, 0));
    b = b.wrapping_add(word(&last, 4));
    c = c.wrapping_add(word(&last, 8));
    // final
    c = (c ^ b).wrapping_sub(rot(b, 14));
    a = (a ^ c).wrapping_sub(rot(c, 11));
    b = (b ^ a).wrapping_sub(rot(a, 25));
    c = (c ^ b).wrapping_sub(rot(b, 16));
    a = (a ^ c).wrapping_sub(rot(c, 4));
    b = (b ^ a).wrapping_sub(rot(a, 14));
    c = (c ^ b).wrapping_sub(rot(b, 24));
    c
}

/// Appends the lookup3 checksum of everything from `start`.
fn seal(out: &mut Vec<u8>, start: usize) {
    let sum = lookup3(&out[start..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// A file whose root group (a version 2 `OHDR` header) keeps its attributes in dense storage
/// whose name-index B-tree has an internal root node listing itself as its first child: a
/// B-tree that points in a cycle. The fractal heap is valid and empty.
pub fn dense_btree_cycle() -> Vec<u8> {
    // Layout: superblock v2 (48), OHDR (36), FRHP (146), BTHD (38), BTIN (45).
    let (ohdr, heap, tree) = (48u64, 84u64, 230u64);
    let node = tree + 38;
    let eof = node + 45;
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&[2, 8, 8, 0]); // version, sizes, flags
    for addr in [0, UNDEFINED, eof, ohdr] {
        out.extend_from_slice(&addr.to_le_bytes());
    }
    seal(&mut out, 0);
    // OHDR version 2, flags 2 (a 4-byte chunk size), one attribute info message.
    let start = out.len();
    out.extend_from_slice(b"OHDR");
    out.extend_from_slice(&[2, 2]);
    out.extend_from_slice(&22u32.to_le_bytes());
    out.push(ATTRIBUTE_INFO);
    out.extend_from_slice(&18u16.to_le_bytes());
    out.push(0); // message flags
    out.extend_from_slice(&[0, 0]); // attribute info version and flags
    out.extend_from_slice(&heap.to_le_bytes());
    out.extend_from_slice(&tree.to_le_bytes());
    seal(&mut out, start);
    // The fractal heap header: 8-byte IDs, no filters, nothing stored.
    let start = out.len();
    out.extend_from_slice(b"FRHP\0");
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&4096u32.to_le_bytes());
    let words = [0, UNDEFINED, 0, UNDEFINED, 0, 0, 0, 0, 0, 0, 0, 0];
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&4u16.to_le_bytes()); // table width
    out.extend_from_slice(&512u64.to_le_bytes()); // starting block size
    out.extend_from_slice(&65536u64.to_le_bytes()); // max direct block size
    out.extend_from_slice(&32u16.to_le_bytes()); // max heap size (bits)
    out.extend_from_slice(&0u16.to_le_bytes()); // starting rows
    out.extend_from_slice(&UNDEFINED.to_le_bytes()); // root block
    out.extend_from_slice(&0u16.to_le_bytes()); // rows in root
    seal(&mut out, start);
    // The name-index B-tree header: type 8, 512-byte nodes, 17-byte records, depth 1, a root
    // internal node with one record.
    let start = out.len();
    out.extend_from_slice(b"BTHD\0\x08");
    out.extend_from_slice(&512u32.to_le_bytes());
    out.extend_from_slice(&17u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // depth
    out.extend_from_slice(&[100, 40]); // split and merge percent
    out.extend_from_slice(&node.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes()); // total records
    seal(&mut out, start);
    // The root node: one record, then two children (address, 1-byte record count), the first
    // of which is this node itself.
    let start = out.len();
    out.extend_from_slice(b"BTIN\0\x08");
    out.extend_from_slice(&[0; 17]);
    for child in [node, node] {
        out.extend_from_slice(&child.to_le_bytes());
        out.push(1);
    }
    seal(&mut out, start);
    assert_eq!(out.len() as u64, eof);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_matches_the_reference_values() {
        // From Bob Jenkins' lookup3.c driver5: hashlittle("", 0, 0) and
        // hashlittle("Four score and seven years ago", 30, 0).
        assert_eq!(lookup3(b""), 0xdead_beef);
        assert_eq!(lookup3(b"Four score and seven years ago"), 0x1777_0551);
    }

    #[test]
    fn the_chain_has_one_chunk_per_message() {
        let file = continuation_chain(3, None);
        assert_eq!(file.len() as u64, 96 + 16 + CONTINUATION_LEN * 4);
    }
}

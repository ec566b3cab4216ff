//! Fractal heaps (`FRHP`), where dense attribute storage keeps the attribute messages.
//!
//! Objects are named by heap IDs. A *managed* object lives in a direct block (`FHDB`) of the
//! heap's doubling table: the root is one direct block, or an indirect block (`FHIB`) whose
//! rows of `width` entries point to direct blocks of growing size. A *huge* object (an
//! attribute over the heap's managed-object limit, 4 KiB for attribute heaps) lies on its own in
//! the file: its ID holds its address and length, or a number that the heap's huge-object
//! v2 B-tree maps to them. A *tiny* object lies inside its ID.
//!
//! modelsieve reads unfiltered heaps with a direct root block or a root indirect block of
//! direct blocks; filtered heaps and nested indirect blocks (over ~0.5 MiB of attribute
//! messages) are reported, not read.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::bytes::{Cur, Sizes, checksum_ok, le, limit_enc_size, lookup3};

/// Most entries a root indirect block may have.
const MAX_ENTRIES: u64 = 4096;

/// What the reader needs from a fractal heap header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Heap {
    /// Bytes in a heap ID.
    pub(super) id_len: u16,
    /// Whether blocks pass through I/O filters (not read).
    pub(super) filtered: bool,
    /// Whether direct blocks carry a checksum.
    checksum_blocks: bool,
    /// Largest managed object.
    max_managed: u64,
    /// The huge-object B-tree, when the heap has one.
    pub(super) huge_tree: Option<u64>,
    /// Bytes of the managed address space.
    managed_size: u64,
    /// Number of managed objects.
    pub(super) managed_objects: u64,
    /// Entries per row of the doubling table.
    width: u64,
    /// Size of the first rows' blocks.
    start_block: u64,
    /// Largest direct block.
    max_direct: u64,
    /// The root block (direct when `root_rows` is 0).
    pub(super) root: Option<u64>,
    /// Rows in the root indirect block (0: the root is a direct block).
    pub(super) root_rows: u16,
    /// Bytes of a managed object's offset in its ID (and of a block's offset in its header).
    off_size: usize,
    /// Bytes of a managed object's length in its ID.
    len_size: usize,
    /// Rows of direct blocks in an indirect block.
    max_direct_rows: u64,
    /// Whether huge objects' IDs hold their address and length.
    huge_direct: bool,
    /// Bytes of a huge object's number in its ID (when not direct).
    huge_id_size: usize,
}

/// Where a heap ID says its object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HeapId {
    /// A managed object at this offset of the heap's address space.
    Managed {
        /// Offset in the managed address space.
        off: u64,
        /// Length.
        len: u64,
    },
    /// A tiny object: these bytes of the ID.
    Tiny(Range<usize>),
    /// A huge object stored at an address given in the ID.
    HugeDirect {
        /// Its address.
        addr: Option<u64>,
        /// Its length.
        len: u64,
    },
    /// A huge object whose address the huge-object B-tree records under this number.
    HugeIndirect(u64),
}

/// A block a root indirect block points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Child {
    /// Its address.
    pub(super) addr: u64,
    /// Its offset in the heap's address space.
    pub(super) block_off: u64,
    /// Its size.
    pub(super) size: u64,
    /// Whether it is a direct block (indirect children are not read).
    pub(super) direct: bool,
}

/// Bytes of an unfiltered heap header, checksum included.
pub(super) fn header_len(sizes: Sizes) -> u64 {
    (26 + 12 * sizes.l() + 3 * sizes.o()) as u64
}

/// Parses a heap header; the flag says whether its checksum matched.
pub(super) fn parse_header(bytes: &[u8], sizes: Sizes) -> Result<(Heap, bool), String> {
    let truncated = || String::from("the fractal heap header is truncated");
    if !bytes.starts_with(b"FRHP") {
        return Err(String::from("no FRHP signature at the fractal heap header"));
    }
    let mut cur = Cur::at(bytes, 4);
    let version = cur.u8().ok_or_else(truncated)?;
    if version != 0 {
        return Err(format!("fractal heap header of version {version}, not 0"));
    }
    let id_len = cur.u16().ok_or_else(truncated)?;
    let filter_len = cur.u16().ok_or_else(truncated)?;
    let flags = cur.u8().ok_or_else(truncated)?;
    let max_managed = u64::from(cur.u32().ok_or_else(truncated)?);
    let _next_huge = cur.len(sizes).ok_or_else(truncated)?;
    let huge_tree = cur.addr(sizes).ok_or_else(truncated)?;
    let _free = cur.len(sizes).ok_or_else(truncated)?;
    let _free_manager = cur.addr(sizes).ok_or_else(truncated)?;
    let managed_size = cur.len(sizes).ok_or_else(truncated)?;
    let mut stats = [0u64; 7];
    for stat in &mut stats {
        *stat = cur.len(sizes).ok_or_else(truncated)?;
    }
    let managed_objects = stats[2];
    let width = u64::from(cur.u16().ok_or_else(truncated)?);
    let start_block = cur.len(sizes).ok_or_else(truncated)?;
    let max_direct = cur.len(sizes).ok_or_else(truncated)?;
    let max_index = cur.u16().ok_or_else(truncated)?;
    let _start_rows = cur.u16().ok_or_else(truncated)?;
    let root = cur.addr(sizes).ok_or_else(truncated)?;
    let root_rows = cur.u16().ok_or_else(truncated)?;
    if id_len == 0 {
        return Err(String::from("the fractal heap declares 0-byte heap IDs"));
    }
    if width == 0 || !start_block.is_power_of_two() || !max_direct.is_power_of_two() {
        return Err(format!(
            "the fractal heap's doubling table is invalid (width {width}, start block {start_block}, max direct block {max_direct}); libhdf5 refuses it"
        ));
    }
    if max_direct < start_block || max_index == 0 || max_index > 64 {
        return Err(format!(
            "the fractal heap's doubling table is invalid (start block {start_block}, max direct block {max_direct}, max heap size 2^{max_index})"
        ));
    }
    let filtered = filter_len > 0;
    let checksum_ok = !filtered
        && checksum_ok(
            bytes
                .get(..header_len(sizes) as usize)
                .ok_or_else(truncated)?,
        );
    let off_size = usize::from(max_index).div_ceil(8);
    let direct_off_size = (max_direct.trailing_zeros() as usize).div_ceil(8);
    let len_size = direct_off_size.min(limit_enc_size(max_managed));
    let ids = usize::from(id_len) - 1;
    let huge_direct = !filtered && sizes.o() + sizes.l() <= ids;
    let huge_id_size = if huge_direct {
        sizes.o() + sizes.l()
    } else {
        ids.min(8)
    };
    let max_direct_rows = u64::from(max_direct.trailing_zeros() - start_block.trailing_zeros()) + 2;
    Ok((
        Heap {
            id_len,
            filtered,
            checksum_blocks: flags & 0x02 != 0,
            max_managed,
            huge_tree,
            managed_size,
            managed_objects,
            width,
            start_block,
            max_direct,
            root,
            root_rows,
            off_size,
            len_size,
            max_direct_rows,
            huge_direct,
            huge_id_size,
        },
        checksum_ok,
    ))
}

impl Heap {
    /// Decodes a heap ID (its first `id_len` bytes).
    pub(super) fn decode_id(&self, id: &[u8], sizes: Sizes) -> Result<HeapId, String> {
        let flags = *id.first().ok_or("the heap ID is empty")?;
        if flags & 0xC0 != 0 {
            return Err(format!("heap ID of version {}, not 0", flags >> 6));
        }
        let truncated = || String::from("the heap ID is truncated");
        let mut cur = Cur::at(id, 1);
        match (flags >> 4) & 0x03 {
            0 => {
                let off = cur.uint(self.off_size).ok_or_else(truncated)?;
                let len = cur.uint(self.len_size).ok_or_else(truncated)?;
                if off > self.managed_size || len > self.max_managed || len > self.max_direct {
                    return Err(format!(
                        "managed heap object at heap offset {off} of {len} bytes lies outside the heap"
                    ));
                }
                Ok(HeapId::Managed { off, len })
            }
            1 if self.filtered => Err(String::from(
                "the attribute is a huge object of a filtered heap, which modelsieve does not read",
            )),
            1 if self.huge_direct => {
                let addr = cur.addr(sizes).ok_or_else(truncated)?;
                let len = cur.len(sizes).ok_or_else(truncated)?;
                Ok(HeapId::HugeDirect { addr, len })
            }
            1 => {
                let number = cur.take(self.huge_id_size).ok_or_else(truncated)?;
                Ok(HeapId::HugeIndirect(le(number)))
            }
            2 => {
                // libhdf5 reads an extended tiny length from the second byte alone.
                let extended = usize::from(self.id_len) - 1 > 17;
                let (len, start) = if extended {
                    (usize::from(*id.get(1).ok_or_else(truncated)?) + 1, 2)
                } else {
                    (usize::from(flags & 0x0F) + 1, 1)
                };
                let end = start + len;
                if end > id.len() {
                    return Err(truncated());
                }
                Ok(HeapId::Tiny(start..end))
            }
            _ => Err(String::from("heap ID of reserved type 3")),
        }
    }

    /// Size of the blocks in row `row` of the doubling table.
    fn row_size(&self, row: u64) -> u64 {
        if row == 0 {
            self.start_block
        } else {
            self.start_block
                .checked_shl(u32::try_from(row - 1).unwrap_or(u32::MAX))
                .unwrap_or(u64::MAX)
        }
    }

    /// Offset in the heap's address space of the first block of row `row`.
    fn row_offset(&self, row: u64) -> u64 {
        if row == 0 {
            0
        } else {
            self.start_block
                .saturating_mul(self.width)
                .checked_shl(u32::try_from(row - 1).unwrap_or(u32::MAX))
                .unwrap_or(u64::MAX)
        }
    }

    /// Size of the root block when it is a direct block.
    pub(super) fn root_direct_size(&self) -> u64 {
        self.start_block
    }

    /// Checks a direct block's header (and checksum); the flag says whether the checksum
    /// matched.
    pub(super) fn check_direct(
        &self,
        block: &[u8],
        heap_addr: u64,
        block_off: u64,
        sizes: Sizes,
    ) -> Result<bool, String> {
        if !block.starts_with(b"FHDB") || block.get(4) != Some(&0) {
            return Err(String::from(
                "no FHDB version 0 header at the heap's direct block",
            ));
        }
        let mut cur = Cur::at(block, 5);
        let owner = cur.addr(sizes).ok_or("the direct block is truncated")?;
        let offset = cur
            .uint(self.off_size)
            .ok_or("the direct block is truncated")?;
        if owner != Some(heap_addr) || offset != block_off {
            return Err(format!(
                "the direct block names heap {owner:?} at heap offset {offset}; expected heap {heap_addr} at {block_off}"
            ));
        }
        if !self.checksum_blocks {
            return Ok(true);
        }
        // The checksum covers the whole block with its own field zeroed.
        let at = cur.pos();
        let stored = Cur::at(block, at)
            .u32()
            .ok_or("the direct block is truncated")?;
        let mut copy = Vec::from(block);
        for b in copy.iter_mut().skip(at).take(4) {
            *b = 0;
        }
        Ok(lookup3(&copy) == stored)
    }

    /// Bytes of a root indirect block of `rows` rows.
    pub(super) fn indirect_len(&self, rows: u64, sizes: Sizes) -> Result<u64, String> {
        let entries = rows.saturating_mul(self.width);
        if entries > MAX_ENTRIES {
            return Err(format!(
                "the heap's root indirect block has {entries} entries; modelsieve reads at most {MAX_ENTRIES}"
            ));
        }
        Ok((5 + sizes.o() + self.off_size + 4) as u64 + entries * sizes.o() as u64)
    }

    /// The blocks a root indirect block of `rows` rows points to; the flag says whether its
    /// checksum matched.
    pub(super) fn parse_indirect(
        &self,
        block: &[u8],
        heap_addr: u64,
        rows: u64,
        sizes: Sizes,
    ) -> Result<(Vec<Child>, bool), String> {
        let truncated = || String::from("the heap's indirect block is truncated");
        if !block.starts_with(b"FHIB") || block.get(4) != Some(&0) {
            return Err(String::from(
                "no FHIB version 0 header at the heap's indirect block",
            ));
        }
        let mut cur = Cur::at(block, 5);
        let owner = cur.addr(sizes).ok_or_else(truncated)?;
        let offset = cur.uint(self.off_size).ok_or_else(truncated)?;
        if owner != Some(heap_addr) || offset != 0 {
            return Err(format!(
                "the root indirect block names heap {owner:?} at heap offset {offset}; expected heap {heap_addr} at 0"
            ));
        }
        let mut children = Vec::new();
        for row in 0..rows {
            for col in 0..self.width {
                let Some(addr) = cur.addr(sizes).ok_or_else(truncated)? else {
                    continue;
                };
                let size = self.row_size(row);
                children.push(Child {
                    addr,
                    block_off: self
                        .row_offset(row)
                        .saturating_add(col.saturating_mul(size)),
                    size,
                    direct: row < self.max_direct_rows,
                });
            }
        }
        let end = cur.pos() + 4;
        let ok = checksum_ok(block.get(..end).ok_or_else(truncated)?);
        Ok((children, ok))
    }

    /// Where a managed object lies in the block that holds it: the block's index in `blocks`
    /// (each `(block offset, size)`, sorted by offset) and the byte range within the block.
    pub(super) fn locate(
        &self,
        off: u64,
        len: u64,
        blocks: &[(u64, u64)],
    ) -> Result<(usize, Range<usize>), String> {
        let no_block = || format!("no heap block holds heap offset {off}");
        let index = blocks
            .partition_point(|&(start, _)| start <= off)
            .checked_sub(1)
            .ok_or_else(no_block)?;
        let &(block_off, size) = blocks.get(index).ok_or_else(no_block)?;
        let start = off - block_off;
        if start >= size {
            return Err(no_block());
        }
        let end = start.saturating_add(len);
        if end > size {
            return Err(format!(
                "heap object at heap offset {off} of {len} bytes does not fit its block"
            ));
        }
        Ok((index, start as usize..end as usize))
    }
}

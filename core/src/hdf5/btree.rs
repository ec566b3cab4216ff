//! Version 2 B-trees (`BTHD` header, `BTIN` internal and `BTLF` leaf nodes), which index
//! dense attribute storage by name (type 8) and a fractal heap's huge objects (type 1).
//!
//! The widths of an internal node's child pointers are not stored: they follow from the node
//! size and record size the way libhdf5's `H5B2__hdr_init` computes them, which
//! [`Tree::pointer_len`] repeats.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::bytes::{Cur, Sizes, checksum_ok, limit_enc_size};

/// B-tree type of a fractal heap's unfiltered, indirectly accessed huge objects.
pub(super) const TYPE_HUGE: u8 = 1;
/// B-tree type of the name index of dense attribute storage.
pub(super) const TYPE_ATTRIBUTE_NAMES: u8 = 8;

/// Deepest tree read.
pub(super) const MAX_DEPTH: u16 = 16;

/// Largest node read (libhdf5 writes 512-byte nodes for attribute and huge-object trees); it
/// bounds the records and children one node may list.
const MAX_NODE_SIZE: u64 = 1 << 20;

/// Signature, version and type before a node's records, plus the checksum after them.
const PREFIX: u64 = 10;

/// A v2 B-tree's header, with the node geometry derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tree {
    /// The tree's type.
    pub(super) kind: u8,
    /// Bytes of one record.
    pub(super) rec_size: usize,
    /// Depth of the root (0: the root is a leaf).
    pub(super) depth: u16,
    /// The root node, when the tree is not empty.
    pub(super) root: Option<u64>,
    /// Records in the root node.
    pub(super) root_nrec: u64,
    /// Most records a node may hold, by depth.
    max_nrec: Vec<u64>,
    /// Bytes of a child's record count in an internal node.
    max_nrec_size: usize,
    /// Bytes of a child's total record count, by the child's depth.
    cum_size: Vec<usize>,
    /// Address width.
    offsets: usize,
}

/// Bytes of a B-tree header, checksum included.
pub(super) fn header_len(sizes: Sizes) -> u64 {
    (22 + sizes.o() + sizes.l()) as u64
}

/// Parses a B-tree header of the expected type; the flag says whether its checksum matched.
pub(super) fn parse_header(bytes: &[u8], kind: u8, sizes: Sizes) -> Result<(Tree, bool), String> {
    let truncated = || String::from("the B-tree header is truncated");
    if !bytes.starts_with(b"BTHD") || bytes.get(4) != Some(&0) {
        return Err(String::from(
            "no BTHD version 0 signature at the B-tree header",
        ));
    }
    let mut cur = Cur::at(bytes, 5);
    let found = cur.u8().ok_or_else(truncated)?;
    if found != kind {
        return Err(format!("B-tree of type {found} where type {kind} belongs"));
    }
    let node_size = u64::from(cur.u32().ok_or_else(truncated)?);
    let rec_size = usize::from(cur.u16().ok_or_else(truncated)?);
    let depth = cur.u16().ok_or_else(truncated)?;
    cur.skip(2).ok_or_else(truncated)?;
    let root = cur.addr(sizes).ok_or_else(truncated)?;
    let root_nrec = u64::from(cur.u16().ok_or_else(truncated)?);
    let _total = cur.len(sizes).ok_or_else(truncated)?;
    let ok = checksum_ok(
        bytes
            .get(..header_len(sizes) as usize)
            .ok_or_else(truncated)?,
    );
    if depth > MAX_DEPTH {
        return Err(format!(
            "the B-tree is {depth} levels deep; modelsieve reads at most {MAX_DEPTH}"
        ));
    }
    if node_size > MAX_NODE_SIZE {
        return Err(format!(
            "the B-tree's nodes are {node_size} bytes; modelsieve reads nodes of at most {MAX_NODE_SIZE}"
        ));
    }
    let rec = rec_size as u64;
    if rec == 0 || node_size < PREFIX + rec {
        return Err(format!(
            "the B-tree's nodes of {node_size} bytes cannot hold one {rec_size}-byte record"
        ));
    }
    let leaf_max = (node_size - PREFIX) / rec;
    let max_nrec_size = limit_enc_size(leaf_max);
    let mut max_nrec = Vec::from([leaf_max]);
    let mut cum_max = leaf_max;
    let mut cum_size = Vec::from([0usize]);
    for level in 1..=u64::from(depth) {
        let below = if level > 1 {
            cum_size.last().copied().unwrap_or(0)
        } else {
            0
        };
        let pointer = (sizes.o() + max_nrec_size + below) as u64;
        let max = node_size
            .checked_sub(PREFIX + pointer)
            .map_or(0, |room| room / (rec + pointer));
        if max == 0 {
            return Err(format!(
                "the B-tree's internal nodes of {node_size} bytes cannot hold one record"
            ));
        }
        cum_max = max
            .saturating_add(1)
            .saturating_mul(cum_max)
            .saturating_add(max);
        max_nrec.push(max);
        cum_size.push(limit_enc_size(cum_max));
    }
    Ok((
        Tree {
            kind,
            rec_size,
            depth,
            root,
            root_nrec,
            max_nrec,
            max_nrec_size,
            cum_size,
            offsets: sizes.o(),
        },
        ok,
    ))
}

/// A node's records and, for an internal node, its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    /// Where each record lies in the node's bytes.
    pub(super) records: Vec<Range<usize>>,
    /// Each child's address and record count (internal nodes).
    pub(super) children: Vec<(Option<u64>, u64)>,
}

impl Tree {
    /// Bytes of one child pointer in an internal node at `depth`.
    fn pointer_len(&self, depth: u16) -> usize {
        let below = if depth > 1 {
            self.cum_size
                .get(usize::from(depth) - 1)
                .copied()
                .unwrap_or(0)
        } else {
            0
        };
        self.offsets + self.max_nrec_size + below
    }

    /// Checks that a node at `depth` may hold `nrec` records.
    pub(super) fn check_nrec(&self, depth: u16, nrec: u64) -> Result<(), String> {
        let max = self.max_nrec.get(usize::from(depth)).copied().unwrap_or(0);
        if nrec > max {
            return Err(format!(
                "a B-tree node at depth {depth} declares {nrec} records; its nodes hold at most {max}"
            ));
        }
        Ok(())
    }

    /// Bytes of a node at `depth` holding `nrec` records, checksum included.
    pub(super) fn node_len(&self, depth: u16, nrec: u64) -> u64 {
        let records = nrec.saturating_mul(self.rec_size as u64);
        let pointers = if depth == 0 {
            0
        } else {
            nrec.saturating_add(1)
                .saturating_mul(self.pointer_len(depth) as u64)
        };
        PREFIX.saturating_add(records).saturating_add(pointers)
    }

    /// Parses a node at `depth` holding `nrec` records; the flag says whether its checksum
    /// matched.
    pub(super) fn parse_node(
        &self,
        bytes: &[u8],
        depth: u16,
        nrec: u64,
        sizes: Sizes,
    ) -> Result<(Node, bool), String> {
        let truncated = || String::from("the B-tree node is truncated");
        let signature: &[u8] = if depth == 0 { b"BTLF" } else { b"BTIN" };
        if !bytes.starts_with(signature) || bytes.get(4) != Some(&0) {
            return Err(format!(
                "no {} version 0 signature at a B-tree node of depth {depth}",
                String::from_utf8_lossy(signature)
            ));
        }
        if bytes.get(5) != Some(&self.kind) {
            return Err(String::from("a B-tree node's type differs from its tree's"));
        }
        let mut cur = Cur::at(bytes, 6);
        let mut records = Vec::new();
        for _ in 0..nrec {
            let start = cur.pos();
            cur.skip(self.rec_size).ok_or_else(truncated)?;
            records.push(start..cur.pos());
        }
        let mut children = Vec::new();
        if depth > 0 {
            let below = self.pointer_len(depth) - self.offsets - self.max_nrec_size;
            for _ in 0..=nrec {
                let addr = cur.addr(sizes).ok_or_else(truncated)?;
                let count = cur.uint(self.max_nrec_size).ok_or_else(truncated)?;
                cur.skip(below).ok_or_else(truncated)?;
                self.check_nrec(depth - 1, count)?;
                children.push((addr, count));
            }
        }
        let end = cur.pos() + 4;
        let ok = checksum_ok(bytes.get(..end).ok_or_else(truncated)?);
        Ok((Node { records, children }, ok))
    }
}

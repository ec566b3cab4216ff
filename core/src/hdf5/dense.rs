//! Dense attribute storage: the attribute info message names a fractal heap holding the
//! attribute messages and a v2 B-tree indexing them by name. libhdf5 switches a version 2
//! object header to it past 8 attributes, or for an attribute too big for the header (h5py
//! with `libver='latest'` and a fixed-length `model_config` over 64 KiB).
//!
//! Every part is read eagerly (the heap header, every heap block, both B-trees with all their
//! nodes), because the name index often lies after the blocks it points into; once the last
//! part is in, every indexed attribute is decoded. Huge attributes are then read from where
//! their IDs or the huge-object B-tree place them.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::btree::{self, TYPE_ATTRIBUTE_NAMES, TYPE_HUGE, Tree};
use super::bytes::Cur;
use super::fractal_heap::{self, Heap, HeapId};
use super::problems::{checksum, malformed};
use super::regions::Region;
use super::walk::{Ctx, Task, Walk, open};
use crate::rules::Rule;

/// Most heap blocks and B-tree nodes read.
const MAX_PARTS: usize = 4096;

/// Most name-index records decoded.
const MAX_RECORDS: usize = 1 << 16;

/// Bytes of a heap ID in a name-index record (libhdf5's `H5O_FHEAP_ID_LEN`).
const RECORD_ID_LEN: usize = 8;

/// One part of dense storage being read.
#[derive(Debug)]
pub(super) enum Part {
    /// The fractal heap header.
    HeapHeader,
    /// A direct block at this offset of the heap's address space.
    Block {
        /// Offset in the heap's address space.
        block_off: u64,
    },
    /// The root indirect block of this many rows.
    RootIndirect(u64),
    /// A B-tree header of this type.
    TreeHeader(u8),
    /// A B-tree node.
    TreeNode {
        /// The tree's type.
        kind: u8,
        /// The node's depth (0: leaf).
        depth: u16,
        /// Its record count.
        nrec: u64,
    },
    /// A huge attribute message stored on its own.
    Huge,
}

impl Part {
    /// What the part is, for messages.
    pub(super) fn what(&self) -> &'static str {
        match self {
            Part::HeapHeader => "the fractal heap header of dense attribute storage",
            Part::Block { .. } => "a direct block of the dense attributes' fractal heap",
            Part::RootIndirect(_) => {
                "the root indirect block of the dense attributes' fractal heap"
            }
            Part::TreeHeader(TYPE_HUGE)
            | Part::TreeNode {
                kind: TYPE_HUGE, ..
            } => "a node of the fractal heap's huge-object B-tree",
            Part::TreeHeader(_) | Part::TreeNode { .. } => {
                "a node of the dense attributes' name index"
            }
            Part::Huge => "a huge dense attribute message",
        }
    }
}

/// A name-index record: the attribute's heap ID and message flags, and where it was read.
#[derive(Debug)]
struct Record {
    id: Vec<u8>,
    flags: u8,
    at: u64,
}

/// The state of dense attribute storage while its parts are read.
#[derive(Debug)]
pub(super) struct Dense {
    /// Absolute offset of the fractal heap header.
    heap_addr: u64,
    heap: Option<Heap>,
    names: Option<Tree>,
    huge: Option<Tree>,
    /// Parts asked for and not yet read.
    outstanding: u32,
    /// Parts read or asked for (by absolute offset), to catch cycles.
    visited: BTreeSet<u64>,
    records: Vec<Record>,
    /// Huge objects by number: absolute offset and length.
    huge_objects: BTreeMap<u64, (Option<u64>, u64)>,
    /// Direct blocks: offset in the heap, size, absolute offset, bytes.
    blocks: Vec<(u64, u64, u64, Vec<u8>)>,
    /// Whether the indexed attributes were looked up (once every part was read).
    resolved: bool,
    /// Whether [`MAX_PARTS`] was reached (reported once).
    capped: bool,
}

impl Dense {
    /// Starts reading dense storage from an attribute info message at `at`; `None` when the
    /// attributes are compact.
    pub(super) fn start(walk: &Walk, data: &[u8], at: u64, ctx: &mut Ctx<'_, '_>) -> Option<Dense> {
        let sizes = walk.sizes();
        let mut cur = Cur::new(data);
        let parsed = (|| {
            let version = cur.u8()?;
            let flags = cur.u8()?;
            if flags & 0x01 != 0 {
                cur.u16()?;
            }
            Some((version, flags, cur.addr(sizes)?, cur.addr(sizes)?))
        })();
        let Some((version, flags, heap, names)) = parsed else {
            malformed(
                ctx.findings,
                at,
                String::from("the attribute info message is truncated"),
                "bad attribute info",
            );
            return None;
        };
        if version != 0 || flags & !0x03 != 0 {
            malformed(
                ctx.findings,
                at,
                format!(
                    "attribute info message of version {version} with flags {flags:#04x}; libhdf5 refuses it"
                ),
                "bad attribute info",
            );
            return None;
        }
        let heap = heap?;
        let (Some(heap_addr), Some(names_addr)) = (walk.abs(heap), names.and_then(|n| walk.abs(n)))
        else {
            malformed(
                ctx.findings,
                at,
                String::from("dense attribute storage has a heap but no usable name index"),
                "bad attribute info",
            );
            return None;
        };
        let mut dense = Dense {
            heap_addr,
            heap: None,
            names: None,
            huge: None,
            outstanding: 0,
            visited: BTreeSet::new(),
            records: Vec::new(),
            huge_objects: BTreeMap::new(),
            blocks: Vec::new(),
            resolved: false,
            capped: false,
        };
        dense.ask(
            ctx,
            heap_addr,
            fractal_heap::header_len(sizes),
            Part::HeapHeader,
        );
        dense.ask(
            ctx,
            names_addr,
            btree::header_len(sizes),
            Part::TreeHeader(TYPE_ATTRIBUTE_NAMES),
        );
        Some(dense)
    }

    /// Asks for a part, once per address.
    fn ask(&mut self, ctx: &mut Ctx<'_, '_>, start: u64, len: u64, part: Part) {
        // Checked before remembering the address, so that a node listing millions of children
        // costs no memory past the limit.
        if self.visited.len() >= MAX_PARTS {
            if !self.capped {
                self.capped = true;
                ctx.findings.rule(
                    Rule::ScanLimitReached,
                    None,
                    Some(start),
                    format!("dense attribute storage has more than {MAX_PARTS} heap blocks and B-tree nodes; modelsieve read no more"),
                    Some(String::from("hdf5 dense parts")),
                );
            }
            return;
        }
        if !self.visited.insert(start) {
            malformed(
                ctx.findings,
                start,
                format!(
                    "{} at offset {start} is reached twice: dense attribute storage points in a cycle",
                    part.what()
                ),
                "dense storage cycle",
            );
            return;
        }
        if open(ctx, start, len, Task::Dense(part)) {
            self.outstanding += 1;
        }
    }
}

/// Handles a part of dense storage that has all its bytes.
pub(super) fn step(walk: &mut Walk, region: Region<Task>, ctx: &mut Ctx<'_, '_>) {
    let Task::Dense(part) = region.task else {
        return;
    };
    if matches!(part, Part::Huge) {
        walk.attribute(&region.buf, Some(region.start), ctx);
        return;
    }
    let Some(mut dense) = walk.dense.take() else {
        return;
    };
    dense.outstanding = dense.outstanding.saturating_sub(1);
    let sizes = walk.sizes();
    let (start, bytes) = (region.start, region.buf.as_slice());
    match part {
        Part::HeapHeader => match fractal_heap::parse_header(bytes, sizes) {
            Ok((heap, ok)) => {
                if heap.filtered {
                    malformed(
                        ctx.findings,
                        start,
                        String::from(
                            "the dense attributes' fractal heap passes its blocks through I/O filters, which modelsieve does not read",
                        ),
                        "filtered heap",
                    );
                } else {
                    if !ok {
                        checksum(ctx, "the fractal heap header", start);
                    }
                    dense.heap_blocks(walk, &heap, ctx);
                    dense.heap = Some(heap);
                }
            }
            Err(why) => malformed(ctx.findings, start, why, "bad fractal heap"),
        },
        Part::Block { block_off } => {
            if let Some(heap) = &dense.heap {
                match heap.check_direct(bytes, dense.heap_addr, block_off, sizes) {
                    Ok(ok) => {
                        if !ok {
                            checksum(ctx, "a fractal heap direct block", start);
                        }
                        dense
                            .blocks
                            .push((block_off, bytes.len() as u64, start, region.buf));
                    }
                    Err(why) => malformed(ctx.findings, start, why, "bad heap block"),
                }
            }
        }
        Part::RootIndirect(rows) => {
            if let Some(heap) = dense.heap.clone() {
                match heap.parse_indirect(bytes, dense.heap_addr, rows, sizes) {
                    Ok((children, ok)) => {
                        if !ok {
                            checksum(ctx, "a fractal heap indirect block", start);
                        }
                        dense.children(walk, &children, start, ctx);
                    }
                    Err(why) => malformed(ctx.findings, start, why, "bad heap block"),
                }
            }
        }
        Part::TreeHeader(kind) => match btree::parse_header(bytes, kind, sizes) {
            Ok((tree, ok)) => {
                if !ok {
                    checksum(ctx, "a v2 B-tree header", start);
                }
                if let Some(root) = tree.root.filter(|_| tree.root_nrec > 0) {
                    match (tree.check_nrec(tree.depth, tree.root_nrec), walk.abs(root)) {
                        (Ok(()), Some(root)) => {
                            let len = tree.node_len(tree.depth, tree.root_nrec);
                            let part = Part::TreeNode {
                                kind,
                                depth: tree.depth,
                                nrec: tree.root_nrec,
                            };
                            dense.ask(ctx, root, len, part);
                        }
                        (Err(why), _) => malformed(ctx.findings, start, why, "bad b-tree"),
                        (_, None) => {}
                    }
                }
                if kind == TYPE_HUGE {
                    dense.huge = Some(tree);
                } else {
                    dense.names = Some(tree);
                }
            }
            Err(why) => malformed(ctx.findings, start, why, "bad b-tree"),
        },
        Part::TreeNode { kind, depth, nrec } => {
            dense.node(walk, kind, depth, nrec, start, bytes, ctx)
        }
        Part::Huge => {}
    }
    if dense.outstanding == 0 && !dense.resolved {
        dense.resolved = true;
        dense.resolve(walk, ctx);
    }
    walk.dense = Some(dense);
}

/// Reports a dense attribute whose message cannot be found.
fn unresolved(ctx: &mut Ctx<'_, '_>, at: u64, why: &str) {
    malformed(
        ctx.findings,
        at,
        format!("a dense attribute of the root group could not be found: {why}"),
        "unresolved dense attribute",
    );
}

impl Dense {
    /// Asks for the heap's root block and, when huge objects are found through it, the
    /// huge-object B-tree.
    fn heap_blocks(&mut self, walk: &Walk, heap: &Heap, ctx: &mut Ctx<'_, '_>) {
        let sizes = walk.sizes();
        if heap.managed_objects > 0 {
            match (heap.root.and_then(|r| walk.abs(r)), heap.root_rows) {
                (Some(root), 0) => {
                    self.ask(
                        ctx,
                        root,
                        heap.root_direct_size(),
                        Part::Block { block_off: 0 },
                    );
                }
                (Some(root), rows) => match heap.indirect_len(u64::from(rows), sizes) {
                    Ok(len) => self.ask(ctx, root, len, Part::RootIndirect(u64::from(rows))),
                    Err(why) => malformed(ctx.findings, root, why, "heap too large"),
                },
                (None, _) => {}
            }
        }
        if let Some(tree) = heap.huge_tree.and_then(|t| walk.abs(t)) {
            self.ask(
                ctx,
                tree,
                btree::header_len(sizes),
                Part::TreeHeader(TYPE_HUGE),
            );
        }
    }

    /// Asks for the direct blocks a root indirect block points to.
    fn children(
        &mut self,
        walk: &Walk,
        children: &[fractal_heap::Child],
        at: u64,
        ctx: &mut Ctx<'_, '_>,
    ) {
        let mut nested = false;
        for child in children {
            match walk.abs(child.addr) {
                Some(addr) if child.direct => {
                    self.ask(
                        ctx,
                        addr,
                        child.size,
                        Part::Block {
                            block_off: child.block_off,
                        },
                    );
                }
                _ => nested = true,
            }
        }
        if nested {
            malformed(
                ctx.findings,
                at,
                String::from(
                    "the dense attributes' fractal heap has nested indirect blocks (over about 0.5 MiB of attributes), which modelsieve does not read",
                ),
                "nested heap blocks",
            );
        }
    }

    /// Takes the records of a B-tree node and asks for its children.
    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        walk: &Walk,
        kind: u8,
        depth: u16,
        nrec: u64,
        start: u64,
        bytes: &[u8],
        ctx: &mut Ctx<'_, '_>,
    ) {
        let sizes = walk.sizes();
        let tree = if kind == TYPE_HUGE {
            &self.huge
        } else {
            &self.names
        };
        let Some(tree) = tree.clone() else {
            return;
        };
        let (node, ok) = match tree.parse_node(bytes, depth, nrec, sizes) {
            Ok(parsed) => parsed,
            Err(why) => {
                malformed(ctx.findings, start, why, "bad b-tree");
                return;
            }
        };
        if !ok {
            checksum(ctx, "a v2 B-tree node", start);
        }
        for range in node.records {
            let record = bytes.get(range.clone()).unwrap_or_default();
            let at = start.saturating_add(range.start as u64);
            if kind == TYPE_HUGE {
                let mut cur = Cur::new(record);
                if let (Some(addr), Some(len), Some(id)) =
                    (cur.addr(sizes), cur.len(sizes), cur.len(sizes))
                {
                    self.huge_objects
                        .insert(id, (addr.and_then(|a| walk.abs(a)), len));
                }
            } else if self.records.len() < MAX_RECORDS {
                self.records.push(Record {
                    id: Vec::from(record.get(..RECORD_ID_LEN).unwrap_or_default()),
                    flags: record.get(RECORD_ID_LEN).copied().unwrap_or(0),
                    at,
                });
            } else if self.records.len() == MAX_RECORDS {
                ctx.findings.rule(
                    Rule::ScanLimitReached,
                    None,
                    Some(at),
                    format!("the root group has more than {MAX_RECORDS} dense attributes; modelsieve read no more"),
                    Some(String::from("hdf5 dense attributes")),
                );
            }
        }
        for (child, count) in node.children {
            if let Some(addr) = child.and_then(|c| walk.abs(c)) {
                let len = tree.node_len(depth - 1, count);
                let part = Part::TreeNode {
                    kind,
                    depth: depth - 1,
                    nrec: count,
                };
                self.ask(ctx, addr, len, part);
            }
        }
    }

    /// Every part is read: decodes each indexed attribute's message (managed and tiny ones
    /// straight from the blocks read; huge ones are asked for).
    fn resolve(&mut self, walk: &mut Walk, ctx: &mut Ctx<'_, '_>) {
        let Some(heap) = self.heap.clone() else {
            return;
        };
        let sizes = walk.sizes();
        let records = core::mem::take(&mut self.records);
        self.blocks.sort_by_key(|b| b.0);
        let blocks: Vec<(u64, u64)> = self.blocks.iter().map(|b| (b.0, b.1)).collect();
        for record in &records {
            if record.flags & super::object_header::MSG_SHARED != 0 {
                malformed(
                    ctx.findings,
                    record.at,
                    String::from(
                        "a dense attribute of the root group is a shared message (kept in the shared message table), which modelsieve does not read",
                    ),
                    "shared attribute",
                );
                continue;
            }
            let id: &[u8] = record
                .id
                .get(..usize::from(heap.id_len))
                .unwrap_or(&record.id);
            let huge = match heap.decode_id(id, sizes) {
                Ok(HeapId::Managed { off, len }) => {
                    match heap.locate(off, len, &blocks) {
                        Ok((i, range)) => {
                            if let Some((_, _, addr, bytes)) = self.blocks.get(i) {
                                let msg = bytes.get(range.clone()).unwrap_or_default();
                                let at = addr.saturating_add(range.start as u64);
                                walk.attribute(msg, Some(at), ctx);
                            }
                        }
                        Err(why) => unresolved(ctx, record.at, &why),
                    }
                    continue;
                }
                Ok(HeapId::Tiny(range)) => {
                    walk.attribute(id.get(range).unwrap_or_default(), Some(record.at), ctx);
                    continue;
                }
                Ok(HeapId::HugeDirect { addr, len }) => (addr.and_then(|a| walk.abs(a)), len),
                Ok(HeapId::HugeIndirect(number)) => match self.huge_objects.get(&number) {
                    Some(&found) => found,
                    None => {
                        unresolved(
                            ctx,
                            record.at,
                            &format!("the huge-object B-tree has no object {number}"),
                        );
                        continue;
                    }
                },
                Err(why) => {
                    unresolved(ctx, record.at, &why);
                    continue;
                }
            };
            self.huge(ctx, huge.0, huge.1, record.at);
        }
    }

    /// Asks for a huge attribute message.
    fn huge(&mut self, ctx: &mut Ctx<'_, '_>, addr: Option<u64>, len: u64, at: u64) {
        match addr {
            Some(addr) if len > 0 => self.ask(ctx, addr, len, Part::Huge),
            _ => malformed(
                ctx.findings,
                at,
                String::from("a huge dense attribute has no address or length"),
                "unresolved dense attribute",
            ),
        }
    }
}

//! Zip archives built byte by byte: plain ones as `zipfile` writes them, and the bomb layouts
//! (nesting, fan-out, overlapping members) that no writer produces.

use super::deflate;

/// Local file header signature.
const LOCAL: [u8; 4] = *b"PK\x03\x04";
/// Central directory header signature.
const CENTRAL: [u8; 4] = *b"PK\x01\x02";
/// End of central directory signature.
const END: [u8; 4] = *b"PK\x05\x06";

/// Compression method 0.
pub const STORED: u16 = 0;
/// Compression method 8.
pub const DEFLATED: u16 = 8;

/// One member as both headers describe it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Member name.
    pub name: Vec<u8>,
    /// Compression method.
    pub method: u16,
    /// CRC-32 of the content.
    pub crc: u32,
    /// Bytes of data in the archive.
    pub compressed_size: u32,
    /// Bytes of content.
    pub size: u32,
}

impl Entry {
    /// The local file header for this entry.
    pub fn local_header(&self) -> Vec<u8> {
        let mut out = LOCAL.to_vec();
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        self.common(&mut out);
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(&self.name);
        out
    }

    /// The central directory header for this entry, its local header at `offset`.
    fn central_header(&self, offset: u32) -> Vec<u8> {
        let mut out = CENTRAL.to_vec();
        out.extend_from_slice(&0x031e_u16.to_le_bytes()); // made by: Unix, 3.0
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        self.common(&mut out);
        out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        out.extend_from_slice(&(0o100_644_u32 << 16).to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&self.name);
        out
    }

    /// Method, time, CRC, sizes and name length (the fields both headers share, in order).
    fn common(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.extend_from_slice(&self.compressed_size.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
    }
}

/// A zip archive being written: members in order, then the directory.
#[derive(Debug, Default)]
pub struct ZipWriter {
    /// The archive so far.
    out: Vec<u8>,
    /// Each member's entry and local header offset.
    entries: Vec<(Entry, u32)>,
}

impl ZipWriter {
    /// An empty archive.
    pub fn new() -> ZipWriter {
        ZipWriter::default()
    }

    /// Adds a member whose data is already encoded (`data` in the archive, `size` and `crc`
    /// describing its content).
    pub fn raw(&mut self, name: &str, method: u16, data: &[u8], size: u64, crc: u32) -> &mut Self {
        let entry = Entry {
            name: name.as_bytes().to_vec(),
            method,
            crc,
            compressed_size: u32::try_from(data.len()).expect("zip32 member"),
            size: u32::try_from(size).expect("zip32 member"),
        };
        let offset = u32::try_from(self.out.len()).expect("zip32 archive");
        self.out.extend_from_slice(&entry.local_header());
        self.out.extend_from_slice(data);
        self.entries.push((entry, offset));
        self
    }

    /// Adds `content` stored.
    pub fn stored(&mut self, name: &str, content: &[u8]) -> &mut Self {
        let crc = crc32fast::hash(content);
        self.raw(name, STORED, content, content.len() as u64, crc)
    }

    /// Adds `content` deflated.
    pub fn deflated(&mut self, name: &str, content: &[u8]) -> &mut Self {
        let crc = crc32fast::hash(content);
        let data = deflate::compress(content);
        self.raw(name, DEFLATED, &data, content.len() as u64, crc)
    }

    /// Adds the same already-deflated member `count` times under numbered names, the layout of
    /// every 42.zip layer.
    pub fn copies(
        &mut self,
        stem: &str,
        count: usize,
        data: &[u8],
        size: u64,
        crc: u32,
    ) -> &mut Self {
        for i in 0..count {
            self.raw(&format!("{stem}{i}"), DEFLATED, data, size, crc);
        }
        self
    }

    /// The archive: members, central directory, end record.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.out.clone();
        let start = out.len();
        for (entry, offset) in &self.entries {
            out.extend_from_slice(&entry.central_header(*offset));
        }
        let directory = out.len() - start;
        end_record(&mut out, self.entries.len(), directory, start);
        out
    }
}

/// Appends an end of central directory record (zip32, `count` entries).
fn end_record(out: &mut Vec<u8>, count: usize, directory_len: usize, directory_start: usize) {
    let count = u16::try_from(count).unwrap_or(u16::MAX);
    out.extend_from_slice(&END);
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(directory_len as u32).to_le_bytes());
    out.extend_from_slice(&(directory_start as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
}

/// A zip holding one deflated member of `size` zero bytes (at least), about 1 KB per MB.
pub fn zeros_bomb(name: &str, size: u64) -> Vec<u8> {
    let (kernel, len) = deflate::zeros(size);
    ZipWriter::new()
        .raw(name, DEFLATED, &kernel, len, deflate::crc_of_zeros(len))
        .finish()
}

/// A recursive zip bomb: `inner` deflated into a zip, that zip deflated into the next, `levels`
/// times (the innermost member is named `inner`, the others `layer<n>.zip`).
pub fn nested(inner: &[u8], levels: usize) -> Vec<u8> {
    let mut current = ZipWriter::new().deflated("inner", inner).finish();
    for level in 1..levels {
        current = ZipWriter::new()
            .deflated(&format!("layer{level}.zip"), &current)
            .finish();
    }
    current
}

/// A 42.zip-style fan-out bomb: `layers` levels of zips, each holding `fanout` deflated copies
/// of the level below; the bottom level holds `fanout` deflated `leaf` files of `leaf_len`
/// zero bytes. The original (2001) has 5 levels of 16 and 4.3 GB leaves: 42 KB that extract
/// to 4.5 PB.
pub fn fan_out(layers: usize, fanout: usize, leaf_len: u64) -> Vec<u8> {
    let (kernel, len) = deflate::zeros(leaf_len);
    let mut layer = ZipWriter::new()
        .copies("leaf", fanout, &kernel, len, deflate::crc_of_zeros(len))
        .finish();
    for _ in 1..layers {
        let data = deflate::compress(&layer);
        let crc = crc32fast::hash(&layer);
        layer = ZipWriter::new()
            .copies("layer", fanout, &data, layer.len() as u64, crc)
            .finish();
    }
    layer
}

/// David Fifield's overlapping zip bomb (2019, "A better zip bomb"): `members` central entries
/// whose local headers all lie inside one deflate stream. Each member's data is a stored block
/// quoting the next member's local header, followed by that member's data, so every member
/// ends in the same kernel, which inflates to `kernel` (repeated `pattern`, at least
/// `kernel_len` bytes). Every local header matches its central entry, so `zipfile` extracts
/// every member: the output is about `members * kernel_len` from one kernel.
pub fn overlapping(members: usize, pattern: &[u8], kernel_len: u64) -> Vec<u8> {
    let (kernel, len) = deflate::repeated(pattern, kernel_len);
    let kernel_crc = deflate::repeated_crc(pattern, len);
    let names: Vec<Vec<u8>> = (0..members)
        .map(|i| format!("{i:05}.bin").into_bytes())
        .collect();
    // Built from the last member back: each header's sizes and CRC cover the headers quoted
    // after it and the kernel.
    let mut headers: Vec<Vec<u8>> = vec![Vec::new(); members];
    let mut entries: Vec<Option<Entry>> = vec![None; members];
    let mut quoted_len = 0u64; // bytes of quoted headers after the current member
    let mut quoted_csize = 0u64; // the same, as stored blocks
    let mut quoted: Vec<u8> = Vec::new(); // the quoted headers' bytes, in order
    for i in (0..members).rev() {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&quoted);
        hasher.combine(&kernel_crc);
        let entry = Entry {
            name: names[i].clone(),
            method: DEFLATED,
            crc: hasher.finalize(),
            compressed_size: u32::try_from(quoted_csize + kernel.len() as u64).expect("zip32"),
            size: u32::try_from(quoted_len + len).expect("zip32"),
        };
        headers[i] = entry.local_header();
        quoted_len += headers[i].len() as u64;
        quoted_csize += 5 + headers[i].len() as u64;
        let mut with = headers[i].clone();
        with.extend_from_slice(&quoted);
        quoted = with;
        entries[i] = Some(entry);
    }
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&deflate::stored_block(header)[..5]);
        }
        offsets.push(out.len() as u32);
        out.extend_from_slice(header);
    }
    out.extend_from_slice(&kernel);
    let start = out.len();
    for (entry, offset) in entries.iter().flatten().zip(&offsets) {
        out.extend_from_slice(&entry.central_header(*offset));
    }
    let directory = out.len() - start;
    end_record(&mut out, members, directory, start);
    out
}

/// A zip of `count` small stored members (`m<i>`, each `content`).
pub fn many_members(count: usize, content: &[u8]) -> Vec<u8> {
    let mut zip = ZipWriter::new();
    for i in 0..count {
        zip.stored(&format!("m{i}"), content);
    }
    zip.finish()
}

/// A zip of `members` stored members of 16 bytes whose central directory also lists, for
/// each, a second entry placed inside its data (where no local header is): a directory that
/// makes a reader check many entries against many members.
pub fn entries_inside_members(members: usize) -> Vec<u8> {
    let mut zip = ZipWriter::new();
    for i in 0..members {
        zip.stored(&format!("m{i}"), &[0; 16]);
    }
    let ghosts: Vec<(Entry, u32)> = zip
        .entries
        .iter()
        .map(|(entry, offset)| {
            let mut ghost = entry.clone();
            ghost.name.insert(0, b'g');
            (ghost, offset + entry.local_header().len() as u32 + 8)
        })
        .collect();
    zip.entries.extend(ghosts);
    zip.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_overlapping_member_inflates_to_what_its_headers_say() {
        // Wrong sizes or CRCs would make the bomb a header-mismatch finding as well, and the
        // test would not show that the bomb itself is caught.
        let zip = overlapping(3, b"abc", 100_000);
        let count = 3;
        let directory = zip.len()
            - 22
            - (0..count)
                .map(|i| 46 + format!("{i:05}.bin").len())
                .sum::<usize>();
        let mut at = directory;
        for _ in 0..count {
            let field = |o: usize, n: usize| {
                zip[at + o..at + o + n]
                    .iter()
                    .rev()
                    .fold(0u64, |v, &b| v << 8 | u64::from(b))
            };
            let (crc, csize, size, name_len, offset) = (
                field(16, 4),
                field(20, 4),
                field(24, 4),
                field(28, 2),
                field(42, 4),
            );
            let data_start = offset as usize + 30 + name_len as usize;
            let data = &zip[data_start..data_start + csize as usize];
            let content = miniz_oxide::inflate::decompress_to_vec(data).unwrap();
            assert_eq!(content.len() as u64, size);
            assert_eq!(u64::from(crc32fast::hash(&content)), crc);
            at += 46 + name_len as usize;
        }
    }
}

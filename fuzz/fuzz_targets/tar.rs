//! Fuzzes the tar reader: the file is padded to one block, and the checksum of every header
//! on the chain the archive declares (first block, then each next header after the data its
//! size announces) is rewritten so that the reader gets past it; every reading order must give
//! one report (see `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{HEADER, check_split_independence};

const BLOCK: usize = 512;

/// A size field read leniently (octal digits up to the first other byte), for finding the next
/// header; the reader under test parses it strictly.
fn size(field: &[u8]) -> usize {
    field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .fold(0usize, |n, &d| {
            n.saturating_mul(8).saturating_add(usize::from(d - b'0'))
        })
}

/// Rewrites the checksums of the chain of headers, up to 64 of them.
fn seal_headers(file: &mut [u8]) {
    let mut at = 0usize;
    for _ in 0..64 {
        let Some(block) = file.get_mut(at..at + BLOCK) else {
            return;
        };
        if block.iter().all(|&b| b == 0) {
            return;
        }
        block[148..156].copy_from_slice(b"        ");
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        // Types whose data tarfile skips: regular, contiguous, GNU long names, pax, sparse,
        // and anything unknown. Links, directories and devices have none.
        let data = !matches!(block[156], b'1'..=b'6');
        let len = if data { size(&block[124..136]) } else { 0 };
        let padded = len.saturating_add(BLOCK - 1) / BLOCK * BLOCK;
        at = at.saturating_add(BLOCK).saturating_add(padded);
    }
}

fuzz_target!(|data: &[u8]| {
    let (header, file) = data.split_at(data.len().min(HEADER));
    let mut file = file.to_vec();
    if file.len() < BLOCK {
        file.resize(BLOCK, 0);
    }
    // A first block of zeros is not a tar; give it a name so the checksum makes it one.
    if file[..BLOCK].iter().all(|&b| b == 0) {
        file[0] = b'a';
    }
    seal_headers(&mut file);
    check_split_independence(header, &file);
});

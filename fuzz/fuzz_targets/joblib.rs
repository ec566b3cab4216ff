//! Fuzzes joblib's array layout and legacy torch files through the scanner.
//!
//! The first four input bytes choose a `joblib.numpy_pickle.NumpyArrayWrapper` (dtype, shape,
//! alignment attribute, `copy` flag of the dtype, dtype flags); the rest follows the wrapper's
//! BUILD as array bytes and whatever opcodes come after them, so the fuzzer spends its time in
//! the padding, raw-data and nested-pickle paths instead of rediscovering the wrapper. A second
//! scan puts the rest after the four pickles a legacy `torch.save` starts with, and a third
//! scans the raw input. Nothing may panic, the verdict must be the one the findings imply, and
//! the whole file, a streaming driver and a seeking driver with short reads must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_core::{Policy, Verdict, scan_bytes};
use modelsieve_fuzz::check_split_independence;

/// Typestrings, with the item size the state gives flexible ones.
const DTYPES: &[(&str, i32)] = &[
    ("f8", -1),
    ("u1", -1),
    ("i4", -1),
    ("O8", -1),
    ("U3", 12),
    ("S2", 2),
    ("V4", 4),
    ("M8", -1),
];

/// BINUNICODE.
fn unicode(out: &mut Vec<u8>, text: &str) {
    out.push(b'X');
    out.extend((text.len() as u32).to_le_bytes());
    out.extend(text.as_bytes());
}

fn wrapper(selector: [u8; 4]) -> Vec<u8> {
    let [a, b, c, d] = selector;
    let (typestr, elsize) = DTYPES
        .get(usize::from(a) % DTYPES.len())
        .copied()
        .unwrap_or(("f8", -1));
    let mut out = b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(".to_vec();
    unicode(&mut out, "shape");
    out.push(b'(');
    for dim in 0..(b >> 6) {
        out.push(b'K');
        out.push(if dim == 0 { b & 0x3f } else { 2 });
    }
    out.push(b't');
    unicode(&mut out, "dtype");
    out.extend(b"cnumpy\ndtype\n");
    unicode(&mut out, typestr);
    out.extend(if c & 1 != 0 {
        &b"\x89\x88\x87R(K\x03"[..]
    } else {
        b"\x89\x89\x87R(K\x03"
    });
    unicode(&mut out, "<");
    out.extend(b"NNNJ");
    out.extend(elsize.to_le_bytes());
    out.extend(b"J\xff\xff\xff\xffK");
    out.push(d);
    out.extend(b"tb");
    match (c >> 1) % 3 {
        0 => {}
        1 => {
            unicode(&mut out, "numpy_array_alignment_bytes");
            out.push(b'N');
        }
        _ => {
            unicode(&mut out, "numpy_array_alignment_bytes");
            out.extend(b"K\x10");
        }
    }
    out.extend(b"ub");
    out
}

/// The four pickles before the storage keys: the magic, 1001, a dict, None.
const LEGACY_HEAD: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\
\x80\x02M\xe9\x03.\x80\x02}q\x00.\x80\x02N.";

/// Every reading order agrees (the shared check), and the verdict follows from the findings.
fn check(bytes: &[u8], sizes: &[u8]) {
    let report = scan_bytes(bytes, &Policy::default());
    assert_eq!(
        report.verdict,
        Verdict::from_findings(&report.findings),
        "verdict disagrees with findings: {:#?}",
        report.findings
    );
    check_split_independence(sizes, bytes);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    // Chunk and read sizes for the shared check come from the selector too.
    let sizes = [selector[0] >> 4, selector[1] & 7];

    let mut file = wrapper(selector);
    file.extend_from_slice(rest);
    check(&file, &sizes);

    let mut legacy = LEGACY_HEAD.to_vec();
    legacy.extend_from_slice(rest);
    check(&legacy, &sizes);

    check(data, &sizes);
});

//! Writes the benchmark pickle: byte for byte what CPython's `pickle.dumps(obj, protocol=4)`
//! emits for `obj = [(i, f"name_{i}", i * 0.5) for i in range(n)]`.
//!
//! ```text
//! cargo run --release -p modelsieve-core --example gen_bench_pickle -- OUT.pkl [N]
//! cargo run --release -p modelsieve-core --example gen_bench_pickle -- --dump N > out.pkl
//! ```
//!
//! `bench/check_generator.py` compares the output with CPython's for several `n`. The
//! benchmark `benches/pickle.rs` includes this file as a module and calls [`generate`].

use std::io::Write;

/// How many tuples the benchmark pickle holds: about 108 MB.
pub(crate) const BENCH_TUPLES: u64 = 3_500_000;

/// CPython's `_FRAME_SIZE_TARGET`: a frame is committed once it holds this many bytes.
const FRAME_SIZE_TARGET: usize = 64 * 1024;
/// CPython's `_FRAME_SIZE_MIN`: smaller frames are written without a FRAME header.
const FRAME_SIZE_MIN: usize = 4;
/// FRAME opcode plus its 8-byte length.
const FRAME_HEADER_SIZE: usize = 9;
/// CPython's `BATCHSIZE`: APPENDS after this many list items.
const BATCH_SIZE: u64 = 1000;

/// A transcription of the framing parts of CPython's C pickler (`Modules/_pickle.c`):
/// `_Pickler_Write`, `_Pickler_OpcodeBoundary` and `_Pickler_CommitFrame`.
struct Pickler {
    out: Vec<u8>,
    frame_start: Option<usize>,
}

impl Pickler {
    fn new(capacity: usize) -> Pickler {
        Pickler {
            out: Vec::with_capacity(capacity),
            frame_start: None,
        }
    }

    /// `_Pickler_Write` with framing on: the first write after a commit opens a new frame by
    /// reserving room for its header.
    fn write(&mut self, bytes: &[u8]) {
        if self.frame_start.is_none() {
            self.frame_start = Some(self.out.len());
            self.out.extend_from_slice(&[0xFE; FRAME_HEADER_SIZE]);
        }
        self.out.extend_from_slice(bytes);
    }

    /// `_Pickler_OpcodeBoundary`, which CPython calls at the start of every `save()`.
    fn boundary(&mut self) {
        if let Some(start) = self.frame_start
            && self.out.len() - start - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET
        {
            self.commit();
        }
    }

    /// `_Pickler_CommitFrame`: fills in the header, or drops it for a frame under 4 bytes.
    fn commit(&mut self) {
        let Some(start) = self.frame_start.take() else {
            return;
        };
        let len = self.out.len() - start - FRAME_HEADER_SIZE;
        if len >= FRAME_SIZE_MIN {
            let mut header = [0u8; FRAME_HEADER_SIZE];
            header[0] = 0x95; // FRAME
            header[1..].copy_from_slice(&(len as u64).to_le_bytes());
            if let Some(slot) = self.out.get_mut(start..start + FRAME_HEADER_SIZE) {
                slot.copy_from_slice(&header);
            }
        } else {
            self.out.drain(start..start + FRAME_HEADER_SIZE);
        }
    }

    /// `save_long` for an int that fits in 32 signed bits: BININT1, BININT2 or BININT.
    fn int(&mut self, v: i32) {
        self.boundary();
        let b = v.to_le_bytes();
        if b[3] != 0 || b[2] != 0 {
            self.write(&[b'J', b[0], b[1], b[2], b[3]]);
        } else if b[1] != 0 {
            self.write(&[b'M', b[0], b[1]]);
        } else {
            self.write(&[b'K', b[0]]);
        }
    }

    /// `save_unicode` for a string under 256 UTF-8 bytes: SHORT_BINUNICODE, then MEMOIZE.
    fn short_str(&mut self, s: &str) {
        self.boundary();
        debug_assert!(s.len() <= 0xff);
        self.write(&[0x8c, s.len() as u8]);
        self.write(s.as_bytes());
        self.write(&[0x94]);
    }

    /// `save_float`: BINFLOAT with the big-endian IEEE double.
    fn float(&mut self, v: f64) {
        self.boundary();
        let mut op = [0u8; 9];
        op[0] = b'G';
        op[1..].copy_from_slice(&v.to_be_bytes());
        self.write(&op);
    }
}

/// The pickle CPython writes for `[(i, f"name_{i}", i * 0.5) for i in range(n)]` at protocol 4.
pub(crate) fn generate(n: u64) -> Vec<u8> {
    let mut p = Pickler::new(usize::try_from(n.saturating_mul(32)).unwrap_or(0) + 64);
    // dump(): PROTO goes out before framing starts.
    p.out.extend_from_slice(&[0x80, 4]);
    // save(list) -> save_list: EMPTY_LIST, MEMOIZE, then batch_list_exact.
    p.boundary();
    p.write(b"]");
    p.write(&[0x94]);
    let mut name = String::new();
    let mut item = |p: &mut Pickler, i: u64| {
        // save(tuple) -> save_tuple: the three elements, TUPLE3, MEMOIZE.
        p.boundary();
        p.int(i32::try_from(i).unwrap_or(i32::MAX));
        name.clear();
        name.push_str("name_");
        name.push_str(&i.to_string());
        p.short_str(&name);
        p.float(i as f64 * 0.5);
        p.write(&[0x87, 0x94]);
    };
    if n == 1 {
        item(&mut p, 0);
        p.write(b"a"); // APPEND
    } else if n > 1 {
        let mut i = 0;
        while i < n {
            p.write(b"("); // MARK
            let end = (i + BATCH_SIZE).min(n);
            while i < end {
                item(&mut p, i);
                i += 1;
            }
            p.write(b"e"); // APPENDS
        }
    }
    p.write(b".");
    p.commit();
    p.out
}

fn main() -> Result<(), Box<dyn core::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen_bench_pickle OUT.pkl [N]  |  gen_bench_pickle --dump N";
    match args.as_slice() {
        [flag, n] if flag == "--dump" => {
            let bytes = generate(n.parse()?);
            std::io::stdout().lock().write_all(&bytes)?;
        }
        [out, rest @ ..] if !out.starts_with('-') && rest.len() <= 1 => {
            let n = match rest.first() {
                Some(n) => n.parse()?,
                None => BENCH_TUPLES,
            };
            let bytes = generate(n);
            std::fs::write(out, &bytes)?;
            eprintln!("wrote {out}: {n} tuples, {} bytes", bytes.len());
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}

//! A small GGUF writer for tests that build model files in Rust (no Python at test time).
//!
//! It writes what gguf-py's `GGUFWriter` writes for the same calls: magic, version 3, the counts,
//! the key/value pairs, the tensor infos, zero padding to `general.alignment` (32), then the
//! data section. Little-endian only; the big-endian and hostile variants are fixtures made by
//! `tests/fixtures/gguf/generate_gguf.py`.

/// GGUF value type of a uint32.
const TYPE_U32: u32 = 4;
/// GGUF value type of a float32.
const TYPE_F32: u32 = 6;
/// GGUF value type of a string.
const TYPE_STRING: u32 = 8;
/// GGUF value type of an array.
const TYPE_ARRAY: u32 = 9;
/// Alignment of the data section (gguf-py's and llama.cpp's default).
pub const ALIGNMENT: u64 = 32;

/// ggml tensor type of float32 data.
pub const GGML_F32: u32 = 0;
/// ggml tensor type of float16 data.
pub const GGML_F16: u32 = 1;
/// ggml tensor type of Q4_K blocks (256 elements in 144 bytes).
pub const GGML_Q4_K: u32 = 12;
/// ggml tensor type of Q6_K blocks (256 elements in 210 bytes).
pub const GGML_Q6_K: u32 = 14;

/// One tensor info: name, dimensions (innermost first, as GGUF stores them) and ggml type.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Tensor name.
    pub name: String,
    /// Dimensions, innermost first.
    pub dims: Vec<u64>,
    /// ggml type.
    pub ty: u32,
}

impl TensorInfo {
    /// Bytes of this tensor's data, for the types this writer knows.
    pub fn nbytes(&self) -> u64 {
        let elements: u64 = self.dims.iter().product();
        match self.ty {
            GGML_F32 => elements * 4,
            GGML_F16 => elements * 2,
            GGML_Q4_K => elements / 256 * 144,
            GGML_Q6_K => elements / 256 * 210,
            // Types the writer does not size are given no data.
            _ => 0,
        }
    }
}

/// A GGUF header under construction.
#[derive(Debug, Default)]
pub struct GgufWriter {
    /// Encoded key/value pairs.
    kv: Vec<u8>,
    /// Number of pairs in `kv`.
    kv_count: u64,
    /// Tensors, in file order.
    tensors: Vec<TensorInfo>,
}

/// Appends a GGUF string (u64 length, bytes).
fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl GgufWriter {
    /// An empty header.
    pub fn new() -> GgufWriter {
        GgufWriter::default()
    }

    /// Starts a key/value pair: the key and the value's type; the caller writes the value.
    fn entry(&mut self, key: &str, ty: u32) -> &mut Vec<u8> {
        put_str(&mut self.kv, key);
        self.kv.extend_from_slice(&ty.to_le_bytes());
        self.kv_count += 1;
        &mut self.kv
    }

    /// Starts an array value of `len` items of type `item_ty`; the caller writes the items.
    fn array(&mut self, key: &str, item_ty: u32, len: usize) -> &mut Vec<u8> {
        let out = self.entry(key, TYPE_ARRAY);
        out.extend_from_slice(&item_ty.to_le_bytes());
        out.extend_from_slice(&(len as u64).to_le_bytes());
        out
    }

    /// Adds a string value.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        put_str(self.entry(key, TYPE_STRING), value);
        self
    }

    /// Adds a uint32 value.
    pub fn u32(&mut self, key: &str, value: u32) -> &mut Self {
        self.entry(key, TYPE_U32)
            .extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Adds a float32 value.
    pub fn f32(&mut self, key: &str, value: f32) -> &mut Self {
        self.entry(key, TYPE_F32)
            .extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Adds an array of strings.
    pub fn strings<S: AsRef<str>>(&mut self, key: &str, items: &[S]) -> &mut Self {
        let out = self.array(key, TYPE_STRING, items.len());
        for item in items {
            put_str(out, item.as_ref());
        }
        self
    }

    /// Adds an array of float32 values.
    pub fn f32s(&mut self, key: &str, items: &[f32]) -> &mut Self {
        let out = self.array(key, TYPE_F32, items.len());
        for item in items {
            out.extend_from_slice(&item.to_le_bytes());
        }
        self
    }

    /// Adds an array of int32 values (as gguf-py writes `tokenizer.ggml.token_type`).
    pub fn i32s(&mut self, key: &str, items: &[i32]) -> &mut Self {
        /// GGUF's value type 5, int32.
        const TYPE_I32: u32 = 5;
        let out = self.array(key, TYPE_I32, items.len());
        for item in items {
            out.extend_from_slice(&item.to_le_bytes());
        }
        self
    }

    /// Adds a tensor info; its data follows the previous tensor's, aligned.
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: u32) -> &mut Self {
        self.tensors.push(TensorInfo {
            name: name.to_string(),
            dims: dims.to_vec(),
            ty,
        });
        self
    }

    /// Size of the data section: every tensor, each padded to the alignment.
    pub fn data_len(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| t.nbytes().div_ceil(ALIGNMENT) * ALIGNMENT)
            .sum()
    }

    /// The header: everything before the data section, padded to the alignment.
    pub fn header(&self) -> Vec<u8> {
        let mut out = Vec::from(*b"GGUF");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.kv_count.to_le_bytes());
        out.extend_from_slice(&self.kv);
        let mut offset = 0u64;
        for t in &self.tensors {
            put_str(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&t.ty.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offset += t.nbytes().div_ceil(ALIGNMENT) * ALIGNMENT;
        }
        while !(out.len() as u64).is_multiple_of(ALIGNMENT) {
            out.push(0);
        }
        out
    }

    /// The whole file, with zero tensor data.
    pub fn file(&self) -> Vec<u8> {
        let mut out = self.header();
        out.resize(out.len() + self.data_len() as usize, 0);
        out
    }
}

/// A tiny llama-style model (a few tensors of a few bytes) whose metadata carries `extra`
/// string pairs (for instance `tokenizer.chat_template`).
pub fn tiny_model(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.string("general.architecture", "llama")
        .string("general.name", "tiny")
        .u32("llama.context_length", 64)
        .u32("llama.embedding_length", 8)
        .u32("llama.block_count", 1)
        .string("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", &["<unk>", "<s>", "</s>", "a", "b"])
        .f32s("tokenizer.ggml.scores", &[0.0, 0.0, 0.0, -1.0, -2.0])
        .i32s("tokenizer.ggml.token_type", &[2, 3, 3, 1, 1]);
    for (k, v) in extra {
        w.string(k, v);
    }
    w.tensor("token_embd.weight", &[8, 5], GGML_F32)
        .tensor("output_norm.weight", &[8], GGML_F32);
    w.file()
}

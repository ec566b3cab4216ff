//! Hostile headers of the single-file formats: pickles, `.npy`, safetensors, GGUF and
//! protobuf (ONNX), each built to make a naive reader allocate what a length field claims,
//! recurse as deep as the input nests, or loop as long as the input runs.

/// `PROTO 4`, then `opcode` `count` times, then STOP (`None` first when `none_first`, so
/// that opcodes that take a stack item have one).
pub fn pickle_repeated(opcode: u8, count: usize, none_first: bool) -> Vec<u8> {
    let mut bytes = vec![0x80, 4];
    if none_first {
        bytes.push(b'N');
    }
    bytes.extend(std::iter::repeat_n(opcode, count));
    bytes.push(b'.');
    bytes
}

/// A protocol 4 pickle calling `os.system('id')` (module and name as short unicode strings,
/// STACK_GLOBAL, the argument tuple, REDUCE): the payload the bounded attacks carry.
pub fn pickle_payload_ops() -> Vec<u8> {
    let mut ops = vec![0x8c, 2];
    ops.extend_from_slice(b"os");
    ops.extend_from_slice(&[0x8c, 6]);
    ops.extend_from_slice(b"system");
    ops.push(0x93); // STACK_GLOBAL
    ops.extend_from_slice(&[0x8c, 2]);
    ops.extend_from_slice(b"id");
    ops.extend_from_slice(&[0x85, b'R']); // TUPLE1, REDUCE
    ops
}

/// A `.npy` file of format version `major`.0 whose header length field says `len` (a u16 in
/// version 1, a u32 after), followed by `body`.
pub fn npy_with_header_len(major: u8, len: u32, body: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// A safetensors file whose 8-byte header length says `len`, followed by `body`.
pub fn safetensors_with_header_len(len: u64, body: &[u8]) -> Vec<u8> {
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A valid safetensors file whose JSON header is `header_len` bytes of one-element float32
/// tensors (and their 4 bytes of data each), as many as fit, padded with spaces: a header of
/// the 100 MB the reference library accepts holds about 1.4 million of them.
pub fn safetensors_filled(header_len: usize) -> Vec<u8> {
    let tail = "\"__metadata__\":{\"format\":\"pt\"}}";
    let mut header = String::from("{");
    let mut tensors = 0;
    loop {
        let (start, end) = (tensors * 4, tensors * 4 + 4);
        let entry = format!(
            "\"{tensors}\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[{start},{end}]}},"
        );
        if header.len() + entry.len() + tail.len() > header_len {
            break;
        }
        header.push_str(&entry);
        tensors += 1;
    }
    header.push_str(tail);
    while header.len() < header_len {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + tensors * 4, 0);
    out
}

/// GGUF value type of a uint32.
const GGUF_U32: u32 = 4;
/// GGUF value type of a string.
const GGUF_STRING: u32 = 8;
/// GGUF value type of an array.
const GGUF_ARRAY: u32 = 9;

/// The start of a GGUF version 3 header with no tensors and `pairs` key/value pairs.
fn gguf_preamble(pairs: u64) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&pairs.to_le_bytes());
    out
}

/// Appends a GGUF string of `len` declared bytes whose content is `content`.
fn gguf_string(out: &mut Vec<u8>, len: u64, content: &[u8]) {
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(content);
}

/// GGUF headers whose length fields claim 2^63: a key's length, a string value's length and
/// an array's item count, each with a few real bytes after it. Returns (what, file).
pub fn gguf_huge_lengths() -> Vec<(&'static str, Vec<u8>)> {
    let huge = 1u64 << 63;
    let mut key = gguf_preamble(1);
    gguf_string(&mut key, huge, b"general.name");
    let mut value = gguf_preamble(1);
    gguf_string(&mut value, 12, b"general.name");
    value.extend_from_slice(&GGUF_STRING.to_le_bytes());
    gguf_string(&mut value, huge, b"tiny");
    let mut array = gguf_preamble(1);
    gguf_string(&mut array, 21, b"tokenizer.ggml.tokens");
    array.extend_from_slice(&GGUF_ARRAY.to_le_bytes());
    array.extend_from_slice(&GGUF_U32.to_le_bytes());
    array.extend_from_slice(&huge.to_le_bytes());
    array.extend_from_slice(&[0; 64]);
    let mut pairs = gguf_preamble(huge);
    gguf_string(&mut pairs, 12, b"general.name");
    pairs.extend_from_slice(&GGUF_STRING.to_le_bytes());
    gguf_string(&mut pairs, 4, b"tiny");
    vec![
        ("key length 2^63", key),
        ("string length 2^63", value),
        ("array length 2^63", array),
        ("pair count 2^63", pairs),
    ]
}

/// Appends `value` as a protobuf varint.
pub fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes of `value` as a varint.
fn varint_len(value: u64) -> u64 {
    (64 - value.max(1).leading_zeros() as u64).div_ceil(7)
}

/// `ModelProto.ir_version = 8`: the field that makes the ONNX reading recognise a model.
const IR_VERSION: [u8; 2] = [0x08, 8];

/// An ONNX model whose graph (field 7) declares a length of `len` bytes, followed by a few
/// bytes of a node.
pub fn onnx_with_graph_len(len: u64) -> Vec<u8> {
    let mut out = IR_VERSION.to_vec();
    out.push(0x3a);
    varint(&mut out, len);
    out.extend_from_slice(&[0x0a, 0x02, 0x1a, 0x00]);
    out
}

/// An ONNX model whose graph nests `levels` messages deep: graph → node (field 1) →
/// attribute (field 5) → graph (field 6, a subgraph attribute) → node → …, every length
/// exact, the innermost message empty.
pub fn onnx_nested(levels: usize) -> Vec<u8> {
    // The tag that opens each level, outermost first: the model's graph, then the cycle.
    let tags: Vec<u8> = std::iter::once(0x3a)
        .chain([0x0a, 0x2a, 0x32].into_iter().cycle())
        .take(levels)
        .collect();
    // Each level's content length, innermost (0) out.
    let mut lens = vec![0u64; levels];
    let mut inner = 0u64;
    for i in (0..levels).rev() {
        lens[i] = inner;
        inner = 1 + varint_len(inner) + inner;
    }
    let mut out = IR_VERSION.to_vec();
    out.reserve(usize::try_from(inner).expect("fits"));
    for (tag, len) in tags.iter().zip(&lens) {
        out.push(*tag);
        varint(&mut out, *len);
    }
    out
}

/// Appends protobuf field `field` of wire type 2 (length-delimited) holding `body`.
fn len_field(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    varint(out, u64::from(field) << 3 | 2);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// A TensorFlow `GraphDef` whose function library holds `functions` functions, each with one
/// node running `ReadFile`: a dangerous op reported once per function, so a report the
/// scanner must keep bounded and a list of what was reported it must search quickly.
pub fn tf_graph_with_functions(functions: usize) -> Vec<u8> {
    let mut library = Vec::new();
    for i in 0..functions {
        let mut signature = Vec::new();
        len_field(&mut signature, 1, format!("f{i}").as_bytes());
        let mut node = Vec::new();
        len_field(&mut node, 1, b"read");
        len_field(&mut node, 2, b"ReadFile");
        let mut function = Vec::new();
        len_field(&mut function, 1, &signature);
        len_field(&mut function, 3, &node);
        len_field(&mut library, 1, &function);
    }
    let mut graph = Vec::new();
    // One node in the graph itself (field 1), so the bytes read as a graph.
    let mut node = Vec::new();
    len_field(&mut node, 1, b"x");
    len_field(&mut node, 2, b"Const");
    len_field(&mut graph, 1, &node);
    len_field(&mut graph, 2, &library);
    graph
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lengths_are_exact() {
        let model = onnx_nested(300);
        // Walk down: each level's length must be exactly the bytes left.
        let mut at = 2;
        while at < model.len() {
            at += 1;
            let mut len = 0u64;
            let mut shift = 0;
            loop {
                let b = model[at];
                at += 1;
                len |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b < 0x80 {
                    break;
                }
            }
            assert_eq!(len, (model.len() - at) as u64);
        }
    }

    #[test]
    fn varints_have_the_length_varint_len_says() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out.len() as u64, varint_len(v), "{v}");
        }
    }
}

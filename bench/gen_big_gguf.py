#!/usr/bin/env python3
"""Writes a ~1 GB GGUF whose tensor data is a hole, for benchmarking the seeking driver.

    /tmp/fixvenv/bin/python bench/gen_big_gguf.py OUT.gguf [--check]   # needs gguf (gguf-py)

The header is what llama.cpp's converter writes for Llama-3.2-1B-Instruct quantized to Q6_K
(a 1.0 GB file): gguf-py's GGUFWriter, the real architecture keys (16 blocks, 2048 wide, 8192
feed-forward, 32 heads / 8 KV heads, RoPE 500000 with llama3 scaling), a BPE tokenizer of
128 256 tokens with 280 147 merges and token types, the real Llama 3.2 chat template from
tests/fixtures/gguf/templates/, and the 147 tensor infos with their real shapes (Q6_K
matrices, F32 norms and rope factors). Token and merge strings are made up (deterministic, of
realistic lengths): the vocabulary is not on this machine, and only its size matters here.
The header (metadata and tensor infos) is about 9.9 MB.

Only the header is written; the file is then extended to its full length with truncate(), so
the tensor data is a hole: the file takes a few MB on disk and is made in about a second.
--check opens the result with gguf.GGUFReader, which maps every tensor and checks the file
is long enough for all of them.
"""

import argparse
import os
import random
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "tests", "fixtures", "gguf", "templates", "meta-llama-Llama-3.2-3B-Instruct.jinja")

# Llama-3.2-1B-Instruct.
N_VOCAB, N_MERGES = 128256, 280147
N_LAYER, N_EMBD, N_FF, N_HEAD, N_HEAD_KV = 16, 2048, 8192, 32, 8


def vocab(rng):
    """Made-up byte-level BPE tokens: 256 byte tokens, then words of 1-12 letters, then the
    256 reserved special tokens of Llama 3."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = [f"<0x{i:02X}>" for i in range(256)]
    seen = set(tokens)
    while len(tokens) < N_VOCAB - 256:
        word = ("Ġ" if rng.random() < 0.6 else "") + "".join(rng.choice(letters) for _ in range(rng.randint(1, 12)))
        if word not in seen:
            seen.add(word)
            tokens.append(word)
    tokens += ["<|begin_of_text|>", "<|end_of_text|>"] + [f"<|reserved_special_token_{i}|>" for i in range(254)]
    return tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--check", action="store_true", help="open the result with gguf.GGUFReader")
    args = ap.parse_args()
    import gguf

    t0 = time.time()
    rng = random.Random(0)
    tokens = vocab(rng)
    merges = [f"{tokens[rng.randrange(256, 20000)]} {tokens[rng.randrange(256, 20000)]}" for _ in range(N_MERGES)]
    types = [1] * (N_VOCAB - 256) + [3] * 256

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_type("model")
    w.add_name("Llama 3.2 1B Instruct")
    w.add_finetune("Instruct")
    w.add_basename("Llama-3.2")
    w.add_size_label("1B")
    w.add_license("llama3.2")
    w.add_languages(["en", "de", "fr", "it", "pt", "hi", "es", "th"])
    w.add_block_count(N_LAYER)
    w.add_context_length(131072)
    w.add_embedding_length(N_EMBD)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_key_length(64)
    w.add_value_length(64)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q6_K)
    w.add_vocab_size(N_VOCAB)
    w.add_rope_dimension_count(64)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(128000)
    w.add_eos_token_id(128009)
    with open(TEMPLATE, encoding="utf-8") as f:
        w.add_chat_template(f.read())
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    q6k, f32 = gguf.GGMLQuantizationType.Q6_K, gguf.GGMLQuantizationType.F32

    def tensor(name, shape, qtype):
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        n = int(np.prod(shape))
        w.add_tensor_info(name, shape, np.dtype(np.float32), n // block * size, raw_dtype=qtype)

    tensor("rope_freqs.weight", (32,), f32)
    tensor("token_embd.weight", (N_VOCAB, N_EMBD), q6k)
    kv = N_EMBD // N_HEAD * N_HEAD_KV
    for i in range(N_LAYER):
        tensor(f"blk.{i}.attn_norm.weight", (N_EMBD,), f32)
        tensor(f"blk.{i}.ffn_down.weight", (N_EMBD, N_FF), q6k)
        tensor(f"blk.{i}.ffn_gate.weight", (N_FF, N_EMBD), q6k)
        tensor(f"blk.{i}.ffn_up.weight", (N_FF, N_EMBD), q6k)
        tensor(f"blk.{i}.ffn_norm.weight", (N_EMBD,), f32)
        tensor(f"blk.{i}.attn_k.weight", (kv, N_EMBD), q6k)
        tensor(f"blk.{i}.attn_output.weight", (N_EMBD, N_EMBD), q6k)
        tensor(f"blk.{i}.attn_q.weight", (N_EMBD, N_EMBD), q6k)
        tensor(f"blk.{i}.attn_v.weight", (kv, N_EMBD), q6k)
    tensor("output_norm.weight", (N_EMBD,), f32)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    header_end = w.fout[0].tell()
    w.close()
    align = w.data_alignment or gguf.GGUF_DEFAULT_ALIGNMENT
    pad = lambda n: (n + align - 1) // align * align  # noqa: E731
    data = sum(pad(ti.nbytes) for ti in w.tensors[0].values())
    total = pad(header_end) + data
    with open(args.out, "r+b") as f:
        f.truncate(total)
    print(f"wrote {args.out}: {total} bytes ({total / 1e9:.2f} GB), header {header_end} bytes, "
          f"{len(w.tensors[0])} tensors, tensor data a hole ({time.time() - t0:.1f} s)")
    if args.check:
        r = gguf.GGUFReader(args.out)
        print(f"GGUFReader: {len(r.fields)} keys, {len(r.tensors)} tensors, data at {r.data_offset}")
        assert len(r.tensors) == len(w.tensors[0]) and r.data_offset == pad(header_end)


if __name__ == "__main__":
    sys.exit(main())

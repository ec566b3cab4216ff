#!/usr/bin/env python3
"""Writes a ~2.5 GB safetensors file whose tensor data is a hole, for benchmarking the seeking
driver.

    python3 bench/gen_big_safetensors.py OUT.safetensors [--check]

The header is the one of Llama-3.2-1B-Instruct's model.safetensors (146 BF16 tensors with
their real names and shapes, tied embeddings, `__metadata__` {"format": "pt"}), laid out the
way the safetensors library writes it: tensors ordered by dtype alignment then name, offsets
back to back, the JSON compact and padded with spaces to a multiple of 8. Only the header is
written; the file is then extended to its full length with truncate(), so the 2.47 GB of tensor
data is a hole (a few KB on disk). Standard library only.

--check opens the result with safetensors.safe_open (which validates the header against the
file length without reading the data) when the safetensors package is installed.
"""

import argparse
import json
import struct
import sys
import time

# Llama-3.2-1B-Instruct.
N_VOCAB, N_LAYER, N_EMBD, N_FF, N_KV = 128256, 16, 2048, 8192, 512


def tensors():
    """(name, shape) of every tensor, as in the Hugging Face checkpoint."""
    out = [("model.embed_tokens.weight", [N_VOCAB, N_EMBD]), ("model.norm.weight", [N_EMBD])]
    for i in range(N_LAYER):
        p = f"model.layers.{i}."
        out += [
            (p + "input_layernorm.weight", [N_EMBD]),
            (p + "mlp.down_proj.weight", [N_EMBD, N_FF]),
            (p + "mlp.gate_proj.weight", [N_FF, N_EMBD]),
            (p + "mlp.up_proj.weight", [N_FF, N_EMBD]),
            (p + "post_attention_layernorm.weight", [N_EMBD]),
            (p + "self_attn.k_proj.weight", [N_KV, N_EMBD]),
            (p + "self_attn.o_proj.weight", [N_EMBD, N_EMBD]),
            (p + "self_attn.q_proj.weight", [N_EMBD, N_EMBD]),
            (p + "self_attn.v_proj.weight", [N_KV, N_EMBD]),
        ]
    return out


def header():
    """The header bytes (length prefix included) and the data length."""
    entries, offset = {}, 0
    # safetensors sorts by dtype alignment (all BF16 here), then by name.
    for name, shape in sorted(tensors()):
        n = 2
        for d in shape:
            n *= d
        entries[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    doc = {"__metadata__": {"format": "pt"}, **entries}
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, offset


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--check", action="store_true", help="open the result with safetensors.safe_open")
    args = ap.parse_args()
    t0 = time.time()
    head, data = header()
    with open(args.out, "wb") as f:
        f.write(head)
        f.truncate(len(head) + data)
    total = len(head) + data
    print(f"wrote {args.out}: {total} bytes ({total / 1e9:.2f} GB), header {len(head)} bytes, "
          f"{len(tensors())} BF16 tensors, tensor data a hole ({time.time() - t0:.1f} s)")
    if args.check:
        from safetensors import safe_open

        with safe_open(args.out, framework="np") as f:
            print(f"safe_open: {len(list(f.keys()))} tensors, metadata {f.metadata()}")


if __name__ == "__main__":
    sys.exit(main())

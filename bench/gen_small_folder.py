#!/usr/bin/env python3
"""Writes a folder of 2,000 small model files for the speed comparison.

    gen_small_folder.py FIXTURES_DIR OUT_DIR [--count 2000]

The files are copies of the project's benign fixtures (every format: pickle, joblib, torch
zip, safetensors, GGUF, ONNX, Keras, HDF5, TensorFlow), taken in a fixed order (the `clean`
rows of expected.tsv) and repeated until COUNT files are written, each under a new name with
its original extension, 100 to a sub-folder. No file is picked for speed: all clean rows are used.
"""
import argparse
import os
import shutil


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fixtures")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=2000)
    args = ap.parse_args()
    sources = []
    with open(os.path.join(args.fixtures, "expected.tsv")) as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            path = os.path.join(args.fixtures, parts[0])
            if len(parts) > 1 and parts[1] == "clean" and os.path.isfile(path):
                sources.append(path)
    tmp = args.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for i in range(args.count):
        src = sources[i % len(sources)]
        name = os.path.basename(src)
        sub = os.path.join(tmp, f"{i // 100:02d}")
        os.makedirs(sub, exist_ok=True)
        shutil.copyfile(src, os.path.join(sub, f"{i:04d}_{name}"))
    os.rename(tmp, args.out)
    print(f"{args.count} files from {len(sources)} clean fixtures in {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a ~1 GiB PyTorch checkpoint (zip layout) for benchmarking the container path.

    python3 bench/gen_big_torch_zip.py OUT.pt [--tensors 4] [--mib 256] [--check]

The file is what torch.save({"layer0.weight": t0, ..., "layer3.weight": t3}, "OUT.pt") writes for
four float32 tensors of 256 MiB each (64 Mi elements, shape (8192, 8192)): folder OUT/ holding
data.pkl, .format_version, .storage_alignment, byteorder, data/0..3, version and
.data/serialization_id, every record stored and 64-byte aligned. It is written by the PyTorch
emulation in tests/fixtures/fixturelib.py (generate_containers.py checks it byte for byte
against torch.save), chunk by chunk: memory use stays at a few MiB and torch is not needed.
Tensor data is a fixed pseudo-random 1 MiB block repeated, so the output is deterministic.

--check loads the result with the real torch (torch.load(mmap=True, weights_only=True)) when
torch is installed.
"""

import argparse
import collections
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import fixturelib as fl  # noqa: E402

CHUNK = 1 << 20


class StreamedStorage(fl.FakeStorage):
    """A storage whose bytes are produced on demand (nbytes of a repeated 1 MiB block)."""

    def __init__(self, key, nbytes, seed):
        self.key, self.dtype, self.data = key, "float32", b""
        self.nbytes, self.seed = nbytes, seed
        self.numel = nbytes // 4

    def chunks(self):
        block = random.Random(self.seed).randbytes(CHUNK)
        # keep every float finite (|x| < 2): clear the top exponent bit, bit 6 of the last byte
        block = bytes(b & 0xBF if i % 4 == 3 else b for i, b in enumerate(block))
        left = self.nbytes
        while left:
            n = min(left, CHUNK)
            yield block[:n]
            left -= n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output path; its stem is the archive's top-level folder, as with torch.save")
    ap.add_argument("--tensors", type=int, default=4)
    ap.add_argument("--mib", type=int, default=256, help="size of each tensor in MiB (a multiple of 4)")
    ap.add_argument("--check", action="store_true", help="load the result with torch afterwards")
    args = ap.parse_args()
    assert args.mib % 4 == 0
    side = int((args.mib * CHUNK // 4) ** 0.5)
    shape = (side, side) if side * side * 4 == args.mib * CHUNK else (args.mib * CHUNK // 4,)

    storages = [StreamedStorage(str(i), args.mib * CHUNK, seed=i) for i in range(args.tensors)]
    obj = collections.OrderedDict((f"layer{i}.weight", fl.FakeTensor(s, shape)) for i, s in enumerate(storages))
    folder = os.path.splitext(os.path.basename(args.out))[0]
    t0 = time.time()
    with open(args.out, "wb") as f:
        w = fl.TorchZipWriter(f, folder)
        w.write_record("data.pkl", fl.torch_pickle(obj))
        w.write_record(".format_version", b"1")
        w.write_record(".storage_alignment", b"64")
        w.write_record("byteorder", b"little")
        for s in storages:
            w.write_record(f"data/{s.key}", s.chunks(), size=s.nbytes)
        w.write_record("version", b"3\n")
        w.close()
    size = os.path.getsize(args.out)
    print(f"wrote {args.out}: {size} bytes ({size / (1 << 30):.2f} GiB), {args.tensors} float32 tensors "
          f"of shape {shape}, folder {folder}/, in {time.time() - t0:.1f} s")
    if args.check:
        import torch
        sd = torch.load(args.out, mmap=True, weights_only=True)
        print("torch.load:", {k: (tuple(v.shape), str(v.dtype)) for k, v in sd.items()})


if __name__ == "__main__":
    main()

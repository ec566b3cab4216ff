#!/usr/bin/env python3
"""Checks core/examples/gen_bench_pickle.rs against CPython's own pickler.

For several N, compares the generator's `--dump N` output byte for byte with
pickle.dumps([(i, f"name_{i}", i * 0.5) for i in range(N)], protocol=4).

    python3 bench/check_generator.py [--full] [path/to/gen_bench_pickle]

Without a path, builds the example with cargo first. --full also compares the whole benchmark
file (N = 3,500,000, ~107 MB; needs ~3 GB of memory and a few seconds). Exits 1 on any
difference.
"""
import os
import pickle
import pickletools
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [0, 1, 2, 3, 999, 1000, 1001, 2500, 5000, 70000]


def generator_binary():
    if len(sys.argv) > 1 and sys.argv[-1] != "--full":
        return sys.argv[-1]
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "modelsieve-core", "--example", "gen_bench_pickle"],
        cwd=ROOT,
        check=True,
    )
    return os.path.join(ROOT, "target", "release", "examples", "gen_bench_pickle")


def context(data, at):
    """The opcode around byte offset `at`, from pickletools."""
    lines = []
    try:
        for op, arg, pos in pickletools.genops(data):
            if pos is not None and pos >= at - 40:
                lines.append(f"    {pos:8d} {op.name} {arg!r}"[:100])
            if pos is not None and pos > at + 20:
                break
    except Exception as exc:  # a broken stream is the point of this message
        lines.append(f"    (pickletools stopped: {exc})")
    return "\n".join(lines[:8])


def main():
    binary = generator_binary()
    failures = 0
    for n in SIZES:
        expected = pickle.dumps([(i, f"name_{i}", i * 0.5) for i in range(n)], protocol=4)
        got = subprocess.run([binary, "--dump", str(n)], check=True, capture_output=True).stdout
        if got == expected:
            frames = sum(1 for op, _, _ in pickletools.genops(expected) if op.name == "FRAME")
            print(f"N={n}: identical ({len(got)} bytes, {frames} FRAME opcodes)")
            continue
        failures += 1
        at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        print(f"N={n}: DIFFERENT at byte {at} (generator {len(got)} bytes, CPython {len(expected)} bytes)")
        print("  CPython:\n" + context(expected, at))
        print("  generator:\n" + context(got, at))
    if "--full" in sys.argv:
        n = 3_500_000
        expected = pickle.dumps([(i, f"name_{i}", i * 0.5) for i in range(n)], protocol=4)
        got = subprocess.run([binary, "--dump", str(n)], check=True, capture_output=True).stdout
        same = got == expected
        failures += not same
        print(f"N={n}: {'identical' if same else 'DIFFERENT'} ({len(got)} vs {len(expected)} bytes)")
    print(f"python {sys.version.split()[0]}, pickle.HIGHEST_PROTOCOL={pickle.HIGHEST_PROTOCOL}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

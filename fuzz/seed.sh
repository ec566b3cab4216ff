#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ with the project's pickle fixtures and the shared conformance
# corpus. Safe to run again: files are stored under their content hash, so nothing duplicates.
# Folders that do not exist (yet) are skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
sources=(
  "$root/tests/fixtures/pickle"
  "$root/tests/fixtures/containers"
  "$root/tests/fixtures/gguf"
  "$root/tests/fixtures/safetensors"
  "$root/tests/fixtures/joblib"
  "$root/tests/fixtures/onnx"
  "$root/tests/fixtures/tensorflow"
  "$root/tests/fixtures/keras"
  "$root/tests/fixtures/hdf5"
  "$root/tests/fixtures/bypasses"
  "$root/tests/fixtures/realworld"
  "$root/tests/fixtures/fuzz-regressions"
  "$root/../shared/conformance"
)
targets=(pickle scanner zip tar gzip npy joblib safetensors gguf gguf_template protobuf keras_config hdf5)
# Inputs larger than this are left out: libFuzzer's -max_len would cut them anyway and they slow
# every round of the fuzzer.
max_bytes=$((1024 * 1024))

for t in "${targets[@]}"; do mkdir -p "$here/corpus/$t"; done
count=0
for src in "${sources[@]}"; do
  [ -d "$src" ] || { echo "seed.sh: $src not found, skipped" >&2; continue; }
  while IFS= read -r -d '' f; do
    size=$(stat -c %s "$f")
    [ "$size" -gt 0 ] && [ "$size" -le "$max_bytes" ] || continue
    case "$f" in */LICENSE | *.md | *.tsv | *.py | *.txt | */.gitattributes) continue ;; esac
    hash=$(sha1sum "$f" | cut -c1-40)
    magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
    # safetensors has no magic: its header length, then `{` at offset 8.
    brace=$(head -c 9 "$f" | tail -c +9 | od -An -tx1 | tr -d ' \n')
    for t in "${targets[@]}"; do
      case "$t" in
        pickle)
          [ -e "$here/corpus/$t/$hash" ] || cp "$f" "$here/corpus/$t/$hash" ;;
        *)
          # Format targets get the files of their format; the scanner target gets everything.
          # All but the pickle target read 4 header bytes (chunk sizes) before the file.
          case "$t:$magic" in
            scanner:* | gguf:47475546* | zip:504b* | tar:* | gzip:1f8b* | gzip:78* | npy:934e* | joblib:80* | protobuf:08* | hdf5:89484446*) ;;
            # The template target takes template text: the real templates and nothing else.
            gguf_template:*) case "$f" in *.jinja) ;; *) continue ;; esac ;;
            # JSON texts (`{`, `[`, whitespace, a UTF-16 byte-order mark).
            keras_config:7b* | keras_config:5b* | keras_config:20* | keras_config:0a* | keras_config:fffe*) ;;
            safetensors:*) [ "$brace" = 7b ] || continue ;;
            *) continue ;;
          esac
          [ -e "$here/corpus/$t/$hash" ] || { printf '\x07\x01\x40\xff' | cat - "$f" >"$here/corpus/$t/$hash"; } ;;
      esac
    done
    count=$((count + 1))
  done < <(find "$src" -type f -print0)
done
echo "seed.sh: $count seed files into $here/corpus/ ($(ls "$here/corpus/pickle" | wc -l) unique)"

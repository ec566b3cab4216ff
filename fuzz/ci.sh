#!/usr/bin/env bash
# CI fuzzing: builds both fuzz targets, replays the saved regression inputs, then fuzzes each
# target for FUZZ_SECONDS (default 30) from a corpus seeded with the project's fixtures.
# Exits non-zero on any crash, failed assertion, timeout (>10 s per input) or OOM (>2 GiB).
#
# Works on the stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags that
# cargo-fuzz passes (sanitizer, coverage instrumentation). See fuzz/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-30}"
export RUSTC_BOOTSTRAP=1
export RUST_BACKTRACE=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "ci.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

# -a: debug assertions, so integer overflow panics too. Release optimisation is the default.
build_flags=(-a)
cargo fuzz build "${build_flags[@]}"

# Per-target -max_len: the scanner target feeds every input byte by byte as well, so it gets
# smaller inputs to keep its executions per second up.
declare -A max_len=([pickle]=65536 [scanner]=8192 [zip]=16384 [tar]=16384 [gzip]=16384 [npy]=8192 [joblib]=8192 [safetensors]=8192 [gguf]=16384 [gguf_template]=8192 [protobuf]=16384 [keras_config]=16384 [hdf5]=16384)
# A fixed seed keeps the CI smoke run repeatable; longer runs by hand use random seeds.
common=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -seed=1)

./seed.sh
mkdir -p artifacts
passed=0
failed=0
# Why each failed target failed, printed again at the very end: CI logs are often read from the
# tail, and the libFuzzer output of thirteen targets pushes the first failure far out of view.
summary=()

# Names the failure in $2 (a libFuzzer log) and, for inputs small enough, prints the input itself
# base64-encoded, so a failure seen only on another machine can be replayed here.
describe_failure() {
  local target="$1" log="$2" artifact
  summary+=("== $target ==")
  while IFS= read -r line; do summary+=("$line"); done \
    < <(grep -E -A4 'panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|SUMMARY:' "$log" | cut -c1-400 | head -n 24)
  artifact="$(grep -oE '(crash|timeout|oom|leak|slow-unit)-[0-9a-f]+' "$log" | tail -n 1 || true)"
  if [ -n "$artifact" ] && [ -f "artifacts/$target/$artifact" ]; then
    summary+=("input artifacts/$target/$artifact ($(wc -c <"artifacts/$target/$artifact") bytes), base64:")
    while IFS= read -r line; do summary+=("$line"); done < <(head -c 24576 "artifacts/$target/$artifact" | base64 -w 900)
  fi
}
for target in pickle scanner zip tar gzip npy joblib safetensors gguf gguf_template protobuf keras_config hdf5; do
  # Inputs that once failed: tests/fixtures/fuzz-regressions/<target>-*.bin.
  shopt -s nullglob
  regressions=(../tests/fixtures/fuzz-regressions/"$target"-*.bin)
  shopt -u nullglob
  ok=1
  # One run per file, so that every failing regression is named, not only the first.
  for input in ${regressions[@]+"${regressions[@]}"}; do
    if cargo fuzz run "${build_flags[@]}" "$target" "$input" -- "${common[@]}" >"artifacts/replay.log" 2>&1; then
      echo "ci.sh: $target: regression $(basename "$input") passes"
    else
      ok=0
      echo "ci.sh: $target: regression $(basename "$input") FAILS" >&2
      summary+=("regression $(basename "$input") fails")
      describe_failure "$target" "artifacts/replay.log"
    fi
  done
  if [ "$ok" = 1 ]; then
    echo "ci.sh: $target: fuzzing for ${seconds}s"
    status=0
    cargo fuzz run "${build_flags[@]}" "$target" -- "${common[@]}" \
      -max_total_time="$seconds" -max_len="${max_len[$target]}" 2>&1 | tee "artifacts/run.log" || status=$?
    if [ "$status" != 0 ]; then
      ok=0
      describe_failure "$target" "artifacts/run.log"
    fi
  fi
  if [ "$ok" = 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "ci.sh: $target FAILED; the failing input is under fuzz/artifacts/$target/" >&2
  fi
done
if [ "$failed" != 0 ]; then
  printf '%s\n' "ci.sh: what failed:" "${summary[@]}" >&2
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]

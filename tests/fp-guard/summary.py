#!/usr/bin/env python3
"""Summarise a `modelsieve scan --format json` report of the false-positive guard corpus.

    python3 tests/fp-guard/summary.py REPORT.json [KNOWN.tsv]

Prints files per format with their verdicts, the findings per rule and severity, and every file
with a finding of medium or above. Such a finding is accepted only when a row of KNOWN.tsv
(fnmatch path, rule, reason) covers it; exits 1 when one is not covered (a false positive to
fix) or when a known row no longer matches anything (stale).
"""

from __future__ import annotations

import collections
import fnmatch
import json
import sys
from pathlib import Path

SEVERE = {"medium", "high", "critical"}


def load_known(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, rule, reason = line.split("\t", 2)
            rows.append((pattern, rule, reason))
    return rows


def main() -> int:
    report = json.loads(Path(sys.argv[1]).read_text())
    known = load_known(Path(sys.argv[2])) if len(sys.argv) > 2 else []
    files = report["files"]
    root = "target/fp-guard/"

    per_format: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for f in files:
        per_format[f["format"]][f["verdict"]] += 1
    print(f"{'format':<16}{'files':>7}{'clean':>7}{'suspicious':>12}{'dangerous':>11}")
    total = collections.Counter()
    for fmt in sorted(per_format, key=lambda k: -sum(per_format[k].values())):
        c = per_format[fmt]
        n = sum(c.values())
        total.update(c)
        print(f"{fmt:<16}{n:>7}{c['clean']:>7}{c['suspicious']:>12}{c['dangerous']:>11}")
    print(f"{'total':<16}{sum(total.values()):>7}{total['clean']:>7}{total['suspicious']:>12}{total['dangerous']:>11}")

    print("\nfindings by rule:")
    rules = collections.Counter((x["severity"], x["rule"]) for f in files for x in f["findings"])
    order = ["critical", "high", "medium", "low", "info"]
    for (sev, rule), n in sorted(rules.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        print(f"  {n:>5}  {sev:<8} {rule}")

    used = set()
    unexplained = []
    for f in files:
        rel = f["path"].split(root, 1)[-1]
        for x in f["findings"]:
            if x["severity"] not in SEVERE:
                continue
            match = next((k for k in known if fnmatch.fnmatchcase(rel, k[0]) and k[1] == x["rule"]), None)
            if match:
                used.add(match)
            else:
                unexplained.append(f"  {rel}: {x['severity']} {x['rule']}: {x['message']}")
    not_clean = sum(1 for f in files if f["verdict"] != "clean")
    print(f"\n{not_clean} file(s) not clean; every finding of medium or above:")
    for k in known:
        n = sum(
            1 for f in files for x in f["findings"]
            if x["severity"] in SEVERE and x["rule"] == k[1]
            and fnmatch.fnmatchcase(f["path"].split(root, 1)[-1], k[0])
        )
        if n:
            print(f"  {n:>4} x {k[1]:<22} {k[0]}\n         true finding: {k[2]}")
    stale = [k for k in known if k not in used]
    if unexplained:
        print(f"\n{len(unexplained)} finding(s) of medium or above that known.tsv does not explain (false positives to fix):")
        print("\n".join(unexplained))
    if stale:
        print("\nknown.tsv rows that match nothing any more (remove them):")
        for k in stale:
            print(f"  {k[0]}\t{k[1]}")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())

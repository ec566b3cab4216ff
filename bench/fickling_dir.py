#!/usr/bin/env python3
"""Runs fickling's `--check-safety` logic on every file under a folder, in one process.

fickling's CLI takes one file per invocation; this applies the same steps as
`fickling --check-safety FILE` (StackedPickle.load, then analysis.check_safety on each pickle)
to each file, so that a folder is timed without 150 interpreter start-ups. Prints one JSON
object: counts of likely-safe, unsafe and unparseable files.
"""
import json
import os
import sys

from fickling import fickle
from fickling.analysis import Severity, check_safety


def check(path):
    try:
        with open(path, "rb") as f:
            stacked = fickle.StackedPickle.load(f, fail_on_decode_error=False)
        for pickled in stacked:
            if check_safety(pickled).severity > Severity.LIKELY_SAFE:
                return "unsafe"
        return "likely_safe"
    except Exception:  # fickling's CLI exits 2 on any parse failure
        return "error"


def main():
    counts = {"likely_safe": 0, "unsafe": 0, "error": 0}
    for top in sys.argv[1:]:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                counts[check(os.path.join(dirpath, name))] += 1
    print(json.dumps(counts))
    return 1 if counts["unsafe"] else 0


if __name__ == "__main__":
    sys.exit(main())

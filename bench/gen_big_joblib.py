#!/usr/bin/env python3
"""Writes a ~100 MB joblib file of a scikit-learn tree ensemble, for the speed comparison.

    gen_big_joblib.py OUT [--mb 100]

A RandomForestClassifier (fixed seed, no depth limit) on synthetic data from
make_classification, grown tree by tree (warm_start) until joblib.dump's uncompressed output
reaches the target size. Needs scikit-learn and joblib (pinned in bench/compare.sh to the
versions of tests/fixtures/requirements.txt).
"""
import argparse
import os

import joblib
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=100)
    args = ap.parse_args()
    x, y = make_classification(n_samples=20000, n_features=20, n_informative=10, random_state=0)
    model = RandomForestClassifier(n_estimators=10, random_state=0, warm_start=True, n_jobs=1)
    tmp = args.out + ".tmp"
    while True:
        model.fit(x, y)
        joblib.dump(model, tmp)
        size = os.path.getsize(tmp)
        if size >= args.mb * 1e6:
            break
        # Grow in proportion to what is still missing (at least 5 trees).
        per_tree = size / model.n_estimators
        model.n_estimators += max(5, int((args.mb * 1e6 - size) / per_tree) + 1)
    os.rename(tmp, args.out)
    print(f"{args.out}: {size / 1e6:.1f} MB, {model.n_estimators} trees")


if __name__ == "__main__":
    main()

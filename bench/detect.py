#!/usr/bin/env python3
"""Detection matrix: every tool, default and strictest mode, on every labelled file.

Called by bench/compare.sh (or by hand):

    detect.py --venv DIR --modelsieve BIN --conformance DIR --fixtures DIR --out DETECTION.md
              [--summary summary.md] [--jobs N]

Inputs and their labels:
- `<conformance>/manifest.tsv`: malicious, benign, invalid (the peers' own expectations).
- `<fixtures>/expected.tsv`: dangerous -> malicious, clean -> benign, suspicious (corrupt,
  truncated or over-limit files that a scanner must not call clean without comment).

Each tool is run the way its documentation says, and its verdict on a file is one of
`flagged`, `passed` or `error` (errored, could not read, or skipped the file):
- modelsieve: one run per file, `scan --format json`; exit 1 = a finding at or above
  `--fail-on` (default `medium`; strict mode `--fail-on low`), 0 = none, else error.
- picklescan: one run per file, `-p FILE` (strict mode adds `--strict`, which promotes
  "suspicious" globals to dangerous). Exit 1 = infected, 0 = clean, 2 = scan error; a file with
  "Scanned files: 0" was not read, nor one with a "could not parse" WARNING (exit 0). Infected files count as flagged even when exit is 2.
- modelscan: one run per file, `-r json -o REPORT`; exit 0 no issues, 1 issues, 2 errors,
  3 no supported file. Issues in the report count as flagged even when exit is 2 (errors win
  the exit code). modelscan has no stricter mode: every severity already counts.
- fickling: one run per file, `--check-safety`; exit 0 likely safe, 1 unsafe, 2 parse error.
  fickling has no stricter mode: any severity above LIKELY_SAFE already makes it exit 1.
- modelaudit: one run per folder (its start-up is ~4 s), `scan --no-cache --format json`
  (strict mode adds `--strict`); a file is flagged when an issue of severity warning or
  critical is located in it (the exit code is 1 exactly when such an issue exists), an error
  when it is not among the scanned assets or an issue reports a scan error, else passed.
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

ENV = dict(os.environ, PROMPTFOO_DISABLE_TELEMETRY="1", NO_ANALYTICS="1", DO_NOT_TRACK="1",
           NO_COLOR="1", TERM="dumb")
TIMEOUT = 300


def run(argv, cwd=None):
    """Runs argv; returns (rc or None on timeout, stdout, stderr)."""
    try:
        p = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True, errors="replace",
                           timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return None, "", f"timeout after {TIMEOUT} s"


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1][:160] if lines else ""


# ---------------------------------------------------------------- per-file tools

def modelsieve(binary, strict):
    def check(path):
        argv = [binary, "scan", "--format", "json"] + (["--fail-on", "low"] if strict else []) + [path]
        rc, out, err = run(argv)
        try:
            doc = json.loads(out)
            f = doc["files"][0]
            sev = sorted({x["severity"] for x in f["findings"]})
            detail = f"{f['verdict']} ({', '.join(sev) or 'no findings'})"
        except (ValueError, KeyError, IndexError):
            return "error", f"exit {rc}: {last_line(err)}"
        if rc == 1:
            return "flagged", detail
        if rc == 0:
            return "passed", detail
        return "error", f"exit {rc}: {last_line(err)}"
    return check


def picklescan(venv_bin, strict):
    def check(path):
        rc, out, err = run([os.path.join(venv_bin, "picklescan")] + (["--strict"] if strict else []) + ["-p", path])
        text = out + err
        def num(label):
            m = re.search(label + r":\s*(\d+)", text)
            return int(m.group(1)) if m else 0
        scanned, infected = num("Scanned files"), num("Infected files")
        detail = f"exit {rc}; {num('Dangerous globals')} dangerous, {num('Suspicious globals')} suspicious globals"
        if rc is None:
            return "error", "timeout"
        if infected:
            return "flagged", detail
        if rc == 2 or rc not in (0, 1):
            return "error", f"exit {rc}: {last_line(text)}"
        if scanned == 0:
            return "error", "not scanned (Scanned files: 0)"
        if "could not parse" in text:
            # picklescan logs a WARNING, counts the file as scanned and exits 0.
            return "error", "could not parse as pickle (exit 0, WARNING)"
        return "passed", detail
    return check


def modelscan(venv_bin, strict):
    def check(path):
        with tempfile.TemporaryDirectory() as d:
            report = os.path.join(d, "r.json")
            rc, out, err = run([os.path.join(venv_bin, "modelscan"), "-p", path, "-r", "json", "-o", report])
            try:
                doc = json.load(open(report))
            except (OSError, ValueError):
                doc = None
        if rc is None:
            return "error", "timeout"
        if doc is None:
            return "error", f"exit {rc}, no report: {last_line(out + err)}"
        issues = doc.get("issues", [])
        errors = doc.get("errors", [])
        if issues:
            sev = sorted({i.get("severity", "?") for i in issues})
            return "flagged", f"exit {rc}; {len(issues)} issues ({', '.join(sev)})"
        if errors:
            return "error", f"exit {rc}: {errors[0].get('description', '')[:120]}"
        if rc == 3 or not doc.get("summary", {}).get("scanned", {}).get("total_scanned"):
            return "error", f"exit {rc}: not scanned (unsupported or skipped)"
        return ("passed", f"exit {rc}") if rc == 0 else ("error", f"exit {rc}")
    return check


def fickling(venv_bin, strict):
    def check(path):
        rc, out, err = run([os.path.join(venv_bin, "fickling"), "--check-safety", "--json-output", os.devnull, path])
        if rc == 1:
            return "flagged", "exit 1 (unsafe)" + (" resource limits exceeded" if "resource limits" in err else "")
        if rc == 0:
            return "passed", "exit 0 (likely safe)"
        return "error", f"exit {rc}: {last_line(err)}"
    return check


# ---------------------------------------------------------------- modelaudit, per folder

def modelaudit_folder(venv_bin, roots, files, strict):
    """Runs modelaudit once per root; returns {path: (outcome, detail)} for `files`."""
    result = {}
    for root in roots:
        mine = [f for f in files if f.startswith(root.rstrip("/") + "/")]
        if not mine:
            continue
        argv = [os.path.join(venv_bin, "modelaudit"), "scan", "--no-cache", "--format", "json"]
        argv += (["--strict"] if strict else []) + [root]
        print(f"   modelaudit{' --strict' if strict else ''} on {root} ({len(mine)} files)", file=sys.stderr)
        try:
            p = subprocess.run(argv, env=ENV, capture_output=True, text=True, errors="replace", timeout=3600)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired:
            rc, out = None, ""
        try:
            doc = json.loads(out[out.index("{"):])
        except ValueError:
            for f in mine:
                result[f] = ("error", f"folder run exit {rc}: no JSON")
            continue
        assets = {a.get("path") for a in doc.get("assets", [])}
        by_file = {f: [] for f in mine}
        # Longest path first, so that "a.pkl" does not take the issues of "a.pkl.bak".
        ordered = sorted(mine, key=len, reverse=True)
        for issue in doc.get("issues", []):
            loc = issue.get("location") or ""
            for f in ordered:
                if loc == f or loc.startswith(f + " ") or loc.startswith(f + ":") or loc.startswith(f + "/"):
                    by_file[f].append(issue)
                    break
        for f in mine:
            issues = by_file[f]
            bad = [i for i in issues if i.get("severity") in ("critical", "warning")]
            errs = [i for i in issues if re.search(r"\berror\b|failed to|could not|unable to", i.get("message", ""), re.I)
                    and i.get("severity") in ("critical", "warning", "info")]
            if bad:
                sev = sorted({i["severity"] for i in bad})
                result[f] = ("flagged", f"{len(bad)} issues ({', '.join(sev)}): {bad[0].get('message', '')[:100]}")
            elif f not in assets and not any(a and a.startswith(f + ":") for a in assets):
                result[f] = ("error", "not among the scanned assets (skipped)")
            elif errs:
                result[f] = ("error", errs[0].get("message", "")[:120])
            else:
                result[f] = ("passed", f"{len(issues)} info/debug issues" if issues else "no issues")
    return result


# ---------------------------------------------------------------- inputs

def load_rows(conformance, fixtures):
    rows = []  # (abs path, label, class)
    with open(os.path.join(conformance, "manifest.tsv")) as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and parts[0]:
                rows.append((os.path.join(conformance, parts[0]), "conformance/" + parts[0], parts[1]))
    mapping = {"dangerous": "malicious", "clean": "benign", "suspicious": "suspicious"}
    with open(os.path.join(fixtures, "expected.tsv")) as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and parts[0]:
                rows.append((os.path.join(fixtures, parts[0]), "fixtures/" + parts[0], mapping.get(parts[1], parts[1])))
    return [r for r in rows if os.path.exists(r[0])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", required=True)
    ap.add_argument("--modelsieve", required=True, help="path to the modelsieve binary")
    ap.add_argument("--modelsieve-version", default="?")
    ap.add_argument("--conformance", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--out", required=True, help="full Markdown report")
    ap.add_argument("--summary", help="Markdown file for the summary table only")
    ap.add_argument("--raw", help="JSON file with every outcome")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--only", help="regular expression: keep only files whose label matches (for trying out)")
    args = ap.parse_args()

    conformance = os.path.realpath(args.conformance)
    fixtures = os.path.realpath(args.fixtures)
    venv_bin = os.path.join(os.path.abspath(args.venv), "bin")
    rows = load_rows(conformance, fixtures)
    if args.only:
        rows = [r for r in rows if re.search(args.only, r[1])]
    files = [r[0] for r in rows]

    def version(pkg):
        p = subprocess.run([os.path.join(venv_bin, "python"), "-c",
                            f"from importlib import metadata; print(metadata.version({pkg!r}))"],
                           capture_output=True, text=True)
        return p.stdout.strip() or "?"

    # (tool, mode, version, per-file checker or None for modelaudit)
    tools = [("modelsieve", "default", args.modelsieve_version, modelsieve(args.modelsieve, False)),
             ("modelsieve", "strict (--fail-on low)", args.modelsieve_version, modelsieve(args.modelsieve, True))]
    for name, fn, modes in (("picklescan", picklescan, ["default", "strict (--strict)"]),
                            ("modelscan", modelscan, ["default (no stricter mode)"]),
                            ("fickling", fickling, ["--check-safety (no stricter mode)"]),
                            ("modelaudit", None, ["default", "strict (--strict)"])):
        if name in args.skip or not os.path.exists(os.path.join(venv_bin, name)):
            continue
        v = version(name)
        for mode in modes:
            tools.append((name, mode, v, fn(venv_bin, mode.startswith("strict")) if fn else None))

    outcomes = {}  # (tool, mode) -> {path: (outcome, detail)}
    for name, mode, _, check in tools:
        print(f"== {name} {mode} on {len(files)} files", file=sys.stderr)
        if check is None:
            outcomes[(name, mode)] = modelaudit_folder(venv_bin, [conformance, fixtures], files, mode.startswith("strict"))
            continue
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            outcomes[(name, mode)] = dict(zip(files, pool.map(check, files)))

    if args.raw:
        with open(args.raw, "w") as f:
            json.dump({f"{n} | {m}": {label: list(outcomes[(n, m)][path]) for path, label, _ in rows}
                       for n, m, _, _ in tools}, f, indent=0)

    classes = ["malicious", "benign", "invalid", "suspicious"]
    count = {c: sum(1 for r in rows if r[2] == c) for c in classes}

    def cell(n, m, cls, want):
        return sum(1 for p, _, c in rows if c == cls and outcomes[(n, m)][p][0] == want)

    lines = []
    lines.append(f"Inputs: {count['malicious']} malicious, {count['benign']} benign, {count['invalid']} invalid "
                 f"(conformance corpus), {count['suspicious']} corrupt/over-limit fixtures "
                 f"('suspicious' in expected.tsv). Each cell: files. 'errors' = the tool errored on, could not "
                 f"read or skipped the file.\n")
    lines.append("| tool | version | mode | malicious flagged | malicious missed (passed) | malicious errors "
                 "| benign passed | benign flagged (false positives) | benign errors "
                 "| invalid/corrupt flagged | …errors | …passed silently |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, m, v, _ in tools:
        mal = count["malicious"]
        ben = count["benign"]
        bad = count["invalid"] + count["suspicious"]
        inv = lambda w: cell(n, m, "invalid", w) + cell(n, m, "suspicious", w)
        lines.append(f"| {n} | {v} | {m} | {cell(n, m, 'malicious', 'flagged')}/{mal} | {cell(n, m, 'malicious', 'passed')} "
                     f"| {cell(n, m, 'malicious', 'error')} | {cell(n, m, 'benign', 'passed')}/{ben} "
                     f"| {cell(n, m, 'benign', 'flagged')} | {cell(n, m, 'benign', 'error')} "
                     f"| {inv('flagged')}/{bad} | {inv('error')} | {inv('passed')} |")
    summary = "\n".join(lines) + "\n"

    # Goal check: every file some peer flags, modelsieve (default mode) flags too, unless it is benign.
    ms = outcomes[("modelsieve", "default")]
    peer_keys = [(n, m) for n, m, _, _ in tools if n != "modelsieve"]
    missed = [(label, cls, [f"{n} {m.split()[0]}" for n, m in peer_keys if outcomes[(n, m)][p][0] == "flagged"])
              for p, label, cls in rows
              if ms[p][0] != "flagged" and cls != "benign"
              and any(outcomes[k][p][0] == "flagged" for k in peer_keys)]
    fp = [label for p, label, cls in rows if cls == "benign" and ms[p][0] == "flagged"]
    goal = (f"\nGoal 'flags everything any peer flags, no false positive' (modelsieve default mode, "
            f"non-benign files): {'MET' if not missed and not fp else 'NOT MET'}: {len(missed)} non-benign files "
            f"flagged by some peer (any mode) but not by modelsieve; {len(fp)} benign files flagged by modelsieve.\n")
    summary += goal

    # Disagreements: default modes, files where at least one tool flags and one does not.
    default_keys = [(n, m) for n, m, _, _ in tools if not m.startswith("strict")]
    short = {"flagged": "F", "passed": "·", "error": "E"}
    dis = []
    for p, label, cls in rows:
        o = [outcomes[k][p][0] for k in default_keys]
        if "flagged" in o and any(x != "flagged" for x in o):
            dis.append((label, cls, o))

    with open(args.out, "w") as f:
        f.write("# Detection comparison\n\n")
        f.write("Generated by `bench/compare.sh` (bench/detect.py); do not edit by hand.\n\n")
        f.write(summary)
        if missed:
            f.write("\nFiles a peer flags and modelsieve (default) does not:\n\n")
            for label, cls, who in missed:
                f.write(f"- `{label}` ({cls}): {ms[os.path.join(conformance if label.startswith('conformance/') else fixtures, label.split('/', 1)[1])][1]}; flagged by {', '.join(who)}\n")
        if fp:
            f.write("\nBenign files modelsieve flags:\n\n" + "".join(f"- `{l}`\n" for l in fp))
        f.write(f"\n## Disagreements ({len(dis)} files, default modes)\n\n")
        f.write("F = flagged, · = passed, E = error / not read / skipped.\n\n")
        f.write("| file | expected | " + " | ".join(n for n, _ in default_keys) + " |\n")
        f.write("|---|---|" + "---|" * len(default_keys) + "\n")
        for label, cls, o in dis:
            f.write(f"| `{label}` | {cls} | " + " | ".join(short[x] for x in o) + " |\n")
        f.write("\n## Every outcome\n\n")
        f.write("| file | expected | " + " | ".join(f"{n} {m.split()[0]}" for n, m, _, _ in tools) + " |\n")
        f.write("|---|---|" + "---|" * len(tools) + "\n")
        for p, label, cls in rows:
            f.write(f"| `{label}` | {cls} | " + " | ".join(short[outcomes[(n, m)][p][0]] for n, m, _, _ in tools) + " |\n")
    if args.summary:
        with open(args.summary, "w") as f:
            f.write(summary)
    print(summary)


if __name__ == "__main__":
    sys.exit(main())

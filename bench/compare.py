#!/usr/bin/env python3
"""Times modelsieve and its peers on the same inputs; writes a Markdown table.

Called by bench/compare.sh, which prepares the venv, the binaries and the inputs:

    compare.py --venv DIR --modelsieve CMD --work DIR --out RESULTS.md INPUT...

Each INPUT is `label=path` (a file or a folder). For every tool and input the script runs the
tool once with its output kept (verdict, peak RSS), then times it: with hyperfine when it is
on PATH, otherwise with its own loop of subprocess runs. Wall time is the mean over the timed
runs; MB/s is the input's total size divided by it.

Each row gives the median wall time with the spread (min–max) of the timed runs, the peak RSS of
the whole process tree's largest process (GNU time), the bytes read where the tool reports them
(modelsieve and its WASM package: `bytes_read`; modelaudit: `bytes_scanned`), and the ratio of the
tool's median to modelsieve's on the same input in the same run. Inputs whose label starts with
`goal:` get a line saying whether modelsieve is at least 50x faster than the fastest peer.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = int(os.environ.get("COMPARE_TIMEOUT", "600"))  # seconds for one run of one tool on one input
ENV = dict(
    os.environ,
    # modelaudit (promptfoo) telemetry; the machine has no network anyway.
    PROMPTFOO_DISABLE_TELEMETRY="1",
    NO_ANALYTICS="1",
    DO_NOT_TRACK="1",
    NO_COLOR="1",
    TERM="dumb",
)


def size_of(path):
    if os.path.isfile(path):
        return os.path.getsize(path), 1
    total = files = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            total += os.path.getsize(os.path.join(dirpath, name))
            files += 1
    return total, files


def venv_version(venv, package):
    out = subprocess.run(
        [os.path.join(venv, "bin", "python"), "-c",
         f"from importlib import metadata; print(metadata.version({package!r}))"],
        capture_output=True, text=True, env=ENV,
    )
    return out.stdout.strip() or "?"


# ---------------------------------------------------------------- verdicts, one parser per tool

def modelsieve_verdict(rc, out, err, is_dir):
    try:
        doc = json.loads(out)
    except ValueError:
        return f"error (exit {rc}): {err.strip()[:80]}"
    verdicts = [f["verdict"] for f in doc["files"]]
    if not is_dir:
        return verdicts[0] if verdicts else "no file"
    return ", ".join(f"{verdicts.count(v)} {v}" for v in ("dangerous", "suspicious", "clean")) + f" ({len(verdicts)} files)"


def picklescan_verdict(rc, out, err, is_dir):
    text = out + err
    def num(label):
        m = re.search(label + r":\s*(\d+)", text)
        return int(m.group(1)) if m else 0
    scanned, infected = num("Scanned files"), num("Infected files")
    dangerous, suspicious = num("Dangerous globals"), num("Suspicious globals")
    # picklescan prints an uncaught exception's traceback on standard output.
    if "Traceback" in text:
        last = text.strip().splitlines()[-1]
        return f"aborted: {last[:100]}"
    if is_dir:
        return f"{infected} infected of {scanned} scanned ({dangerous} dangerous, {suspicious} suspicious globals)"
    if rc == 2 or "ERROR" in err and not scanned:
        return "error"
    if infected:
        return f"dangerous ({dangerous} dangerous globals)"
    return f"clean ({suspicious} suspicious globals)" if suspicious else "clean"


def modelscan_verdict(rc, out, err, is_dir, report):
    try:
        doc = json.load(open(report))
    except (OSError, ValueError):
        return f"error (exit {rc}): {(err or out).strip().splitlines()[-1:] }"
    summary = doc.get("summary", {})
    sev = summary.get("total_issues_by_severity", {})
    scanned = summary.get("scanned", {}).get("total_scanned", 0)
    errors = len(doc.get("errors", []))
    skipped = summary.get("skipped", {}).get("total_skipped", 0)
    issues = ", ".join(f"{n} {k.lower()}" for k, n in sev.items() if n) or "no issues"
    if is_dir:
        files = {i.get("source") for i in doc.get("issues", [])}
        return f"{len(files)} files flagged ({issues}); {scanned} scanned, {skipped} skipped, {errors} errors"
    if errors and not scanned:
        return "error"
    return issues if sev and any(sev.values()) else ("clean" if scanned else "not scanned")


def fickling_verdict(rc, out, err, is_dir):
    if is_dir:
        try:
            c = json.loads(out.strip().splitlines()[-1])
            return f"{c['unsafe']} unsafe, {c['likely_safe']} likely safe, {c['error']} parse errors"
        except (ValueError, IndexError, KeyError):
            return f"error (exit {rc})"
    verdict = {0: "likely safe", 1: "unsafe", 2: "parse error"}.get(rc, f"exit {rc}")
    if "resource limits exceeded" in err:
        verdict += " (resource limits exceeded)"
    return verdict


def modelaudit_verdict(rc, out, err, is_dir):
    try:
        doc = json.loads(out[out.index("{"):])
    except ValueError:
        return f"error (exit {rc})"
    issues = doc.get("issues", [])
    counts = {}
    for i in issues:
        counts[i.get("severity", "?")] = counts.get(i.get("severity", "?"), 0) + 1
    summary = ", ".join(f"{counts[s]} {s}" for s in ("critical", "warning", "info", "debug") if s in counts)
    if is_dir:
        files = {re.split(r" \(", i.get("location") or "")[0].split(":")[0] for i in issues
                 if i.get("severity") in ("critical", "warning")}
        return f"{len(files)} files flagged; issues: {summary or 'none'}; {doc.get('files_scanned', '?')} scanned"
    worst = next((s for s in ("critical", "warning") if s in counts), None)
    verdict = worst or ("error" if rc == 2 else "clean")
    return f"{verdict} ({summary})" if summary else verdict


# ---------------------------------------------------------------- running

def run_once(argv, cwd):
    """Runs argv once; returns (rc, stdout, stderr, seconds, peak RSS in MiB or None).

    The peak RSS comes from GNU time (/usr/bin/time) when it is installed.
    """
    rss_file = tempfile.NamedTemporaryFile("r", suffix=".rss")
    wrapped = (["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *argv]
               if os.path.exists("/usr/bin/time") else argv)
    start = time.perf_counter()
    # Its own process group, so that a timeout stops the tool too and not only GNU time: a tool
    # left running would keep the pipes open and this script waiting for it.
    proc = subprocess.Popen(wrapped, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err, time.perf_counter() - start, None
    elapsed = time.perf_counter() - start
    try:
        rss = int(rss_file.read().strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        rss = None
    rss_file.close()
    return proc.returncode, out, err, elapsed, rss


def time_runs(name, argv, cwd, runs, warmup):
    """Median, min and max of the wall time over `runs` runs."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        with tempfile.NamedTemporaryFile("r", suffix=".json") as f:
            cmd = [hyperfine, "-N", "-i", "--style", "basic", "--runs", str(runs), "--warmup", str(warmup),
                   "--export-json", f.name, "--command-name", name,
                   " ".join(shlex.quote(a) for a in ["timeout", str(TIMEOUT), *argv])]
            subprocess.run(cmd, cwd=cwd, env=ENV, stdout=sys.stderr, check=True)
            result = json.load(f)["results"][0]
            return result["median"], (result["min"], result["max"]), "hyperfine"
    times = []
    for i in range(warmup + runs):
        rc, _, _, elapsed, _ = run_once(argv, cwd)
        if rc is None:
            return None, None, "timeout"
        if i >= warmup:
            times.append(elapsed)
    return statistics.median(times), (min(times), max(times)), "python loop"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", required=True)
    ap.add_argument("--modelsieve", required=True, help="command prefix, e.g. 'target/release/modelsieve scan --format json'")
    ap.add_argument("--modelsieve-version", default="?")
    ap.add_argument("--wasm", help="command prefix for the WASM package, e.g. 'node bench/wasm-scan.mjs'")
    ap.add_argument("--work", required=True, help="working directory for the tools' side files")
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per tool and input (3 for inputs over 50 MB)")
    ap.add_argument("--skip", action="append", default=[], help="tool to leave out")
    ap.add_argument("--note", action="append", default=[], help="line added under the table")
    ap.add_argument("--note-file", action="append", default=[], help="Markdown appended after the notes")
    ap.add_argument("--cache", help="JSON file of earlier measurements to reuse (see main)")
    ap.add_argument("--remeasure", action="append", default=[], help="tool@label to measure again")
    ap.add_argument("inputs", nargs="+", help="label=path")
    args = ap.parse_args()

    venv_bin = os.path.join(os.path.abspath(args.venv), "bin")
    os.makedirs(args.work, exist_ok=True)
    work = os.path.abspath(args.work)
    report = os.path.join(work, "modelscan-report.json")

    def has(tool):
        return os.path.exists(os.path.join(venv_bin, tool)) and tool not in args.skip

    tools = [("modelsieve", args.modelsieve_version,
              lambda p, d: shlex.split(args.modelsieve) + [p],
              lambda rc, o, e, d, p: modelsieve_verdict(rc, o, e, d))]
    if args.wasm and "modelsieve-wasm" not in args.skip:
        tools.append(("modelsieve-wasm", args.modelsieve_version + " (WASM, Node " + node_version() + ")",
                      lambda p, d: shlex.split(args.wasm) + [p],
                      lambda rc, o, e, d, p: modelsieve_verdict(rc, o, e, d)))
    if has("picklescan"):
        tools.append(("picklescan", venv_version(args.venv, "picklescan"),
                      lambda p, d: [os.path.join(venv_bin, "picklescan"), "-p", p],
                      lambda rc, o, e, d, p: picklescan_verdict(rc, o, e, d)))
    if has("modelscan"):
        tools.append(("modelscan", venv_version(args.venv, "modelscan"),
                      lambda p, d: [os.path.join(venv_bin, "modelscan"), "-p", p, "-r", "json", "-o", report],
                      lambda rc, o, e, d, p: modelscan_verdict(rc, o, e, d, report)))
    if has("fickling"):
        tools.append(("fickling", venv_version(args.venv, "fickling"),
                      lambda p, d: ([os.path.join(venv_bin, "python"), os.path.join(HERE, "fickling_dir.py"), p] if d
                                    else [os.path.join(venv_bin, "fickling"), "--check-safety", "--json-output",
                                          os.devnull, p]),
                      lambda rc, o, e, d, p: fickling_verdict(rc, o, e, d)))
    if has("modelaudit"):
        tools.append(("modelaudit", venv_version(args.venv, "modelaudit"),
                      lambda p, d: [os.path.join(venv_bin, "modelaudit"), "scan", "--no-cache", "--format", "json", p],
                      lambda rc, o, e, d, p: modelaudit_verdict(rc, o, e, d)))

    rows = []
    timer_used = set()
    # Measurements already taken (bench/compare.sh keeps them in the work folder): a row is
    # measured again only when its input changed or --remeasure names it, and its verdict is
    # parsed again from the saved output, so a fix to a parser needs no new hour of runs.
    cache = {}
    if args.cache and os.path.exists(args.cache):
        with open(args.cache) as f:
            cache = json.load(f)

    def save_cache():
        if args.cache:
            with open(args.cache + ".tmp", "w") as f:
                json.dump(cache, f)
            os.replace(args.cache + ".tmp", args.cache)

    for spec in args.inputs:
        label, path = spec.split("=", 1)
        path = os.path.abspath(path)
        if not os.path.exists(path):
            print(f"compare.py: {path} missing, skipped", file=sys.stderr)
            continue
        total, files = size_of(path)
        is_dir = os.path.isdir(path)
        runs = 3 if total > 50e6 else args.runs
        for name, version, argv_for, verdict_of in tools:
            if name in args.skip or f"{name}@{label}" in args.skip:
                continue
            argv = argv_for(path, is_dir)
            key = f"{name}@{label}"
            saved = cache.get(key)
            if saved and saved["version"] == version and saved["size"] == total and key not in args.remeasure:
                print(f"== {key}: measured before ({args.cache})", file=sys.stderr)
            else:
                if os.path.exists(report):
                    os.remove(report)
                print(f"== {name} on {label}: {' '.join(argv)}", file=sys.stderr)
                rc, out, err, first, rss = run_once(argv, work)
                saved = {"version": version, "size": total, "rc": rc, "out": out, "err": err,
                         "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                         "report": open(report).read() if os.path.exists(report) else None,
                         "rss": rss, "mean": None, "sd": None, "n": None, "how": None}
                if rc is not None:
                    # A run of over a minute is timed once: that first run is the measurement.
                    if first > 60:
                        saved.update(n=1, mean=first, sd=(first, first), how="single run (over 60 s)")
                    else:
                        mean, sd, how = time_runs(name, argv, work, runs, 0 if first > 5 else 1)
                        saved.update(n=runs, mean=mean, sd=sd, how=how)
                cache[key] = saved
                save_cache()
            if saved["rc"] is None:
                rows.append((name, version, label, total, files, None, None, f"timed out after {TIMEOUT} s", None, None,
                             None, saved.get("when", "?")))
                continue
            if saved["report"] is not None:
                with open(report, "w") as f:
                    f.write(saved["report"])
            if saved.get("out") is None:  # imported from an earlier report: verdict as written then
                verdict, read = saved["verdict"], saved.get("read")
            else:
                verdict = verdict_of(saved["rc"], saved["out"], saved["err"], is_dir, path)
                read = bytes_read(name, saved["out"])
            timer_used.add(saved["how"])
            rows.append((name, version, label, total, files, saved["mean"], saved["sd"], verdict, saved["rss"],
                         saved["n"], read, saved.get("when", "?")))
            print(f"   {verdict}; {saved['mean']:.3f} s" if saved["mean"] else f"   {verdict}", file=sys.stderr)

    with open(args.out, "w") as f:
        f.write("# Peer comparison\n\n")
        f.write("Generated by `bench/compare.sh`; do not edit by hand. ")
        f.write(f"Machine: {os.cpu_count()} CPUs, {platform_line()}. Timer: {', '.join(sorted(timer_used))}; ")
        f.write("wall time is the median of the timed runs [min–max], whole process including interpreter start-up; "
                "ratio = tool median / modelsieve median on the same input. Rows are reused from earlier runs on this machine "
                "while tool version and input are unchanged (`measured` says when each was taken; REMEASURE, FRESH).\n\n")
        f.write("| tool | version | input | size | wall time | ratio | MB/s | peak RSS | bytes read | verdict | measured |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|\n")
        base = {r[2]: r[5] for r in rows if r[0] == "modelsieve" and r[5]}
        for name, version, label, total, files, mean, sd, verdict, rss, n, read, when in rows:
            size = f"{total / 1e6:.1f} MB" + (f" in {files} files" if files > 1 else "")
            wall = f"{mean:.3f} s [{sd[0]:.3f}–{sd[1]:.3f}] (n={n})" if mean else "—"
            ratio = f"{mean / base[label]:.1f}×" if mean and base.get(label) else ("> " + f"{TIMEOUT / base[label]:.0f}×" if base.get(label) and "timed out" in verdict else "—")
            mbps = (f"{total / 1e6 / mean:.1f}" if total / 1e6 / mean >= 10 else f"{total / 1e6 / mean:.2f}") if mean else "—"
            rss_s = f"{rss:.0f} MiB" if rss else "—"
            read_s = f"{read / 1e6:.1f} MB" if read is not None else "—"
            f.write(f"| {name} | {version} | {label.removeprefix('goal:')} | {size} | {wall} | {ratio} | {mbps} | {rss_s} | {read_s} | {verdict.replace('|', '/')} | {when} |\n")
        f.write("\n")
        peers = ("picklescan", "modelscan", "fickling", "modelaudit")
        for label in dict.fromkeys(r[2] for r in rows if r[2].startswith("goal:")):
            ms = base.get(label)
            # A peer that aborted or errored did not do the job; its time is no yardstick.
            finished = [r for r in rows if r[2] == label and r[0] in peers]
            failed = [r[0] for r in finished if re.match(r"aborted|error", r[7])]
            peer = [(r[5] if r[5] else TIMEOUT, r[0]) for r in finished if r[0] not in failed]
            if not ms or not peer:
                continue
            fastest, who = min(peer)
            ok = fastest / ms >= 50
            left_out = f" ({', '.join(failed)} aborted and is left out)" if failed else ""
            f.write(f"- Goal, {label.removeprefix('goal:')}: at least 50× faster than the fastest peer ({who}): "
                    f"{fastest / ms:.0f}× — {'met' if ok else '**NOT MET**'}{left_out}.\n")
        for note in args.note:
            f.write(f"- {note}\n")
        for path in args.note_file:
            f.write("\n## Detection (full matrix and disagreements: bench/DETECTION.md)\n\n" + open(path).read())
    print(open(args.out).read())


def bytes_read(name, out):
    """Bytes the tool says it read, when it says so."""
    try:
        doc = json.loads(out[out.index("{"):])
    except ValueError:
        return None
    if name.startswith("modelsieve"):
        return sum(f.get("bytes_read", 0) for f in doc.get("files", []))
    if name == "modelaudit":
        return doc.get("bytes_scanned")
    return None


def node_version():
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def platform_line():
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        model = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        mem = 0
    return f"{model}, {mem:.0f} GiB RAM, {os.uname().sysname} {os.uname().release}, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    sys.exit(main())

"""The machine's load while the bench runs, and the results: rows,
checks, errors and notes, written to bench/results.json and bench/results.md."""

import datetime
import json
import os
import platform
import statistics
import subprocess
import threading
import time
from pathlib import Path

from .settings import ALL_FIGURES, BENCH, ONLY, ROOT, RUNS, SCALE_WORKERS, elapsed, log, runs


class Load(threading.Thread):
    """Samples the machine's load every 15 s: the 1-minute load average and
    the containers running besides the bench's own (another sandbox cluster,
    a test run), which share the same CPUs and skew the figures."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples = []

    def run(self):
        while True:
            names = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True,
                                   check=False).stdout.split()
            self.samples.append((time.monotonic(), os.getloadavg()[0],
                                 sorted(n for n in names if not n.startswith("bench-"))))
            time.sleep(15)

    def window(self, t0, t1):
        inside = [s for s in self.samples if t0 <= s[0] <= t1] or self.samples[-1:]
        if not inside:
            return {}
        return {"load_avg_1m_mean": round(statistics.mean(s[1] for s in inside), 1),
                "load_avg_1m_max": round(max(s[1] for s in inside), 1),
                "other_containers": sorted({n for s in inside for n in s[2]})}


LOAD = Load()


def summary(samples):
    if not samples:
        return {"median": None, "min": None, "max": None, "runs": 0}
    return {"median": round(statistics.median(samples), 2), "min": round(min(samples), 2),
            "max": round(max(samples), 2), "runs": len(samples)}


def row(figure, what, samples, target=None, unit="s", notes=()):
    return {"figure": figure, "what": what, "samples": [round(s, 2) for s in samples], "unit": unit,
            "target": target, **summary(samples), "notes": list(notes)}


def met(r):
    if r["target"] is None or r["median"] is None:
        return "–"
    if r["median"] <= r["target"]:
        return "yes"
    over = r["median"] - r["target"]
    if r["unit"] == "×":
        return f"no (+{over:.2f}×)"
    return f"no (+{over:.0f} s, {100 * over / r['target']:.0f}% over)"


def fmt(value, unit):
    if value is None:
        return "–"
    return f"{value:.2f}×" if unit == "×" else f"{value:.1f} s"


def machine():
    def out(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), 0)
    commit = out("git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD")
    dirty = out("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no")
    return {
        "nproc": os.cpu_count(),
        "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), platform.processor()),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "docker": out("docker", "version", "--format", "{{.Server.Version}}"),
        "ansible": (out("ansible", "--version").splitlines() or [""])[0],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
    }


class Results:
    def __init__(self):
        self.data = {"machine": machine(),
                     "settings": {"BENCH_RUNS": RUNS, "runs": {f: runs(f) for f in sorted(ONLY)},
                                  "BENCH_SCALE_WORKERS": SCALE_WORKERS},
                     "rows": [], "checks": [], "errors": [], "notes": [], "info": {}}
        self.keep_other_figures()

    def keep_other_figures(self):
        """With BENCH_ONLY, the other figures stay as the last results.json
        has them (rows, checks, errors, minutes and load), with a note of the
        run they come from; a full run replaces everything."""
        path = BENCH / "results.json"
        if ONLY >= ALL_FIGURES or not path.exists():
            return
        old = json.loads(path.read_text())
        others = sorted({r["figure"] for r in old.get("rows", [])} - ONLY)
        if not others:
            return
        for key in ("rows", "checks", "errors"):
            self.data[key] = [x for x in old.get(key, []) if x["figure"] not in ONLY]
        for key in ("figure_minutes", "load"):
            self.data["info"][key] = {f: v for f, v in old.get("info", {}).get(key, {}).items()
                                      if f != "setup" and int(f) not in ONLY}
        self.data["settings"]["runs"] = {**{int(f): n for f, n in old["settings"]["runs"].items()
                                            if int(f) not in ONLY}, **self.data["settings"]["runs"]}
        self.data["settings"]["runs"] = dict(sorted(self.data["settings"]["runs"].items()))
        m = old["machine"]
        self.data["notes"] = [n for n in old.get("notes", []) if n.split(" ", 1)[0] in {f"{f}." for f in others}] + [
            f"figures {', '.join(map(str, others))} are from the run of {m['date']} (commit {m['commit']}, "
            f"BENCH_RUNS={old['settings']['BENCH_RUNS']}); figures {', '.join(map(str, sorted(ONLY)))} from this "
            f"one (BENCH_ONLY)"]

    def add(self, r):
        self.data["rows"].append(r)
        self.write()

    def check(self, figure, what, ok, detail=""):
        self.data["checks"].append({"figure": figure, "what": what, "ok": ok, "detail": detail})
        self.write()

    def error(self, figure, text):
        log(f"figure {figure} FAILED: {text}")
        self.data["errors"].append({"figure": figure, "error": text})
        self.write()

    def timed(self, figure, t0):
        """How long a figure took and how loaded the machine was meanwhile."""
        self.data["info"].setdefault("figure_minutes", {})[str(figure)] = round((time.monotonic() - t0) / 60, 1)
        self.data["info"].setdefault("load", {})[str(figure)] = LOAD.window(t0, time.monotonic())
        self.write()

    def note(self, text):
        self.data["notes"].append(text)

    def write(self, final=False):
        self.data["elapsed_s"] = round(elapsed(), 1)
        self.data["complete"] = final
        (BENCH / "results.json").write_text(json.dumps(self.data, indent=2, ensure_ascii=False) + "\n")
        (BENCH / "results.md").write_text(self.markdown())

    def markdown(self):
        d, m = self.data, self.data["machine"]
        lines = [
            "# Benchmark results",
            "",
            "Written by `make bench` (`python -m bench`); every sample is in results.json.",
            "What each figure means and how to run it: [README.md](README.md).",
            "",
            f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, kernel {m['kernel']}, "
            f"Docker {m['docker']}",
            f"- date: {m['date']}, commit {m['commit']}",
            f"- runs: BENCH_RUNS={d['settings']['BENCH_RUNS']}; per figure: "
            + ", ".join(f"{f}: {n}" for f, n in d["settings"]["runs"].items()),
            f"- the whole bench took {d['elapsed_s'] / 60:.1f} min" + ("" if d["complete"] else " so far (not finished)"),
            "",
            "| figure | target | median | min | max | runs | met? |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        rows = sorted(d["rows"], key=lambda r: r["figure"])  # in figure order, not the order they ran in
        for r in rows:
            target = "–" if r["target"] is None else (
                f"≤ {r['target']:g}×" if r["unit"] == "×" else f"≤ {r['target']:g} s")
            lines.append(f"| {r['figure']}. {r['what']} | {target} | {fmt(r['median'], r['unit'])} | "
                         f"{fmt(r['min'], r['unit'])} | {fmt(r['max'], r['unit'])} | {r['runs']} | {met(r)} |")
        lines += ["", "`met?` compares the median with the target.", ""]
        if d["checks"]:
            lines += ["## Checks", ""]
            for c in d["checks"]:
                lines.append(f"- {c['figure']}. {c['what']}: **{'yes' if c['ok'] else 'no'}**"
                             + (f" ({c['detail']})" if c["detail"] else ""))
            lines.append("")
        load = d["info"].get("load", {})
        if load:
            lines += ["## Time and machine load per figure", "",
                      "| figure | minutes | load average (1 min), mean / max | other containers running |",
                      "| --- | --- | --- | --- |"]
            for figure, w in load.items():
                others = w.get("other_containers", [])
                lines.append(f"| {figure} | {d['info'].get('figure_minutes', {}).get(figure, '–')} | "
                             f"{w.get('load_avg_1m_mean', '–')} / {w.get('load_avg_1m_max', '–')} | "
                             f"{', '.join(others) if others else 'none'} |")
            lines += ["", f"The machine has {m['nproc']} CPUs; other containers (another sandbox cluster, a test "
                          "run) share them and make the figures slower.", ""]
        notes = [f"{r['figure']}. {r['what']}: {n}" for r in rows for n in r["notes"]] + d["notes"]
        if notes:
            lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
        if d["errors"]:
            lines += ["## Errors", ""]
            for e in d["errors"]:
                lines += [f"- figure {e['figure']}:", "", "```", e["error"].strip(), "```", ""]
        return "\n".join(lines)

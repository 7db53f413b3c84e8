#!/usr/bin/env python3
"""make bench: how long the common operations take on sandbox hosts.

Builds its own sandbox cluster (bench-master, bench-worker-1/2, on the docker
network airflow-bench, the master's api-server on 127.0.0.1:18080), measures
the figures below, each BENCH_RUNS times (default 3), writes
bench/results.json (every sample) and bench/results.md (the table), and
removes its hosts. See bench/README.md.

  1. no-op site.yml on 1 master + 2 workers (and every host changed=0)
  2. add a worker: site.yml with one more host -> its first task
  3. deploy-dags.yml with one new DAG file -> a triggered run of it succeeded
  4. fresh converge (stacks down, the tree removed, images and packages
     kept) against the floor, `docker compose up --wait` of the same stacks
  5. 100 short mapped tasks on 1 worker and on 2 workers
  6. converge of new hosts (images cached on the controller) with 1, 3 and
     6 workers

Environment: BENCH_RUNS (repetitions of each figure, default 3; fewer for
the slow ones, see CAPS), BENCH_RUNS_<figure> (one figure's repetitions),
BENCH_SCALE_WORKERS (figure 6's worker counts, default "1 3 6"),
BENCH_ONLY (figure numbers to run, e.g. "1 3"; default all),
BENCH_KEEP=1 (leave the hosts running at the end), BENCH_UI_PORT (18080).
"""

import concurrent.futures
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CACHE = ROOT / ".cache" / "bench"
LOGS = CACHE / "logs"
DAGS = CACHE / "dags"
NETWORK = os.environ.get("BENCH_NETWORK", "airflow-bench")
UI_PORT = int(os.environ.get("BENCH_UI_PORT", "18080"))
UI = f"https://127.0.0.1:{UI_PORT}"

# The e2e helpers (REST API client, shell runner, PLAY RECAP parser) read
# which cluster they talk to from the environment when imported: point them
# at the bench cluster's api-server. Their inventory is not used here.
os.environ["E2E_UI"] = UI
os.environ["E2E_INVENTORY"] = "inventory/sandbox"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from cluster import (BASE, PLAYBOOK, SANDBOX, Api, address, changed_tasks, only_the_firewall, recap, sh,  # noqa: E402
                     trust_the_sandbox_ca)

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# Figures that take minutes a run get fewer runs by default, so that the
# whole bench stays within about an hour on 2 CPUs; BENCH_RUNS_<figure>
# sets a figure's count outright.
CAPS = {2: 1, 4: 1, 6: 1}


def runs(figure):
    own = os.environ.get(f"BENCH_RUNS_{figure}")
    return int(own) if own else min(RUNS, CAPS.get(figure, RUNS))


def cut_note(figure):
    n = runs(figure)
    if n >= RUNS:
        return []
    return [f"{n} run{'s' if n > 1 else ''} instead of BENCH_RUNS={RUNS} (BENCH_RUNS_{figure}): "
            f"this figure takes minutes a run, and the bench is kept within about an hour"]


SCALE_WORKERS = [int(n) for n in os.environ.get("BENCH_SCALE_WORKERS", "1 3 6").split()]
ONLY = {int(n) for n in os.environ.get("BENCH_ONLY", "").split()} or {1, 2, 3, 4, 5, 6}
KEEP = os.environ.get("BENCH_KEEP") == "1"

MASTER = "bench-master"
WORKERS = ["bench-worker-1", "bench-worker-2"]
NEW_WORKER = "bench-worker-3"
ALL_NAMES = [MASTER] + [f"bench-worker-{n}" for n in range(1, 7)]
PLAYBOOK_TIMEOUT = 2400

START = time.monotonic()
# ansible-playbook from the project's venv, also when bench.py is run directly
VENV_PATH = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


def log(msg):
    print(f"[bench {time.monotonic() - START:7.1f}s] {msg}", flush=True)


def elapsed():
    return time.monotonic() - START


# ---------------------------------------------------------------- hosts


def sandbox(*args, publish=""):
    env = dict(os.environ, SANDBOX_NETWORK=NETWORK, SANDBOX_PUBLISH=publish)
    return sh(str(SANDBOX), *args, env=env)


def create_hosts(names):
    """Start sandbox hosts (the master with its api-server published)."""
    if MASTER in names:
        sandbox("create", MASTER, publish=f"127.0.0.1:{UI_PORT}:8080")
        sandbox("tls", MASTER)  # its certificate (the sandbox inventory points at it)
        trust_the_sandbox_ca()
    rest = [n for n in names if n != MASTER]
    if rest:
        sandbox("create", *rest)


def destroy_hosts(names=None):
    sandbox("destroy", *(names or ALL_NAMES))


def on_host(host, script, check=True, timeout=None):
    return sh("docker", "exec", host, "sh", "-c", script, check=check, timeout=timeout)


def up_wait(host, compose):
    """`compose up --wait` on a host, once more if a container gave up while
    the master's services were still starting; returns what was retried."""
    first = on_host(host, f"{compose} up -d --wait --wait-timeout 900", check=False)
    if first.returncode == 0:
        return ""
    on_host(host, f"{compose} up -d --wait --wait-timeout 900")
    return f"{host}: `up --wait` failed once ({(first.stderr or first.stdout).strip().splitlines()[-1:]}), then passed"


def parallel(fn, items):
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(fn, items))


# ------------------------------------------------------------ inventory


def inventory(workers):
    """A copy of the sandbox inventory for bench-master and these workers,
    shipping the bench's DAG folder (dags/ plus bench/dags/)."""
    inv = CACHE / f"inventory-{len(workers)}w-{'-'.join(w.rsplit('-', 1)[1] for w in workers)}"
    if inv.exists():
        shutil.rmtree(inv)
    shutil.copytree(ROOT / "inventory" / "sandbox", inv)
    (inv / "host_vars" / "sandbox-master.yml").rename(inv / "host_vars" / f"{MASTER}.yml")
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    groups = hosts["all"]["children"]["airflow"]["children"]
    groups["airflow_master"]["hosts"] = {MASTER: None}
    groups["airflow_workers"]["hosts"] = {w: None for w in workers}
    (inv / "hosts.yml").write_text("---\n" + yaml.safe_dump(hosts, sort_keys=False))
    (inv / "group_vars" / "all" / "bench.yml").write_text(
        f"---\n# make bench: dags/ plus bench/dags/\nairflow_dags_src: {DAGS}\n")
    return inv


def stage_dags():
    if DAGS.exists():
        shutil.rmtree(DAGS)
    shutil.copytree(ROOT / "dags", DAGS, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in sorted((BENCH / "dags").glob("*.py")):
        shutil.copy(f, DAGS / f.name)


# ------------------------------------------------------------ playbooks


class Playbook:
    """An ansible-playbook run in the background, its output in a log file."""

    def __init__(self, inv, name, tag, extra=()):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{len(list(LOGS.iterdir())):03d}-{tag}.log"
        self.out = open(self.log_path, "w")
        cmd = [*PLAYBOOK, "-i", str(inv), *extra, f"playbooks/{name}"]
        self.out.write(" ".join(cmd) + "\n\n")
        self.out.flush()
        log(f"ansible-playbook {name} ({inv.name}), log {self.log_path.relative_to(ROOT)}")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.out, stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", PATH=VENV_PATH,
                                              # task times at the end, after the PLAY RECAP
                                              ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks"))
        self.seconds = self.ended = None
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        """Notes when the playbook ends (its duration), while the bench polls."""
        self.proc.wait()
        self.ended = time.monotonic()

    def running(self):
        return self.ended is None

    def wait(self):
        while self.ended is None and time.monotonic() - self.t0 < PLAYBOOK_TIMEOUT:
            time.sleep(0.2)
        if self.ended is None:
            self.proc.kill()
            while self.ended is None:
                time.sleep(0.2)
        self.seconds = self.ended - self.t0
        self.out.close()
        self.output = self.log_path.read_text()
        self.recap = recap(self.output)
        log(f"  took {self.seconds:.1f}s, rc {self.proc.returncode}, recap "
            + ", ".join(f"{h} changed={s.get('changed')} failed={s.get('failed')}" for h, s in self.recap.items()))
        return self

    def check(self):
        if self.proc.returncode != 0:
            raise RuntimeError(f"{self.log_path.name} failed (rc {self.proc.returncode}):\n{self.failures()}\n"
                               f"{self.tail(len(self.recap) + 2)}")
        return self

    def failures(self):
        """Each failed task's `fatal:` block (its host, message)."""
        blocks, lines = [], self.output.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("fatal:"):
                block = [line]
                for more in lines[i + 1:i + 12]:
                    if not more.startswith(" "):
                        break
                    block.append(more)
                blocks.append("\n".join(block))
        return "\n".join(blocks)

    def abort(self):
        """Stop a run left behind by a failed measurement."""
        if self.running():
            self.proc.terminate()
            self.proc.wait()

    def slowest(self, count=5):
        """The slowest tasks (profile_tasks' summary): [(seconds, task)]."""
        found = []
        for line in self.output.rsplit("PLAY RECAP", 1)[-1].splitlines():
            m = re.match(r"^(.+?) -{2,} (\d+\.\d+)s$", line.strip())
            if m:
                found.append((float(m.group(2)), m.group(1).strip()))
        return sorted(found, reverse=True)[:count]

    def tail(self, lines=25):
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def playbook(inv, name, tag, extra=()):
    return Playbook(inv, name, tag, extra).wait().check()


# ------------------------------------------------------------ the API


def api(timeout=600):
    """A REST API client once the api-server answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Api()
        except Exception:  # connection refused, 5xx while starting
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


def dag_listed(client, dag_id):
    resp = client.session.get(f"{UI}/api/v2/dags/{dag_id}", timeout=30)
    return resp.status_code == 200 and not resp.json().get("is_stale")


def wait_for_dags(client, dag_ids, timeout=600):
    deadline = time.monotonic() + timeout
    missing = list(dag_ids)
    while missing:
        missing = [d for d in missing if not dag_listed(client, d)]
        if missing and time.monotonic() > deadline:
            raise RuntimeError(f"DAGs not listed within {timeout}s: {missing}")
        if missing:
            time.sleep(3)
    for dag_id in dag_ids:
        client("PATCH", f"/dags/{dag_id}", json={"is_paused": False})


def run_state(client, dag_id, run_id):
    return client("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]


def wait_success(client, dag_id, run_id, timeout=900, interval=1.0):
    """Poll a run until it ends; return the monotonic time success was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = run_state(client, dag_id, run_id)
        if state == "success":
            return time.monotonic()
        if state == "failed":
            raise RuntimeError(f"{dag_id} run {run_id} failed")
        time.sleep(interval)
    raise RuntimeError(f"{dag_id} run {run_id} did not end within {timeout}s")


def task_instance(client, dag_id, run_id, task_id):
    """A task instance, or {} while it does not exist yet."""
    resp = client.session.get(f"{UI}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", timeout=30)
    return resp.json() if resp.status_code == 200 else {}


def all_task_instances(client, dag_id, run_id):
    tis, offset = [], 0
    while True:
        page = client("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                      params={"limit": 100, "offset": offset})["task_instances"]
        tis += page
        if len(page) < 100:
            return tis
        offset += 100


# ------------------------------------------------------------ load


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


# ------------------------------------------------------------ results


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
            "Written by `make bench` (bench/bench.py); every sample is in results.json.",
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


# ------------------------------------------------------------ figures


class Bench:
    def __init__(self, results):
        self.results = results
        self.inv = inventory(WORKERS)
        self.client = None
        self.current = None  # a playbook running in the background

    def setup(self):
        """A fresh bench cluster: bench-master and two workers, converged."""
        log("setup: removing leftover bench hosts, creating bench-master, bench-worker-1/2")
        destroy_hosts()
        stage_dags()
        create_hosts([MASTER, *WORKERS])
        pb = playbook(self.inv, "site.yml", "setup-site", ["--flush-cache"])
        self.results.data["info"]["setup_converge_s"] = round(pb.seconds, 1)
        self.results.note(f"setup (not a figure): the first site.yml on new hosts bench-master, bench-worker-1/2 "
                          f"took {pb.seconds:.0f} s (it also builds the Airflow image on the controller when missing)")
        self.ready()

    def ready(self):
        self.client = api()
        wait_for_dags(self.client, ["bench_on_bench_worker_1", "bench_on_bench_worker_3",
                                    "bench_fanout_one_worker", "bench_fanout_two_workers"])

    # 1 ------------------------------------------------------------------
    def noop(self):
        samples, all_zero, detail = [], True, []
        for n in range(runs(1)):
            pb = playbook(self.inv, "site.yml", f"noop-{n + 1}")
            samples.append(pb.seconds)
            slowest = pb.slowest()
            changed = {h: s["changed"] for h, s in pb.recap.items()}
            if any(changed.values()) or set(changed) != {MASTER, *WORKERS}:
                all_zero = False
                detail.append(f"run {n + 1}: {changed}")
        tasks = "; ".join(f"{name} {sec:.0f} s" for sec, name in slowest)
        self.results.add(row(1, "no-op `site.yml`, 1 master + 2 workers", samples, 30,
                             notes=[f"slowest tasks (last run, profile_tasks): {tasks}", *cut_note(1)]))
        self.results.check(1, "no-op site.yml: every host reported changed=0 in every run", all_zero,
                           "; ".join(detail))

    # 2 ------------------------------------------------------------------
    def add_worker(self):
        inv = inventory([*WORKERS, NEW_WORKER])
        dag_id = "bench_on_" + NEW_WORKER.replace("-", "_")
        samples, playbook_s, others_zero, detail = [], [], True, []
        for n in range(runs(2)):
            destroy_hosts([NEW_WORKER])
            create_hosts([NEW_WORKER])  # not timed
            addr = address(NEW_WORKER)
            pb = self.current = Playbook(inv, "site.yml", f"add-worker-{n + 1}")
            run_id, first, ended = None, None, None
            # A run for the new worker's queue is triggered as soon as its
            # stack files are written (its task waits in the queue until the
            # worker takes it); then the task's hostname is watched, until
            # at most 5 minutes after the playbook ended.
            while first is None:
                if not pb.running():
                    if pb.proc.returncode != 0:
                        break
                    ended = ended or time.monotonic()
                    if time.monotonic() - ended > 300:
                        break
                if run_id is None:
                    if on_host(NEW_WORKER, f"test -f {BASE}/compose.yml", check=False).returncode == 0:
                        run_id = self.client.trigger(dag_id)
                        log(f"  triggered {dag_id} {run_id} at {time.monotonic() - pb.t0:.1f}s")
                    else:
                        time.sleep(2)
                    continue
                ti = task_instance(self.client, dag_id, run_id, "where")
                if ti.get("hostname") == addr and ti.get("state") in ("running", "success"):
                    first = time.monotonic() - pb.t0
                    log(f"  first task on {NEW_WORKER} ({addr}) at {first:.1f}s")
                elif ti.get("state") == "failed":
                    raise RuntimeError(f"{dag_id} run {run_id} failed on {ti.get('hostname')}")
                else:
                    time.sleep(1)
            pb.wait().check()
            if first is None:
                raise RuntimeError(f"no task ran on {NEW_WORKER} ({addr}); playbook took {pb.seconds:.0f}s")
            samples.append(first)
            playbook_s.append(pb.seconds)
            # the others' firewall admits the new host; nothing else of theirs may change
            others = {h: t for h, t in changed_tasks(pb.output).items() if h != NEW_WORKER and not only_the_firewall(t)}
            if others:
                others_zero = False
                detail.append(f"run {n + 1}: {others}")
            self.client.wait_run(dag_id, run_id, timeout=300)
        destroy_hosts([NEW_WORKER])
        notes = [f"site.yml itself took {', '.join(f'{s:.0f}' for s in playbook_s)} s; the new host is a fresh "
                 f"sandbox host (Docker and packages installed from the Debian mirror, the Airflow image shipped "
                 f"from the controller); its creation (`sandbox.sh create`) is not timed; for each run it is "
                 f"destroyed and created again",
                 "the run for the new worker's queue is triggered once the new host's compose.yml is written, "
                 "so its task waits in the queue for the worker", *cut_note(2)]
        self.results.add(row(2, "add a worker: `site.yml` start → first task on it", samples, 90, notes=notes))
        self.results.check(2, "add a worker: on the other hosts only the firewall changed (it admits the new host), "
                              "in every run", others_zero,
                           "; ".join(detail))

    # 3 ------------------------------------------------------------------
    def new_dag(self):
        samples, listed_s, playbook_s = [], [], []
        for n in range(runs(3)):
            dag_id = f"bench_new_{int(time.time())}_{n + 1}"
            (DAGS / f"{dag_id}.py").write_text(NEW_DAG.format(dag_id=dag_id))
            pb = self.current = Playbook(self.inv, "deploy-dags.yml", f"new-dag-{n + 1}")
            listed = None
            deadline = time.monotonic() + 900
            while listed is None and time.monotonic() < deadline:
                if dag_listed(self.client, dag_id):
                    listed = time.monotonic()
                    break
                if not pb.running() and pb.proc.returncode != 0:
                    break
                time.sleep(1)
            if listed is None:
                pb.wait().check()
                raise RuntimeError(f"{dag_id} was not listed within 900 s")
            run_id = self.client.trigger(dag_id)
            done = wait_success(self.client, dag_id, run_id)
            pb.wait().check()
            samples.append(done - pb.t0)
            playbook_s.append(pb.seconds)
            listed_s.append(listed - pb.t0)
            log(f"  {dag_id}: listed at {listed - pb.t0:.1f}s, run succeeded at {done - pb.t0:.1f}s, "
                f"playbook {pb.seconds:.1f}s")
        notes = [f"measured until a triggered run of the new DAG succeeded (not just queued); the DAG was listed "
                 f"by the API after {', '.join(f'{s:.0f}' for s in listed_s)} s, the playbook took "
                 f"{', '.join(f'{s:.0f}' for s in playbook_s)} s; the DAG processor looks for new files every 30 s "
                 f"(AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL)", *cut_note(3)]
        self.results.add(row(3, "`deploy-dags.yml` with a new DAG → its run succeeded", samples, 30, notes=notes))

    # 4 ------------------------------------------------------------------
    def fresh_vs_floor(self):
        hosts = [MASTER, *WORKERS]
        compose = f"docker compose --project-directory {BASE} -f {BASE}/compose.yml"
        floors, freshes, ratios, floor_notes = [], [], [], []
        for n in range(runs(4)):
            log(f"figure 4 run {n + 1}: floor (compose down, then up --wait on every host at once)")
            parallel(lambda h: on_host(h, f"{compose} down"), hosts)
            t0 = time.monotonic()
            retries = [r for r in parallel(lambda h: up_wait(h, compose), hosts) if r]
            floor = time.monotonic() - t0
            log(f"  floor {floor:.1f}s")
            if retries:
                floor_notes.append(f"run {n + 1}: {'; '.join(retries)} (timed as one)")
            log(f"figure 4 run {n + 1}: fresh converge (compose down, {BASE} removed)")
            parallel(lambda h: on_host(h, f"{compose} down && rm -rf {BASE}"), hosts)
            pb = playbook(self.inv, "site.yml", f"fresh-{n + 1}")
            floors.append(floor)
            freshes.append(pb.seconds)
            ratios.append(pb.seconds / floor)
            self.ready()
        self.results.add(row(4, "fresh converge: `site.yml`, stacks down and the tree removed, "
                                "images and packages kept", freshes, notes=cut_note(4)))
        self.results.add(row(4, "floor: `docker compose up -d --wait` of the same stacks, hosts in parallel",
                             floors, notes=["after `docker compose down`; every file in place", *floor_notes]))
        self.results.add(row(4, "fresh converge / floor (per run)", ratios, 1.5, unit="×"))

    # 5 ------------------------------------------------------------------
    def fanout(self):
        one, two, spread = [], [], []
        for n in range(runs(5)):
            order = [("bench_fanout_one_worker", one), ("bench_fanout_two_workers", two)]
            for dag_id, samples in (order if n % 2 == 0 else order[::-1]):
                t0 = time.monotonic()
                run_id = self.client.trigger(dag_id)
                done = wait_success(self.client, dag_id, run_id, timeout=1800)
                samples.append(done - t0)
                hosts = {}
                for ti in all_task_instances(self.client, dag_id, run_id):
                    hosts[ti.get("hostname")] = hosts.get(ti.get("hostname"), 0) + 1
                log(f"  {dag_id}: {done - t0:.1f}s, tasks per host {hosts}")
                if dag_id.endswith("two_workers"):
                    spread.append(hosts)
        ratios = [a / b for a, b in zip(one, two)]
        names = {address(h): h for h in WORKERS}
        per_host = "; ".join(", ".join(f"{names.get(h, h)} {c}" for h, c in sorted(s.items(), key=str))
                             for s in spread)
        self.results.add(row(5, "100 short mapped tasks on 1 worker (concurrency 4)", one,
                             notes=["from the trigger to the run's success seen by the API (polled every second)",
                                    *cut_note(5)]))
        self.results.add(row(5, "100 short mapped tasks on 2 workers (concurrency 4 each)", two,
                             notes=[f"tasks per host: {per_host}"]))
        self.results.add(row(5, "1 worker / 2 workers (speed-up)", ratios, unit="×",
                             notes=["both workers share this machine's CPUs: a second worker adds task slots, "
                                    "not CPU"]))

    # 6 ------------------------------------------------------------------
    def scale(self):
        per_count = {}
        for count in SCALE_WORKERS:
            workers = [f"bench-worker-{i}" for i in range(1, count + 1)]
            inv = inventory(workers)
            samples = []
            try:
                for n in range(runs(6)):
                    destroy_hosts()
                    log(f"figure 6: new hosts bench-master + {count} workers (creation not timed)")
                    create_hosts([MASTER, *workers])
                    pb = playbook(inv, "site.yml", f"scale-{count}w-{n + 1}", ["--flush-cache"])
                    samples.append(pb.seconds)
                    client = api()
                    client("GET", "/monitor/health")
            except Exception as exc:  # noqa: BLE001 - recorded in the results
                self.results.error(6, f"{count} workers: {exc}")
            per_count[count] = samples
            self.results.add(row(6, f"converge of new hosts, 1 master + {count} worker{'s' if count > 1 else ''}",
                                 samples))
        counts = [c for c in SCALE_WORKERS if per_count.get(c)]
        if len(counts) >= 2:
            lo, hi = counts[0], counts[-1]
            slope = (statistics.median(per_count[hi]) - statistics.median(per_count[lo])) / (hi - lo)
            if slope > 0:
                self.results.note(f"6. converge grows by about {slope:.0f} s per extra worker host "
                                  f"({lo} → {hi} workers, medians); all hosts share this machine's CPUs, so on "
                                  f"separate hosts the growth would be smaller")
            else:
                self.results.note(f"6. no growth measurable from {lo} to {hi} workers ({slope:.0f} s per extra "
                                  f"worker host, medians): the noise of this machine's load is larger")
        for note in cut_note(6):
            self.results.note(f"6. {note}")


NEW_DAG = '''"""Written by make bench (figure 3): a new DAG file, one short task."""
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     tags=["bench"])
def new_dag():
    @task
    def hello():
        print("hello")

    hello()


new_dag()
'''


def render():
    """Rewrite results.md from results.json (`bench.py --render`)."""
    results = Results.__new__(Results)
    results.data = json.loads((BENCH / "results.json").read_text())
    (BENCH / "results.md").write_text(results.markdown())


def main():
    if sys.argv[1:] == ["--render"]:
        render()
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    if LOGS.exists():
        shutil.rmtree(LOGS)
    results = Results()
    LOAD.start()
    bench = Bench(results)
    steps = [(1, bench.noop), (3, bench.new_dag), (5, bench.fanout), (2, bench.add_worker),
             (4, bench.fresh_vs_floor)]
    try:
        if ONLY & {1, 2, 3, 4, 5}:
            t0 = time.monotonic()
            try:
                bench.setup()
                results.timed("setup", t0)
            except Exception:  # noqa: BLE001
                results.error("setup", traceback.format_exc(limit=3))
                steps = []
            for figure, step in steps:
                if figure not in ONLY:
                    continue
                log(f"figure {figure}")
                t0 = time.monotonic()
                try:
                    step()
                except Exception:  # noqa: BLE001 - recorded; the next figure still runs
                    results.error(figure, traceback.format_exc(limit=3))
                    if bench.current:
                        bench.current.abort()
                results.timed(figure, t0)
        if 6 in ONLY:
            log("figure 6")
            t0 = time.monotonic()
            bench.scale()
            results.timed(6, t0)
    finally:
        if not KEEP:
            destroy_hosts()
        results.write(final=True)
        log(f"done in {elapsed() / 60:.1f} min: bench/results.md, bench/results.json")
    return 1 if results.data["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

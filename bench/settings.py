"""The bench's settings (the environment, BENCH_*), its hosts and folders,
and its log lines."""

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CACHE = ROOT / ".cache" / "bench"
LOGS = CACHE / "logs"
DAGS = CACHE / "dags"
NETWORK = os.environ.get("BENCH_NETWORK", "airflow-bench")
UI_PORT = int(os.environ.get("BENCH_UI_PORT", "18080"))
UI = f"https://127.0.0.1:{UI_PORT}"

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# Figures that take minutes a run get fewer runs by default, so that the
# whole bench stays within about an hour on 2 CPUs; BENCH_RUNS_<figure>
# sets a figure's count outright.
CAPS = {2: 1, 4: 1, 6: 1, 7: 1}


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
ALL_FIGURES = {1, 2, 3, 4, 5, 6, 7}
ONLY = {int(n) for n in os.environ.get("BENCH_ONLY", "").split()} or ALL_FIGURES
KEEP = os.environ.get("BENCH_KEEP") == "1"
# Figures 1, 2 and 4 run under each of these strategies, in this order: before
# (stock Ansible's linear) and after (Mitogen's, what ansible.cfg selects), in
# one bench run; the other figures run under ansible.cfg's.
STRATEGIES = os.environ.get("BENCH_STRATEGIES", "linear mitogen_linear").split()
STRATEGY_NAMES = {"linear": "stock Ansible", "mitogen_linear": "Mitogen"}


def strategy_name(strategy):
    return STRATEGY_NAMES.get(strategy, strategy)


MASTER = "bench-master"
WORKERS = ["bench-worker-1", "bench-worker-2"]
NEW_WORKER = "bench-worker-3"
S3_HOST = "bench-s3"
ALL_NAMES = [MASTER] + [f"bench-worker-{n}" for n in range(1, 7)] + [S3_HOST]
PLAYBOOK_TIMEOUT = 2400

START = time.monotonic()
# ansible-playbook from the project's venv, also when the bench is run outside make
VENV_PATH = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


def log(msg):
    print(f"[bench {time.monotonic() - START:7.1f}s] {msg}", flush=True)


def elapsed():
    return time.monotonic() - START

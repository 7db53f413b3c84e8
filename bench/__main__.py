"""make bench's entry point: python -m bench [--render | --help], from the
repository root (see the package's docstring)."""

import json
import shutil
import sys
import time
import traceback

from . import __doc__ as USAGE
from .figures import Bench
from .hosts import destroy_hosts
from .results import LOAD, Results
from .settings import BENCH, CACHE, KEEP, LOGS, ONLY, elapsed, log


def render():
    """Rewrite results.md from results.json (`python -m bench --render`)."""
    results = Results.__new__(Results)
    results.data = json.loads((BENCH / "results.json").read_text())
    (BENCH / "results.md").write_text(results.markdown())


def main():
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(USAGE.strip())
        return 0
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
             (7, bench.rebuild), (4, bench.fresh_vs_floor)]
    try:
        if ONLY & {1, 2, 3, 4, 5, 7}:
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

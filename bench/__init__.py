"""make bench: how long the common operations take on sandbox hosts.

Builds its own sandbox cluster (bench-master, bench-worker-1/2, on the docker
network airflow-bench, the master's api-server on 127.0.0.1:18080), measures
the figures below, each BENCH_RUNS times (default 3), writes
bench/results.json (every sample) and bench/results.md (the table), and
removes its hosts. See bench/README.md.

  python -m bench            (from the repository root; make bench runs it)
  python -m bench --render   rewrite results.md from results.json
  python -m bench --help     this text

  1. no-op site.yml on 1 master + 2 workers (and every host changed=0)
  2. add a worker: site.yml with one more host -> its first task
  3. deploy-dags.yml with one new DAG file -> a triggered run of it succeeded
  4. fresh converge (stacks down, the tree removed, images and packages
     kept) against the floor, `docker compose up --wait` of the same stacks
  5. 100 short mapped tasks on 1 worker and on 2 workers
  6. converge of new hosts (images cached on the controller) with 1, 3 and
     6 workers
  7. a lost master rebuilt (destroyed with its disk, site.yml, restore from
     the archive): RPO (acknowledged commits lost) and RTO (loss -> a run
     succeeded)

Environment: BENCH_RUNS (repetitions of each figure, default 3; fewer for
the slow ones, see CAPS), BENCH_RUNS_<figure> (one figure's repetitions),
BENCH_SCALE_WORKERS (figure 6's worker counts, default "1 3 6"),
BENCH_ONLY (figure numbers to run, e.g. "1 3"; default all; the others are kept
from the last results.json),
BENCH_KEEP=1 (leave the hosts running at the end), BENCH_UI_PORT (18080),
BENCH_STRATEGIES (the strategies figures 1, 2 and 4 run under, before and
after in one run; default "linear mitogen_linear": stock Ansible, then
Mitogen, which ansible.cfg selects).
"""

# The package: settings.py (the environment, the bench's hosts, logging),
# hosts.py (sandbox hosts, inventories, the DAG folder), playbook.py
# (ansible-playbook runs), client.py (the REST API), results.py (the machine's
# load, results.json and results.md), figures.py (the figures), __main__.py.

import os

from .settings import UI

# The e2e helpers (tests/e2e/cluster: REST API client, shell runner, PLAY
# RECAP parser) read which cluster they talk to from the environment when
# imported (the modules of this package import them after this): point them
# at the bench cluster's api-server. Their inventory is not used here.
os.environ["E2E_UI"] = UI
os.environ["E2E_INVENTORY"] = "inventory/sandbox"

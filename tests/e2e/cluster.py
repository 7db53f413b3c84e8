"""Helpers shared by the end-to-end test modules: the cluster under test
(the sandbox inventory's hosts), a shell runner, PLAY RECAP parsing and a
small Airflow REST API v2 client.

Everything the tests talk to is on this machine: 127.0.0.1 and the sandbox
containers the tests (or make demo) created.
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "tests" / "sandbox" / "sandbox.sh"
# The cluster under test: `make demo`'s by default. E2E_INVENTORY points the
# tests at another sandbox inventory (its hosts.yml names the master and the
# workers); E2E_UI / E2E_FLOWER at its published api-server / Flower.
INVENTORY = os.environ.get("E2E_INVENTORY", "inventory/sandbox")
_GROUPS = yaml.safe_load((ROOT / INVENTORY / "hosts.yml").read_text())["all"]["children"]["airflow"]["children"]
MASTER = next(iter(_GROUPS["airflow_master"]["hosts"]))
WORKERS = list(_GROUPS["airflow_workers"]["hosts"])
HOSTS = [MASTER, *WORKERS]
NEW_WORKER = os.environ.get("E2E_NEW_WORKER", "sandbox-worker-3")
UI = os.environ.get("E2E_UI", f"https://127.0.0.1:{os.environ.get('DEMO_UI_PORT', '8080')}")
FLOWER = os.environ.get("E2E_FLOWER", f"https://127.0.0.1:{os.environ.get('DEMO_FLOWER_PORT', '5555')}")
# The sandbox's throwaway CA (sandbox.sh tls, run by make demo): the tests'
# HTTPS requests trust it besides this machine's own CAs.
CA = ROOT / ".cache" / "tls" / "ca.crt"


def trust_the_sandbox_ca():
    """Make requests trust CA (once it exists) besides the system's CAs."""
    if CA.exists():
        bundle = CA.with_name("bundle.pem")
        bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + CA.read_text())
        os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)


trust_the_sandbox_ca()
# The sandbox base images' tags (inventory/sandbox's SANDBOX_TAG_*), worked
# out once for the session rather than by each playbook run at each use:
# make e2e sets them (the Makefile's SANDBOX_TAGS); this is for pytest run by hand.
for _kind in ("airflow-base", "postgres", "redis"):
    os.environ.setdefault("SANDBOX_TAG_" + _kind.upper().replace("-", "_"),
                          subprocess.run([str(SANDBOX), "image-tag", _kind], check=True, capture_output=True,
                                         text=True).stdout.strip())
ADMIN = ("admin", "sandbox-demo-admin")
# the sandbox's read-only user (airflow_stack_users) and Flower's account
VIEWER = ("viewer", "sandbox-demo-viewer")
FLOWER_AUTH = ("flower", "sandbox-demo-flower")
# The sandbox sets the cluster-wide base directory and UID to values other
# than the defaults, so the tests check that everything follows them.
_SETTINGS = yaml.safe_load((ROOT / INVENTORY / "group_vars" / "all" / "main.yml").read_text())
BASE = _SETTINGS.get("airflow_cluster_base_dir", "/opt/airflow")
UID = _SETTINGS.get("airflow_cluster_uid", 50000)
GID = _SETTINGS.get("airflow_cluster_gid", 50000)
PLAYBOOK = ["ansible-playbook", "--vault-password-file", str(ROOT / "tests/sandbox/demo-vault-password")]
EXPECTED_TOTALS = {"kim": 150, "lee": 80}
# the sandbox vault's demo values: they must never show up in playbook output
DEMO_SECRETS = ["sandbox-demo-api-secret-key", "sandbox-demo-jwt-secret", "sandbox-demo-postgres",
                "sandbox-demo-redis", "sandbox-demo-admin", "sandbox-demo-flower", "sandbox-demo-viewer",
                "sandboxdemoAAAA"]


def sh(*args, check=True, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}")
    return proc


def recap(output):
    """{host: {'ok': n, 'changed': n, ...}} from an ansible-playbook PLAY RECAP."""
    result = {}
    for line in output.rsplit("PLAY RECAP", 1)[-1].splitlines():
        if ":" in line and "ok=" in line:
            host, _, stats = line.partition(":")
            result[host.strip()] = {k: int(v) for k, v in (s.split("=") for s in stats.split())}
    return result


def changed_tasks(output):
    """{host: [task name, ...]}: the tasks (and handlers) that reported a
    change on each host in an ansible-playbook output."""
    result, task = {}, None
    for line in output.splitlines():
        heading = re.match(r"(?:TASK|RUNNING HANDLER) \[(.*)\]", line)
        if heading:
            task = heading.group(1)
            continue
        changed = re.match(r"changed: \[([^\]]+?)(?: -> [^\]]+)?\]", line)
        if changed and task:
            result.setdefault(changed.group(1), []).append(task)
    return result


def only_the_firewall(tasks):
    """Whether these changes (changed_tasks) are the firewall's alone: a host
    joining or leaving the inventory changes what every other host admits."""
    return all("Firewall | " in task for task in tasks)


def address(host):
    """The host's address on the sandbox network: what Airflow records as the
    task instance hostname (the master reaches the worker's log server there)."""
    return sh("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", host).stdout.strip()


class Api:
    def __init__(self):
        resp = requests.post(f"{UI}/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30)
        assert resp.status_code in (200, 201), resp.text
        self.token = resp.json()["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def __call__(self, method, path, **kwargs):
        resp = self.session.request(method, f"{UI}/api/v2{path}", timeout=60, **kwargs)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text[:500]}"
        return resp.json() if resp.content else None

    def trigger(self, dag_id, conf=None):
        """Start a run of dag_id (unpausing it first); return its run id."""
        self("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        return self("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})["dag_run_id"]

    def wait_run(self, dag_id, run_id, timeout=600):
        """Wait for a run to end; return its task instances (fails unless it succeeded)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                assert state == "success", f"{dag_id} run {run_id} ended {state}: {self.task_instances(run_id, dag_id)}"
                return self.task_instances(run_id, dag_id)
            time.sleep(1)
        raise AssertionError(f"{dag_id} run {run_id} did not finish within {timeout}s: {self.task_instances(run_id, dag_id)}")

    def wait_running(self, dag_id, run_id, task_id, timeout=300):
        """Wait until a task instance runs; return it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            ti = self("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
            if ti["state"] == "running":
                return ti
            assert ti["state"] in (None, "scheduled", "queued"), f"{dag_id}.{task_id} is {ti['state']}: {ti}"
            time.sleep(1)
        raise AssertionError(f"{dag_id}.{task_id} did not start running within {timeout}s")

    def wait_for_dag(self, dag_id, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            resp = self.session.get(f"{UI}/api/v2/dags/{dag_id}", timeout=30)
            # a DAG whose file went away stays listed, marked stale, until its file is back
            if resp.status_code == 200 and not resp.json().get("is_stale"):
                return
            time.sleep(2)
        raise AssertionError(f"DAG {dag_id} did not appear within {timeout}s")

    def run_dag(self, dag_id, timeout=600):
        """Trigger one run of dag_id and wait for it to end; return its run id."""
        run = self("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None})
        run_id = run["dag_run_id"]
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                assert state == "success", f"{dag_id} run {run_id} ended {state}: {self.task_instances(run_id, dag_id)}"
                return run_id
            time.sleep(1)
        raise AssertionError(f"{dag_id} run {run_id} did not finish within {timeout}s: {self.task_instances(run_id, dag_id)}")

    def run_etl(self, timeout=600):
        return self.run_dag("etl", timeout)

    def task_instances(self, run_id, dag_id="etl"):
        return self("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def xcom(self, dag_id, run_id, task_id):
        """A task's return value (deserialized; JSON strings decoded)."""
        entry = self("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                     params={"deserialize": "true"})
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value

def copy_of_inventory(tmp_path, source=None):
    """A copy of an inventory (by default the sandbox's) that a test may change."""
    inventory = tmp_path / "inventory"
    shutil.copytree(source or ROOT / INVENTORY, inventory)
    return inventory

def stack_files():
    return {h: sh("docker", "exec", h, "sh", "-c", f"sha256sum {BASE}/.env {BASE}/compose.yml").stdout
            for h in [MASTER, *WORKERS]}

def dag_folders():
    """Each host's DAG folder: where `current` points and which releases it keeps."""
    return {h: sh("docker", "exec", h, "sh", "-c",
                  f"readlink {BASE}/dags/current; ls {BASE}/dags/releases").stdout
            for h in [MASTER, *WORKERS]}

def current_releases():
    return {h: folder.splitlines()[0] for h, folder in dag_folders().items()}

def copy_of_dags(tmp_path):
    dags = tmp_path / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dags



def ready_api(timeout=300):
    """A REST API client once the api-server answers (after a start, a restart
    or a restore), with the etl DAG listed and unpaused."""
    deadline = time.time() + timeout
    while True:
        try:
            client = Api()
            break
        except (requests.ConnectionError, AssertionError):
            if time.time() > deadline:
                raise
            time.sleep(2)
    client.wait_for_dag("etl")
    client("PATCH", "/dags/etl", json={"is_paused": False})
    return client

# DAGs only the tests run (never shipped to production): one `e2e_hold_<queue>`
# DAG per Celery queue whose task holds a slot for `seconds`, or until the
# file /opt/airflow/data/<release> appears on its host (the test lets it go);
# `e2e_retry`, a task with one retry that holds only on its first try; and
# `e2e_import`, which imports a module and returns its version.
PROBE_DAGS = '''
import os
import time

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")
QUEUES = {queues!r}


def hold(seconds, release):
    marker = os.path.join("/opt/airflow/data", release) if release else None
    print(f"holding for up to {{seconds}} s")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (marker and os.path.exists(marker)):
        time.sleep(1)
    print("done holding")


def hold_dag(queue):
    @dag(dag_id="e2e_hold_" + queue.replace("-", "_"), schedule=None, start_date=START, catchup=False,
         max_active_runs=4, params={{"seconds": 30, "release": ""}}, tags=["e2e"])
    def hold_on_queue():
        @task(task_id="hold", queue=queue, retries=0)
        def held(params=None):
            hold(params["seconds"], params["release"])
            return queue

        held()

    return hold_on_queue()


for q in QUEUES:
    hold_dag(q)


@dag(dag_id="e2e_retry", schedule=None, start_date=START, catchup=False, params={{"seconds": 60}}, tags=["e2e"])
def e2e_retry():
    @task(retries=1, retry_delay=pendulum.duration(seconds=5))
    def survive(params=None, ti=None):
        if ti.try_number == 1:
            hold(params["seconds"], "")
        return ti.try_number

    survive()


e2e_retry()


@dag(dag_id="e2e_import", schedule=None, start_date=START, catchup=False, params={{"module": "inflection"}},
     tags=["e2e"])
def e2e_import():
    @task(retries=0)
    def import_it(params=None):
        import importlib
        import importlib.metadata

        importlib.import_module(params["module"])
        return importlib.metadata.version(params["module"])

    import_it()


e2e_import()
'''


def hold_dag_id(queue):
    return "e2e_hold_" + queue.replace("-", "_")


def write_probe_dags(dags_dir):
    """dags/ plus the test-only DAGs, in dags_dir (for airflow_dags_src)."""
    shutil.copytree(ROOT / "dags", dags_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    queues = ["default", "master", *WORKERS, NEW_WORKER]
    (dags_dir / "e2e_probes.py").write_text(PROBE_DAGS.format(queues=queues))
    return dags_dir


def on_host(host, script, check=True):
    """Run a shell script on a sandbox host."""
    return sh("docker", "exec", host, "sh", "-c", script, check=check)


# The stack's ports (the role's defaults; the sandbox keeps them).
_STACK = yaml.safe_load((ROOT / "roles" / "airflow_stack" / "defaults" / "main.yml").read_text())
PORTS = {name: _STACK[f"airflow_stack_{name}_port"] for name in ("postgres", "redis", "api", "flower", "log_server")}
# The ports each host publishes (the master runs Flower and a local worker in the sandbox).
PUBLISHED = {MASTER: sorted(PORTS.values()), **{w: [PORTS["log_server"]] for w in WORKERS}}
_PROBE = ("import socket, sys\n"
          "for t in sys.argv[1:]:\n"
          "    a, p = t.rsplit(':', 1)\n"
          "    try:\n"
          "        socket.create_connection((a, int(p)), timeout=5).close(); r = 'open'\n"
          "    except ConnectionRefusedError: r = 'refused'\n"
          "    except OSError as e: r = type(e).__name__\n"
          "    print(t, r)\n")


def probe(targets, host=None):
    """{"address:port": "open" | "refused" | ...}: TCP connections from a sandbox
    host, or (host None) from a throwaway container on the sandbox network that
    is not in the inventory."""
    targets = [f"{address(h)}:{p}" for h, ports in targets.items() for p in ports]
    if host is None:
        image = sh(str(SANDBOX), "image-tag", "host").stdout.strip()
        cmd = ["docker", "run", "--rm", "--network", os.environ.get("SANDBOX_NETWORK", "airflow-sandbox"), image]
    else:
        cmd = ["docker", "exec", host]
    out = sh(*cmd, "python3", "-c", _PROBE, *targets).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def container_id(host, service):
    return on_host(host, f"docker compose --project-directory {BASE} ps -aq {service}").stdout.strip()


# The nodes that answer a ping over the broker, as one JSON object: the role's
# own script (celery_workers.yml runs it the same way), Celery alone
# (importing Airflow for `celery inspect` costs seconds of CPU).
_CELERY_PING = (ROOT / "roles" / "airflow_stack" / "files" / "celery_ping.py").read_text()


def celery_online(*nodes, timeout=10):
    """Celery node names that answer over the broker (asked from the master).
    Given node names, only those are asked, and it returns as soon as they all
    answer; otherwise every node is, and it waits the whole timeout."""
    proc = sh("docker", "exec", "-i", MASTER, "docker", "compose", "--project-directory", BASE, "exec", "-T",
              "scheduler", "python", "-", str(timeout), *nodes, input=_CELERY_PING, check=False)
    replies = [line for line in proc.stdout.splitlines() if line.startswith("{")]  # past any log lines
    return set(json.loads(replies[-1])) if replies else set()


def wait_until(what, predicate, timeout, interval=2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s")

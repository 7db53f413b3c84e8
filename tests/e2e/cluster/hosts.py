"""Helpers about the sandbox hosts: a script on a host, its address, its
stack's files, DAG folders and containers, TCP probes of the stack's ports,
the Celery nodes online, copies of the inventory and of dags/, and waiting
for a condition."""

import json
import os
import shutil
import time

import yaml

from .settings import BASE, INVENTORY, MASTER, ROOT, SANDBOX, WORKERS
from .shell import sh


def address(host):
    """The host's address on the sandbox network: what Airflow records as the
    task instance hostname (the master reaches the worker's log server there)."""
    return sh("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", host).stdout.strip()


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


def on_host(host, script, check=True, timeout=None):
    """Run a shell script on a sandbox host (timeout: seconds, None = none)."""
    return sh("docker", "exec", host, "sh", "-c", script, check=check, timeout=timeout)


# The stack's ports (the cluster's defaults; the sandbox keeps them).
_CLUSTER = yaml.safe_load((ROOT / "roles" / "airflow_cluster" / "defaults" / "main.yml").read_text())
PORTS = {name: _CLUSTER[f"airflow_cluster_{name}_port"] for name in ("postgres", "broker", "api", "flower", "log_server")}
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

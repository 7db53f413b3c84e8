"""The bench cluster's REST API: a client once the api-server answers, DAGs
listed, runs and task instances."""

import time

from tests.e2e.cluster import Api

from .settings import UI


def api(timeout=600):
    """A REST API client once the api-server answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Api(UI)
        except Exception:  # connection refused, 5xx while starting
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


def wait_for_dags(client, dag_ids, timeout=600):
    deadline = time.monotonic() + timeout
    missing = list(dag_ids)
    while missing:
        missing = [d for d in missing if not client.dag_listed(d)]
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

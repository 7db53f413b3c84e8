"""A small Airflow REST API v2 client (the admin's token), and one that waits
for the api-server to answer."""

import json
import time

import requests

from .settings import ADMIN, ui_url


class Api:
    """A small Airflow REST API v2 client, signed in as the admin, against
    ui (by default E2E_UI's api-server, read when the client is made)."""

    def __init__(self, ui=None):
        self.ui = ui or ui_url()
        resp = requests.post(f"{self.ui}/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30)
        assert resp.status_code in (200, 201), resp.text
        self.token = resp.json()["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def __call__(self, method, path, **kwargs):
        resp = self.session.request(method, f"{self.ui}/api/v2{path}", timeout=60, **kwargs)
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

    def dag_listed(self, dag_id):
        """Whether dag_id is listed and not stale (a DAG whose file went away
        stays listed, marked stale, until its file is back)."""
        resp = self.session.get(f"{self.ui}/api/v2/dags/{dag_id}", timeout=30)
        return resp.status_code == 200 and not resp.json().get("is_stale")

    def wait_for_dag(self, dag_id, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.dag_listed(dag_id):
                return
            time.sleep(2)
        raise AssertionError(f"DAG {dag_id} did not appear within {timeout}s")

    def run_dag(self, dag_id, timeout=600):
        """Trigger one run of dag_id and wait for it to end; return its run id."""
        run_id = self("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None})["dag_run_id"]
        self.wait_run(dag_id, run_id, timeout)
        return run_id

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

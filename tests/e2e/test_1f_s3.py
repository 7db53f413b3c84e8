"""End-to-end test of the cluster's S3 store (after test_1c_dags.py): the
example DAG s3_aws_cli round-trips a file through the bucket with the
worker's AWS CLI v2; its task's log is uploaded to the bucket (remote
logging) and the REST API serves it from there, also once the worker's own
copy is gone; a running task's log still streams from its worker's log
server; the master's S3 log retention runs with the cluster's keys, endpoint,
path style and CA, and keeps recent logs. Expects the sandbox cluster from
`make demo` (make e2e) with its S3 store.

The fixture `s3` (tests/e2e/conftest.py) yields the sandbox's store as an
object with `.client`, a boto3 S3 client signed in with the cluster's keys
and trusting the store's CA, and `.bucket`, the cluster's bucket
(airflow_cluster_s3_bucket).
"""

import json
import time
from urllib.parse import quote

import pytest
import yaml

from cluster import BASE, HOSTS, INVENTORY, MASTER, PORTS, ROOT, WORKERS, address, hold_dag_id, on_host, wait_until

DAG = "s3_aws_cli"
TASK = "round_trip"


def _setting(name):
    """A setting as the sandbox inventory gives it, else the role's default."""
    inventory = yaml.safe_load((ROOT / INVENTORY / "group_vars" / "all" / "main.yml").read_text()) or {}
    defaults = yaml.safe_load((ROOT / "roles" / "airflow_stack" / "defaults" / "main.yml").read_text())
    return inventory.get(name, defaults[name])


PREFIX = str(_setting("airflow_stack_remote_logging_prefix")).strip("/")


def _log_path(run_id, task_id=TASK, try_number=1, dag_id=DAG):
    """The log's path under the logs folder and the logs prefix (Airflow's
    default log_filename_template)."""
    return f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/attempt={try_number}.log"


def _api_log(api, run_id, task_id=TASK, try_number=1, dag_id=DAG):
    """The task's log as the REST API (and the UI) serve it, as text."""
    return json.dumps(api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
                                 f"/logs/{try_number}"))


def _log_object(s3, run_id, task_id=TASK, dag_id=DAG):
    """The key of the task's log in the bucket, once it is there (not empty)."""
    key = f"{PREFIX}/{_log_path(run_id, task_id, dag_id=dag_id)}"
    listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=key).get("Contents") or []
    return key if [o for o in listed if o["Key"] == key and o["Size"] > 0] else None


def _served_by_worker(log):
    """Whether the API asked a worker's log server for it (its URL is a source)."""
    return f":{PORTS['log_server']}/log/" in log or "Log file not found on worker" in log


@pytest.fixture(scope="module")
def aws_cli_run(api):
    """One successful run of s3_aws_cli: (run id, its task instance, its XCom)."""
    api.wait_for_dag(DAG)
    run_id = api.trigger(DAG)
    try:
        ti = {t["task_id"]: t for t in api.wait_run(DAG, run_id, timeout=300)}[TASK]
    finally:
        api("PATCH", f"/dags/{DAG}", json={"is_paused": True})
    return run_id, ti, api.xcom(DAG, run_id, TASK)


def test_the_aws_cli_dag_round_trips_a_file_through_the_bucket(aws_cli_run, s3):
    run_id, ti, result = aws_cli_run
    assert ti["state"] == "success" and ti["try_number"] == 1, ti
    assert result["bucket"] == s3.bucket, result
    assert result["key"].startswith("examples/s3_aws_cli/") and result["bytes"] > 256 * 1024, result
    assert len(result["sha256"]) == 64 and result["awscli"].startswith("aws-cli/2."), result
    # on a worker host, and it deleted what it uploaded
    assert ti["hostname"] in {address(w) for w in WORKERS}, ti
    assert s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=result["key"]).get("KeyCount", 0) == 0


def test_the_finished_tasks_log_is_in_the_bucket(aws_cli_run, s3):
    run_id, _, result = aws_cli_run
    # the worker uploads the log as the task ends, around its final state
    key = wait_until(f"the log of {DAG} run {run_id} in s3://{s3.bucket}/{PREFIX}/", lambda: _log_object(s3, run_id),
                     timeout=60)
    body = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read().decode()
    assert f"deleted s3://{s3.bucket}/{result['key']}" in body, body[-2000:]
    assert "sha256" in body and "matches" in body, body[-2000:]


def test_the_api_serves_the_finished_log_from_the_bucket(api, aws_cli_run, s3):
    run_id, _, result = aws_cli_run
    wait_until("the log in the bucket", lambda: _log_object(s3, run_id), timeout=60)
    log = _api_log(api, run_id)
    # the log's source is the bucket's object, and its content the task's
    assert f"s3://{s3.bucket}/{PREFIX}/{_log_path(run_id)}" in log, log[:3000]
    assert f"deleted s3://{s3.bucket}/{result['key']}" in log, log[:3000]


def test_the_log_is_served_from_the_bucket_once_the_workers_copy_is_gone(api, aws_cli_run, s3):
    run_id, ti, result = aws_cli_run
    wait_until("the log in the bucket", lambda: _log_object(s3, run_id), timeout=60)
    worker = {address(h): h for h in HOSTS}[ti["hostname"]]
    local = f"{BASE}/logs/{_log_path(run_id)}"
    assert on_host(worker, f"test -f '{local}'", check=False).returncode == 0, f"{local} not on {worker}"
    on_host(worker, f"rm -f '{local}'")
    assert on_host(worker, f"test -e '{local}'", check=False).returncode != 0
    log = _api_log(api, run_id)
    assert f"s3://{s3.bucket}/{PREFIX}/{_log_path(run_id)}" in log, log[:3000]
    assert f"deleted s3://{s3.bucket}/{result['key']}" in log, log[:3000]
    # nothing came from the worker: its copy is gone and its log server was not asked
    assert not _served_by_worker(log) and "Could not read served logs" not in log, log[:3000]


def test_a_running_tasks_log_streams_from_its_worker(api, probes, s3):
    """While the task runs, the bucket has nothing yet: the API reads the log
    from the worker's log server; once it has ended, from the bucket."""
    dag_id, release = hold_dag_id(WORKERS[0]), f"s3-log-{int(time.time())}"
    run_id = api.trigger(dag_id, {"seconds": 300, "release": release})

    def running_log():
        log = _api_log(api, run_id, "hold", dag_id=dag_id)
        return log if "holding for up to 300 s" in log else None

    try:
        ti = api.wait_running(dag_id, run_id, "hold")
        log = wait_until("the running task's log", running_log, timeout=60)
        assert f"{ti['hostname']}:{PORTS['log_server']}/log/" in log, log[:3000]
        assert not _log_object(s3, run_id, "hold", dag_id), "the log was in the bucket before the task ended"
    finally:
        on_host(WORKERS[0], f"touch {BASE}/data/{release}", check=False)
        api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})
    api.wait_run(dag_id, run_id, timeout=120)
    wait_until("the held task's log in the bucket", lambda: _log_object(s3, run_id, "hold", dag_id), timeout=60)
    log = _api_log(api, run_id, "hold", dag_id=dag_id)
    assert f"s3://{s3.bucket}/{PREFIX}/{_log_path(run_id, 'hold', dag_id=dag_id)}" in log, log[:3000]
    assert "done holding" in log and not _served_by_worker(log), log[:3000]


def test_the_s3_log_retention_runs_on_the_master_only_and_keeps_recent_logs(aws_cli_run, s3):
    """The master's timer deletes the bucket's logs older than
    airflow_retention_log_days with the AWS CLI v2 (keys from its 0600 file):
    a run succeeds, and the log of the run above, a few minutes old, stays."""
    run_id = aws_cli_run[0]
    key = wait_until("the log in the bucket", lambda: _log_object(s3, run_id), timeout=60)
    for host in HOSTS:
        enabled = on_host(host, "systemctl is-enabled airflow-s3-log-retention.timer", check=False).stdout.strip()
        assert (enabled == "enabled") == (host == MASTER), (host, enabled)
    mode = on_host(MASTER, "stat -c '%a %U' /etc/airflow-retention/aws-credentials").stdout.split()
    assert mode == ["600", "root"], mode
    on_host(MASTER, "systemctl start airflow-s3-log-retention.service")
    result = on_host(MASTER, "systemctl show -p Result --value airflow-s3-log-retention.service").stdout.strip()
    journal = on_host(MASTER, "journalctl -u airflow-s3-log-retention.service --no-pager -n 50").stdout
    assert result == "success", journal[-3000:]
    assert f"deleting the objects under s3://{s3.bucket}/{PREFIX}/ last modified before" in journal, journal[-3000:]
    assert _log_object(s3, run_id) == key

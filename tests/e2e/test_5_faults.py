"""Faults, end to end, with no playbook run to repair them: a worker host
killed while its task runs (the task is retried on another worker, the run
succeeds), the killed host started again (a hard reboot: it rejoins on its
own), the Docker daemon restarted on a worker host, and the master host
rebooted; the firewall holds across both. Last module: it leaves the cluster healthy but rebooted.

The sandbox's shorter timeouts make the retry quick: a task whose worker
stopped heartbeating is failed after airflow_stack_task_heartbeat_timeout
(120 s in inventory/sandbox, 300 s by default) and retried elsewhere.
"""

from cluster import (BASE, MASTER, PUBLISHED, WORKERS, address, celery_online, hold_dag_id, on_host, probe, ready_api,
                     sh, wait_until)


def _host_with_address(addr):
    return {address(w): w for w in WORKERS}[addr]


def _healthy_stack(host):
    """Every service of the host's stack is running and healthy (or done)."""
    proc = on_host(host, f"docker compose --project-directory {BASE} ps -a "
                         "--format '{{.Service}} {{.State}} {{.Health}}'", check=False)
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode == 0 and rows and all(
        r[1] == "running" and (len(r) < 3 or r[2] == "healthy") for r in rows)


def _wait_rejoined(host, timeout=420):
    wait_until(f"{host}'s stack healthy", lambda: _healthy_stack(host), timeout)
    wait_until(f"celery@{host} online", lambda: f"celery@{host}" in celery_online(f"celery@{host}"), timeout)


def _runs_a_task_on(api, host):
    """A task pinned to the host's own queue runs there."""
    run_id = api.trigger(hold_dag_id(host), {"seconds": 1})
    ti = api.wait_run(hold_dag_id(host), run_id, timeout=300)[0]
    assert ti["hostname"] == address(host), ti


def test_a_killed_worker_host_loses_no_dag_run(api, probes):
    run_id = api.trigger("e2e_retry", {"seconds": 600})
    ti = api.wait_running("e2e_retry", run_id, "survive")
    victim = _host_with_address(ti["hostname"])
    survivor = next(w for w in WORKERS if w != victim)
    sh("docker", "kill", victim)
    try:
        # failed after the heartbeat timeout, then retried on the other worker
        ti = api.wait_run("e2e_retry", run_id, timeout=600)[0]
        assert ti["try_number"] == 2 and ti["hostname"] == address(survivor), ti
        assert api.xcom("e2e_retry", run_id, "survive") == 2
    finally:
        # a hard reboot of the killed host: it must rejoin on its own
        sh("docker", "start", victim)
    _wait_rejoined(victim)
    _runs_a_task_on(api, victim)


def test_a_docker_daemon_restart_on_a_worker_host(api, probes):
    host = WORKERS[-1]
    on_host(host, "systemctl restart docker")
    _wait_rejoined(host)
    _runs_a_task_on(api, host)
    # the firewall holds across the restart: an outsider is still refused
    assert set(probe({host: PUBLISHED[host]}).values()) == {"refused"}


def test_a_master_host_reboot(api, probes):
    before = {r["dag_run_id"] for r in api("GET", "/dags/etl/dagRuns", params={"limit": 100})["dag_runs"]}
    sh("docker", "restart", MASTER)
    _wait_rejoined(MASTER)
    fresh = ready_api()
    after = {r["dag_run_id"] for r in fresh("GET", "/dags/etl/dagRuns", params={"limit": 100})["dag_runs"]}
    assert before <= after
    for w in WORKERS:
        _wait_rejoined(w, timeout=300)
    assert fresh.run_etl()
    for w in WORKERS:
        _runs_a_task_on(fresh, w)
    # the firewall is back after the reboot (loaded before Docker started)
    assert set(probe({MASTER: PUBLISHED[MASTER]}).values()) == {"refused"}

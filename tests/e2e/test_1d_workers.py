"""End-to-end test of the multi-host cluster (after test_1c_dags.py): a third
worker joins with one command, the worker is removed without losing a task,
and the master's containers are recreated keeping the history. Expects the sandbox
cluster from `make demo` (make e2e).
"""

import shutil

import pytest
import yaml

from cluster import (BASE, HOSTS, INVENTORY, MASTER, NEW_WORKER, PLAYBOOK, PUBLISHED, ROOT, SANDBOX, WORKERS,
                     address, celery_online, changed_tasks, copy_of_inventory, hold_dag_id, on_host, only_the_firewall,
                     probe, ready_api, recap, sh)


@pytest.fixture(scope="module")
def inventory_with_a_third_worker(tmp_path_factory):
    """A copy of the inventory with one more line: the third worker."""
    inventory = copy_of_inventory(tmp_path_factory.mktemp("third"))
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
    hosts["all"]["children"]["airflow"]["children"]["airflow_workers"]["hosts"][NEW_WORKER] = None
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return inventory


def test_a_third_worker_joins_with_one_command(api, probes, inventory_with_a_third_worker):
    """The README's one command adds a worker; the other hosts only learn to
    admit it. The probe DAGs are already on the cluster (the fixture), so the
    new worker gets them too and the others' DAG release stays as it is."""
    inventory = inventory_with_a_third_worker
    # a host from the golden image, as make demo's (the installs of Docker,
    # the AWS CLI and the ACL tools on a bare host are the molecule
    # scenarios' and make bench's)
    sh("env", "SANDBOX_HOST_KIND=host-ready", str(SANDBOX), "create", NEW_WORKER)
    # A stale fact cache entry under the new name, as a re-provisioned host
    # leaves: another host's address. site.yml must gather afresh, not use it.
    cache = ROOT / ".cache" / "ansible-facts"
    stale = sorted(cache.glob(f"*{WORKERS[1]}"))
    assert stale, f"no cached facts of {WORKERS[1]} in {cache}"
    for path in stale:
        shutil.copy(path, path.with_name(path.name.replace(WORKERS[1], NEW_WORKER)))
    # the one command of the README, against the inventory with the new line
    out = sh(*PLAYBOOK, "-i", str(inventory), "-e", f"airflow_dags_src={probes}", "playbooks/site.yml").stdout
    stats, changes = recap(out), changed_tasks(out)
    assert stats[NEW_WORKER]["changed"] > 0
    # the others only learn to admit the new host: nothing else of theirs changes
    for host in HOSTS:
        assert changes.get(host) and only_the_firewall(changes[host]), f"adding a worker changed on {host}: {changes}"
    assert set(probe({MASTER: PUBLISHED[MASTER]}, host=NEW_WORKER).values()) == {"open"}
    images = sh("docker", "exec", NEW_WORKER, "docker", "images", "--format", "{{.Repository}}").stdout.split()
    assert not {"airflow-sandbox/postgres", "airflow-sandbox/redis"} & set(images), images
    # status.yml with the inventory that does not list it names it
    status = sh(*PLAYBOOK, "-i", INVENTORY, "playbooks/status.yml", check=False).stdout
    assert f"Celery worker celery@{NEW_WORKER} is online but not in the inventory" in status, status[-3000:]
    # etl runs, three at a time, until one of their tasks runs on the new worker
    new_addr = address(NEW_WORKER)
    for _ in range(4):
        run_ids = [api.trigger("etl") for _ in range(3)]
        if new_addr in [ti["hostname"] for run_id in run_ids for ti in api.wait_run("etl", run_id)]:
            return
    pytest.fail(f"no etl task ran on {NEW_WORKER} ({new_addr}) in 12 runs")


def test_removing_a_worker_loses_no_task(api, probes, inventory_with_a_third_worker):
    """remove-worker.yml drains the worker (its running task finishes), removes
    its stack and secrets, and Celery no longer lists it; a second run changes
    nothing."""
    inventory = inventory_with_a_third_worker
    dag_id = hold_dag_id(NEW_WORKER)
    run_id = api.trigger(dag_id, {"seconds": 25})
    assert api.wait_running(dag_id, run_id, "hold")["hostname"] == address(NEW_WORKER)
    remove = [*PLAYBOOK, "-i", str(inventory), "-e", f"airflow_stack_remove_hosts={NEW_WORKER}", "playbooks/remove-worker.yml"]
    # --check says what it would remove and touches nothing
    checked = sh(*remove[:-1], "--check", remove[-1]).stdout
    assert recap(checked)[NEW_WORKER]["changed"] > 0, checked[-3000:]
    assert on_host(NEW_WORKER, f"docker compose --project-directory {BASE} ps -q worker").stdout.strip()
    out = sh(*remove).stdout
    assert f"celery@{NEW_WORKER}: drained after" in out, out[-3000:]
    ti = api.wait_run(dag_id, run_id, timeout=60)[0]
    assert ti["state"] == "success" and ti["try_number"] == 1, ti
    assert f"celery@{NEW_WORKER}" not in celery_online()
    assert on_host(NEW_WORKER, "docker ps -aq").stdout.strip() == ""
    assert on_host(NEW_WORKER, f"ls -A {BASE}").stdout.split() == ["config", "dags", "data", "logs", "plugins"]
    assert on_host(NEW_WORKER, "docker images -q sandbox/airflow").stdout.strip(), "images are kept by default"
    # nothing left to do the second time
    assert all(s["changed"] == 0 for s in recap(sh(*remove).stdout).values())
    # the README's next step: its line out of the inventory, then site.yml; the
    # other hosts then refuse it, and that is all that changes on them
    out = sh(*PLAYBOOK, "-i", INVENTORY, "-e", f"airflow_dags_src={probes}", "playbooks/site.yml").stdout
    assert all(only_the_firewall(tasks) for tasks in changed_tasks(out).values()), changed_tasks(out)
    assert set(probe({MASTER: PUBLISHED[MASTER]}, host=NEW_WORKER).values()) == {"refused"}
    # only worker hosts can be removed, and the run says how
    refused = sh(*PLAYBOOK, "-i", str(inventory), "-e", f"airflow_stack_remove_hosts={MASTER}",
                 "playbooks/remove-worker.yml", check=False)
    assert refused.returncode != 0 and "is not one (the master cannot be removed this way)" in refused.stdout


def test_recreating_the_masters_containers_keeps_history(api):
    before = {r["dag_run_id"] for r in api("GET", "/dags/etl/dagRuns", params={"limit": 100})["dag_runs"]}
    assert before
    sh("docker", "exec", MASTER, "sh", "-c",
       f"cd {BASE} && docker compose up -d --force-recreate --wait --wait-timeout 600")
    fresh = ready_api()
    after = {r["dag_run_id"] for r in fresh("GET", "/dags/etl/dagRuns", params={"limit": 100})["dag_runs"]}
    assert before <= after
    assert fresh.run_etl()

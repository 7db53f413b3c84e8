"""A lost master rebuilt, as the README's "Rebuilding a lost master" runbook
says, end to end on the sandbox cluster (the last module: it replaces the
master host), with a point-in-time restore:

- the master host is destroyed with its disk (the container, its Docker
  volume and everything under the base directory);
- a new host of the same name comes up; site.yml deploys it (the archive
  step warns that the repository holds another PostgreSQL system and leaves
  the archive alone) and leaves the workers' stacks running as they are;
- restore.yml -e airflow_backup_restore_source=archive with a target moment
  a few seconds before the loss brings back the DB as it was then: every
  DAG run that had succeeded before it, and a variable and a connection made
  through the REST API (only the DB had them); the fresh DB site.yml made is
  kept aside;
- the workers run tasks again with nothing run on them but site.yml, and
  the restored DB archives again, on its new timeline.
(Then test_7_noop: site.yml changes nothing after all of it.)

Until the loss, a variable is set to the time every second (commits the way
Airflow makes them, through the REST API): the restored value is the last
commit at or before the target moment, none after it. (The latest state
after a loss, and how much it loses, RPO: `make bench`'s figure 7, and
test_3b_archive's bound on archive_timeout.) RTO (the loss to the first
task succeeded on the rebuilt cluster) is written to .cache/rebuild.json.
"""

import json
import time
from datetime import datetime, timezone

from cluster import (BASE, DEMO_SECRETS, INVENTORY, MASTER, PLAYBOOK, ROOT, SANDBOX, WORKERS, address, changed_tasks,
                     container_id, ready_api, sh, upgraded_image_args)
from cluster.archive import Committer, restored_commit
from test_3b_archive import info, on_master, wait_archived_after

VARIABLE = {"key": "e2e_rebuild", "value": "made through the REST API before the loss"}
CONNECTION = {"connection_id": "e2e_rebuild", "conn_type": "http", "host": "example.invalid", "port": 8443}
MARKER = "e2e_rebuild_last_commit"


def play(playbook, *args):
    return sh(*PLAYBOOK, "-i", INVENTORY, "--flush-cache", *args, playbook)


def succeeded_runs(client):
    runs = client("GET", "/dags/~/dagRuns", params={"limit": 1000, "state": "success"})["dag_runs"]
    return {(r["dag_id"], r["dag_run_id"]) for r in runs}


def published_ports(host):
    """SANDBOX_PUBLISH for a host made again: what `docker port` shows now."""
    lines = sh("docker", "port", host).stdout.split("\n")
    # "8080/tcp -> 127.0.0.1:8080" -> "127.0.0.1:8080:8080"
    return " ".join(f"{line.split(' -> ')[1]}:{line.split('/')[0]}" for line in lines if " -> " in line)


def test_a_lost_master_is_rebuilt_from_the_archive():
    # earlier modules shipped their probe DAGs: dags/ as the inventory has it
    # first, so that site.yml on the new master changes no worker's release
    play("playbooks/deploy-dags.yml")
    client = ready_api()
    if not succeeded_runs(client):  # the earlier modules leave many
        client.run_etl()
    client("POST", "/variables", json=VARIABLE)
    client("POST", "/connections", json=CONNECTION)
    before = succeeded_runs(client)
    assert before, "no succeeded DAG run to lose"
    committer = Committer(MARKER)  # makes the variable
    wait_archived_after(time.time())  # every commit above is in the archive
    publish, old_address = published_ports(MASTER), address(MASTER)
    committer.start()
    time.sleep(10)
    # the moment to restore to (a whole second, as an operator gives it), then
    # more commits, until the WAL that holds the moment is in the archive
    target = datetime.now(timezone.utc).replace(microsecond=0)
    time.sleep(3)
    wait_archived_after(time.time())
    time.sleep(3)

    lost_at = time.time()
    sh(str(SANDBOX), "destroy", MASTER)
    last = committer.finish()
    assert last and last > target.timestamp() + 5, "no commit acknowledged after the target moment"
    assert sh("docker", "volume", "ls", "-q", "-f", f"name={MASTER}-docker").stdout.strip() == ""
    # a replacement host from the site's golden image (host-ready: the
    # packages the roles install already there; the third worker of
    # test_1d_workers covers a bare host)
    sh("env", f"SANDBOX_PUBLISH={publish}", "SANDBOX_HOST_KIND=host-ready", str(SANDBOX), "create", MASTER)
    sh(str(SANDBOX), "tls", MASTER)

    workers_before = {w: container_id(w, "worker") for w in WORKERS}
    out = play("playbooks/site.yml", *upgraded_image_args()).stdout
    assert "holds another PostgreSQL system" in " ".join(out.split()), out[-3000:]
    if address(MASTER) == old_address:
        # the workers' stacks are left as they are: the same containers run
        # (what the earlier modules left for site.yml to put right on a
        # worker, e.g. a directory the log retention removed, may change)
        assert {w: container_id(w, "worker") for w in WORKERS} == workers_before, changed_tasks(out)

    out = play("playbooks/restore.yml", "-e", "airflow_backup_restore_confirm=yes",
               "-e", "airflow_backup_restore_source=archive",
               "-e", f"airflow_backup_restore_target='{target:%Y-%m-%d %H:%M:%S}+00'").stdout
    kept = on_master(f"ls -d {BASE}/postgres.before-restore-*").stdout.split()
    assert kept and f"is kept in {kept[-1]}" in " ".join(out.split()), out[-3000:]
    client = ready_api()
    assert before <= succeeded_runs(client), sorted(before - succeeded_runs(client))
    assert client("GET", f"/variables/{VARIABLE['key']}")["value"] == VARIABLE["value"]
    assert client("GET", f"/connections/{CONNECTION['connection_id']}")["host"] == CONNECTION["host"]
    # the last commit at or before the moment (one a second, each a request
    # that may take seconds on a busy machine), none after it
    restored = restored_commit(client, MARKER)
    assert target.timestamp() - 15 <= restored <= target.timestamp(), (
        f"restored the commit of {restored:.1f}, the target moment is {target.timestamp():.0f} ({target})")

    # the workers serve again: a new run's tasks ran on the worker hosts
    run_id = client.run_etl()
    rto = time.time() - lost_at
    hosts = {ti["hostname"] for ti in client.task_instances(run_id)}
    assert hosts & {address(w) for w in WORKERS}, hosts
    (ROOT / ".cache").mkdir(exist_ok=True)
    (ROOT / ".cache" / "rebuild.json").write_text(json.dumps({"rto_s": round(rto, 1)}))
    print(f"RTO {rto:.1f} s")
    # the restored DB archives again, into the same repository, on its new timeline
    wait_archived_after(time.time())
    assert info()["status"]["message"] == "ok"
    assert not [s for s in DEMO_SECRETS if s in out]

    on_master(f"rm -rf {BASE}/postgres.before-restore-*")

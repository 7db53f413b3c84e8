"""No work lost on day 2: warm shutdown of a worker, and an upgrade (a new
requirement baked into the image) rolled out while long tasks run on every
worker: backup first, the DB migrated once by the master, workers drained and
recreated one batch at a time, every long task done in its first try, and new
tasks importing the new requirement.

Runs against the sandbox cluster (make e2e); see the cluster package (cluster/).
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from cluster import (BASE, INVENTORY, MASTER, PLAYBOOK, ROOT, WORKERS, address, container_id, hold_dag_id, note,
                     on_host, recap)

NEW_REQUIREMENT = "inflection"
# Where the upgraded image's build directory is written (make demo-down
# removes it with the cluster).
UPGRADED_IMAGE_DIR = note("upgraded-image-dir")  # cluster.upgraded_image_args reads it


def _image_of(host, service):
    return on_host(host, f"docker inspect -f '{{{{.Config.Image}}}}' {container_id(host, service)}").stdout.strip()


@pytest.mark.parametrize("host, queue, service", [
    (WORKERS[0], WORKERS[0], "worker"),
])
def test_a_stopped_worker_finishes_its_running_task(api, probes, host, queue, service):
    """Warm shutdown: `docker stop` of a worker that runs a task waits for the
    task, which succeeds in its first try, instead of killing it. (The
    master's optional local worker is the same service of the same template,
    with the same stop grace period.)"""
    seconds = 25
    dag_id = hold_dag_id(queue)
    run_id = api.trigger(dag_id, {"seconds": seconds})
    api.wait_running(dag_id, run_id, "hold")
    started = time.time()
    stop = on_host(host, f"docker compose --project-directory {BASE} stop {service}")
    took = time.time() - started
    try:
        ti = api.wait_run(dag_id, run_id, timeout=120)[0]
        assert ti["state"] == "success" and ti["try_number"] == 1, ti
        # the stop waited for the task (not Docker's default 10 s, not a kill)
        assert took > 10, f"docker stop returned after {took:.0f}s while a {seconds}s task ran: {stop.stderr}"
        exit_code = on_host(host, f"docker inspect -f '{{{{.State.ExitCode}}}}' {container_id(host, service)}")
        assert exit_code.stdout.strip() == "0", "the worker did not exit cleanly (killed?)"
    finally:
        on_host(host, f"docker compose --project-directory {BASE} up -d --wait --wait-timeout 300")


def _copy_of_image_dir(tmp_path):
    build = tmp_path / "airflow-image"
    shutil.copytree(ROOT / "files" / "airflow-image", build)
    requirements = build / "requirements.txt"
    assert NEW_REQUIREMENT not in requirements.read_text()
    # (the comment makes every run a new image, so the test can run again on one cluster)
    requirements.write_text(requirements.read_text() + f"{NEW_REQUIREMENT}\n# upgrade test {time.time()}\n")
    return build


def _backups():
    return set(on_host(MASTER, f"ls {BASE}/backups 2>/dev/null | grep '\\.dump$'", check=False).stdout.split())


def _wait_until_the_drain_asked(host, timeout=300, settle=45):
    """Until the drain's script (celery_drain: `docker compose exec worker
    python -c SCRIPT`) runs on host, then settle s more: by then it has told
    the worker to stop consuming and seen its running task. A fixed wait from
    the include line raced with it: under load the script takes tens of
    seconds to import Celery's app, and the task, released first, was done
    when it first asked ("drained after 0 s")."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if on_host(host, "pgrep -f 'def [t]o_cancel'", check=False).returncode == 0:
            time.sleep(settle)
            return
        time.sleep(2)
    raise AssertionError(f"the drain's script never ran on {host} in {timeout} s")


def test_an_upgrade_rolls_out_without_losing_a_running_task(api, probes, tmp_path):
    build = _copy_of_image_dir(tmp_path)
    old_image = _image_of(WORKERS[0], "worker")
    backups = _backups()
    init_before = container_id(MASTER, "airflow-init")
    release = f"release-{int(time.time())}"
    # a long task on every worker, held until the test lets it go
    runs = {w: api.trigger(hold_dag_id(w), {"seconds": 900, "release": release}) for w in WORKERS}
    for w, run_id in runs.items():
        ti = api.wait_running(hold_dag_id(w), run_id, "hold")
        assert ti["hostname"] == address(w), ti

    # the README's upgrade: change the image's inputs, run site.yml
    proc = subprocess.Popen([*PLAYBOOK, "-i", INVENTORY, "-e", f"airflow_image_build_dir={build}",
                             "-e", f"airflow_dags_src={probes}", "playbooks/site.yml"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # each line as it is printed
    lines, released, master_recreated_under_load = [], False, False
    try:
        for line in proc.stdout:
            lines.append(line)
            # the include is printed as the drain starts (a task's own banner
            # only shows with its first result, i.e. after the drain)
            if not released and line.startswith("included: ") and "drain.yml for " in line \
                    and any(x.startswith("PLAY [Roll changes out") for x in lines):
                # the first batch is draining: its task still runs, and the
                # master's services were recreated under it
                _wait_until_the_drain_asked(line.split("drain.yml for ")[1].split(",")[0].strip())
                master_recreated_under_load = container_id(MASTER, "airflow-init") != init_before
                for w in WORKERS:
                    on_host(w, f"touch {BASE}/data/{release}")
                released = True
        rc = proc.wait(timeout=1800)
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in WORKERS:
            on_host(w, f"touch {BASE}/data/{release}", check=False)
    out = "".join(lines)
    assert rc == 0, out[-5000:]
    # the cluster now runs the image of this build directory: later modules'
    # site.yml runs pass it on (test_6_rebuild), or they would roll it back
    UPGRADED_IMAGE_DIR.write_text(f"{build}\n")
    assert released, "site.yml never drained a worker"
    assert master_recreated_under_load, "the master's services were not recreated before the workers were rolled"

    # one backup before the migration; the DB migrated once (a new airflow-init)
    assert len(_backups() - backups) == 1, (sorted(backups), sorted(_backups()))
    assert container_id(MASTER, "airflow-init") != init_before
    # workers rolled one batch (one worker here: 25% of 2) at a time, drained first
    batches = re.findall(r"PLAY \[Roll changes out.*?\n(?=PLAY |\Z)", out, re.S)
    assert len(batches) == len(WORKERS), f"{len(batches)} batches"
    order = []
    for batch in batches:
        hosts = set(re.findall(r"^\w+: \[(.+?)\]", batch, re.M))
        assert len(hosts) == 1 and re.search(r"^changed: \[", batch, re.M), batch[-3000:]
        order.append(hosts.pop())
        assert f"celery@{order[-1]}: drained after" in batch, batch[-3000:]
    assert sorted(order) == sorted(WORKERS), order
    first = re.search(rf"celery@{order[0]}: drained after (\d+) s", out)
    assert int(first.group(1)) >= 8, "the first worker's drain did not wait for its running task"
    stats = recap(out)
    assert all(s["failed"] == 0 for s in stats.values()), stats

    # the long tasks finished in their first try, on their own worker
    for w, run_id in runs.items():
        ti = api.wait_run(hold_dag_id(w), run_id, timeout=300)[0]
        assert ti["state"] == "success" and ti["try_number"] == 1 and ti["hostname"] == address(w), ti

    # every host runs the new image; the previous one is kept for a roll back
    new_image = _image_of(WORKERS[0], "worker")
    assert new_image != old_image
    for host in [MASTER, *WORKERS]:
        assert _image_of(host, "worker") == new_image
        on_host(host, f"docker image inspect {old_image} >/dev/null")
    # tasks started afterwards import the new requirement, on every worker
    # (runs four at a time, until each worker has run one)
    seen, workers = set(), {address(w) for w in WORKERS}
    for _ in range(5):
        run_ids = [api.trigger("e2e_import") for _ in range(4)]
        for run_id in run_ids:
            ti = api.wait_run("e2e_import", run_id, timeout=300)[0]
            assert api.xcom("e2e_import", run_id, "import_it"), ti
            seen.add(ti["hostname"])
        if workers <= seen:
            break
    assert workers <= seen, f"e2e_import ran on {sorted(seen)} only, not on every worker ({sorted(workers)}) in 20 runs"

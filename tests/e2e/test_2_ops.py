"""End-to-end test of the operator's day-2 tools on the running sandbox
cluster: playbooks/status.yml (one table, exit code), the retention timers
and image pruning (roles/airflow_retention), airflow-stack / airflow-cli
(roles/airflow_tools), and playbooks/stop.yml + start.yml.

Expects the healthy cluster test_1_cluster.py … test_1d_workers.py leave
(make e2e), or any sandbox inventory given as E2E_INVENTORY; leaves it
healthy.
"""

import json
import re
import shlex
import textwrap
import time

import pytest
import yaml

from cluster import BASE, DEMO_SECRETS, HOSTS, INVENTORY, MASTER, PLAYBOOK, WORKERS, copy_of_inventory, recap, sh

COMPOSE = f"docker compose --project-directory {BASE} --file {BASE}/compose.yml"
BACKENDS = {"postgres", "redis"}


def adhoc(host, command):
    """The README's operator command: ansible <host> -b -a '<command>' (the vault holds the inventory's secrets)."""
    return sh("ansible", host, "-i", INVENTORY, *PLAYBOOK[1:], "-b", "-a", command)


def on(host, command, check=True):
    """A shell command on a sandbox host."""
    return sh("docker", "exec", host, "sh", "-c", command, check=check)


def playbook(name, *args, inventory=INVENTORY, check=True):
    return sh(*PLAYBOOK, "-i", str(inventory), *args, f"playbooks/{name}", check=check)


def status(*args, inventory=INVENTORY):
    """Run status.yml; return (exit code, its table, the whole output)."""
    proc = playbook("status.yml", *args, inventory=inventory, check=False)
    out = proc.stdout + proc.stderr
    assert not [s for s in DEMO_SECRETS if s in out], "a secret in the status output"
    return proc.returncode, table_of(proc.stdout), out


def table_of(stdout):
    """The table printed by the 'Show the cluster status' task (YAML callback: a block scalar)."""
    part = stdout.split("Show the cluster status", 1)
    assert len(part) == 2, f"no status table in:\n{stdout[-3000:]}"
    block = re.split(r"\n(?:TASK \[|PLAY \[|PLAY RECAP|RUNNING HANDLER \[)", part[1], maxsplit=1)[0]
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("HOST "))
    return textwrap.dedent("\n".join(lines[start:])).strip("\n")


def rows(table):
    """{(host, service): [state, health, image, release?, ...]} from the table."""
    result = {}
    for line in table.splitlines():
        fields = line.split()
        if fields and fields[0] in HOSTS + ["e2e-ghost-worker"]:
            result[(fields[0], fields[1])] = fields[2:]
    return result


def services(host):
    return set(on(host, f"{COMPOSE} config --services").stdout.split())


def containers(host):
    """{service: docker inspect of its container} for a host's stack."""
    ids = on(host, f"{COMPOSE} ps -a -q").stdout.split()
    info = json.loads(on(host, "docker inspect " + " ".join(ids)).stdout)
    return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in info}


def wait_healthy(host, timeout=300):
    deadline = time.time() + timeout
    while True:
        states = {s: (c["State"]["Status"], (c["State"].get("Health") or {}).get("Status"))
                  for s, c in containers(host).items()}
        if all(state == ("running", "healthy") for state in states.values()):
            return
        if time.time() > deadline:
            raise AssertionError(f"{host} not healthy: {states}")
        time.sleep(5)


def current_image():
    return containers(WORKERS[0])["worker"]["Config"]["Image"]


# --- status.yml ------------------------------------------------------------

def test_status_of_a_healthy_cluster_lists_every_host_and_service():
    code, table, out = status()
    assert code == 0, out[-4000:]
    assert "RESULT: OK" in table and "PROBLEM" not in table, table
    stats = recap(out)
    assert set(stats) == set(HOSTS) and all(s["changed"] == 0 for s in stats.values()), stats
    found = rows(table)
    for host in HOSTS:
        running = containers(host)
        assert services(host) == {s for h, s in found if h == host}, (host, table)
        release = on(host, f"readlink {BASE}/dags/current").stdout.strip()
        first = [found[(host, s)] for s in sorted(services(host))][0]
        assert first[3] == release, (host, first, release)
        for service, c in running.items():
            state, health, image = found[(host, service)][:3]
            assert (state, health, image) == ("running", "healthy", c["Config"]["Image"]), (host, service, table)
    expected = {f"celery@{h}" for h in WORKERS} | {f"celery@{MASTER}"}  # the sandbox master runs a local worker
    celery = next(line for line in table.splitlines() if line.startswith("Celery workers"))
    assert f"{len(expected)}/{len(expected)} online" in celery and all(w in celery for w in expected), celery
    assert re.search(r"^Scheduler\s+last heartbeat \d+s ago \(healthy\)", table, re.M), table
    assert re.search(r"^Task instances\s+\d+ queued, \d+ running", table, re.M), table


@pytest.mark.parametrize("service, job, threshold", [
    ("dag-processor", "DagProcessorJob", "AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD"),
    ("triggerer", "TriggererJob", "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD"),
])
def test_the_job_healthcheck_sees_its_own_job_alive_and_nothing_else(service, job, threshold):
    """The dag-processor's and triggerer's healthcheck (job_alive.py, the test of
    `airflow jobs check --local` without importing Airflow): its own job is alive;
    the job of another host, a heartbeat older than the threshold, or no DB, is not."""
    def check(*env):
        options = " ".join(f"-e {e}" for e in env)
        return on(MASTER, f"{COMPOSE} exec -T {options} {service} python -m job_alive {job}", check=False)
    alive = check()
    assert alive.returncode == 0, alive.stdout + alive.stderr
    elsewhere = check("AIRFLOW_ADVERTISED_HOSTNAME=elsewhere")
    assert elsewhere.returncode == 1 and f"no running {job} on elsewhere" in elsewhere.stdout, elsewhere
    stale = check(f"{threshold}=0")
    assert stale.returncode == 1 and "last heartbeat" in stale.stdout, stale
    no_db = check("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://nobody:wrong@127.0.0.1:9/airflow")
    assert no_db.returncode == 1 and no_db.stdout.startswith("metadata DB: "), no_db


def test_status_changes_nothing_and_works_in_check_mode():
    before = {h: on(h, f"{COMPOSE} ps -a --format '{{{{.Name}}}} {{{{.State}}}} {{{{.CreatedAt}}}}'").stdout for h in HOSTS}
    code, table, out = status("--check")
    assert code == 0, out[-4000:]
    assert all(s["changed"] == 0 for s in recap(out).values()), out[-2000:]
    assert "RESULT: OK" in table
    assert {h: on(h, f"{COMPOSE} ps -a --format '{{{{.Name}}}} {{{{.State}}}} {{{{.CreatedAt}}}}'").stdout
            for h in HOSTS} == before


def test_status_names_a_stopped_worker_then_is_ok_again_once_restored():
    worker = WORKERS[0]
    name = containers(worker)["worker"]["Name"].lstrip("/")
    on(worker, f"docker stop {name}")
    try:
        code, table, out = status()
        assert code != 0, table
        assert f"PROBLEM: {worker}: service worker is exited" in table, table
        assert f"missing Celery worker celery@{worker}" in table, table
        assert f"{worker}: service worker is exited" in out.split("The cluster is not healthy:", 1)[-1], out[-3000:]
        assert rows(table)[(worker, "worker")][0] == "exited", table
        assert all(s["changed"] == 0 for s in recap(out).values())
    finally:
        on(worker, "airflow-stack up -d --wait --wait-timeout 300")
    code, table, out = status()
    assert code == 0, table


def test_status_reports_an_unreachable_host_in_the_table(tmp_path):
    inventory = copy_of_inventory(tmp_path)
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
    hosts["all"]["children"]["airflow"]["children"]["airflow_workers"]["hosts"]["e2e-ghost-worker"] = None
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    code, table, out = status(inventory=inventory)
    assert code != 0
    assert re.search(r"^e2e-ghost-worker\s+-\s+UNREACHABLE", table, re.M), table
    assert "PROBLEM: e2e-ghost-worker: unreachable" in table and "missing Celery worker celery@e2e-ghost-worker" in table, table
    # the reachable hosts are still in the table, healthy
    found = rows(table)
    for host in HOSTS:
        assert all(found[(host, s)][:2] == ["running", "healthy"] for s in services(host)), table


# --- retention ---------------------------------------------------------------

def test_retention_timers_are_enabled_db_one_only_on_the_master():
    for host in HOSTS:
        for unit, wanted in (("airflow-log-retention.timer", True), ("airflow-db-clean.timer", host == MASTER)):
            enabled = on(host, f"systemctl is-enabled {unit}", check=False).stdout.strip()
            active = on(host, f"systemctl is-active {unit}", check=False).stdout.strip()
            if wanted:
                assert (enabled, active) == ("enabled", "active"), (host, unit, enabled, active)
                assert on(host, f"systemctl show -p NextElapseUSecRealtime --value {unit}").stdout.strip(), (host, unit)
            else:
                assert enabled != "enabled" and active != "active", (host, unit, enabled, active)
                assert on(host, f"test ! -e /etc/systemd/system/{unit}", check=False).returncode == 0


@pytest.mark.parametrize("host", [MASTER, WORKERS[0]])
def test_log_retention_deletes_old_logs_and_their_empty_directories(host):
    base = f"{BASE}/logs/dag_id=retention_probe"
    files = {"old": f"{base}/run_id=old/task_id=t/attempt=1.log",
             "recent": f"{base}/run_id=recent/task_id=t/attempt=1.log",
             "almost": f"{base}/run_id=almost/task_id=t/attempt=1.log"}
    on(host, " && ".join(f"mkdir -p $(dirname {p}) && echo probe > {p}" for p in files.values()))
    on(host, f"touch -d '40 days ago' {files['old']} && touch -d '29 days ago' {files['almost']}")
    try:
        on(host, "systemctl start airflow-log-retention.service")
        left = set(on(host, f"find {base}").stdout.split())
        assert files["old"] not in left and f"{base}/run_id=old" not in left, left
        assert files["recent"] in left and files["almost"] in left, left
        assert on(host, f"test -d {BASE}/logs", check=False).returncode == 0
        result = on(host, "systemctl show -p Result --value airflow-log-retention.service").stdout.strip()
        assert result == "success", result
    finally:
        on(host, f"rm -rf {base}")


def test_db_clean_deletes_rows_older_than_the_retention():
    sql = ("INSERT INTO log (dttm, event, owner) VALUES (now() - interval '200 days', 'retention-probe-old', 'e2e'),"
           " (now() - interval '10 days', 'retention-probe-new', 'e2e')")
    psql = f"{COMPOSE} exec -T postgres sh -c " + shlex.quote('psql -X -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$0"')
    on(MASTER, f"{psql} {shlex.quote(sql)}")
    try:
        on(MASTER, "systemctl start airflow-db-clean.service")
        assert on(MASTER, "systemctl show -p Result --value airflow-db-clean.service").stdout.strip() == "success"
        left = on(MASTER, f"{psql} " + shlex.quote("SELECT event FROM log WHERE event LIKE 'retention-probe-%' ORDER BY 1")).stdout
        assert left.split() == ["retention-probe-new"], left
        journal = on(MASTER, "journalctl -u airflow-db-clean.service --no-pager -n 200").stdout
        assert "airflow db clean: deleting rows older than" in journal, journal[-2000:]
    finally:
        on(MASTER, f"{psql} " + shlex.quote("DELETE FROM log WHERE event LIKE 'retention-probe-%'"))


def test_old_airflow_images_are_pruned_keeping_current_previous_and_used(tmp_path):
    """Three older tags, made newer than the current image one by one (docker
    commit with a label gives each its own creation date): the newest is the
    previous one (kept), one is used by a stopped container (kept), the other
    is removed. Check mode removes nothing; a second run changes nothing."""
    host = WORKERS[0]
    image = current_image()
    repo = image.rsplit(":", 1)[0]
    tags = {n: f"{repo}:e2e-{n}" for n in ("used", "old", "previous")}
    on(host, f"docker rm -f e2e-retention-src e2e-retention-user >/dev/null 2>&1; docker create --name e2e-retention-src {image} true")
    try:
        for n in ("used", "old", "previous"):
            time.sleep(1.1)  # creation dates one second apart
            on(host, f"docker commit --change 'LABEL e2e.retention={n}' e2e-retention-src {tags[n]}")
        on(host, f"docker rm e2e-retention-src && docker create --name e2e-retention-user {tags['used']} true")
        play = tmp_path / "retention.yml"
        play.write_text(yaml.safe_dump([{"name": "Retention only", "hosts": "airflow", "become": True,
                                         "gather_facts": False, "roles": ["airflow_retention"]}]))
        run = ["-i", INVENTORY, "-e", f"airflow_image_ref={image}", str(play)]
        listing = f"docker image ls --format '{{{{.Repository}}}}:{{{{.Tag}}}}' {repo}"

        proc = sh(*PLAYBOOK, "--check", *run)
        assert recap(proc.stdout)[host]["changed"] > 0, proc.stdout[-3000:]
        assert set(tags.values()) <= set(on(host, listing).stdout.split()), "check mode removed an image"

        proc = sh(*PLAYBOOK, *run)
        left = set(on(host, listing).stdout.split())
        assert image in left and tags["previous"] in left and tags["used"] in left, left
        assert tags["old"] not in left, left
        assert recap(proc.stdout)[host]["changed"] > 0

        proc = sh(*PLAYBOOK, *run)
        assert all(s["changed"] == 0 for s in recap(proc.stdout).values()), proc.stdout[-3000:]
    finally:
        on(host, "docker rm -f e2e-retention-src e2e-retention-user >/dev/null 2>&1; "
                 f"docker rmi {' '.join(tags.values())} >/dev/null 2>&1; true")


# --- airflow-stack, airflow-cli ------------------------------------------------

def test_airflow_cli_runs_airflow_commands_on_the_master():
    proc = adhoc(MASTER, "airflow-cli dags list -o plain")
    assert re.search(r"^etl\s", proc.stdout, re.M), proc.stdout[-2000:]
    # arguments reach airflow as they are: spaces, quotes and shell characters
    value = "a b 'c' \"d\" $HOME; e"
    try:
        sh("docker", "exec", MASTER, "airflow-cli", "variables", "set", "e2e_cli_probe", value)
        got = sh("docker", "exec", MASTER, "airflow-cli", "variables", "get", "e2e_cli_probe").stdout
        assert got.strip().splitlines()[-1] == value, got
    finally:
        sh("docker", "exec", MASTER, "airflow-cli", "variables", "delete", "e2e_cli_probe", check=False)
    for worker in WORKERS:
        assert on(worker, "test ! -e /usr/local/bin/airflow-cli", check=False).returncode == 0


def test_airflow_stack_is_docker_compose_for_the_hosts_stack():
    for host in HOSTS:
        table = adhoc(host, "airflow-stack ps").stdout
        for service, c in containers(host).items():
            assert re.search(rf"^{c['Name'].lstrip('/')}\s.*\s{service}\s.*Up .*\(healthy\)", table, re.M), (service, table)
        listed = [json.loads(line) for line in adhoc(host, "airflow-stack ps --format json").stdout.splitlines()
                  if line.startswith("{")]
        assert {c["Service"] for c in listed} == services(host), listed
    logs = adhoc(WORKERS[0], "airflow-stack logs --tail 200 worker").stdout
    assert "celery@" in logs, logs[-2000:]


# --- stop.yml, start.yml -------------------------------------------------------

def stamps(field):
    """{(host, service): State.<field> as a sortable tuple} of every container of the cluster.
    Docker writes RFC 3339 UTC times with nanoseconds and trailing zeros cut off."""
    def key(stamp):
        m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", stamp)
        assert m, stamp
        return m[1], int((m[2] or "").ljust(9, "0"))
    return {(h, s): key(c["State"][field]) for h in HOSTS for s, c in containers(h).items()}


def test_stop_then_start_in_order_and_etl_runs_again(api):
    proc = playbook("stop.yml")
    assert all(s["changed"] > 0 for s in recap(proc.stdout).values()), proc.stdout[-3000:]
    states = {(h, s): c["State"]["Status"] for h in HOSTS for s, c in containers(h).items()}
    assert set(states.values()) == {"exited"}, states
    finished = stamps("FinishedAt")  # the hosts share this machine's clock
    workers = [t for (h, s), t in finished.items() if h != MASTER]
    local_worker = [t for (h, s), t in finished.items() if h == MASTER and s == "worker"]
    airflow = [t for (h, s), t in finished.items() if h == MASTER and s not in BACKENDS | {"worker"}]
    backends = [t for (h, s), t in finished.items() if h == MASTER and s in BACKENDS]
    assert max(workers) <= min(local_worker + airflow), finished
    assert max(local_worker) <= min(airflow), finished
    assert max(airflow) <= min(backends), finished
    assert all(s["changed"] == 0 for s in recap(playbook("stop.yml").stdout).values())
    code, table, _ = status()
    assert code != 0 and f"PROBLEM: {MASTER}: service scheduler is exited" in table, table

    proc = playbook("start.yml")
    assert all(s["changed"] > 0 for s in recap(proc.stdout).values()), proc.stdout[-3000:]
    for host in HOSTS:
        wait_healthy(host, timeout=60)
    started = stamps("StartedAt")
    backends = [t for (h, s), t in started.items() if h == MASTER and s in BACKENDS]
    master = [t for (h, s), t in started.items() if h == MASTER and s not in BACKENDS]
    workers = [t for (h, s), t in started.items() if h != MASTER]
    assert max(backends) <= min(master) and max(master) <= min(workers), started
    assert all(s["changed"] == 0 for s in recap(playbook("start.yml").stdout).values())
    code, table, _ = status()
    assert code == 0, table
    assert api.run_etl()

"""End-to-end test of the multi-host cluster (after test_1_cluster.py): etl
runs through the workers, their logs readable from the master, Flower, TLS
on the api-server and Flower, the REST API's accounts and roles, and
users.yml. Expects the sandbox cluster from `make demo` (make e2e).
"""

import json
import time

import pytest
import requests

from cluster import (ADMIN, BASE, DEMO_SECRETS, EXPECTED_TOTALS, FLOWER, FLOWER_AUTH, HOSTS, INVENTORY, MASTER,
                     PLAYBOOK, PORTS, UI, VIEWER, address, on_host, recap, sh)


def test_etl_run_passes_data_through_xcom(api):
    run_id = api.run_etl()
    xcom = {task: api.xcom("etl", run_id, task) for task in ("extract", "transform", "load")}
    assert [o["order_id"] for o in xcom["extract"]] == [1, 2, 3]
    assert xcom["transform"] == EXPECTED_TOTALS
    assert xcom["load"] == "loaded 2 customers: kim=150, lee=80"


def test_tasks_run_on_worker_hosts_and_their_logs_are_readable(api, runs_on_every_worker):
    wanted, seen = runs_on_every_worker
    assert set(wanted) <= set(seen), f"task hostnames {sorted(seen)}, worker addresses {wanted}"
    assert address(MASTER) not in seen, "an etl task ran on the master, whose worker serves only the 'master' queue"
    for addr, (run_id, ti) in ((a, seen[a]) for a in wanted):
        marker = {"extract": "extracted 3 orders", "transform": "transformed into totals",
                  "load": "loading totals: kim=150, lee=80"}[ti["task_id"]]

        def log():
            return json.dumps(api("GET", f"/dags/etl/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
                                         f"/logs/{ti['try_number']}"))
        # A task is marked a success before its worker has uploaded the log to
        # the bucket (remote logging): read within the next half minute, as
        # test_1f_s3 waits for the log object (once seen empty right after a run).
        deadline, text = time.time() + 30, log()
        while marker not in text and time.time() < deadline:
            time.sleep(2)
            text = log()
        assert marker in text, f"log of {ti['task_id']} from {wanted[addr]} ({addr}) lacks {marker!r}: {text[:2000]}"


def test_flower_sees_every_worker_and_asks_for_its_own_account(api):
    """The optional Flower (on in the sandbox) lists every host's Celery worker
    as online, the master's local one included, and refuses anonymous users."""
    flower = FLOWER
    assert requests.get(f"{flower}/workers", timeout=30).status_code == 401
    # its own account, not the UI's admin
    assert requests.get(f"{flower}/api/workers", auth=ADMIN, timeout=30).status_code == 401
    online = set()
    for _ in range(20):
        # Flower's API asks the workers over the broker (Celery's inspect)
        workers = requests.get(f"{flower}/api/workers", params={"refresh": "1"}, auth=FLOWER_AUTH, timeout=60)
        assert workers.status_code == 200, workers.text[:500]
        online = set(workers.json())
        if online >= {f"celery@{h}" for h in HOSTS}:
            return
        time.sleep(3)
    pytest.fail(f"Flower shows these workers online: {sorted(online)}")


def test_the_api_server_and_flower_speak_https_only():
    """TLS (airflow_stack_tls_*): the api-server and Flower answer over HTTPS
    with a certificate the sandbox's CA issued (requests checks it), and no
    plain HTTP is served on the cluster address; the workers' execution API
    URL is https and their containers trust the CA."""
    assert UI.startswith("https://") and FLOWER.startswith("https://")
    assert requests.get(f"{UI}/api/v2/monitor/health", timeout=30).status_code == 200
    assert requests.get(f"{FLOWER}/healthcheck", auth=FLOWER_AUTH, timeout=30).status_code == 200
    for plain in (f"http://{address(MASTER)}:{PORTS['api']}/api/v2/monitor/health",
                  f"http://{address(MASTER)}:{PORTS['flower']}/healthcheck"):
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(plain, timeout=10)
    for host in HOSTS:
        env = on_host(host, f"grep -E '^AIRFLOW__(CORE__EXECUTION_API_SERVER_URL|API__SSL_CA_FILE)=' {BASE}/.env").stdout
        assert f"=https://{address(MASTER)}:{PORTS['api']}/execution/" in env and "SSL_CA_FILE=" in env, env
    # the key is on the master only, and in no container but the api-server's and Flower's
    for host in HOSTS:
        keys = on_host(host, f"find {BASE}/tls -name '*.key'", check=False).stdout.split()
        assert keys == ([f"{BASE}/tls/server/server.key"] if host == MASTER else []), f"{host}: {keys}"
    mounts = on_host(MASTER, "for c in $(docker ps -q); do docker inspect -f "
                             "'{{index .Config.Labels \"com.docker.compose.service\"}} {{range .Mounts}}{{.Source}} {{end}}' $c; done").stdout
    with_key = sorted(line.split()[0] for line in mounts.splitlines() if f"{BASE}/tls/server" in line)
    assert with_key == ["api-server", "flower"], mounts


def token(username, password):
    return requests.post(f"{UI}/auth/token", json={"username": username, "password": password}, timeout=30)


def test_the_api_wants_a_user_and_each_role_gets_its_rights(api):
    """The FAB auth manager: anonymous and wrong-password requests are refused
    (401), the admin gets a token, and the sandbox's Viewer (airflow_users_list)
    may list the DAGs but not trigger one (403)."""
    assert requests.get(f"{UI}/api/v2/dags", timeout=30).status_code == 401
    assert token(ADMIN[0], "wrong-" + ADMIN[1]).status_code == 401
    assert token(*ADMIN).status_code in (200, 201)
    viewer = token(*VIEWER)
    assert viewer.status_code in (200, 201), viewer.text
    headers = {"Authorization": f"Bearer {viewer.json()['access_token']}"}
    dags = requests.get(f"{UI}/api/v2/dags", headers=headers, timeout=30)
    assert dags.status_code == 200 and "etl" in {d["dag_id"] for d in dags.json()["dags"]}, dags.text[:500]
    run = requests.post(f"{UI}/api/v2/dags/etl/dagRuns", json={"logical_date": None}, headers=headers, timeout=30)
    assert run.status_code == 403, run.text[:500]


def test_users_follow_the_inventory_and_the_vault(api):
    """users.yml (site.yml runs the same tasks on the master) creates a user the
    inventory adds and applies roles and passwords changed in the inventory
    and the vault; the next run, with the sandbox's own inventory, puts them
    back and deactivates the user no longer listed. Only the master changes."""
    def user(name):
        return api.session.get(f"{UI}/auth/fab/v1/users/{name}", timeout=30).json()

    def roles(name):
        return [r["name"] for r in user(name)["roles"]]

    def ok(response):
        return response.status_code in (200, 201)

    changed = {"airflow_users_list": [{"username": "viewer", "role": "User", "email": "viewer@sandbox.invalid"},
                                       {"username": "auditor", "role": "Op", "email": "auditor@sandbox.invalid"}],
               "vault_airflow_user_passwords": {"viewer": VIEWER[1] + "-2", "auditor": "sandbox-demo-auditor"},
               "vault_airflow_admin_password": ADMIN[1] + "-2"}
    out = sh(*PLAYBOOK, "-i", INVENTORY, "-e", json.dumps(changed), "playbooks/users.yml").stdout
    assert {h: s["changed"] for h, s in recap(out).items()} == {h: int(h == MASTER) for h in HOSTS}, recap(out)
    assert token(*ADMIN).status_code == 401 and ok(token(ADMIN[0], ADMIN[1] + "-2"))
    assert token(*VIEWER).status_code == 401 and ok(token(VIEWER[0], VIEWER[1] + "-2"))
    assert ok(token("auditor", "sandbox-demo-auditor"))
    assert roles("viewer") == ["User"] and roles("auditor") == ["Op"]
    assert not [s for s in DEMO_SECRETS + ["sandbox-demo-auditor"] if s in out], "a secret in the playbook's output"

    out = sh(*PLAYBOOK, "-i", INVENTORY, "playbooks/users.yml").stdout
    assert {h: s["changed"] for h, s in recap(out).items()} == {h: int(h == MASTER) for h in HOSTS}, recap(out)
    assert ok(token(*ADMIN)) and ok(token(*VIEWER)) and roles("viewer") == ["Viewer"]
    assert token("auditor", "sandbox-demo-auditor").status_code == 401 and user("auditor")["active"] is False
    assert "auditor: deactivated" in out, out[-2000:]

"""End-to-end test of the multi-host cluster, driven as an operator and a
client would: playbooks against the sandbox inventory, then the Airflow REST
API v2 and a real headless browser against the master's published port.

Expects the sandbox cluster from `make demo` (make e2e brings it up first).
Everything it talks to is on this machine: 127.0.0.1 and the sandbox
containers it (or make demo) created.
"""

import base64
import json
import shutil
import time

import pytest
import requests
import yaml

from cluster import (ADMIN, BASE, DEMO_SECRETS, EXPECTED_TOTALS, FLOWER, FLOWER_AUTH, HOSTS, INVENTORY, MASTER, NEW_WORKER, PLAYBOOK, UI,
                     PORTS, PUBLISHED, ROOT, SANDBOX, VIEWER, WORKERS, address, changed_tasks, only_the_firewall, probe, celery_online, copy_of_dags, copy_of_inventory,
                     container_id, current_releases, dag_folders, hold_dag_id, on_host, ready_api, recap, sh, stack_files)


def test_the_docker_socket_reaches_worker_hosts_tasks_only():
    """Worker hosts' workers can drive the host's engine; the master's local
    worker gets no socket (airflow_stack_worker_docker_socket is off there)."""
    for host in HOSTS:
        worker = container_id(host, "worker")
        mounts = on_host(host, f"docker inspect -f '{{{{range .Mounts}}}}{{{{.Source}}}} {{{{end}}}}' {worker}").stdout
        assert ("/var/run/docker.sock" in mounts) == (host != MASTER), f"{host}: {mounts}"
        if host != MASTER:
            # the airflow user in the container, through the socket, sees the host's containers
            ps = on_host(host, f"docker exec {worker} python -c \"import http.client, socket; "
                               "c = http.client.HTTPConnection('localhost'); s = socket.socket(socket.AF_UNIX); "
                               "s.connect('/var/run/docker.sock'); c.sock = s; c.request('GET', '/containers/json'); "
                               "print(c.getresponse().status)\"").stdout
            assert ps.strip() == "200", ps


def test_each_host_holds_only_the_images_it_runs():
    """PostgreSQL and Redis run on the master only: workers never get their images."""
    for host in HOSTS:
        images = sh("docker", "exec", host, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        services = [i for i in images if i.startswith(("airflow-sandbox/postgres:", "airflow-sandbox/redis:"))]
        assert (len(services) == 2) == (host == MASTER), f"{host}: {images}"


# Broken inventories (the preflight's checks): test_0_preflight.py.


def test_only_the_clusters_hosts_reach_the_stacks_ports():
    """The firewall (airflow_stack_firewall_*): a machine on the hosts' network
    that is not in the inventory is refused on every port the stack publishes
    (PostgreSQL, the broker, the api-server, Flower, the log servers: the
    sandbox admits only the controller besides the cluster), while the
    cluster's hosts reach each other's; the REST API answers this machine."""
    outsider = probe(PUBLISHED)
    assert outsider and set(outsider.values()) == {"refused"}, outsider
    assert set(probe(PUBLISHED, host=WORKERS[0]).values()) == {"open"}
    assert set(probe({w: PUBLISHED[w] for w in WORKERS}, host=MASTER).values()) == {"open"}
    assert requests.get(f"{UI}/api/v2/monitor/health", timeout=30).status_code == 200
    for host in HOSTS:
        assert on_host(host, "systemctl is-enabled airflow-firewall.service").stdout.strip() == "enabled"


def test_env_identical_on_every_host_and_private():
    sums = {h: sh("docker", "exec", h, "sha256sum", f"{BASE}/.env").stdout.split()[0] for h in HOSTS}
    assert len(set(sums.values())) == 1, sums
    for h in HOSTS:
        assert sh("docker", "exec", h, "stat", "-c", "%a %U", f"{BASE}/.env").stdout.strip() == "600 root"


# The sandbox vault's values (inventory/sandbox/group_vars/all/vault.yml)
VAULT = {"fernet": "sandboxdemoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "api": "sandbox-demo-api-secret-key",
         "jwt": "sandbox-demo-jwt-secret", "postgres": "sandbox-demo-postgres", "broker": "sandbox-demo-redis",
         "admin": ADMIN[1], "flower": FLOWER_AUTH[1], "viewer": VIEWER[1]}
# which secrets each service's container may hold (in its environment); the
# UI users' passwords (admin, viewer) none: they are hashed in the DB
AIRFLOW = {"fernet", "api", "jwt", "postgres", "broker"}
ALLOWED = {"postgres": {"postgres"}, "redis": {"broker"}, "flower": AIRFLOW | {"flower"}}


def test_each_container_gets_only_its_own_secrets_and_none_is_on_a_command_line():
    for host in HOSTS:
        env_files = [f"{BASE}/" + name for name in
                     on_host(host, f"cd {BASE} && ls -A | grep '[.]env$'").stdout.split()]
        expected = {f"{BASE}/.env"} | ({f"{BASE}/{n}.env" for n in ("postgres", "broker", "flower")}
                                           if host == MASTER else set())
        assert set(env_files) == expected, f"{host}: {env_files}"
        for path in env_files:
            assert on_host(host, f"stat -c '%a %U' {path}").stdout.strip() == "600 root", f"{host}:{path}"
        containers = on_host(host, "docker ps --format '{{.ID}} {{.Label \"com.docker.compose.service\"}}'")
        for line in containers.stdout.splitlines():
            cid, service = line.split()
            env = on_host(host, f"docker inspect -f '{{{{json .Config.Env}}}} {{{{json .Config.Cmd}}}} "
                                f"{{{{json .Config.Healthcheck}}}}' {cid}").stdout
            held = {name for name, value in VAULT.items() if value in env}
            assert held <= ALLOWED.get(service, AIRFLOW), f"{host} {service} holds {held - ALLOWED.get(service, AIRFLOW)}"
        # every process on the host (the containers' included): no secret in its arguments
        args = on_host(host, "ps -eo args").stdout
        assert not [name for name, value in VAULT.items() if value in args], f"a secret on {host}'s process list"
    # no file of any host holds a UI user's password (the simple auth manager's
    # password file is gone), and no worker host Flower's
    for host in HOSTS:
        for name in ("admin", "viewer") + (("flower",) if host != MASTER else ()):
            assert on_host(host, f"grep -rl {VAULT[name]} {BASE}/.env {BASE}/config {BASE}/compose.yml",
                           check=False).stdout == "", f"{host} holds the {name} password"


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
        log = api("GET", f"/dags/etl/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{ti['try_number']}")
        text = json.dumps(log)
        marker = {"extract": "extracted 3 orders", "transform": "transformed into totals",
                  "load": "loading totals: kim=150, lee=80"}[ti["task_id"]]
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
    (401), the admin gets a token, and the sandbox's Viewer (airflow_stack_users)
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

    changed = {"airflow_stack_users": [{"username": "viewer", "role": "User", "email": "viewer@sandbox.invalid"},
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


def test_a_dag_import_error_stops_the_deploy_and_ships_nothing(tmp_path):
    dags = copy_of_dags(tmp_path)
    # a DAG file (Airflow only parses files that mention "airflow" and "dag")
    # whose import fails, as one with a missing requirement would
    (dags / "broken.py").write_text("from airflow.sdk import dag\nimport no_such_module_for_the_check\n")
    before = dag_folders()
    proc = sh(*PLAYBOOK, "-i", INVENTORY, "-e", f"airflow_dags_src={dags}",
              "playbooks/deploy-dags.yml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "DAG import check failed; nothing was shipped" in out, out[-3000:]
    assert "broken.py" in out and "no_such_module_for_the_check" in out, out[-3000:]
    assert dag_folders() == before


PROBE_DAG = '''
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="deploy_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def deploy_probe():
    @task
    def probe() -> str:
        return "shipped"

    @task(queue="master")
    def on_master() -> str:
        print("ran on the master's own worker")
        return "master queue"

    probe() >> on_master()


deploy_probe()
'''


def test_check_mode_reports_a_dag_change_and_ships_nothing(tmp_path):
    """site.yml --check on the running cluster (the master and one worker): the
    new DAG release shows up as a change on each host of the run (after the
    import check), and nothing is touched on any host."""
    dags = copy_of_dags(tmp_path)
    (dags / "deploy_probe.py").write_text(PROBE_DAG)
    before, stacks = dag_folders(), stack_files()
    proc = sh(*PLAYBOOK, "-i", INVENTORY, "--check", "--limit", f"{MASTER},{WORKERS[0]}",
              "-e", f"airflow_dags_src={dags}", "playbooks/site.yml")
    stats = recap(proc.stdout)
    assert set(stats) == {MASTER, WORKERS[0]} and all(s["changed"] > 0 for s in stats.values()), stats
    assert "DAGs found: api_ping, deploy_probe, etl" in proc.stdout
    assert dag_folders() == before and stack_files() == stacks


def test_deploy_dags_ships_a_new_dag_to_every_host(api, tmp_path):
    dags = copy_of_dags(tmp_path)
    (dags / "deploy_probe.py").write_text(PROBE_DAG)
    original = current_releases()
    try:
        sh(*PLAYBOOK, "-i", INVENTORY, "-e", f"airflow_dags_src={dags}", "playbooks/deploy-dags.yml")
        current = current_releases()
        assert len(set(current.values())) == 1, current
        assert set(current.values()) != set(original.values())
        assert next(iter(current.values())).startswith("releases/")
        for h in HOSTS:
            owner = sh("docker", "exec", h, "stat", "-c", "%U:%G", f"{BASE}/dags/current/deploy_probe.py")
            assert owner.stdout.strip() == "airflow:airflow"
        # the scheduler sees it, and a worker host runs it from its own copy
        api.wait_for_dag("deploy_probe")
        api("PATCH", "/dags/deploy_probe", json={"is_paused": False})
        run_id = api.run_dag("deploy_probe")
        assert api.xcom("deploy_probe", run_id, "probe") == "shipped"
        # the master's optional local worker serves the `master` queue (sandbox host_vars)
        ti = {t["task_id"]: t for t in api.task_instances(run_id, "deploy_probe")}["on_master"]
        assert ti["hostname"] == address(MASTER), ti
        log = json.dumps(api("GET", f"/dags/deploy_probe/dagRuns/{run_id}/taskInstances/on_master/logs/1"))
        assert "ran on the master's own worker" in log, log[:2000]
    finally:
        sh(*PLAYBOOK, "-i", INVENTORY, "playbooks/deploy-dags.yml")
    assert current_releases() == original


def test_api_ping_calls_the_sample_api_on_its_docker_host(api):
    """api_ping's default URL, host.docker.internal:8000, is the worker's own
    host: run the sample API there, as the README says, and ping it."""
    for w in WORKERS:
        sh("docker", "cp", str(ROOT / "files" / "sample-api" / "sample_api.py"), f"{w}:/usr/local/bin/sample_api.py")
        sh("docker", "exec", "-d", w, "sh", "-c",
           "echo $$ > /run/sample-api.pid; exec python3 /usr/local/bin/sample_api.py --port 8000")
        sh("docker", "exec", w, "python3", "-c",
           "import time, urllib.request\n"
           "for _ in range(50):\n"
           "    try:\n"
           "        urllib.request.urlopen('http://127.0.0.1:8000/', timeout=2); break\n"
           "    except OSError:\n"
           "        time.sleep(0.2)\n"
           "else:\n"
           "    raise SystemExit('sample API did not start')\n")
    try:
        api("PATCH", "/dags/api_ping", json={"is_paused": False})
        run_id = api.run_dag("api_ping", timeout=300)
        result = api.xcom("api_ping", run_id, "ping")
        assert result["status"] == 200 and result["body"]["status"] == "ok", result
    finally:
        api("PATCH", "/dags/api_ping", json={"is_paused": True})
        for w in WORKERS:
            sh("docker", "exec", w, "sh", "-c", "kill $(cat /run/sample-api.pid)", check=False)


def test_ui_lists_the_dags_in_a_real_browser(api, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # the browser accepts the sandbox master's certificate, and only it
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    cert = x509.load_pem_x509_certificate((ROOT / ".cache" / "tls" / f"{MASTER}.crt").read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    options = webdriver.ChromeOptions()
    options.add_argument(f"--ignore-certificate-errors-spki-list={base64.b64encode(digest.finalize()).decode()}")
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(f"{UI}/")
        wait = WebDriverWait(driver, 60)
        # the sign-in form of the FAB auth manager (on airflow_stack_ui_url)
        user = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "input[name='username'], input#username"))
        assert driver.current_url.startswith(UI), f"sign-in page at {driver.current_url}, not on {UI}"
        user.send_keys(ADMIN[0])
        driver.find_element(By.CSS_SELECTOR, "input[type='password']").send_keys(ADMIN[1])
        driver.find_element(By.CSS_SELECTOR, "button[type='submit'], input[type='submit']").click()
        wait.until(lambda d: "/login" not in d.current_url and "/auth/" not in d.current_url)
        driver.get(f"{UI}/dags")
        wait.until(lambda d: "api_ping" in d.find_element(By.TAG_NAME, "body").text
                   and "etl" in d.find_element(By.TAG_NAME, "body").text)
        driver.save_screenshot(str(ROOT / ".cache" / "e2e-dags-page.png"))
    finally:
        driver.quit()


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
    sh(str(SANDBOX), "create", NEW_WORKER)
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


def test_a_stack_that_does_not_become_healthy_fails_with_its_logs(probes, inventory_with_a_third_worker, tmp_path):
    """A worker that is not healthy in time fails the run with its state and
    logs; the same command without the cause then repairs it, and only it."""
    # the inventory as it stands (the third worker in it, the probe DAGs on
    # the cluster), so the master has nothing to change
    inventory = copy_of_inventory(tmp_path, source=inventory_with_a_third_worker)
    run = [*PLAYBOOK, "-e", f"airflow_dags_src={probes}", "--limit", f"{MASTER},{WORKERS[0]}"]
    # One worker gets a new setting (so it is recreated) and cannot become
    # healthy: its host drops what its containers send to the broker's port
    # (the worker is stopped first, so there is nothing to drain, which would
    # need the broker too). Then 20 s are plenty to see it fail.
    (inventory / "host_vars" / f"{WORKERS[0]}.yml").write_text(
        "airflow_stack_worker_concurrency: 3\nairflow_cluster_wait_timeout: 20\n")
    block = f"DOCKER-USER -p tcp --dport {PORTS['redis']} -j REJECT"
    on_host(WORKERS[0], f"docker compose --project-directory {BASE} stop worker && iptables -I {block}")
    try:
        proc = sh(*run, "-i", str(inventory), "playbooks/site.yml", check=False)
        rules = on_host(WORKERS[0], "iptables -S FORWARD; iptables -S DOCKER-USER").stdout
    finally:
        on_host(WORKERS[0], f"iptables -D {block}")
    # the same command without the cause (run first, so that a failed check
    # below leaves the cluster as the next tests expect it)
    repair = sh(*run, "-i", str(inventory_with_a_third_worker), "playbooks/site.yml").stdout
    out = proc.stdout + proc.stderr
    assert f"--dport {PORTS['redis']} -j REJECT" in rules, f"the block is gone after the run:\n{rules}"
    assert proc.returncode != 0, f"{out[-4000:]}\n{rules}"
    assert f"The Airflow stack on {WORKERS[0]} did not become healthy" in out, out[-3000:]
    assert "----- worker (last 40 lines)" in out, out[-3000:]
    assert not [secret for secret in DEMO_SECRETS if secret in out]
    stats = recap(repair)
    assert stats[WORKERS[0]]["changed"] > 0 and stats[MASTER]["changed"] == 0, changed_tasks(repair)


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

"""End-to-end test of the multi-host cluster, driven as an operator and a
client would: playbooks against the sandbox inventory, then the Airflow REST
API v2 and a real headless browser against the master's published port.

Expects the sandbox cluster from `make demo` (make e2e brings it up first).
Everything it talks to is on this machine: 127.0.0.1 and the sandbox
containers it (or make demo) created.

The checks are in test_1_cluster.py … test_1d_workers.py, which run in that
order: here the hosts (the Docker socket, images, the firewall, the env
files and secrets); test_1b_services.py the DAG runs, Flower, TLS and the
accounts; test_1c_dags.py the DAG deploys and the UI; test_1d_workers.py a
worker joining and leaving, then the master's containers recreated.
"""

import requests

from cluster import (ADMIN, BASE, FLOWER_AUTH, HOSTS, MASTER, PUBLISHED, UI, VIEWER, WORKERS, container_id, on_host,
                     probe, sh)


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
    """The firewall (airflow_firewall_*): a machine on the hosts' network
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


def test_a_tasks_supervisor_waits_for_a_busy_master():
    """The task supervisor's client on a worker waits airflow_stack_execution_api_timeout
    (30 s) for each answer of the execution API, not Airflow's 5 s: under load
    the first call (marking the task running) timed out five times and the task
    failed before it started."""
    host = WORKERS[0]
    timeout = on_host(host, f"docker exec {container_id(host, 'worker')} python -c "
                            "'from airflow.sdk.api import client; print(client.API_TIMEOUT)'").stdout
    assert timeout.strip().splitlines()[-1] == "30.0", timeout


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

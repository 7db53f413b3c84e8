"""Smoke tests of the sandbox base images that stand in for the official
Airflow, PostgreSQL and Redis images (no registry is reachable here).

Each test starts throwaway containers on its own docker network on this
machine and removes them afterwards."""

import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

SANDBOX = Path(__file__).parent / "sandbox" / "sandbox.sh"


def sh(*args, check=True):
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def tag(kind):
    return sh(str(SANDBOX), "image-tag", kind).stdout.strip()


@pytest.fixture
def net():
    name = f"imgtest-{uuid.uuid4().hex[:8]}"
    sh("docker", "network", "create", name)
    containers = []
    yield name, containers
    for c in containers:
        sh("docker", "rm", "-f", "-v", c, check=False)
    sh("docker", "network", "rm", name, check=False)


def wait_for(cmd, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sh(*cmd, check=False).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {cmd}")


def test_airflow_base_has_airflow_and_official_layout():
    image = tag("airflow-base")
    out = sh("docker", "run", "--rm", image, "sh", "-c",
             "airflow version; id -u; id -g; echo $AIRFLOW_HOME; pip --version >/dev/null && echo pip-ok").stdout.split()
    assert out == ["3.3.2", "50000", "0", "/opt/airflow", "pip-ok"]
    sh("docker", "run", "--rm", image, "python", "-c",
       "import airflow.providers.celery, airflow.providers.postgres, "
       "airflow.providers.redis, airflow.providers.http")


def test_airflow_base_runs_its_command_under_dumb_init_as_the_official_image():
    """PID 1 is dumb-init, not the command: a command that has no SIGTERM
    handler yet (a Celery worker still starting) ends on `docker stop` rather
    than after the whole stop grace period."""
    image = tag("airflow-base")
    assert sh("docker", "run", "--rm", image, "cat", "/proc/1/comm").stdout.split() == ["dumb-init"]
    name = f"sandbox-test-sigterm-{uuid.uuid4().hex[:8]}"
    sh("docker", "run", "-d", "--name", name, image, "sleep", "300")
    try:
        sh("docker", "stop", "-t", "20", name)
        # 143: ended by the SIGTERM; 137 would be Docker's SIGKILL after the grace period
        assert sh("docker", "inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "143"
    finally:
        sh("docker", "rm", "-f", name, check=False)


def test_postgres_initialises_from_env_and_keeps_data(net, tmp_path):
    network, containers = net
    image = tag("postgres")
    data = tmp_path / "pgdata"
    data.mkdir()

    def start():
        name = f"{network}-pg"
        sh("docker", "run", "-d", "--name", name, "--network", network, "--network-alias", "pg",
           "-e", "POSTGRES_USER=airflow", "-e", "POSTGRES_PASSWORD=s3cret", "-e", "POSTGRES_DB=airflow",
           "-v", f"{data}:/var/lib/postgresql/data", image)
        containers.append(name)
        wait_for(["docker", "exec", name, "pg_isready", "-U", "airflow", "-h", "127.0.0.1"])
        return name

    def psql(sql, password="s3cret"):
        return sh("docker", "run", "--rm", "--network", network, "-e", f"PGPASSWORD={password}", image,
                  "psql", "-h", "pg", "-U", "airflow", "-d", "airflow", "-tAc", sql, check=False)

    name = start()
    assert psql("CREATE TABLE runs (id int); INSERT INTO runs VALUES (42);").returncode == 0
    assert psql("SELECT 1", password="wrong").returncode != 0
    sh("docker", "rm", "-f", name)
    containers.remove(name)
    start()  # a new container on the same host path keeps the data
    assert psql("SELECT id FROM runs").stdout.strip() == "42"


def test_broker_requires_its_password_and_the_client_reads_it_from_the_environment(net):
    """The broker stand-in is Valkey (BSD-licensed), as in production; the
    compose healthcheck gives valkey-cli the password in its environment, never
    on a command line."""
    network, containers = net
    image = tag("redis")
    name = f"{network}-redis"
    # started as roles/airflow_stack's compose file starts it: the password as
    # configuration on stdin
    server = 'exec "$(command -v valkey-server || command -v redis-server)" - <<EOF\nrequirepass $REDIS_PASSWORD\nEOF\n'
    sh("docker", "run", "-d", "--name", name, "--network", network, "-e", "REDIS_PASSWORD=s3cret", image,
       "sh", "-c", server)
    containers.append(name)
    ping = ["docker", "exec", "-e", "VALKEYCLI_AUTH=s3cret", "-e", "REDISCLI_AUTH=s3cret", name, "valkey-cli", "ping"]
    wait_for(ping)
    assert sh(*ping).stdout.strip() == "PONG"
    assert "NOAUTH" in sh("docker", "exec", name, "valkey-cli", "ping", check=False).stdout
    assert sh("docker", "exec", name, "valkey-server", "--version").stdout.startswith("Valkey server")
    assert "s3cret" not in sh("docker", "exec", name, "cat", "/proc/1/cmdline").stdout


ROLES = Path(__file__).parents[1] / "roles"


def _yaml(path):
    return yaml.safe_load((ROLES / path).read_text())


def _apt_names(tasks_file):
    """The packages the apt tasks of a role's task file install by name."""
    return [t["ansible.builtin.apt"]["name"] for t in _yaml(tasks_file) if "ansible.builtin.apt" in t]


def role_packages():
    """What the roles install from Debian 13's packages, read from the roles
    themselves (so the ready image cannot fall behind them): docker's engine
    and compose v2 and the Python libraries its modules use, awscli's distro
    source, airflow_user's ACL tools, airflow_firewall's iptables."""
    return (_yaml("docker/vars/Debian-13.yml")["__docker_distro_packages"]
            + _yaml("docker/defaults/main.yml")["docker_python_packages"]
            + [_yaml("awscli/defaults/main.yml")["awscli_distro_package"]]
            + _apt_names("airflow_user/tasks/main.yml") + _apt_names("airflow_firewall/tasks/main.yml"))


def _installed(image, packages):
    """The listed packages dpkg reports installed in the image."""
    out = sh("docker", "run", "--rm", image, "dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n",
             *packages, check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}


def test_a_ready_host_has_the_roles_packages_and_a_bare_one_none_of_the_big_ones():
    """host-ready stands in for a golden image (make demo, the rebuilt
    master); host stays bare, so the installs are tested (the third worker,
    molecule)."""
    packages = role_packages()
    assert {"docker.io", "awscli", "acl", "iptables"} <= set(packages), packages
    assert _installed(tag("host-ready"), packages) == set(packages), "host.Dockerfile's host-ready target lacks some"
    assert not _installed(tag("host"), ["docker.io", "docker-compose", "awscli", "acl"])

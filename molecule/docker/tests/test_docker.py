"""Verify the docker role on a real sandbox host (Docker-in-Docker)."""

import json
import os
import subprocess

import testinfra.utils.ansible_runner
from conftest import recap

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")
PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]


def load_test_image(name):
    """Copy the sandbox rootfs image into the host's own engine (no registry here)."""
    tag = subprocess.check_output([f"{PROJECT}/tests/sandbox/sandbox.sh", "image-tag", "rootfs"],
                                  text=True).strip()
    save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
    subprocess.run(["docker", "exec", "-i", name, "docker", "load"], stdin=save.stdout,
                   check=True, capture_output=True)
    save.wait()
    return tag


def test_service_running_and_enabled(host):
    svc = host.service("docker")
    assert svc.is_running
    assert svc.is_enabled


def test_daemon_json_applied(host):
    cfg = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert cfg == {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}
    assert host.check_output("docker info --format '{{.LoggingDriver}}'") == "json-file"


def test_compose_v2_recent_enough(host):
    version = host.check_output("docker compose version --short").lstrip("v")
    major, minor = (int(x) for x in version.split(".")[:2])
    assert (major, minor) >= (2, 18), version


def test_docker_group_gid_exposed(host):
    gid = host.group("docker").gid
    assert host.file("/root/docker_group_gid").content_string.strip() == str(gid)
    assert "docker" in host.user("airflow").groups


def test_airflow_user_runs_containers_and_compose(host):
    tag = load_test_image(host.check_output("hostname"))  # sandbox hosts are named after their container
    out = host.check_output(f"sudo -u airflow docker run --rm {tag} cat /etc/debian_version")
    assert out.startswith("13")
    # rotation options from daemon.json reach new containers
    cid = host.check_output(f"sudo -u airflow docker create {tag} true")
    log_cfg = json.loads(host.check_output(
        f"sudo -u airflow docker inspect -f '{{{{json .HostConfig.LogConfig.Config}}}}' {cid}"))
    host.run(f"docker rm {cid}")
    assert log_cfg == {"max-size": "10m", "max-file": "3"}
    # a compose project, brought up and down by the airflow user through the socket
    compose = (f"services:\n  sleeper:\n    image: {tag}\n    command: sleep 300\n"
               "    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 1s\n")
    host.check_output(f"install -d -o airflow /tmp/compose-check && printf '{compose}' > /tmp/compose-check/compose.yml")
    up = host.run("cd /tmp/compose-check && sudo -u airflow docker compose up -d --wait")
    assert up.rc == 0, up.stderr
    assert "sleeper" in host.check_output("cd /tmp/compose-check && sudo -u airflow docker compose ps --services")
    assert host.run("cd /tmp/compose-check && sudo -u airflow docker compose down").rc == 0


def _state(host):
    return (host.check_output("dpkg-query -W -f='${Package} ${Version}\\n' | sort"),
            host.file("/etc/docker/daemon.json").content_string,
            host.check_output("getent group docker"))


def test_unknown_install_source_is_refused(host, run_converge):
    before = _state(host)
    rc, out = run_converge("docker_install_source=snap", '{"docker_daemon_options": {"debug": true}}')
    assert rc != 0
    # the role's argument spec refuses it before any task runs
    assert "docker_install_source must be one of: docker_repo, distro, got: snap" in out
    assert _state(host) == before


def test_unknown_socket_user_is_refused(host, run_converge):
    before = _state(host)
    rc, out = run_converge('{"docker_users": ["airflow", "ghost"]}')
    assert rc != 0
    assert "ghost: no such user on" in out
    assert _state(host) == before


def test_check_mode_changes_nothing(run_converge):
    rc, out = run_converge(check=True)
    assert rc == 0, out
    assert " changed=0 " in recap(out), recap(out)

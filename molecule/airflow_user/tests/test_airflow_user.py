"""Verify the airflow_user role on a real sandbox host."""

import os

import pytest
import testinfra.utils.ansible_runner
from conftest import recap

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")
BASE = "/opt/airflow"
SUBDIRS = ["dags", "logs", "plugins", "config", "data"]


class TestAccount:
    def test_group_has_fixed_gid(self, host):
        group = host.group("airflow")
        assert group.exists
        assert group.gid == 50001

    def test_user_has_fixed_uid(self, host):
        user = host.user("airflow")
        assert user.uid == 50000
        assert user.group == "airflow"
        assert user.home == "/home/airflow"
        assert host.file("/home/airflow").is_directory


@pytest.mark.parametrize("path", [BASE] + [f"{BASE}/{d}" for d in SUBDIRS])
def test_directory_owned_and_shared(host, path):
    d = host.file(path)
    assert d.is_directory
    assert d.user == "airflow"
    assert d.group == "airflow"
    assert d.mode == 0o2775
    acl = host.check_output(f"getfacl -p {path}").splitlines()
    for entry in ("group:airflow:rwx", "default:group:airflow:rwx",
                  "user:etl:rwx", "default:user:etl:rwx",
                  "group:analysts:rwx", "default:group:analysts:rwx"):
        assert entry in acl, f"{entry} missing on {path}:\n" + "\n".join(acl)


def test_file_written_by_a_container_uid_stays_shared(host):
    """A process running as the official image does (UID 50000, GID 0) with a
    tight umask writes a log; the airflow group and the extra ACL user can still
    read and write it, thanks to the default ACLs."""
    path = f"{BASE}/logs/from-container.log"
    host.run(f"rm -f {path}")
    host.check_output(
        f"setpriv --reuid=50000 --regid=0 --clear-groups sh -c 'umask 077; echo hello > {path}'")
    acl = host.check_output(f"getfacl -p {path}").splitlines()
    assert "group:airflow:rwx\t#effective:rw-" in acl, acl
    # setgid on the directory: the file joins the airflow group, not GID 0
    assert host.file(path).group == "airflow"
    # a member of the airflow group (not the owner) can append
    host.check_output("id -u member >/dev/null 2>&1 || useradd -M -g airflow member")
    assert host.run(f"sudo -u member sh -c 'echo more >> {path}'").rc == 0
    assert host.run(f"sudo -u etl cat {path}").stdout.startswith("hello")
    host.run(f"rm -f {path}")


def _accounts(host):
    return (host.check_output("getent passwd | sort"),
            host.check_output("getent group | sort"))


class TestBadInput:
    """Each bad input fails with a clear message and changes nothing."""

    def test_uid_clash_with_existing_account(self, host, run_converge):
        before = _accounts(host)
        rc, out = run_converge("airflow_cluster_uid=50002")
        assert rc != 0
        assert "user 'airflow' already exists with UID 50000, not the requested 50002" in out
        assert _accounts(host) == before

    def test_uid_held_by_another_user(self, host, run_converge):
        before = _accounts(host)
        rc, out = run_converge("airflow_cluster_user=airflow2", "airflow_cluster_group=airflow2",
                               "airflow_cluster_gid=50003", "airflow_cluster_uid=51001")
        assert rc != 0
        assert "UID 51001 is already held by user 'etl'" in out
        assert _accounts(host) == before
        assert not host.file(f"{BASE}2").exists

    def test_gid_held_by_another_group(self, host, run_converge):
        before = _accounts(host)
        rc, out = run_converge("airflow_cluster_gid=51000")
        assert rc != 0
        assert "group 'airflow' already exists with GID 50001" in out
        assert "GID 51000 is already held by group 'analysts'" in out
        assert _accounts(host) == before

    def test_unknown_acl_user(self, host, run_converge):
        before = _accounts(host)
        rc, out = run_converge('{"airflow_user_acl_users": ["nosuchuser"]}')
        assert rc != 0
        assert "airflow_user_acl_users is [\"nosuchuser\"]: nosuchuser: no such user on" in out
        assert _accounts(host) == before


def test_check_mode_changes_nothing(run_converge):
    rc, out = run_converge(check=True)
    assert rc == 0, out
    assert " changed=0 " in recap(out), recap(out)

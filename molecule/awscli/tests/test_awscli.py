"""Verify the awscli role on real sandbox hosts.

molecule-awscli-official and molecule-awscli-controller install TEST FIXTURE
bundles (fake AWS CLI installers signed with a throwaway key, built by
prepare.yml); molecule-awscli-distro installs Debian's real awscli package.

Each test that runs the role again starts from and returns to the converged
state (fixture 2.99.0), so the tests do not depend on their order.
"""

import os
import re

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts(
    "all"
)

OFFICIAL = "molecule-awscli-official"
CONTROLLER = "molecule-awscli-controller"
DISTRO = "molecule-awscli-distro"
BUNDLE_HOSTS = [OFFICIAL, CONTROLLER]
ALL_HOSTS = BUNDLE_HOSTS + [DISTRO]

CONVERGED = "2.99.0"  # fixture release in molecule.yml
TAMPERED = "2.99.1"  # fixture zip changed after it was signed
NEWER = "2.99.2"  # correctly signed fixture upgrade
INSTALL_DIR = "/usr/local/aws-cli"
BIN = "/usr/local/bin/aws"
# The real AWS CLI Team key: not the key that signed the fixtures.
AWS_FINGERPRINT = "FB5DB77FD5C118B80511ADA8A6310ACC4672475C"
TAMPER_MARK = "/tmp/awscli-fixture-tampered-installer-ran"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECAP = re.compile(
    r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
    re.MULTILINE,
)


def node(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def converge(run_converge, *extra_vars, limit, check=False):
    """Run this scenario's converge playbook on the hosts in `limit` (with
    molecule/conftest.py's run_converge).

    Returns (rc, output with colours stripped and whitespace collapsed,
    {host: changed count from PLAY RECAP}).
    """
    rc, out = run_converge(*extra_vars, check=check, limit=",".join(limit))
    out = ANSI.sub("", out)
    changed = {m[1]: int(m[3]) for m in RECAP.finditer(out)}
    return rc, " ".join(out.split()), changed


def aws_version(name, path="aws"):
    return node(name).run(f"{path} --version").stdout.strip()


def version_dirs(name):
    out = node(name).run(f"ls -1 {INSTALL_DIR}/v2 2>/dev/null").stdout
    return sorted(out.split())


def snapshot(names):
    return {n: (aws_version(n), version_dirs(n)) for n in names}


def leftover_work_dirs(name):
    return (
        node(name).run("find /tmp -maxdepth 1 -name 'ansible-awscli.*'").stdout.split()
    )


# --- Converged state -------------------------------------------------------


def test_aws_is_v2_on_path(host):
    assert re.match(r"^aws-cli/2\.\d+\.\d+ ", host.check_output("aws --version"))


def test_no_work_directory_left(host):
    assert not host.run("find /tmp -maxdepth 1 -name 'ansible-awscli.*'").stdout.split()


@pytest.mark.parametrize("name", BUNDLE_HOSTS)
def test_bundle_hosts_run_the_fixture_release(name):
    h = node(name)
    assert h.file(BIN).is_symlink
    assert h.file(BIN).linked_to == f"{INSTALL_DIR}/v2/{CONVERGED}/dist/aws"
    assert aws_version(name, BIN) == (
        f"aws-cli/{CONVERGED} Python/3.13.0 Linux/6 exe/x86_64.fixture"
    )
    assert version_dirs(name) == [CONVERGED, "current"]
    for pkg in ("gnupg", "unzip", "ca-certificates"):
        assert h.package(pkg).is_installed


def test_distro_host_runs_debians_package():
    h = node(DISTRO)
    assert h.package("awscli").is_installed
    out = aws_version(DISTRO, "/usr/bin/aws")
    assert out.startswith("aws-cli/2."), out
    assert "fixture" not in out
    assert not h.file(BIN).exists


def test_check_mode_on_converged_hosts_changes_nothing(run_converge):
    rc, out, changed = converge(run_converge, limit=ALL_HOSTS, check=True)
    assert rc == 0, out
    assert changed == {n: 0 for n in ALL_HOSTS}, out


# --- Bad input: each fails with a clear message and changes nothing --------


class TestBadInput:

    def test_unknown_install_source(self, run_converge):
        before = snapshot(ALL_HOSTS)
        rc, out, _ = converge(
            run_converge, "awscli_install_source=bogus", limit=ALL_HOSTS
        )
        assert rc != 0
        assert "awscli_install_source is 'bogus': it must be one of official" in out
        assert "Nothing was changed" in out
        assert snapshot(ALL_HOSTS) == before

    def test_malformed_version_and_missing_controller_bundle(self, run_converge):
        before = snapshot(BUNDLE_HOSTS)
        rc, out, _ = converge(
            run_converge,
            "awscli_version=latest",
            "awscli_controller_bundle=/nonexistent/awscli.zip",
            limit=BUNDLE_HOSTS,
        )
        assert rc != 0
        # the preflight names every host and setting at once
        for name in BUNDLE_HOSTS:
            assert (
                f"On {name}: awscli_version is 'latest': it must be an AWS "
                'CLI v2 release such as "2.37.4" (quoted in YAML)'
            ) in out
        assert (
            "awscli_controller_bundle is '/nonexistent/awscli.zip': it is "
            "not a file on the controller"
        ) in out
        assert (
            "awscli_controller_bundle_sig is '/nonexistent/awscli.zip.sig': "
            "it is not a file on the controller"
        ) in out
        assert snapshot(BUNDLE_HOSTS) == before

    def test_tampered_bundle_is_refused(self, run_converge):
        before = snapshot(BUNDLE_HOSTS)
        rc, out, _ = converge(
            run_converge, f"awscli_version={TAMPERED}", limit=BUNDLE_HOSTS
        )
        assert rc != 0
        assert f"AWS CLI {TAMPERED}: signature verification failed" in out
        assert "nothing was installed" in out
        for name in BUNDLE_HOSTS:
            assert f"fatal: [{name}]: FAILED!" in out
        assert "BAD signature" in out
        assert snapshot(BUNDLE_HOSTS) == before
        for name in BUNDLE_HOSTS:
            assert aws_version(name, BIN).startswith(f"aws-cli/{CONVERGED} ")
            assert TAMPERED not in version_dirs(name)
            assert not node(name).file(TAMPER_MARK).exists
            assert not leftover_work_dirs(name)

    def test_wrong_pinned_fingerprint(self, run_converge):
        before = snapshot(BUNDLE_HOSTS)
        rc, out, _ = converge(
            run_converge,
            f"awscli_version={NEWER}",
            f"airflow_cluster_awscli_pgp_fingerprint={AWS_FINGERPRINT}",
            limit=BUNDLE_HOSTS,
        )
        assert rc != 0
        assert (
            "which does not match the pinned airflow_cluster_awscli_pgp_fingerprint "
            f"{AWS_FINGERPRINT}"
        ) in out
        assert "Nothing was installed on" in out
        assert snapshot(BUNDLE_HOSTS) == before
        for name in BUNDLE_HOSTS:
            assert NEWER not in version_dirs(name)
            assert not leftover_work_dirs(name)


# --- Upgrade ---------------------------------------------------------------


def test_upgrade_then_idempotent_then_back(run_converge):
    try:
        # check mode reports the upgrade but does not make it
        rc, out, changed = converge(
            run_converge, f"awscli_version={NEWER}", limit=BUNDLE_HOSTS, check=True
        )
        assert rc == 0, out
        assert all(changed[n] > 0 for n in BUNDLE_HOSTS), out
        assert all(
            aws_version(n, BIN).startswith(f"aws-cli/{CONVERGED} ")
            for n in BUNDLE_HOSTS
        )

        rc, out, changed = converge(
            run_converge, f"awscli_version={NEWER}", limit=BUNDLE_HOSTS
        )
        assert rc == 0, out
        assert all(changed[n] > 0 for n in BUNDLE_HOSTS), out
        for name in BUNDLE_HOSTS:
            assert aws_version(name, BIN).startswith(f"aws-cli/{NEWER} ")
            # the installer replaced the old release
            assert version_dirs(name) == [NEWER, "current"]
            assert not leftover_work_dirs(name)

        rc, out, changed = converge(
            run_converge, f"awscli_version={NEWER}", limit=BUNDLE_HOSTS
        )
        assert rc == 0, out
        assert changed == {n: 0 for n in BUNDLE_HOSTS}, out
    finally:
        # back to the converged release, for the other tests
        rc, out, _ = converge(run_converge, limit=BUNDLE_HOSTS)
        assert rc == 0, out
    for name in BUNDLE_HOSTS:
        assert aws_version(name, BIN).startswith(f"aws-cli/{CONVERGED} ")
        assert version_dirs(name) == [CONVERGED, "current"]

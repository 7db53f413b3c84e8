"""Verify the airflow_image role's build and pull sources on a sandbox host."""

import os
import re

import pytest
import testinfra.utils.ansible_runner
from conftest import recap

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")
NAME = "molecule/airflow"
REGISTRY = "127.0.0.1:5000"
# TEST FIXTURE account of the loopback registry (molecule.yml, prepare.yml)
USER, PASSWORD = "puller", "molecule-registry-pass"


def _refs(host, name):
    out = host.check_output(f"docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' {name}")
    return sorted(out.split())


@pytest.fixture(scope="module")
def ref(host):
    refs = _refs(host, NAME)
    assert len(refs) == 1, refs
    return refs[0]


def test_tag_is_the_airflow_version_and_a_content_hash(ref):
    assert re.fullmatch(rf"{NAME}:3\.3\.2-[0-9a-f]{{12}}", ref), ref


def test_image_runs_airflow_with_requirements_and_awscli_baked_in(host, ref):
    run = f"docker run --rm --network none {ref}"
    assert host.check_output(f"{run} airflow version").strip().endswith("3.3.2")
    # requirements.txt is installed at build time, not at container start
    assert host.run(f"{run} python -c 'import requests'").rc == 0
    assert re.match(r"aws-cli/2\.", host.check_output(f"{run} aws --version"))
    # workers record the host's address as their hostname
    assert host.check_output(
        f"docker run --rm --network none -e AIRFLOW_ADVERTISED_HOSTNAME=10.0.0.9 {ref} "
        "python -c 'import advertised_hostname as a; print(a.get_hostname())'") == "10.0.0.9"


def test_extra_ca_certificates_are_trusted_in_the_image(host, ref):
    """The fixture CA (and this machine's proxy CA, if any) are in the image's
    trust store: update-ca-certificates ran on them during the build."""
    ca_files = [os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "molecule-fixture-ca.crt")]
    ca_files += [os.path.join("/usr/local/share/ca-certificates", p)
                 for p in os.listdir("/usr/local/share/ca-certificates") if p.endswith(".crt")]
    bundle = host.check_output(f"docker run --rm --network none {ref} cat /etc/ssl/certs/ca-certificates.crt")
    for path in ca_files:
        with open(path, encoding="ascii") as f:
            body = "".join(line.strip() for line in f if not line.startswith("-----"))
        assert body in "".join(bundle.split()), f"{path} is not in the image's CA bundle"


def test_service_images_are_present(host):
    for kind in ("postgres", "redis"):
        assert _refs(host, f"airflow-sandbox/{kind}"), kind


def _images(host):
    return host.check_output("docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort")


# (an unknown source and a username without its password: the end-to-end
# battery, tests/e2e/test_0_preflight.py, refuses those through site.yml)
@pytest.mark.parametrize("extra, message", [
    ("airflow_image_source=pull", "airflow_image_registry is '': airflow_image_source: pull needs the registry to pull from."),
    ("airflow_image_awscli_source=bundle", "airflow_image_awscli_bundle is '': airflow_image_awscli_source: bundle needs the path of AWS's zip"),
])
def test_bad_input_is_refused_before_any_change(host, run_converge, extra, message):
    before = _images(host)
    rc, out = run_converge(extra)
    assert rc != 0
    assert message in " ".join(out.split()), out[-2000:]
    assert _images(host) == before


def test_pull_from_a_registry_that_asks_for_a_login(host, ref, run_converge):
    """Push the built image to the host's own registry (it asks for an
    account), drop the local copy of the registry's name, then let the role log
    in and pull it back (and again: no change)."""
    tag = ref.split(":", 1)[1]
    pulled = f"{REGISTRY}/{NAME}:{tag}"
    host.check_output(f"echo {PASSWORD} | docker login -u {USER} --password-stdin {REGISTRY}")
    host.check_output(f"docker tag {ref} {pulled} && docker push -q {pulled} && docker rmi {pulled}")
    host.check_output(f"docker logout {REGISTRY}")
    assert pulled not in _refs(host, f"{REGISTRY}/{NAME}")
    pull = ("airflow_image_source=pull", f"airflow_image_registry={REGISTRY}")
    # the registry really asks: without the account the pull fails
    rc, out = run_converge(*pull)
    assert rc != 0 and pulled not in _refs(host, f"{REGISTRY}/{NAME}"), out[-2000:]
    login = (f"airflow_image_registry_username={USER}", f"airflow_image_registry_password={PASSWORD}")
    rc, out = run_converge(*pull, *login)
    assert rc == 0, out[-3000:]
    assert " changed=2 " in recap(out), recap(out)  # the login and the pull
    assert PASSWORD not in out
    assert host.file("/root/.docker/config.json").mode == 0o600
    assert _refs(host, f"{REGISTRY}/{NAME}") == [pulled]
    rc, out = run_converge(*pull, *login)
    assert rc == 0 and " changed=0 " in recap(out), recap(out)


def test_check_mode_changes_nothing(run_converge):
    rc, out = run_converge(check=True)
    assert rc == 0, out
    assert " changed=0 " in recap(out), recap(out)

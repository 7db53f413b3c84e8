"""Fixtures shared by the end-to-end tests (see the cluster package for the helpers)."""


import pytest

from types import SimpleNamespace

from cluster import (CA, INVENTORY, PLAYBOOK, S3_BUCKET, S3_ENDPOINT, WORKERS, address, current_releases,
                     hold_dag_id, note, ready_api, sh, write_probe_dags)


@pytest.fixture(scope="module")
def api():
    return ready_api()


@pytest.fixture(scope="module")
def runs_on_every_worker(api):
    """etl runs until every worker host has run at least one task (bounded)."""
    wanted = {address(w): w for w in WORKERS}
    seen = {}
    for _ in range(8):
        run_id = api.run_etl()
        for ti in api.task_instances(run_id):
            seen.setdefault(ti["hostname"], (run_id, ti))
        if set(wanted) <= set(seen):
            break
    return wanted, seen


# The DAG release the probe DAGs were last shipped as (its name is a hash of
# the files, the same in every pytest session: make test runs the modules in
# more than one; one note per cluster).
PROBE_RELEASE = note("probe-release")


@pytest.fixture(scope="session")
def _probe_release(tmp_path_factory):
    """dags/ plus the test-only probe DAGs (cluster.PROBE_DAGS), written once,
    and the DAG release they were last shipped as (None: not yet)."""
    shipped = PROBE_RELEASE.read_text().strip() if PROBE_RELEASE.exists() else None
    return SimpleNamespace(dags=write_probe_dags(tmp_path_factory.mktemp("probes") / "dags"), shipped=shipped)


@pytest.fixture(scope="module")
def probes(api, _probe_release):
    """The probe DAGs on the cluster; returns their folder (pass it on as
    airflow_dags_src). Shipped with deploy-dags.yml unless every host of the
    inventory still runs the release they were last shipped as (a module in
    between may have shipped another: then again)."""
    release = _probe_release
    if release.shipped is None or set(current_releases().values()) != {release.shipped}:
        sh(*PLAYBOOK, "-i", INVENTORY, "-e", f"airflow_dags_src={release.dags}", "playbooks/deploy-dags.yml")
        releases = set(current_releases().values())
        assert len(releases) == 1, f"the hosts run different DAG releases: {releases}"
        release.shipped = releases.pop()
        PROBE_RELEASE.parent.mkdir(exist_ok=True)
        PROBE_RELEASE.write_text(release.shipped + "\n")
    for dag_id in ("e2e_retry", "e2e_import", hold_dag_id(WORKERS[0])):
        api.wait_for_dag(dag_id)
    return release.dags


@pytest.fixture(scope="session")
def s3():
    """The sandbox's S3 store (SeaweedFS on sandbox-s3): .client, a boto3
    client with the cluster's account (the sandbox vault's keys), over HTTPS
    trusting the sandbox CA, path-style; .bucket, the cluster's bucket."""
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1", verify=str(CA),
                          aws_access_key_id="SANDBOXDEMOACCESSKEY", aws_secret_access_key="sandbox-demo-s3-secret-key",
                          config=Config(s3={"addressing_style": "path"}))
    return SimpleNamespace(client=client, bucket=S3_BUCKET)

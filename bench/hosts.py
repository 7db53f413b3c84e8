"""The bench's sandbox hosts (created, destroyed, a script on one), its
inventories (copies of inventory/sandbox) and its DAG folder."""

import concurrent.futures
import os
import shutil

from tests.e2e.cluster import S3_BUCKET, SANDBOX, address, on_host, sh, trust_the_sandbox_ca
from tests.sandbox.copy_inventory import copy as copy_inventory

from .settings import ALL_NAMES, BENCH, CACHE, DAGS, MASTER, NETWORK, ROOT, S3_HOST, UI_PORT


def sandbox(*args, publish=""):
    env = dict(os.environ, SANDBOX_NETWORK=NETWORK, SANDBOX_PUBLISH=publish)
    return sh(str(SANDBOX), *args, env=env)


def create_s3():
    """The bench's own S3 store (SeaweedFS on bench-s3, the sandbox's bucket;
    idempotent), the archive's and the task logs' home; the playbooks reach
    it at SANDBOX_S3_ADDRESS (inventory/sandbox reads it)."""
    sandbox("s3", S3_HOST, S3_BUCKET)
    os.environ["SANDBOX_S3_ADDRESS"] = address(S3_HOST)


def create_hosts(names):
    """Start sandbox hosts (the master with its api-server published, after
    the S3 store it archives to)."""
    if MASTER in names:
        create_s3()
        sandbox("create", MASTER, publish=f"127.0.0.1:{UI_PORT}:8080")
        sandbox("tls", MASTER)  # its certificate (the sandbox inventory points at it)
        trust_the_sandbox_ca()
    rest = [n for n in names if n != MASTER]
    if rest:
        sandbox("create", *rest)


def destroy_hosts(names=None):
    sandbox("destroy", *(names or ALL_NAMES))


def up_wait(host, compose):
    """`compose up --wait` on a host, once more if a container gave up while
    the master's services were still starting; returns what was retried."""
    first = on_host(host, f"{compose} up -d --wait --wait-timeout 900", check=False)
    if first.returncode == 0:
        return ""
    on_host(host, f"{compose} up -d --wait --wait-timeout 900")
    return f"{host}: `up --wait` failed once ({(first.stderr or first.stdout).strip().splitlines()[-1:]}), then passed"


def parallel(fn, items):
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(fn, items))


# ------------------------------------------------------------ inventory


def inventory(workers):
    """A copy of the sandbox inventory for bench-master and these workers,
    shipping the bench's DAG folder (dags/ plus bench/dags/)."""
    inv = CACHE / f"inventory-{len(workers)}w-{'-'.join(w.rsplit('-', 1)[1] for w in workers)}"
    copy_inventory(inv, MASTER, workers)
    (inv / "group_vars" / "all" / "bench.yml").write_text(
        f"---\n# make bench: dags/ plus bench/dags/\nairflow_dags_src: {DAGS}\n")
    return inv


def stage_dags():
    if DAGS.exists():
        shutil.rmtree(DAGS)
    shutil.copytree(ROOT / "dags", DAGS, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in sorted((BENCH / "dags").glob("*.py")):
        shutil.copy(f, DAGS / f.name)

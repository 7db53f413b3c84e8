"""The last module on each cluster (make test runs it on both): after
everything the modules before it did to the cluster, site.yml with -v
reports 0 changed on every host, skips the work whose inputs are in place,
takes no backup and prints no secret. E2E_NOOP_STRATEGY=linear runs it under
stock Ansible (a controller without Mitogen; make test does so on its
second cluster), else under ansible.cfg's Mitogen strategy.
"""

import os
import re

from cluster import (DEMO_SECRETS, INVENTORY, MASTER, PLAYBOOK, WORKERS, changed_tasks, recap, sh,
                     upgraded_image_args)
from test_3_backup import dumps

STRATEGY = os.environ.get("E2E_NOOP_STRATEGY", "")


def test_site_yml_after_everything_changes_nothing_and_prints_no_secret():
    """After DAG deploys, a worker added and removed, restores, an upgrade,
    faults or the rebuild: 0 changed on every host, the work whose inputs are
    in place skipped, no backup taken (same image), no secret printed even
    with -v. (Check mode: test_1c_dags.)"""
    # the earlier modules shipped their probe DAGs: dags/ as the inventory
    # has it first
    sh(*PLAYBOOK, "-i", INVENTORY, "playbooks/deploy-dags.yml")
    before = dumps()
    env = {**os.environ, "ANSIBLE_STRATEGY": STRATEGY} if STRATEGY else None
    out = sh(*PLAYBOOK, "-i", INVENTORY, "-v", *upgraded_image_args(), "playbooks/site.yml", env=env).stdout
    if STRATEGY == "linear":
        assert "mitogen" not in out.lower(), "Mitogen ran although the strategy was linear"
    stats = recap(out)
    assert set(stats) == {MASTER, *WORKERS} and all(s["changed"] == 0 for s in stats.values()), changed_tasks(out)
    leaked = [secret for secret in DEMO_SECRETS if secret in out]
    assert not leaked, f"secrets in the playbook output: {leaked}"
    # no DAG import check (every host runs this release), no image build or
    # export on the controller (every host has its images), no drain and no
    # batch (no worker's stack changes)
    for skipped in ("Check | Load every DAG file", "Context | Build the image", "Ship | Save the images",
                    "drain.yml"):
        assert skipped not in out, f"{skipped!r} ran in a run that changes nothing"
    assert not re.search(r"PLAY \[Roll changes out[^\n]*\n+TASK", out), "a worker was rolled"
    # the backup step ran, and decided there is no migration
    assert "Before migration | Decide whether the change will migrate the DB" in out
    assert "Backup | Dump the metadata DB" not in out
    assert dumps() == before

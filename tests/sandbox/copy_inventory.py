"""A copy of the sandbox inventory for another sandbox cluster on this
machine: its master and workers in place of sandbox-master and
sandbox-worker-* (make bench's clusters import copy()). From the command
line (make test's second cluster) the copy also gets an image cache of its
own on the controller (two clusters' playbooks may build and export images
at once).

    python tests/sandbox/copy_inventory.py DEST MASTER WORKER...

The rest (the S3 store's address, the UI port, the TLS files) follows the
environment the playbooks run in (SANDBOX_S3_ADDRESS, DEMO_UI_PORT) and the
master's name, as for inventory/sandbox.
"""

import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def copy(dest, master, workers, own_image_cache=False):
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ROOT / "inventory" / "sandbox", dest)
    (dest / "host_vars" / "sandbox-master.yml").rename(dest / "host_vars" / f"{master}.yml")
    hosts = yaml.safe_load((dest / "hosts.yml").read_text())
    groups = hosts["all"]["children"]["airflow"]["children"]
    groups["airflow_master"]["hosts"] = {master: None}
    groups["airflow_workers"]["hosts"] = {w: None for w in workers}
    (dest / "hosts.yml").write_text("---\n# A copy of inventory/sandbox (tests/sandbox/copy_inventory.py)\n"
                                    + yaml.safe_dump(hosts, sort_keys=False))
    if own_image_cache:
        (dest / "group_vars" / "all" / "copy.yml").write_text(
            f"---\n# this cluster's images, built and exported on the controller\n"
            f"airflow_image_cache_dir: {ROOT / '.cache' / ('images-' + master)}\n")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    copy(Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3:], own_image_cache=True)

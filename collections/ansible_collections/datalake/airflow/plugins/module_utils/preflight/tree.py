# -*- coding: utf-8 -*-
"""Rules of the tree's place on each host (role airflow_cluster, "hosts"
phase): not on a file system that a reboot empties."""

from __future__ import annotations

from .cluster import inside
from .core import Cluster, Host, rule

VOLATILE = ("tmpfs", "ramfs", "devtmpfs")


@rule("airflow_cluster", phase="hosts")
def tree_on_disk(host: Host, cluster: Cluster):
    """The tree and the backups are on a disk, not a tmpfs."""
    mounts = [m for m in host.facts.get("mounts", []) or [] if isinstance(m, dict) and m.get("mount")]
    for setting in ("airflow_cluster_base_dir", "airflow_cluster_backup_dir"):
        path = str(host.get(setting) or "")
        holding = [m for m in mounts if path.startswith("/") and inside(path, m["mount"])]
        if not holding:
            continue
        mount = max(holding, key=lambda m: len(m["mount"]))
        if mount.get("fstype") in VOLATILE:
            yield host.problem(setting, (
                f"it is on {mount['mount']}, a {mount['fstype']} of {host.name} that a reboot empties: put it on a "
                "disk."))

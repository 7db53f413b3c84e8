# -*- coding: utf-8 -*-
"""Rules of the counts and periods that delete things (roles airflow_dags,
airflow_backup, airflow_retention): none may delete what is in use."""

from __future__ import annotations

from .core import Cluster, rule, whole

COUNTS = [
    # (role, setting, least, why)
    ("airflow_dags", "airflow_dags_keep_releases", 1,
     "the DAG releases kept on each host, the current one included: 0 would delete the current release"),
    ("airflow_backup", "airflow_backup_keep", 1,
     "the backups kept on the master: 0 would delete the backup just taken"),
    ("airflow_retention", "airflow_retention_log_days", 1,
     "task logs older than this many days are deleted: 0 would delete the logs of running tasks"),
    ("airflow_retention", "airflow_retention_db_days", 1,
     "DB history older than this many days is purged: 0 would purge today's runs, running ones included"),
    ("airflow_retention", "airflow_retention_images_keep_previous", 0,
     "the earlier Airflow images kept for a roll back"),
]


def _counts(role):
    def check(cluster: Cluster):
        first = cluster.first
        for owner, setting, least, why in COUNTS:
            if owner == role and whole(first.get(setting), least) is None:
                yield first.problem(setting, f"it must be a whole number of {least} or more ({why}).")
    check.__name__ = f"counts_{role}"
    check.__doc__ = f"The counts and periods of {role} that delete things keep what is in use."
    return check


for _role in dict.fromkeys(c[0] for c in COUNTS):
    rule(_role, scope="cluster")(_counts(_role))


@rule("airflow_backup", scope="cluster")
def backup_fetch(cluster: Cluster):
    """A backup fetched to the controller needs a directory there."""
    first = cluster.first
    from .core import truthy
    if truthy(first.get("airflow_backup_fetch", False)) and not str(first.get("airflow_backup_fetch_dir") or ""):
        yield first.problem("airflow_backup_fetch_dir", (
            "airflow_backup_fetch is on, but this is empty: give the controller directory the copies go to."))


@rule("airflow_backup", scope="cluster")
def backup_s3(cluster: Cluster):
    """The backups' copies in S3 need the cluster's bucket and a plain key
    prefix."""
    from .core import truthy
    from .stack import key_prefix
    first = cluster.first
    if not truthy(first.get("airflow_backup_s3_enabled", False)):
        return
    if not str(first.get("airflow_cluster_s3_bucket") or "").strip():
        yield first.problem("airflow_backup_s3_enabled", (
            "the backups are to be copied to S3, but airflow_cluster_s3_bucket is empty: set the bucket (with the "
            "store's endpoint, region and keys) in the inventory's group_vars/all, or set "
            "airflow_backup_s3_enabled: false to keep the backups on the master only."))
    yield from key_prefix(first, "airflow_backup_s3_prefix", "dumps")

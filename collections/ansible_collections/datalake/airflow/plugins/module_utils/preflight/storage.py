# -*- coding: utf-8 -*-
"""Rules of the S3 store and the metadata DB's archive (role airflow_cluster:
airflow_cluster_s3_*, airflow_cluster_archive_*) and of the backup schedule
(role airflow_archive)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .core import Cluster, rule, truthy, whole

ROLE = "airflow_cluster"
# S3's bucket naming rules (lowercase letters, digits, dots and hyphens, 3 to
# 63 characters, a letter or digit at each end)
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION = re.compile(r"^[a-z0-9-]{2,40}$")


@rule(ROLE, scope="cluster")
def s3_store(cluster: Cluster):
    """The S3 store's endpoint, bucket and region are usable, and an account
    is given when a bucket is."""
    first = cluster.first
    endpoint = first.get("airflow_cluster_s3_endpoint") or ""
    if endpoint:
        parts = urlsplit(str(endpoint))
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
            yield first.problem("airflow_cluster_s3_endpoint", (
                "it must be the store's URL, https://HOST[:PORT] with no path (the bucket is "
                "airflow_cluster_s3_bucket), or empty for AWS itself."))
    bucket = first.get("airflow_cluster_s3_bucket") or ""
    if bucket and not BUCKET.match(str(bucket)):
        yield first.problem("airflow_cluster_s3_bucket", (
            "it must be a bucket name: 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a "
            "letter or digit."))
    if not REGION.match(str(first.get("airflow_cluster_s3_region") or "")):
        yield first.problem("airflow_cluster_s3_region", "it must be a region name such as us-east-1.")
    if bucket:
        for setting in ("airflow_cluster_s3_access_key_id", "airflow_cluster_s3_secret_access_key"):
            if not first.get(setting):
                yield first.problem(setting, (
                    f"airflow_cluster_s3_bucket is {bucket}, but this is empty: put the S3 account's keys in the "
                    "vault (vault_airflow_s3_access_key_id, vault_airflow_s3_secret_access_key)."), secret=True)


@rule(ROLE, scope="cluster")
def archive(cluster: Cluster):
    """The archive needs a bucket and an encryption pass; its timeout and
    retention are in range."""
    first = cluster.first
    if not truthy(first.get("airflow_cluster_archive_enabled")):
        return
    if not first.get("airflow_cluster_s3_bucket"):
        yield first.problem("airflow_cluster_archive_enabled", (
            "the archive goes to the S3 bucket, and airflow_cluster_s3_bucket is empty: set the bucket (and the store's "
            "endpoint and keys), or set this to false."))
    if not first.get("airflow_cluster_archive_cipher_pass"):
        yield first.problem("airflow_cluster_archive_cipher_pass", (
            "the archive is encrypted with this pass, and it is empty: put a long random one in the vault "
            "(vault_airflow_archive_cipher_pass) and keep a copy outside the cluster."), secret=True)
    elif len(str(first.get("airflow_cluster_archive_cipher_pass"))) < 20:
        yield first.problem("airflow_cluster_archive_cipher_pass", (
            "it is shorter than 20 characters: use a long random pass (e.g. openssl rand -base64 48)."), secret=True)
    path = str(first.get("airflow_cluster_archive_path") or "")
    if not re.match(r"^/[A-Za-z0-9._/-]*$", path) or "//" in path or "/../" in path + "/":
        yield first.problem("airflow_cluster_archive_path", (
            "it must be a path in the bucket starting with / (letters, digits, . _ - /), such as /pgbackrest."))
    timeout = whole(first.get("airflow_cluster_archive_timeout"), 30)
    if timeout is None or timeout > 3600:
        yield first.problem("airflow_cluster_archive_timeout", (
            "it must be a whole number of seconds from 30 to 3600 (PostgreSQL's archive_timeout: the most committed "
            "history a lost disk can take)."))
    if whole(first.get("airflow_cluster_archive_retention_full"), 1) is None:
        yield first.problem("airflow_cluster_archive_retention_full", (
            "it must be a whole number of 1 or more: the full backups the repository keeps (0 would leave nothing "
            "to restore from)."))


@rule("airflow_archive", scope="cluster")
def archive_schedule(cluster: Cluster):
    """The backup schedules are set."""
    first = cluster.first
    for setting in ("airflow_archive_full_schedule", "airflow_archive_diff_schedule"):
        if not str(first.get(setting) or "").strip():
            yield first.problem(setting, "it must be a systemd OnCalendar expression, such as 'Sun *-*-* 01:30:00'.")


@rule("airflow_status", scope="cluster")
def archive_status_limits(cluster: Cluster):
    """The archive's age limits in the status report are positive."""
    first = cluster.first
    for setting in ("airflow_status_archive_backup_max_age_hours", "airflow_status_archive_wal_max_age"):
        if whole(first.get(setting), 1) is None:
            yield first.problem(setting, "it must be a whole number of 1 or more (how old the archive may get).")


TARGET = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\+00$")


@rule("airflow_backup", scope="cluster")
def restore_source(cluster: Cluster):
    """A restore's source is a dump or the archive (which must be on), and
    its target latest or a moment in UTC."""
    first = cluster.first
    source = first.get("airflow_backup_restore_source", "dump")
    if source not in ("dump", "archive"):
        yield first.problem("airflow_backup_restore_source", (
            "it must be dump (a pg_dump file of airflow_cluster_backup_dir) or archive (the DB's archive in S3)."))
    elif source == "archive" and not truthy(first.get("airflow_cluster_archive_enabled")):
        yield first.problem("airflow_backup_restore_source", (
            "there is no archive to restore from: airflow_cluster_archive_enabled is off. Restore a dump, or turn the "
            "archive on (it covers what happens after it was turned on)."))
    target = str(first.get("airflow_backup_restore_target", "latest"))
    if target != "latest" and not TARGET.match(target):
        yield first.problem("airflow_backup_restore_target", (
            "it must be latest or a moment in UTC written YYYY-MM-DD HH:MM:SS+00, such as '2026-12-01 14:30:00+00'."))

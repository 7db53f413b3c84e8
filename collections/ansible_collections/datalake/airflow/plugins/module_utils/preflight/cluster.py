# -*- coding: utf-8 -*-
"""Rules of the cluster-wide settings (role airflow_cluster): the inventory's
layout, settings under old names, settings that must not differ between
hosts, the tree's paths and the names that compose, PostgreSQL, URLs and
shells take."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re

from .core import Cluster, Host, rule, whole

ROLE = "airflow_cluster"

# Top-level and system directories that must never become (or hold) the
# tree handed to the airflow account, or the backups.
SYSTEM_DIRS = frozenset([
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/usr/bin",
    "/usr/include", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/local", "/usr/local/bin", "/usr/local/lib",
    "/usr/local/sbin", "/usr/local/share", "/usr/sbin", "/usr/share", "/usr/src", "/var/backups", "/var/cache",
    "/var/lib", "/var/local", "/var/lock", "/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp",
])
# Directories whose whole subtree belongs to the system (pseudo or volatile
# file systems, the OS, Docker's own data).
SYSTEM_TREES = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/boot", "/etc", "/bin", "/sbin", "/lib",
                "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/share", "/var/lib/docker", "/var/lib/containerd")
# Subdirectories of the tree the stack manages (the backups must not be in
# one: log retention deletes logs, the DB owns postgres/ ...).
MANAGED_SUBDIRS = ("postgres", "dags", "logs", "plugins", "config", "data", "tls")
PATH_CHARS = re.compile(r"^[A-Za-z0-9._/@+-]+$")
# Settings whose values are never shown (secrets, and what may hold one).
SECRET_NAME = re.compile(r"password|secret|fernet|_key$|extra_env")


@rule(ROLE, scope="cluster", layout=True)
def one_master(cluster: Cluster):
    """The master group holds exactly one host."""
    first = cluster.first
    if len(cluster.masters) != 1:
        group = first.get("airflow_cluster_master_group")
        yield first.problem("airflow_cluster_master_group", (
            f"the inventory group '{group}' must hold exactly one host; it has {len(cluster.masters)}"
            f"{' (' + ', '.join(cluster.masters) + ')' if cluster.masters else ''}: put the master, and only it, in it."))


@rule(ROLE, scope="cluster", layout=True)
def master_in_run(cluster: Cluster):
    """A run (--limit) that holds workers holds the master too: workers are
    told its address, and it runs the DB migration first."""
    masters = cluster.masters
    if len(masters) == 1 and masters[0] not in cluster.hosts and any(h in cluster.workers for h in cluster.hosts):
        yield cluster.first.problem("--limit", (
            f"the master {masters[0]} is not part of this run: the playbook needs it (the workers are told its "
            f"address, it runs the DB migration). To change one worker, run with --limit '{masters[0]},<worker>'."),
            value=",".join(cluster.hosts))


@rule(ROLE, scope="cluster", layout=True)
def one_role_per_host(cluster: Cluster):
    """A host is the master or a worker, not both."""
    first = cluster.first
    for name in cluster.masters:
        if name in cluster.workers:
            yield first.problem("airflow_cluster_worker_group", (
                f"{name} is in both '{first.get('airflow_cluster_master_group')}' and "
                f"'{first.get('airflow_cluster_worker_group')}': a host is the master or a worker (the master's own "
                "worker is airflow_cluster_master_worker_enabled: true). Remove it from one group."))


@rule(ROLE)
def no_moved_settings(host: Host, cluster: Cluster):
    """An inventory that sets a setting under the name an earlier release
    read it under (it would be ignored without a word)."""
    moved = host.get("__airflow_cluster_moved_settings", {}) or {}
    for old in sorted(set(moved) & host.names):
        now = str(moved[old])
        if now.startswith("no setting"):
            # e.g. "no setting (the stack's api-server); delete it"
            fix = f"this release has {now} from the inventory."
        else:
            fix = (f"this release no longer reads that name; it is now {now}: rename it in the inventory (set the "
                   "cluster-wide ones once, in group_vars/all; see roles/airflow_cluster/README.md).")
        yield host.problem(old, fix, value=host.get(old))


def _fingerprint(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@rule(ROLE, scope="cluster")
def same_on_every_host(cluster: Cluster):
    """Cluster-wide settings (__airflow_cluster_same_on_every_host) take one
    value on every host of the run. Values are compared by hash: no secret
    is shown."""
    first = cluster.first
    names = first.get("__airflow_cluster_same_on_every_host", []) or []
    want = {n: _fingerprint(first.get(n, "(not set)")) for n in names}
    for host in list(cluster.hosts.values())[1:]:
        for name in names:
            if _fingerprint(host.get(name, "(not set)")) != want[name]:
                yield host.problem(name, (
                    f"it must be the same on every host, but {host.name} gets another value than {first.name}: "
                    "set it once for all hosts (group_vars/all or the vault), not in host_vars or for a group of "
                    "some hosts."), secret=SECRET_NAME.search(name) is not None)


def _path_problem(value) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "it must be an absolute path such as /srv/airflow."
    if not value.startswith("/"):
        return "it must be an absolute path (it starts with /), such as /srv/airflow."
    if not PATH_CHARS.match(value):
        return "it may only hold letters, digits and . _ - + @ / (compose files and shells take it as is)."
    norm = posixpath.normpath(value)
    if norm != value or "//" in value:
        return f"it must be written plainly, without '..', '.', '//' or a trailing /: write {norm}."
    if norm in SYSTEM_DIRS:
        return "it is a system directory: the run would hand it to the airflow account. Use a directory of its own, such as /srv/airflow."
    for tree in SYSTEM_TREES:
        if norm.startswith(tree + "/"):
            return (f"it is inside {tree}, which belongs to the system (volatile, or the OS's own): "
                    "use a directory of its own, such as /srv/airflow.")
    return None


def inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


@rule(ROLE, scope="cluster")
def tree_paths(cluster: Cluster):
    """The tree and the backups: absolute, plain paths of their own, not a
    system directory, not inside each other's managed parts."""
    first = cluster.first
    base, backups = first.get("airflow_cluster_base_dir"), first.get("airflow_cluster_backup_dir")
    base_text, backups_text = _path_problem(base), _path_problem(backups)
    if base_text:
        yield first.problem("airflow_cluster_base_dir", base_text)
    # a backups' directory inside a wrong tree (its default) is wrong only
    # because of the tree
    if backups_text and not (base_text and isinstance(backups, str) and isinstance(base, str)
                             and backups.startswith(base)):
        yield first.problem("airflow_cluster_backup_dir", backups_text)
    if base_text or backups_text:
        return
    if backups == base:
        yield first.problem("airflow_cluster_backup_dir", (
            "it is the tree itself (airflow_cluster_base_dir): keep the backups in a directory of their own, "
            f"e.g. {base}/backups."))
    elif inside(base, backups):
        yield first.problem("airflow_cluster_base_dir", (
            f"it is inside the backups' directory (airflow_cluster_backup_dir {backups}): keep the tree out of it."))
    else:
        for sub in MANAGED_SUBDIRS:
            if inside(backups, f"{base}/{sub}"):
                yield first.problem("airflow_cluster_backup_dir", (
                    f"it is inside {base}/{sub}, which the stack manages (the DB's data, DAG releases, logs that "
                    f"retention deletes, ...): keep the backups apart, e.g. {base}/backups."))


NAME_RULES = [
    # (setting, pattern, max length, what takes it, an example)
    ("airflow_cluster_project_name", r"^[a-z0-9][a-z0-9_-]*$", 63,
     "docker compose takes lowercase letters, digits, _ and - only, starting with a letter or digit", "airflow"),
    ("airflow_cluster_postgres_user", r"^[a-z_][a-z0-9_]*$", 63,
     "PostgreSQL and the connection URLs take lowercase letters, digits and _, starting with a letter", "airflow"),
    ("airflow_cluster_postgres_db", r"^[a-z_][a-z0-9_]*$", 63,
     "PostgreSQL and the connection URLs take lowercase letters, digits and _, starting with a letter", "airflow"),
    ("airflow_cluster_user", r"^[a-z_][a-z0-9_-]*$", 32,
     "Linux account names are lowercase letters, digits, _ and -, starting with a letter", "airflow"),
    ("airflow_cluster_group", r"^[a-z_][a-z0-9_-]*$", 32,
     "Linux group names are lowercase letters, digits, _ and -, starting with a letter", "airflow"),
]


@rule(ROLE, scope="cluster")
def names(cluster: Cluster):
    """Names that compose, PostgreSQL, URLs or shells reject (charset, case,
    length)."""
    first = cluster.first
    for setting, pattern, length, why, example in NAME_RULES:
        value = first.get(setting)
        if not isinstance(value, str) or not re.match(pattern, value) or len(value) > length:
            yield first.problem(setting, f"{why}, at most {length} characters: e.g. {example}.")


@rule(ROLE, scope="cluster")
def ids(cluster: Cluster):
    """The account's UID and GID: whole numbers, not root's 0."""
    first = cluster.first
    for setting in ("airflow_cluster_uid", "airflow_cluster_gid"):
        number = whole(first.get(setting))
        if number is None or not 1 <= number <= 2147483647:
            yield first.problem(setting, (
                "it must be a whole number from 1 up, free on every host (0 is root's): e.g. 50000, the official "
                "image's."))

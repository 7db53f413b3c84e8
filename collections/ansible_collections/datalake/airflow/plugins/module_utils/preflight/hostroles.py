# -*- coding: utf-8 -*-
"""Rules of the host roles' settings: the account and its tree
(airflow_user), the Docker engine (docker) and the AWS CLI (awscli); the
"hosts" phase checks them against each host's facts and accounts."""

from __future__ import annotations

import os
import re

from .core import Cluster, Host, is_list, rule

AWSCLI_SOURCES = ("official", "controller", "distro")
AWSCLI_ARCHES = ("x86_64", "aarch64")
DOCKER_SOURCES = ("docker_repo", "distro")


@rule("airflow_user", scope="cluster")
def tree_settings(cluster: Cluster):
    """The tree's mode is octal; its subdirectories are relative names
    inside it."""
    first = cluster.first
    mode = str(first.get("airflow_user_dir_mode"))
    if not re.match(r"^[0-7]{3,4}$", mode):
        yield first.problem("airflow_user_dir_mode", 'it must be an octal string such as "2775".')
    subdirs = first.get("airflow_user_subdirs")
    if not is_list(subdirs) or [d for d in subdirs if not isinstance(d, str) or not d or d.startswith("/")
                                or ".." in d.split("/")]:
        yield first.problem("airflow_user_subdirs", (
            "it must be a list of relative names inside airflow_cluster_base_dir (no leading / and no ..), "
            "e.g. [dags, logs, plugins, config, data]."))


def _platform(host: Host, role: str):
    family = host.facts.get("os_family")
    if family and family != "Debian":
        yield host.problem("ansible_facts.os_family", (
            f"the {role} role supports Debian-family hosts; {host.name} runs "
            f"{host.facts.get('distribution', 'an unknown OS')}."), value=family)


@rule("airflow_user", phase="hosts")
def accounts(host: Host, cluster: Cluster):
    """The account and group exist with the requested IDs, or the IDs are
    free; the users and groups the ACLs name exist."""
    yield from _platform(host, "airflow_user")
    users, groups = host.facts.get("getent_passwd"), host.facts.get("getent_group")
    if users is None or groups is None:
        return
    # the account, then its group: the same two checks against passwd, group
    for kind, name, setting, table, id_kind, what in (
            ("user", "airflow_cluster_user", "airflow_cluster_uid", users, "UID", "the account"),
            ("group", "airflow_cluster_group", "airflow_cluster_gid", groups, "GID", "the group")):
        name, wanted = str(host[name]), str(host[setting])
        if name in table and str(table[name][1]) != wanted:
            yield host.problem(setting, (
                f"{kind} '{name}' already exists with {id_kind} {table[name][1]}, not the requested {wanted}: set "
                f"{setting} to {table[name][1]} or change {what} on the host first."))
        holders = sorted(n for n, e in table.items() if str(e[1]) == wanted and n != name)
        if holders:
            yield host.problem(setting, (
                f"{id_kind} {wanted} is already held by {kind} '{', '.join(holders)}': choose another {setting} or "
                f"free that {id_kind} on the host."))
    missing = [u for u in host.get("airflow_user_acl_users", []) or [] if u not in users]
    if missing:
        yield host.problem("airflow_user_acl_users", f"{', '.join(missing)}: no such user on {host.name}.")
    for setting in ("airflow_user_acl_groups", "airflow_user_extra_groups"):
        missing = [g for g in host.get(setting, []) or [] if g not in groups]
        if missing:
            yield host.problem(setting, f"{', '.join(missing)}: no such group on {host.name}.")


@rule("docker")
def docker_settings(host: Host, cluster: Cluster):
    """Where the engine comes from; its daemon settings are a mapping."""
    if host.get("docker_install_source") not in DOCKER_SOURCES:
        yield host.problem("docker_install_source", (
            "it must be one of docker_repo (Docker's apt repository) or distro (the distribution's packages)."))
    if not isinstance(host.get("docker_daemon_options"), dict):
        yield host.problem("docker_daemon_options", "it must be a mapping (it becomes /etc/docker/daemon.json).")


@rule("docker", phase="hosts")
def docker_host(host: Host, cluster: Cluster):
    """The distribution's packages have compose v2 when they are the
    source; the users given the engine exist (the airflow account is made
    in the same run)."""
    yield from _platform(host, "docker")
    os_vars = host.facts.get("docker_os_vars") or {}
    if host.get("docker_install_source") == "distro" and not os_vars.get("__docker_distro_has_compose_v2", False):
        yield host.problem("docker_install_source", (
            f"{host.facts.get('distribution')} {host.facts.get('distribution_major_version')}'s packages have no "
            "docker compose v2 plugin: set docker_install_source: docker_repo."))
    users = host.facts.get("getent_passwd")
    made_here = str(host.get("airflow_cluster_user", ""))
    missing = [u for u in host.get("docker_users", []) or [] if users is not None and u not in users and u != made_here]
    if missing:
        yield host.problem("docker_users", (
            f"{', '.join(missing)}: no such user on {host.name}; create them first or remove them from docker_users."))


@rule("awscli")
def awscli_settings(host: Host, cluster: Cluster):
    """Where the AWS CLI comes from."""
    if host.get("awscli_install_source") not in AWSCLI_SOURCES:
        yield host.problem("awscli_install_source", (
            "it must be one of official (AWS's signed bundle), controller (that bundle, copied from the controller: "
            "set awscli_controller_bundle) or distro (the distribution's package)."))


@rule("awscli", phase="hosts")
def awscli_bundle(host: Host, cluster: Cluster):
    """AWS's bundle: a v2 release, an architecture AWS builds for, the
    signing key's fingerprint and files on the controller."""
    yield from _platform(host, "awscli")
    if host.get("awscli_install_source") not in ("official", "controller"):
        return
    exists = cluster.controller.get("isfile", os.path.isfile)
    version = host.get("awscli_version")
    if not isinstance(version, str) or not re.match(r"^2\.[0-9]+\.[0-9]+$", version):
        yield host.problem("awscli_version", 'it must be an AWS CLI v2 release such as "2.37.4" (quoted in YAML).')
    if host.get("awscli_arch") not in AWSCLI_ARCHES:
        yield host.problem("awscli_arch", (
            f"AWS publishes the bundle for {' and '.join(AWSCLI_ARCHES)} only: set awscli_arch, or use "
            "awscli_install_source: distro."))
    fingerprint = str(host.get("airflow_cluster_awscli_pgp_fingerprint")).replace(" ", "").upper()
    if not re.match(r"^[0-9A-F]{40}$", fingerprint):
        yield host.problem("airflow_cluster_awscli_pgp_fingerprint", "it must be the key's 40 hex digit fingerprint.")
    files = ["awscli_pgp_public_key"]
    if host.get("awscli_install_source") == "controller":
        files += ["awscli_controller_bundle", "awscli_controller_bundle_sig"]
    for setting in files:
        path = str(host.get(setting) or "")
        if not path or not exists(path):
            yield host.problem(setting, (
                "it is not a file on the controller: put AWS's file there (the bundle's zip, its .sig, the AWS CLI "
                "team's public key) or point the setting at it."))

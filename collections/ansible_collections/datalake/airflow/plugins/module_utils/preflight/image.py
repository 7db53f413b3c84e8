# -*- coding: utf-8 -*-
"""Rules of the Airflow image's settings (role airflow_image) and of the
backend images (role airflow_cluster)."""

from __future__ import annotations

import re

from .core import Cluster, rule

ROLE = "airflow_image"
SOURCES = ("build", "pull", "ship")
# A Docker image reference: [registry[:port]/]path[:tag][@digest], path
# components lowercase (docker's reference grammar).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?/)?"
NAME = re.compile(rf"^{_REGISTRY}{_COMPONENT}(?:/{_COMPONENT})*$")
REFERENCE = re.compile(rf"^{_REGISTRY}{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
                       r"(?:@sha256:[0-9a-f]{64})?$")
BASE_RELEASE = re.compile(r"(?:^|/)apache/airflow:(?:slim-)?v?([0-9][0-9.]*[0-9])")


@rule(ROLE, scope="cluster")
def image_source(cluster: Cluster):
    """Where the image comes from, and what each source needs."""
    first = cluster.first
    source = first.get("airflow_image_source")
    if source not in SOURCES:
        yield first.problem("airflow_image_source", f"it must be one of {', '.join(SOURCES)} (README, The image).")
    elif source == "pull" and not first.get("airflow_image_registry"):
        yield first.problem("airflow_image_registry", "airflow_image_source: pull needs the registry to pull from.")
    awscli = first.get("airflow_image_awscli_source")
    if awscli not in ("distro", "bundle"):
        yield first.problem("airflow_image_awscli_source", "it must be distro or bundle.")
    elif awscli == "bundle" and not first.get("airflow_image_awscli_bundle"):
        yield first.problem("airflow_image_awscli_bundle", (
            "airflow_image_awscli_source: bundle needs the path of AWS's zip on the controller (its .sig beside it)."))
    if bool(first.get("airflow_image_registry_username")) != bool(first.get("airflow_image_registry_password")):
        yield first.problem("airflow_image_registry_username", (
            "airflow_image_registry_username and airflow_image_registry_password go together: set both (the "
            "password in the vault) or neither."))


@rule(ROLE, scope="cluster")
def image_names(cluster: Cluster):
    """Image names and references docker accepts (lowercase repository,
    a tag of letters, digits, . _ -)."""
    first = cluster.first
    name = first.get("airflow_image_name")
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 200:
        yield first.problem("airflow_image_name", (
            "docker takes a repository name of lowercase letters, digits and . _ - separated by /, without a tag "
            "(the tag is the content hash): e.g. datalake/airflow."))
    for setting in ("airflow_image_base", "airflow_cluster_postgres_image", "airflow_cluster_broker_image"):
        value = first.get(setting)
        if not isinstance(value, str) or not REFERENCE.match(value.strip()):
            yield first.problem(setting, (
                "it is not an image reference docker accepts ([registry/]name[:tag], the name in lowercase): "
                "e.g. postgres:17."))


@rule(ROLE, scope="cluster")
def image_release(cluster: Cluster):
    """An official base image is the Airflow release the cluster runs."""
    first = cluster.first
    found = BASE_RELEASE.search(str(first.get("airflow_image_base")))
    version = str(first.get("airflow_cluster_airflow_version"))
    if found and found.group(1) != version:
        yield first.problem("airflow_image_base", (
            f"it is Airflow {found.group(1)}, but airflow_cluster_airflow_version is '{version}': set both to the "
            "same release (the base image's tag follows airflow_cluster_airflow_version unless you pin it)."))

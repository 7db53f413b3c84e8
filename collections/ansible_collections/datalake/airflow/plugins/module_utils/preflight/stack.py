# -*- coding: utf-8 -*-
"""Rules of the compose stack's settings (role airflow_stack): secrets, the
topology and the queues, ports, rolling changes and timeouts, task logs in
S3, extra settings."""

from __future__ import annotations

import re

from .core import Cluster, Host, is_list, rule, truthy, whole

ROLE = "airflow_stack"

# The cluster's secrets; each must be set (from the vault), strong, not a
# demo value, and fit in a connection URL.
SECRETS = ("airflow_stack_fernet_key", "airflow_stack_api_secret_key", "airflow_stack_jwt_secret",
           "airflow_stack_postgres_password", "airflow_stack_redis_password", "airflow_stack_flower_password")
SECRET_MIN_LENGTH = 16
DEMO = re.compile(r"(?i)(sandbox|demo|change.?me|example)")
URL_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")
FERNET = re.compile(r"^[A-Za-z0-9_-]{43}=$")
QUEUE = re.compile(r"^[A-Za-z0-9_.-]+$")
ENV_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")
BATCH = re.compile(r"^[1-9][0-9]*%?$")
# An S3 key prefix: path segments of letters, digits and ! - _ . * ' ( )
# (S3's safe characters), no empty, . or .. segment.
PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9!_.*'()-]+$")
CONN_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def secret_problem(value, setting: str, allow_demo: bool) -> str | None:
    """What is wrong with a secret's value (the message never holds it)."""
    value = "" if value is None else str(value)
    if not value:
        return "it is not set: put it in the inventory's vault (README, Secrets)."
    if not allow_demo and DEMO.search(value):
        return "it is a demo or placeholder value: this inventory needs real secrets (README, Secrets)."
    if setting == "airflow_stack_fernet_key":
        if not FERNET.match(value):
            return ("it is not a Fernet key (44 url-safe base64 characters): generate one with "
                    "`openssl rand -base64 32 | tr '+/' '-_'`.")
        return None
    if not URL_SAFE.match(value):
        return ("it may only hold letters, digits and . _ - (it goes into connection URLs): generate it with "
                "`openssl rand -hex 32`.")
    if len(value) < SECRET_MIN_LENGTH:
        return (f"it is too weak ({len(value)} characters, at least {SECRET_MIN_LENGTH} needed): generate it with "
                "`openssl rand -hex 32`.")
    return None


@rule(ROLE, scope="cluster")
def secrets(cluster: Cluster):
    """Every secret set, strong, no demo value outside the sandbox, and
    URL-safe (the Fernet key: a Fernet key)."""
    first = cluster.first
    allow_demo = truthy(first.get("airflow_stack_allow_demo_secrets", False))
    for setting in SECRETS:
        text = secret_problem(first.get(setting, ""), setting, allow_demo)
        if text:
            yield first.problem(setting, text, secret=True)


@rule(ROLE)
def worker_settings(host: Host, cluster: Cluster):
    """A worker's queues (a list of plain names) and its task slots."""
    if not cluster.runs_worker(host):
        return
    queues = host.get("airflow_stack_worker_queues")
    if not is_list(queues):
        yield host.problem("airflow_stack_worker_queues", "it must be a list of queue names, e.g. [default, etl].")
    elif not queues or [q for q in queues if not QUEUE.match(str(q))]:
        yield host.problem("airflow_stack_worker_queues", (
            "it must name at least one queue, each of letters, digits and . _ - only: e.g. [default, etl]."))
    if whole(host.get("airflow_stack_worker_concurrency"), 1) is None:
        yield host.problem("airflow_stack_worker_concurrency", (
            "it must be a whole number of 1 or more (the worker's task slots), e.g. 8."))


@rule(ROLE, scope="cluster")
def topology(cluster: Cluster):
    """Some host runs a worker; when the whole cluster is in the run, some
    worker serves the queue 'default'."""
    first = cluster.first
    masters, workers = cluster.masters, cluster.workers
    if len(masters) != 1:
        return
    master = cluster.hosts.get(masters[0])
    if not workers and master is not None and not cluster.runs_worker(master):
        yield master.problem("airflow_cluster_master_worker_enabled", (
            f"no host runs a Celery worker: add a host to the group '{first.get('airflow_cluster_worker_group')}' "
            "or set airflow_cluster_master_worker_enabled: true for the master."))
        return
    serving = [h for h in cluster.in_run() if cluster.runs_worker(h)]
    if master is None or len(cluster.in_run()) != len(cluster.members) or not serving:
        return
    queues = [str(q) for h in serving if is_list(h.get("airflow_stack_worker_queues"))
              for q in h.get("airflow_stack_worker_queues")]
    if queues and "default" not in queues:
        yield serving[0].problem("airflow_stack_worker_queues", (
            "no Celery worker serves the queue 'default', where every task without a queue goes: add default to "
            "airflow_stack_worker_queues of at least one worker."))


def host_ports(host: Host, cluster: Cluster) -> list:
    """The settings of the ports this host publishes."""
    ports = []
    if cluster.is_master(host):
        ports += ["airflow_cluster_api_port", "airflow_cluster_postgres_port", "airflow_cluster_broker_port"]
        if truthy(host.get("airflow_cluster_flower_enabled", False)):
            ports.append("airflow_cluster_flower_port")
    if cluster.runs_worker(host):
        ports.append("airflow_cluster_log_server_port")
    return ports


@rule(ROLE)
def ports(host: Host, cluster: Cluster):
    """Port numbers from 1 to 65535, one service per port on a host."""
    seen: dict = {}
    for setting in host_ports(host, cluster):
        number = whole(host.get(setting))
        if number is None or not 1 <= number <= 65535:
            yield host.problem(setting, "it must be a port number from 1 to 65535.")
            continue
        if number in seen:
            yield host.problem(setting, (
                f"{seen[number]} of {host.name} listens on that port too: give each service its own port."))
        seen.setdefault(number, setting)


@rule(ROLE, scope="cluster")
def rolling(cluster: Cluster):
    """Rolling batches: a number of workers or a percentage up to 100%."""
    first = cluster.first
    batch = str(first.get("airflow_stack_rolling_batch")).strip()
    if not BATCH.match(batch) or (batch.endswith("%") and int(batch[:-1]) > 100):
        yield first.problem("airflow_stack_rolling_batch", (
            "it must be a number of workers (e.g. 2) or a percentage of them from 1% to 100% (e.g. \"25%\")."))


@rule(ROLE, scope="cluster")
def timeouts(cluster: Cluster):
    """Timeouts that would kill or redeliver running tasks: zeros, and a
    broker visibility timeout not longer than the drain's grace period and
    the task heartbeat timeout."""
    first = cluster.first
    minimums = {
        "airflow_stack_worker_stop_grace_period": (1, "the seconds a stopped worker's running tasks get to finish: "
                                                      "0 kills them at every rolling change; e.g. 600."),
        "airflow_stack_task_heartbeat_timeout": (30, "a task's worker heartbeats every few seconds; below 30 s busy "
                                                     "workers' tasks are failed as lost: e.g. 300."),
        "airflow_stack_task_queued_timeout": (30, "below 30 s tasks are queued again before a worker could take "
                                                  "them: e.g. 600."),
        "airflow_stack_execution_api_timeout": (5, "a task's worker gives up on a master that answers slower "
                                                   "and fails the task: e.g. 30."),
        "airflow_stack_celery_visibility_timeout": (60, "Celery redelivers a task not finished within it: e.g. "
                                                        "86400 (a day), longer than your longest task."),
        "airflow_cluster_wait_timeout": (1, "the seconds a run waits for the services to be healthy: e.g. 600."),
    }
    numbers = {}
    for setting, (least, why) in minimums.items():
        number = whole(first.get(setting))
        if number is None or number < least:
            yield first.problem(setting, f"it must be a whole number of seconds, at least {least}; {why}")
        else:
            numbers[setting] = number
    visibility = numbers.get("airflow_stack_celery_visibility_timeout")
    for other in ("airflow_stack_worker_stop_grace_period", "airflow_stack_task_heartbeat_timeout"):
        if visibility is not None and other in numbers and visibility <= numbers[other]:
            yield first.problem("airflow_stack_celery_visibility_timeout", (
                f"it must be longer than {other} ({numbers[other]} s): Celery would hand a task that is still "
                "running to a second worker. Make it longer than your longest task, e.g. 86400."))
            break


def key_prefix(host, setting, example):
    """An S3 key prefix setting: segments of S3's safe characters, no
    leading or trailing /, no . or .. segment (task logs, backups)."""
    prefix = host.get(setting)
    segments = str(prefix).split("/") if isinstance(prefix, str) else [""]
    if any(not PREFIX_SEGMENT.match(seg) or seg in (".", "..") for seg in segments):
        yield host.problem(setting, (
            "it must be a key prefix of letters, digits and ! - _ . * ' ( ) in segments separated by /, without a "
            f"leading or trailing / and no . or .. segment: e.g. {example} or airflow/prod/{example}."))


@rule(ROLE, scope="cluster")
def remote_logging(cluster: Cluster):
    """Task logs in S3 need the cluster's bucket, a plain key prefix and a
    connection id."""
    first = cluster.first
    if not truthy(first.get("airflow_stack_remote_logging_enabled", False)):
        return
    if not str(first.get("airflow_cluster_s3_bucket") or "").strip():
        yield first.problem("airflow_stack_remote_logging_enabled", (
            "task logs go to S3, but airflow_cluster_s3_bucket is empty: set the bucket (with the store's endpoint, "
            "region and keys) in the inventory's group_vars/all, or set airflow_stack_remote_logging_enabled: false "
            "to keep task logs on the workers only."))
    yield from key_prefix(first, "airflow_stack_remote_logging_prefix", "logs")
    conn_id = first.get("airflow_stack_remote_logging_conn_id")
    if not isinstance(conn_id, str) or not CONN_ID.match(conn_id):
        yield first.problem("airflow_stack_remote_logging_conn_id", (
            "it must be an Airflow connection id of letters, digits and . _ - (the airflow_connections role's "
            "airflow_connections_aws_conn_id): e.g. aws_default."))


def managed_env_keys(cluster: Cluster) -> frozenset:
    return frozenset(cluster.controller.get("managed_env_keys", ()))


@rule(ROLE, scope="cluster")
def extra_env(cluster: Cluster):
    """More Airflow settings: a mapping of environment names, none that the
    project sets itself, values on one line."""
    first = cluster.first
    extra = first.get("airflow_stack_extra_env", {})
    if not isinstance(extra, dict):
        yield first.problem("airflow_stack_extra_env", "it must be a mapping of AIRFLOW__SECTION__KEY: value.")
        return
    managed = managed_env_keys(cluster)
    for key in sorted(extra, key=str):
        setting = f"airflow_stack_extra_env.{key}"
        if not ENV_KEY.match(str(key)):
            yield first.problem(setting, (
                "an environment variable's name is upper-case letters, digits and _ (AIRFLOW__SECTION__KEY)."),
                value=key)
        elif key in managed:
            yield first.problem(setting, (
                "the project sets this one itself (roles/airflow_stack/templates/airflow.env.j2), from its own "
                "setting: use that setting (see roles/airflow_stack/README.md) instead of airflow_stack_extra_env."),
                secret=True)
        elif isinstance(extra[key], (dict, list)) or "\n" in str(extra[key]) or "\r" in str(extra[key]):
            yield first.problem(setting, "a value must be one line of text (it goes into .env as KEY=value).",
                                secret=True)

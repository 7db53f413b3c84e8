# -*- coding: utf-8 -*-
"""Rules of Airflow's connections, variables and pools (role
airflow_connections): ids, keys and names Airflow takes, each listed once,
a type for each connection, pool slots, and secrets that reach the object
they are for (a typo in a vault key would otherwise drop a password without
a word) and that Airflow hides."""

from __future__ import annotations

import re

from .core import Cluster, Host, is_list, rule, truthy, whole

ROLE = "airflow_connections"
# What Airflow's REST API and UI take for a connection id (ConnectionBody:
# [\w.-]+, at most 200), kept to ASCII; the same for variable keys (at most
# 250, the key column) and pool names (at most 256; the characters Airflow's
# metrics keep as they are).
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
LIMITS = {"connection": ("a connection id", 200), "variable": ("a variable key", 250), "pool": ("a pool name", 256)}
CONN_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")
# The words Airflow hides the value of, in a variable's key or an extra
# field's name (a key holding one is hidden in the UI and REST API), in
# every Airflow 3 release; [core] sensitive_var_conn_names adds more.
SENSITIVE = ("access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password", "private_key",
             "secret", "token", "keyfile_dict", "service_account")
MORE_SENSITIVE = "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES"


def _name_problem(kind: str, value) -> str | None:
    what, limit = LIMITS[kind]
    if not isinstance(value, str) or not NAME.match(value) or len(value) > limit:
        return (f"{what} may only hold letters, digits and _ . - (what Airflow's REST API and UI take), at most "
                f"{limit} characters: e.g. warehouse_db.")
    return None


def _sensitive_words(first: Host) -> tuple:
    extra_env = first.get("airflow_stack_extra_env", {}) or {}
    more = str(extra_env.get(MORE_SENSITIVE, "") if isinstance(extra_env, dict) else "")
    return SENSITIVE + tuple(w.strip().lower() for w in more.split(",") if w.strip())


def _hidden(name, words: tuple) -> bool:
    return any(word in str(name).lower() for word in words)


def _hide_fix(words: tuple) -> str:
    return (f"Airflow shows the value in the UI and REST API unless the name holds one of {', '.join(words[:11])}, "
            f"...: rename it (e.g. add _secret), or add a word to {MORE_SENSITIVE} in airflow_stack_extra_env.")


def _listed(first: Host):
    """The connections of airflow_connections_list, or None when it is no list of mappings."""
    listed = first.get("airflow_connections_list", [])
    if not is_list(listed) or [c for c in listed if not isinstance(c, dict)]:
        return None
    return listed


def _aws(first: Host):
    """The built-in AWS connection's id, or None when it is off."""
    if not truthy(first.get("airflow_connections_aws_enabled", False)):
        return None
    return first.get("airflow_connections_aws_conn_id")


@rule(ROLE, scope="cluster")
def connections(cluster: Cluster):
    """Each connection: an id Airflow takes, listed once (the built-in AWS
    connection's included), a type, a port number, extra fields as a
    mapping."""
    first = cluster.first
    listed = _listed(first)
    if listed is None:
        yield first.problem("airflow_connections_list", "it must be a list of {conn_id, conn_type} mappings.")
        return
    aws = _aws(first)
    seen = []
    if aws is not None:
        text = _name_problem("connection", aws)
        if text:
            yield first.problem("airflow_connections_aws_conn_id", text)
        seen.append(aws)
    for i, item in enumerate(listed):
        setting = f"airflow_connections_list[{i}]"
        conn_id, conn_type, port = item.get("conn_id"), item.get("conn_type"), item.get("port")
        text = _name_problem("connection", conn_id)
        if text:
            yield first.problem(setting + ".conn_id", text, value=conn_id)
        elif conn_id in seen:
            yield first.problem(setting + ".conn_id", (
                "it is listed twice (or is the built-in AWS connection, airflow_connections_aws_conn_id): give each "
                "connection one entry."), value=conn_id)
        elif not isinstance(conn_type, str) or not CONN_TYPE.match(conn_type):
            yield first.problem(setting + ".conn_type", (
                f"connection '{conn_id}' needs a type, letters, digits, _ and - (e.g. postgres, http, aws: a "
                "provider in the image must know it)."), value=conn_type)
        elif port not in (None, "") and (whole(port) is None or not 1 <= whole(port) <= 65535):
            yield first.problem(setting + ".port", f"the port of '{conn_id}' must be a number from 1 to 65535.",
                                value=port)
        elif item.get("extra") is not None and not isinstance(item["extra"], dict):
            yield first.problem(setting + ".extra", (
                f"the extra of '{conn_id}' must be a mapping of field to value (Airflow stores it as JSON), not "
                "a string."), value=item["extra"])
        seen.append(conn_id)


@rule(ROLE, scope="cluster")
def connection_secrets(cluster: Cluster):
    """Every password and secret extra field is for a connection of the list
    (a typo would drop it without a word; the built-in AWS connection's key
    is the cluster's S3 one); a secret extra field is named as Airflow hides
    it, and is not a plain extra field too."""
    first = cluster.first
    listed = _listed(first)
    if listed is None:
        return
    extras = {c.get("conn_id"): c.get("extra") if isinstance(c.get("extra"), dict) else {} for c in listed}
    aws, words = _aws(first), _sensitive_words(first)
    for setting, vault in (("airflow_connections_passwords", "vault_airflow_connection_passwords"),
                           ("airflow_connections_secret_extras", "vault_airflow_connection_extras")):
        given = first.get(setting, {}) or {}
        if not isinstance(given, dict):
            yield first.problem(setting, f"it must be a mapping by conn_id ({vault} in the vault).", secret=True)
            continue
        for key, value in given.items():
            where = f"{setting}.{key}"
            if key not in extras:
                if aws is not None and key == aws:
                    text = (f"'{key}' is the built-in AWS connection, whose secret is the cluster's S3 key "
                            f"(vault_airflow_s3_secret_access_key): delete it from {vault}.")
                else:
                    text = (f"'{key}' names no connection of airflow_connections_list "
                            f"({', '.join(map(str, extras)) or 'none'}), so it would be dropped without a word: "
                            f"rename the key in {vault} to the connection's conn_id.")
                yield first.problem(where, text, secret=True)
            elif setting.endswith("extras") and not isinstance(value, dict):
                yield first.problem(where, f"the secret extras of '{key}' must be a mapping of field to value.",
                                    secret=True)
            elif setting.endswith("extras"):
                for field in value:
                    if field in extras[key]:
                        yield first.problem(f"{where}.{field}", (
                            f"'{field}' is a plain extra field of '{key}' too (airflow_connections_list): keep it "
                            "in one of the two."), secret=True)
                    elif not _hidden(field, words):
                        yield first.problem(f"{where}.{field}", _hide_fix(words), secret=True)


@rule(ROLE, scope="cluster")
def variables(cluster: Cluster):
    """Variables: keys Airflow takes, each with a value; a secret variable's
    key is one Airflow hides, and not a plain variable's too."""
    first = cluster.first
    plain = first.get("airflow_connections_variables", {})
    secret = first.get("airflow_connections_secret_variables", {}) or {}
    if not isinstance(plain, dict):
        yield first.problem("airflow_connections_variables", "it must be a mapping of key to value.")
        plain = {}
    if not isinstance(secret, dict):
        yield first.problem("airflow_connections_secret_variables", (
            "it must be a mapping of key to value (vault_airflow_secret_variables in the vault)."), secret=True)
        secret = {}
    words = _sensitive_words(first)
    for key, value in plain.items():
        text = _name_problem("variable", key)
        if text or value is None:
            yield first.problem(f"airflow_connections_variables.{key}", text or (
                f"variable '{key}' has no value: give it one (a string; a mapping or list is stored as JSON)."),
                value=key if text else value)
    for key, value in secret.items():
        where = f"airflow_connections_secret_variables.{key}"
        text = _name_problem("variable", key)
        if text:
            yield first.problem(where, text, secret=True)
        elif key in plain:
            yield first.problem(where, (
                f"'{key}' is a plain variable too (airflow_connections_variables): keep it in one of the two."),
                secret=True)
        elif not _hidden(key, words):
            yield first.problem(where, _hide_fix(words), secret=True)
        elif value is None:
            yield first.problem(where, f"secret variable '{key}' has no value in vault_airflow_secret_variables.",
                                secret=True)


@rule(ROLE, scope="cluster")
def pools(cluster: Cluster):
    """Pools: names Airflow takes, each listed once, slots a whole number of
    -1 (unlimited) or more."""
    first = cluster.first
    listed = first.get("airflow_connections_pools", [])
    if not is_list(listed) or [p for p in listed if not isinstance(p, dict)]:
        yield first.problem("airflow_connections_pools", "it must be a list of {name, slots} mappings.")
        return
    seen = []
    for i, item in enumerate(listed):
        setting = f"airflow_connections_pools[{i}]"
        name, slots = item.get("name"), item.get("slots")
        text = _name_problem("pool", name)
        if text:
            yield first.problem(setting + ".name", text, value=name)
        elif name in seen:
            yield first.problem(setting + ".name", "it is listed twice: give each pool one entry.", value=name)
        elif whole(slots, -1) is None:
            yield first.problem(setting + ".slots", (
                f"the slots of pool '{name}' must be a whole number: -1 (unlimited), 0 or more."), value=slots)
        seen.append(name)

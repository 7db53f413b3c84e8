#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Make Airflow's connections, variables and pools match lists, in one call to
the api-server container."""

from __future__ import annotations

DOCUMENTATION = r"""
module: airflow_objects
short_description: Airflow's connections, variables and pools as lists give them
description:
  - In the running api-server container of a compose stack (C(docker compose exec)),
    creates the listed connections, variables and pools that do not exist, updates
    those that differ, and removes the ones it made that the lists no longer name.
    One container call whether anything changes or not; when nothing changes (and in
    check mode) the call reads the tables with SQLAlchemy alone, decrypting with the
    fernet key as Airflow does, and never imports Airflow (seconds of CPU).
  - >-
    What it makes is marked, and only marked objects are ever removed. The description
    Airflow keeps for each listed object ends with C([managed by ansible: <name>]);
    an object made by hand in the UI or REST API carries no such tag, and a copy of a
    managed one, under another name, a tag that is not its own, so neither is touched.
    A listed name that exists unmarked is taken over (updated and marked).
    C(default_pool) may be listed (its slots set) and is never removed.
  - >-
    Passwords, secret extra fields and secret variables go to the container on stdin,
    never on a command line, and are in no result; the changes name the objects and
    the fields that differ, never a value. Airflow stores passwords, extras and
    variables encrypted (fernet); they are compared decrypted, so a rerun changes nothing.
  - The script run in the container is C(plugins/module_utils/airflow_objects_script.py)
    (Airflow's own models, C(airflow.models.Connection), C(Variable) and C(Pool), in one
    session; all the changes are committed together, or none).
  - Supports check mode natively (the container then only reports what it would
    change); in check mode a service that is not running (or a host without
    docker) gives C(changed=false) and C(skipped=true) instead of a failure.
options:
  service:
    description: The compose service of Airflow's api-server (a running container with the metadata DB and the fernet key).
    type: str
    default: api-server
  connections:
    description: The connections; the list is all of the managed ones (a managed connection it no longer names is removed).
    type: list
    elements: dict
    required: true
    suboptions:
      conn_id:
        description: Connection id (letters, digits and C(_ . -)).
        type: str
        required: true
      conn_type:
        description: Connection type, e.g. C(aws), C(postgres), C(http).
        type: str
        required: true
      description:
        description: Shown in the UI, before the tag.
        type: str
      host:
        description: Host (or URL, for some types).
        type: str
      port:
        description: Port.
        type: int
      login:
        description: Login (user name, access key id).
        type: str
      schema:
        description: Schema (database, URL path, depending on the type).
        type: str
      extra:
        description: The extra fields that are not secret (Airflow's JSON C(extra)); secret ones go in I(secret_extras).
        type: dict
  passwords:
    description: The password of each connection that has one, by conn_id; each must name a connection of I(connections).
    type: dict
    default: {}
  secret_extras:
    description: >-
      Secret extra fields of connections, by conn_id (C({conn_id: {field: value}})), merged into their I(extra).
    type: dict
    default: {}
  variables:
    description: >-
      The variables that are not secret, key to value; with I(secret_variables), all of the managed ones. A value
      that is not a string is stored as JSON (C(Variable.get(key, deserialize_json=True)) reads it back).
    type: dict
    required: true
  secret_variables:
    description: The secret variables, key to value (as I(variables)); no key may be in both.
    type: dict
    default: {}
  pools:
    description: The pools; the list is all of the managed ones (C(default_pool) may be in it).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Pool name (letters, digits and C(_ . -)).
        type: str
        required: true
      slots:
        description: Slots; C(-1) for unlimited.
        type: int
        required: true
      description:
        description: Shown in the UI, before the tag.
        type: str
      include_deferred:
        description: Whether deferred tasks take a slot.
        type: bool
        default: false
  env:
    description: More environment of the container call (C(-e NAME=VALUE), so no secrets).
    type: dict
    default: {}
extends_documentation_fragment:
  - datalake.airflow.compose_service
author: datalake team
"""

EXAMPLES = r"""
- name: Objects | Make Airflow's connections, variables and pools match the inventory
  datalake.airflow.airflow_objects:
    project_dir: /srv/airflow
    compose_file: /srv/airflow/compose.yml
    service: api-server
    connections:
      - {conn_id: warehouse, conn_type: postgres, host: db.example.invalid, port: 5432, login: etl, schema: dwh}
    passwords: "{{ vault_connection_passwords }}"
    variables: {api_ping_url: "http://api.example.invalid/"}
    secret_variables: "{{ vault_secret_variables }}"
    pools:
      - {name: warehouse, slots: 4}
  register: result
  no_log: true
"""

RETURN = r"""
changes:
  description: >-
    What changed (in check mode, what would), one C(<kind> <name> <what>) each: the names of
    the objects and of the fields that differ, never a value.
  returned: success
  type: list
  elements: str
  sample: ["connection aws_default updated (password, extra)", "variable api_ping_url created",
           "pool old removed (no longer listed)"]
skipped:
  description: True when check mode found no running service to compare against.
  returned: when skipped
  type: bool
rc:
  description: The container call's exit code.
  returned: failure of the container call
  type: int
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.datalake.airflow.plugins.module_utils import compose
from ansible_collections.datalake.airflow.plugins.module_utils.airflow_objects_script import SCRIPT

CONNECTION_FIELDS = ("conn_id", "conn_type", "description", "host", "port", "login", "schema")
POOL_FIELDS = ("name", "slots", "description")


def _unset(value) -> bool:
    return value is None or value == ""


def _twice(names: list) -> list:
    return sorted({n for n in names if names.count(n) > 1})


def _not_listed(kind: str, given: dict, names: set) -> None:
    stray = sorted(str(k) for k in given if k not in names)
    if stray:
        raise ValueError(f"{kind} for connection(s) {', '.join(stray)}, which connections does not list")


def _value(value) -> str:
    """A variable's value as Airflow stores it: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, indent=2)


def connections_payload(connections: list, passwords: dict, secret_extras: dict) -> list:
    """The connections with their passwords and secret extra fields merged in
    (options left unset dropped). ValueError for a name listed twice, a
    password or secret extra of a connection not listed, a secret extra that
    is not a mapping or that repeats a plain extra field."""
    names = [c["conn_id"] for c in connections]
    if _twice(names):
        raise ValueError(f"connection(s) {', '.join(_twice(names))} listed twice")
    _not_listed("passwords", passwords, set(names))
    _not_listed("secret_extras", secret_extras, set(names))
    result = []
    for c in connections:
        name = c["conn_id"]
        item = {k: c[k] for k in CONNECTION_FIELDS if not _unset(c.get(k))}
        extra, secret = dict(c.get("extra") or {}), secret_extras.get(name) or {}
        if not isinstance(secret, dict):
            raise ValueError(f"the secret extras of connection {name} are not a mapping of field to value")
        both = sorted(set(extra) & set(secret))
        if both:
            raise ValueError(f"connection {name} has extra field(s) {', '.join(both)} both plain and secret")
        item["extra"] = {**extra, **secret}
        if not _unset(passwords.get(name)):
            item["password"] = str(passwords[name])
        result.append(item)
    return result


def payload(connections: list, passwords: dict, secret_extras: dict, variables: dict, secret_variables: dict,
            pools: list, check: bool) -> str:
    """The script's input: the connections (secrets merged in), every
    variable as a string, the pools, the check flag. ValueError, naming the
    objects (never a value), for what the script could not make."""
    conns = connections_payload(connections, passwords, secret_extras)
    both = sorted(set(variables) & set(secret_variables))
    if both:
        raise ValueError(f"variable(s) {', '.join(both)} given both as plain and as secret variables")
    merged = {**variables, **secret_variables}
    empty = sorted(str(k) for k, v in merged.items() if v is None)
    if empty:
        raise ValueError(f"variable(s) {', '.join(empty)} have no value")
    names = [p["name"] for p in pools]
    if _twice(names):
        raise ValueError(f"pool(s) {', '.join(_twice(names))} listed twice")
    low = [p["name"] for p in pools if p["slots"] < -1]
    if low:
        raise ValueError(f"pool(s) {', '.join(low)} have fewer than -1 slots (-1 is unlimited)")
    clean = [{**{k: p[k] for k in POOL_FIELDS if not _unset(p.get(k))},
              "include_deferred": bool(p.get("include_deferred"))} for p in pools]
    return json.dumps({"connections": conns, "variables": {str(k): _value(v) for k, v in merged.items()},
                       "pools": clean, "check": bool(check)})


def outcome(rc: int, stdout: str, stderr: str, service: str) -> dict:
    """The module's result from the container call's: changed and changes,
    or failed with msg and rc."""
    what = f"syncing the connections, variables and pools in service {service}"
    if rc != 0:
        return {"failed": True, "rc": rc, "msg": compose.failure(what, rc, stdout, stderr)}
    result = compose.last_json(stdout)
    changes = (result or {}).get("changes")
    if not isinstance(changes, list) or not all(isinstance(c, str) for c in changes):
        return {"failed": True, "rc": rc, "msg": f"{what} printed no result: {compose.tail(stdout + stderr) or 'no output'}"}
    return {"changed": bool(changes), "changes": changes}


def skipped(service: str, why: str) -> dict:
    return {"changed": False, "skipped": True, "changes": [],
            "msg": f"check mode: {why}, so there are no connections, variables or pools to compare with "
                   f"(service {service})"}


ARGUMENT_SPEC = {
    **compose.ARGUMENT_SPEC,
    "service": {"type": "str", "default": "api-server"},
    "connections": {"type": "list", "elements": "dict", "required": True, "options": {
        "conn_id": {"type": "str", "required": True}, "conn_type": {"type": "str", "required": True},
        "description": {"type": "str"}, "host": {"type": "str"}, "port": {"type": "int"},
        "login": {"type": "str"}, "schema": {"type": "str"}, "extra": {"type": "dict"}}},
    "passwords": {"type": "dict", "default": {}, "no_log": True},
    "secret_extras": {"type": "dict", "default": {}, "no_log": True},
    "variables": {"type": "dict", "required": True},
    "secret_variables": {"type": "dict", "default": {}, "no_log": True},
    "pools": {"type": "list", "elements": "dict", "required": True, "options": {
        "name": {"type": "str", "required": True}, "slots": {"type": "int", "required": True},
        "description": {"type": "str"}, "include_deferred": {"type": "bool", "default": False}}},
    "env": {"type": "dict", "default": {}},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    try:
        data = payload(p["connections"], p["passwords"], p["secret_extras"], p["variables"],
                       p["secret_variables"], p["pools"], module.check_mode)
    except ValueError as error:
        module.fail_json(msg=str(error))
    compose.run_script(module, SCRIPT, data, p["env"],
                       skipped=lambda why: skipped(p["service"], why),
                       outcome=lambda rc, out, err: outcome(rc, out, err, p["service"]))


if __name__ == "__main__":
    main()

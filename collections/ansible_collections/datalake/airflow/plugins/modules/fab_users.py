#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Make the users of Airflow's FAB auth manager match a list, in one call to
the api-server container."""

from __future__ import annotations

DOCUMENTATION = r"""
module: fab_users
short_description: The users of Airflow's FAB auth manager as a list gives them
description:
  - In the running api-server container of a compose stack (C(docker compose exec)),
    creates the listed users that do not exist, sets the role, e-mail, names and
    password of those that do, and deactivates the users the list does not name
    (never deletes one, so that its history stays). One container call whether anything
    changes or not; when nothing changes (and in check mode) the call reads FAB's
    tables with SQLAlchemy alone and never starts FAB's application (seconds of CPU).
  - The passwords go to the container on stdin, never on a command line, and are
    in no result. The script run in the container is
    C(plugins/module_utils/fab_users_script.py).
  - Supports check mode natively (the container then only reports what it would
    change); in check mode a service that is not running (or a host without
    docker) gives C(changed=false) and C(skipped=true) instead of a failure.
options:
  service:
    description: The compose service of Airflow's api-server (a running container with FAB and the metadata DB).
    type: str
    default: api-server
  users:
    description: The users, the admin included; the list is all of them.
    type: list
    elements: dict
    required: true
    suboptions:
      username:
        description: Login name.
        type: str
        required: true
      role:
        description: FAB's role (e.g. Admin, Op, User, Viewer); it must exist.
        type: str
        required: true
      email:
        description: E-mail address.
        type: str
        required: true
      first_name:
        description: First name (default the username).
        type: str
      last_name:
        description: Last name (default empty).
        type: str
  passwords:
    description: The password of each user, by username; every user of I(users) needs one.
    type: dict
    required: true
  env:
    description:
      - More environment of the container call (C(-e NAME=VALUE), so no secrets).
      - C(AIRFLOW__FAB__UPDATE_FAB_PERMS) is C(False) unless set here (the api-server
        creates FAB's roles and permissions when it starts; this call is seconds
        faster without).
    type: dict
    default: {}
extends_documentation_fragment:
  - datalake.airflow.compose_service
author: datalake team
"""

EXAMPLES = r"""
- name: Users | Make the UI's users match the inventory
  datalake.airflow.fab_users:
    project_dir: /srv/airflow
    compose_file: /srv/airflow/compose.yml
    service: api-server
    users:
      - {username: admin, role: Admin, email: admin@localhost}
      - {username: viewer, role: Viewer, email: viewer@example.invalid}
    passwords: "{{ vault_passwords }}"
  register: result
  no_log: true
"""

RETURN = r"""
changes:
  description: >-
    What changed (in check mode, what would), one C(<user>: <what>) each, never a password.
  returned: success
  type: list
  elements: str
  sample: ["viewer: created (Viewer)", "admin: password", "old: deactivated (not in the inventory)"]
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
from ansible_collections.datalake.airflow.plugins.module_utils.fab_users_script import SCRIPT

DEFAULT_ENV = {"AIRFLOW__FAB__UPDATE_FAB_PERMS": "False"}
USER_FIELDS = ("username", "role", "email", "first_name", "last_name")


def payload(users: list, passwords: dict, check: bool) -> str:
    """The script's input: the users (options left unset dropped, so that the
    script's defaults apply), the passwords of those users only, the check
    flag. A user without a password raises ValueError naming the user."""
    clean = [{k: u[k] for k in USER_FIELDS if u.get(k) is not None} for u in users]
    missing = [u["username"] for u in clean if passwords.get(u["username"]) in (None, "")]
    if missing:
        raise ValueError(f"no password for user(s) {', '.join(missing)} in passwords")
    names = {u["username"] for u in clean}
    return json.dumps({"users": clean, "passwords": {n: str(p) for n, p in passwords.items() if n in names},
                       "check": bool(check)})


def outcome(rc: int, stdout: str, stderr: str, service: str) -> dict:
    """The module's result from the container call's: changed and changes,
    or failed with msg and rc."""
    what = f"syncing the users in service {service}"
    if rc != 0:
        return {"failed": True, "rc": rc, "msg": compose.failure(what, rc, stdout, stderr)}
    result = compose.last_json(stdout)
    changes = (result or {}).get("changes")
    if not isinstance(changes, list) or not all(isinstance(c, str) for c in changes):
        return {"failed": True, "rc": rc, "msg": f"{what} printed no result: {compose.tail(stdout + stderr) or 'no output'}"}
    return {"changed": bool(changes), "changes": changes}


def skipped(service: str, why: str) -> dict:
    return {"changed": False, "skipped": True, "changes": [],
            "msg": f"check mode: {why}, so there are no users to compare with (service {service})"}


def main():
    module = AnsibleModule(argument_spec={
        **compose.ARGUMENT_SPEC,
        "service": {"type": "str", "default": "api-server"},
        "users": {"type": "list", "elements": "dict", "required": True, "options": {
            "username": {"type": "str", "required": True}, "role": {"type": "str", "required": True},
            "email": {"type": "str", "required": True}, "first_name": {"type": "str"},
            "last_name": {"type": "str"}}},
        "passwords": {"type": "dict", "required": True, "no_log": True},
        "env": {"type": "dict", "default": {}},
    }, supports_check_mode=True)
    p = module.params
    try:
        data = payload(p["users"], p["passwords"], module.check_mode)
    except ValueError as error:
        module.fail_json(msg=str(error))
    compose.run_script(module, SCRIPT, data, {**DEFAULT_ENV, **p["env"]},
                       skipped=lambda why: skipped(p["service"], why),
                       outcome=lambda rc, out, err: outcome(rc, out, err, p["service"]))


if __name__ == "__main__":
    main()

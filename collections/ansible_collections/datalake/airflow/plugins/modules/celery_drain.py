#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Drain one Celery worker of a compose stack before its container is stopped
or recreated."""

from __future__ import annotations

DOCUMENTATION = r"""
module: celery_drain
short_description: Drain a Celery worker (stop consuming its queues, wait for its tasks)
description:
  - In the running worker container of a compose stack (C(docker compose exec)),
    asks the Celery node which of the queues it consumes, tells it to stop
    consuming them (the other workers take new tasks), then waits until the node
    runs no task (active or reserved) or I(grace_period) is over. A node that
    does not answer is asked again, never taken as drained. What still runs
    then gets the rest of Celery's warm shutdown when the container stops.
  - Changed only when the node consumed one of the queues; a node that consumes
    none of them (already drained) is only waited for.
  - The script run in the container is C(plugins/module_utils/celery_drain_script.py).
  - Supports check mode natively, touching nothing (no cancelled consumer, no
    wait), and C(changed) says whether the node would be drained. In check mode a
    service that is not running (or a host without docker) gives C(changed=false)
    and C(skipped=true) instead of a failure.
options:
  service:
    description: The compose service of the Celery worker (its environment holds the broker's URL).
    type: str
    default: worker
  node:
    description: The Celery node's name, e.g. C(celery@worker-1).
    type: str
    required: true
  queues:
    description: The queues the node stops consuming.
    type: list
    elements: str
    required: true
  grace_period:
    description: Seconds to wait at most for the node's running tasks (0 stops consuming without waiting).
    type: int
    default: 600
extends_documentation_fragment:
  - datalake.airflow.compose_service
author: datalake team
"""

EXAMPLES = r"""
- name: Drain | Stop taking tasks and wait for the running ones to finish
  datalake.airflow.celery_drain:
    project_dir: /srv/airflow
    compose_file: /srv/airflow/compose.yml
    service: worker
    node: "celery@{{ inventory_hostname }}"
    queues: [default]
    grace_period: 600
  register: drain
"""

RETURN = r"""
node:
  description: The node.
  returned: success
  type: str
consuming:
  description: The queues of I(queues) the node consumed before (C(changed) is whether there is one).
  returned: success
  type: list
  elements: str
drained:
  description: Whether the node runs no task at the end (in check mode, now).
  returned: success
  type: bool
running:
  description: The node's tasks still running (or reserved) at the end (in check mode, now); null when the node never answered.
  returned: success
  type: int
waited:
  description: Seconds waited for the running tasks (0 in check mode).
  returned: success
  type: int
skipped:
  description: True when check mode found the service not running.
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
from ansible_collections.datalake.airflow.plugins.module_utils.celery_drain_script import SCRIPT


def payload(node: str, queues: list, grace_period: int, check: bool) -> str:
    """The script's input; a bad value raises ValueError."""
    if not node.strip():
        raise ValueError("node must name the Celery node, e.g. celery@worker-1")
    queues = [q.strip() for q in queues]
    if not queues or not all(queues):
        raise ValueError("queues must list at least one queue, none empty")
    if grace_period < 0:
        raise ValueError(f"grace_period must be 0 or more seconds, got {grace_period}")
    return json.dumps({"node": node, "queues": queues, "grace_period": grace_period, "check": bool(check)})


def outcome(rc: int, stdout: str, stderr: str, node: str, service: str) -> dict:
    """The module's result from the container call's: changed when the node
    consumed one of the queues, with what the script reports; or failed with
    msg and rc."""
    what = f"draining {node} in service {service}"
    if rc != 0:
        return {"failed": True, "rc": rc, "msg": compose.failure(what, rc, stdout, stderr)}
    result = compose.last_json(stdout) or {}
    try:
        consuming = [str(q) for q in result["consuming"]]
        found = {"node": str(result["node"]), "consuming": consuming, "drained": bool(result["drained"]),
                 "running": None if result["running"] is None else int(result["running"]), "waited": int(result["waited"])}
    except (KeyError, TypeError, ValueError):
        return {"failed": True, "rc": rc, "msg": f"{what} printed no result: {compose.tail(stdout + stderr) or 'no output'}"}
    return {"changed": bool(consuming), **found}


def skipped(node: str, service: str, why: str) -> dict:
    return {"changed": False, "skipped": True, "node": node, "consuming": [], "drained": True, "running": 0,
            "waited": 0, "msg": f"check mode: {why}, so {node} has nothing to drain (service {service})"}


def main():
    module = AnsibleModule(argument_spec={
        **compose.ARGUMENT_SPEC,
        "service": {"type": "str", "default": "worker"},
        "node": {"type": "str", "required": True},
        "queues": {"type": "list", "elements": "str", "required": True},
        "grace_period": {"type": "int", "default": 600},
    }, supports_check_mode=True)
    p = module.params
    try:
        data = payload(p["node"], p["queues"], p["grace_period"], module.check_mode)
    except ValueError as error:
        module.fail_json(msg=str(error))
    compose.run_script(module, SCRIPT, data,
                       skipped=lambda why: skipped(p["node"], p["service"], why),
                       outcome=lambda rc, out, err: outcome(rc, out, err, p["node"], p["service"]))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
"""The script datalake.airflow.celery_drain runs in a worker's container
(`python -c SCRIPT`; the container's environment holds the broker URL), as a
string: see module_utils/compose.py for why.

Its input, JSON on stdin: {"node": "celery@<host>", "queues": [...],
"grace_period": <s>, "check": false}. It asks the node which queues it
consumes, stops it consuming those of the list, then waits until it runs no
task (active or reserved) or the grace period is over. A node that does not
answer (a worker slow under load) is asked again: it never counts as
drained. Its output, one JSON line: {"node", "consuming" (the queues of the
list it consumed), "cancelled" (the queues it was told to stop consuming),
"drained" (no task left), "running" (tasks left; null when the node never
answered), "waited" (s)}. With "check": true it only
asks: nothing cancelled, no wait, "running" is what runs now.

to_cancel() and report() are the decisions, Celery left out (the unit tests
exec SCRIPT and call them); main() is the glue to Celery's remote control.
"""

SCRIPT = r'''
import json
import logging
import sys
import time


def to_cancel(replies, node, queues):
    """(the queues of the list the node consumes, the queues to cancel), from
    the replies to inspect().active_queues() ({node: [{"name": ...}, ...]},
    or None when no node replied). A node that did not reply (slow, or not
    there) is told to stop consuming every queue of the list, as a
    precaution; one that replied only those it consumes (none: nothing)."""
    if not replies or node not in replies:
        return [], list(queues)
    consumed = {q.get("name") for q in replies[node] or []}
    consuming = [q for q in queues if q in consumed]
    return consuming, consuming


def busy(active, reserved, node):
    """The node's tasks, active or reserved, from inspect()'s replies; None
    when the node is missing from either (it did not answer in time: its
    tasks are unknown, not none)."""
    if node not in (active or {}) or node not in (reserved or {}):
        return None
    return len(active[node] or []) + len(reserved[node] or [])


def report(node, consuming, cancelled, running, waited):
    return {"node": node, "consuming": consuming, "cancelled": cancelled, "drained": running == 0,
            "running": running, "waited": int(waited)}


def main():
    wanted = json.load(sys.stdin)
    node, queues, grace = wanted["node"], wanted["queues"], int(wanted["grace_period"])
    logging.disable(logging.WARNING)
    from airflow.providers.celery.executors.celery_executor import app

    inspect = app.control.inspect(destination=[node], timeout=10)
    consuming, cancel = to_cancel(inspect.active_queues(), node, queues)
    if wanted.get("check"):
        print(json.dumps(report(node, consuming, [], busy(inspect.active(), inspect.reserved(), node), 0)))
        return
    start = time.monotonic()
    for queue in cancel:
        app.control.cancel_consumer(queue, destination=[node], reply=True, timeout=10)
    while True:
        running = busy(inspect.active(), inspect.reserved(), node)
        waited = time.monotonic() - start
        if running == 0 or waited >= grace:  # None (no answer): ask again
            print(json.dumps(report(node, consuming, cancel, running, waited)))
            return
        time.sleep(5)


if __name__ == "__main__":
    main()
'''

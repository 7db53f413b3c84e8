"""Drain one Celery worker: stop consuming its queues, then wait until it runs
no task (active or reserved) or the grace period is over.

Run inside the worker's container (its environment holds the broker URL):
    python - NODE QUEUES GRACE_SECONDS < drain_worker.py
Prints one JSON line: {"node": ..., "drained": bool, "running": n, "waited": s}.
"""

import json
import sys
import time

from airflow.providers.celery.executors.celery_executor import app

node, queues, grace = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
start = time.monotonic()
for queue in queues:
    app.control.cancel_consumer(queue, destination=[node], reply=True, timeout=10)
inspect = app.control.inspect(destination=[node], timeout=10)
while True:
    busy = len((inspect.active() or {}).get(node, [])) + len((inspect.reserved() or {}).get(node, []))
    waited = int(time.monotonic() - start)
    if busy == 0 or waited >= grace:
        print(json.dumps({"node": node, "drained": busy == 0, "running": busy, "waited": waited}))
        break
    time.sleep(5)

"""Ping every Celery worker over the broker; print the replies as one JSON
object {"celery@host": {"ok": "pong"}, ...} on the last line.

Run inside an Airflow container of the master (its environment holds the
broker URL):  python - TIMEOUT_SECONDS [NODE ...] < celery_ping.py
Given node names (celery@host), only those are asked, and it returns as soon
as they all answer; otherwise every worker is, and it waits the whole timeout.
Celery alone, not Airflow's app: importing Airflow takes seconds, and a ping
needs only the broker (plus its transport options, which Airflow reads from
the same environment variables).
"""

import json
import os
import sys

from celery import Celery

app = Celery(broker=os.environ["AIRFLOW__CELERY__BROKER_URL"])
replies = app.control.ping(destination=sys.argv[2:] or None, timeout=float(sys.argv[1]))
print(json.dumps({node: reply for answer in replies for node, reply in answer.items()}))

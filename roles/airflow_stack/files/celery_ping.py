"""Ping every Celery worker over the broker; print the replies as one JSON
object {"celery@host": {"ok": "pong"}, ...} on the last line.

Run inside an Airflow container of the master (its environment holds the
broker URL):  python - TIMEOUT_SECONDS < celery_ping.py
Celery alone, not Airflow's app: importing Airflow takes seconds, and a ping
needs only the broker (plus its transport options, which Airflow reads from
the same environment variables).
"""

import json
import os
import sys

from celery import Celery

app = Celery(broker=os.environ["AIRFLOW__CELERY__BROKER_URL"])
replies = app.control.ping(timeout=float(sys.argv[1]))
print(json.dumps({node: reply for answer in replies for node, reply in answer.items()}))

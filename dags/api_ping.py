"""Call an HTTP API every minute (the exercise from the team's notes).

The URL comes from the Airflow Variable `api_ping_url`; by default it is a
service on the Docker host itself (host.docker.internal, port 8000), such as
files/sample-api/sample_api.py. The DAG starts paused, as every new DAG does:
unpause it in the UI once the API is running.
"""

from __future__ import annotations

import json
import urllib.request

import pendulum
from airflow.sdk import Variable, dag, task

DEFAULT_URL = "http://host.docker.internal:8000/"


@dag(
    dag_id="api_ping",
    schedule="* * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["example"],
)
def api_ping():
    @task(retries=0)
    def ping() -> dict:
        url = Variable.get("api_ping_url", default=DEFAULT_URL)
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode()
            print(f"GET {url} -> {response.status}: {body}")
            try:
                return {"status": response.status, "body": json.loads(body)}
            except ValueError:
                return {"status": response.status, "body": body}

    ping()


api_ping()

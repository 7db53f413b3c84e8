"""Healthcheck of the dag-processor and the triggerer: python -m job_alive <job type>.

The same test as `airflow jobs check --job-type <type> --local`: the newest
running job of that type on this host sent a heartbeat within the job's
health check threshold. It reads the job table directly instead of importing
Airflow, which costs 2-3 CPU-seconds a check (a master spent a tenth of a core
on these two healthchecks alone); this takes about 0.1 s.

Exit 0 when alive, 1 when not, with the reason printed (Docker's healthcheck
codes: 0 healthy, 1 unhealthy).
"""

import os
import sys
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg2

from advertised_hostname import get_hostname

# Airflow's own settings for each job type, and their defaults (Airflow 3.3).
THRESHOLDS = {
    "DagProcessorJob": ("AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD", "30"),
    "TriggererJob": ("AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD", "30"),
}


def main(argv):
    if len(argv) != 2 or argv[1] not in THRESHOLDS:
        print(f"usage: python -m job_alive {'|'.join(THRESHOLDS)}")
        return 1
    job_type = argv[1]
    setting, default = THRESHOLDS[job_type]
    threshold = float(os.environ.get(setting, default))
    hostname = get_hostname()
    url = urlsplit(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    # the URL's query parameters (sslmode=..., ...) are libpq's connection options
    options = {"connect_timeout": "10", **dict(parse_qsl(url.query))}
    try:
        conn = psycopg2.connect(host=url.hostname, port=url.port or 5432, dbname=url.path.lstrip("/"),
                                user=unquote(url.username or ""), password=unquote(url.password or ""),
                                **options)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT extract(epoch FROM now() - latest_heartbeat) FROM job"
                            " WHERE job_type = %s AND state = 'running' AND hostname = %s"
                            " ORDER BY latest_heartbeat DESC NULLS LAST LIMIT 1", (job_type, hostname))
                row = cur.fetchone()
        finally:
            conn.close()
    except psycopg2.Error as error:
        print(f"metadata DB: {str(error).strip()}")
        return 1
    if row is None or row[0] is None:
        print(f"no running {job_type} on {hostname}")
        return 1
    if float(row[0]) >= threshold:
        print(f"{job_type} on {hostname}: last heartbeat {float(row[0]):.0f} s ago (threshold {threshold:.0f} s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

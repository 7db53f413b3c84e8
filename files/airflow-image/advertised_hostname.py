"""Hostname Airflow records for a task instance (core.hostname_callable).

The api-server fetches a running or finished task's log from
http://<that hostname>:8793, so it must be a name or address the master can
reach, not a container ID. The compose files set AIRFLOW_ADVERTISED_HOSTNAME
to the host's address; without it this falls back to Airflow's default.
"""

import os
import socket


def get_hostname() -> str:
    return os.environ.get("AIRFLOW_ADVERTISED_HOSTNAME") or socket.getfqdn()

"""Helpers shared by the end-to-end test modules: the cluster under test
(the sandbox inventory's hosts), a shell runner, PLAY RECAP parsing and a
small Airflow REST API v2 client.

Everything the tests talk to is on this machine: 127.0.0.1 and the sandbox
containers the tests (or make demo) created.

By topic: settings.py (the cluster under test, its accounts; importing it
trusts the sandbox CA and works out the sandbox images' tags), shell.py (sh,
PLAY RECAP and changed-task parsing), api.py (the REST API client),
probe_dags.py (the test-only DAGs), archive.py (the DB's archive: last
segment archived, a stream of commits for RPO), hosts.py (scripts on hosts, ports,
Celery, DAG folders, copies of the inventory). The tests import it as
`cluster` (tests/e2e is on sys.path under pytest); bench/ as
`tests.e2e.cluster`.
"""

from . import archive
from .api import Api, ready_api
from .hosts import (PORTS, PUBLISHED, address, celery_online, container_id, copy_of_dags, copy_of_inventory,
                    current_releases, dag_folders, on_host, probe, stack_files, wait_until)
from .probe_dags import PROBE_DAGS, hold_dag_id, write_probe_dags
from .settings import (ADMIN, BASE, CA, DEMO_SECRETS, EXPECTED_TOTALS, FLOWER, FLOWER_AUTH, GID, HOSTS, INVENTORY,
                       MASTER, NEW_WORKER, PLAYBOOK, ROOT, S3_BUCKET, S3_ENDPOINT, SANDBOX, UI, UID, VIEWER, WORKERS, note,
                       trust_the_sandbox_ca, ui_url, upgraded_image_args)
from .shell import changed_tasks, only_the_firewall, recap, sh

__all__ = ["ADMIN", "BASE", "CA", "DEMO_SECRETS", "EXPECTED_TOTALS", "FLOWER", "FLOWER_AUTH", "GID", "HOSTS",
           "INVENTORY", "MASTER", "NEW_WORKER", "PLAYBOOK", "PORTS", "PROBE_DAGS", "PUBLISHED", "ROOT", "SANDBOX",
           "UI", "UID", "VIEWER", "WORKERS", "Api", "address", "archive", "celery_online", "changed_tasks", "container_id",
           "copy_of_dags", "copy_of_inventory", "current_releases", "dag_folders", "hold_dag_id", "note", "on_host",
           "only_the_firewall", "probe", "ready_api", "recap", "sh", "stack_files", "trust_the_sandbox_ca",
           "ui_url", "upgraded_image_args", "wait_until", "write_probe_dags"]

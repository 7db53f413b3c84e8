"""The test-only probe DAGs (never shipped to production) and how to ship
them: dags/ plus e2e_probes.py in a folder for airflow_dags_src."""

import shutil

from .settings import NEW_WORKER, ROOT, WORKERS

# DAGs only the tests run (never shipped to production): one `e2e_hold_<queue>`
# DAG per Celery queue whose task holds a slot for `seconds`, or until the
# file /opt/airflow/data/<release> appears on its host (the test lets it go);
# `e2e_retry`, a task with one retry that holds only on its first try; and
# `e2e_import`, which imports a module and returns its version.
PROBE_DAGS = '''
import os
import time

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")
QUEUES = {queues!r}


def hold(seconds, release):
    marker = os.path.join("/opt/airflow/data", release) if release else None
    print(f"holding for up to {{seconds}} s")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (marker and os.path.exists(marker)):
        time.sleep(1)
    print("done holding")


def hold_dag(queue):
    @dag(dag_id="e2e_hold_" + queue.replace("-", "_"), schedule=None, start_date=START, catchup=False,
         max_active_runs=4, params={{"seconds": 30, "release": ""}}, tags=["e2e"])
    def hold_on_queue():
        @task(task_id="hold", queue=queue, retries=0)
        def held(params=None):
            hold(params["seconds"], params["release"])
            return queue

        held()

    return hold_on_queue()


for q in QUEUES:
    hold_dag(q)


@dag(dag_id="e2e_retry", schedule=None, start_date=START, catchup=False, params={{"seconds": 60}}, tags=["e2e"])
def e2e_retry():
    @task(retries=1, retry_delay=pendulum.duration(seconds=5))
    def survive(params=None, ti=None):
        if ti.try_number == 1:
            hold(params["seconds"], "")
        return ti.try_number

    survive()


e2e_retry()


@dag(dag_id="e2e_import", schedule=None, start_date=START, catchup=False, params={{"module": "inflection"}},
     tags=["e2e"])
def e2e_import():
    @task(retries=0)
    def import_it(params=None):
        import importlib
        import importlib.metadata

        importlib.import_module(params["module"])
        return importlib.metadata.version(params["module"])

    import_it()


e2e_import()
'''


def hold_dag_id(queue):
    return "e2e_hold_" + queue.replace("-", "_")


def write_probe_dags(dags_dir):
    """dags/ plus the test-only DAGs, in dags_dir (for airflow_dags_src)."""
    shutil.copytree(ROOT / "dags", dags_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    queues = ["default", "master", *WORKERS, NEW_WORKER]
    (dags_dir / "e2e_probes.py").write_text(PROBE_DAGS.format(queues=queues))
    return dags_dir

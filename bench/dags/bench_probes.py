"""DAGs only `make bench` ships (bench/hosts.py adds them to dags/ in its own
copy; they never go to production).

- bench_on_bench_worker_<n>: one short task on the queue `bench-worker-<n>`,
  which only that sandbox worker serves (inventory/sandbox/group_vars/
  airflow_workers/main.yml): it shows when a new worker runs its first task.
- bench_fanout_one_worker / bench_fanout_two_workers: 100 mapped short tasks,
  on the queue of bench-worker-1 only, or on `default`, which both workers of
  the bench cluster serve.
"""

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")
WORKER_QUEUES = [f"bench-worker-{n}" for n in range(1, 7)]
FANOUT = 100


def on_queue(queue):
    @dag(dag_id="bench_on_" + queue.replace("-", "_"), schedule=None, start_date=START, catchup=False,
         max_active_runs=16, tags=["bench"])
    def probe():
        @task(task_id="where", queue=queue, retries=0)
        def where():
            import socket

            return socket.gethostname()

        where()

    return probe()


for q in WORKER_QUEUES:
    on_queue(q)


def fanout(dag_id, queue):
    @dag(dag_id=dag_id, schedule=None, start_date=START, catchup=False, max_active_runs=1,
         max_active_tasks=FANOUT, tags=["bench"])
    def fan():
        @task(task_id="short", queue=queue, retries=0)
        def short(i):
            print(f"short task {i}")

        short.expand(i=list(range(FANOUT)))

    return fan()


fanout("bench_fanout_one_worker", "bench-worker-1")
fanout("bench_fanout_two_workers", "default")

"""The figures: a bench cluster set up once, then each figure's runs (see
the package's docstring and bench/README.md)."""

import statistics
import time

from tests.e2e.cluster import BASE, address, changed_tasks, only_the_firewall
from tests.e2e.cluster.archive import ARCHIVE_TIMEOUT, Committer, restored_commit, wait_archived_after

from .client import all_task_instances, api, task_instance, wait_for_dags, wait_success
from .hosts import create_hosts, destroy_hosts, inventory, on_host, parallel, stage_dags, up_wait
from .playbook import Playbook, playbook
from .results import row
from .settings import (DAGS, MASTER, NEW_WORKER, SCALE_WORKERS, STRATEGIES, UI, WORKERS, cut_note, log, runs,
                       strategy_name)


class Bench:
    def __init__(self, results):
        self.results = results
        self.inv = inventory(WORKERS)
        self.client = None
        self.current = None  # a playbook running in the background

    def setup(self):
        """A fresh bench cluster: bench-master and two workers, converged."""
        log("setup: removing leftover bench hosts, creating bench-master, bench-worker-1/2")
        destroy_hosts()
        stage_dags()
        create_hosts([MASTER, *WORKERS])
        pb = playbook(self.inv, "site.yml", "setup-site", ["--flush-cache"])
        self.results.data["info"]["setup_converge_s"] = round(pb.seconds, 1)
        self.results.note(f"setup (not a figure): the first site.yml on new hosts bench-master, bench-worker-1/2 "
                          f"took {pb.seconds:.0f} s (it also builds the Airflow image on the controller when missing)")
        self.ready()

    def ready(self):
        self.client = api()
        wait_for_dags(self.client, ["bench_on_bench_worker_1", "bench_on_bench_worker_3",
                                    "bench_fanout_one_worker", "bench_fanout_two_workers"])

    # 1 ------------------------------------------------------------------
    def noop(self):
        for strategy in STRATEGIES:
            name = strategy_name(strategy)
            samples, all_zero, detail = [], True, []
            for n in range(runs(1)):
                pb = playbook(self.inv, "site.yml", f"noop-{strategy}-{n + 1}", strategy=strategy)
                samples.append(pb.seconds)
                changed = {h: s["changed"] for h, s in pb.recap.items()}
                if any(changed.values()) or set(changed) != {MASTER, *WORKERS}:
                    all_zero = False
                    detail.append(f"run {n + 1}: {changed}")
            self.results.add(row(1, f"no-op `site.yml`, 1 master + 2 workers ({name})", samples, 30,
                                 notes=[pb.slowest_note(), *cut_note(1)]))
            self.results.check(1, f"no-op site.yml ({name}): every host reported changed=0 in every run",
                               all_zero, "; ".join(detail))

    # 2 ------------------------------------------------------------------
    def add_worker(self):
        inv = inventory([*WORKERS, NEW_WORKER])
        dag_id = "bench_on_" + NEW_WORKER.replace("-", "_")
        for strategy in STRATEGIES:
            self._add_worker(inv, dag_id, strategy)
        destroy_hosts([NEW_WORKER])

    def _add_worker(self, inv, dag_id, strategy):
        name = strategy_name(strategy)
        samples, playbook_s, others_zero, detail = [], [], True, []
        for n in range(runs(2)):
            destroy_hosts([NEW_WORKER])
            create_hosts([NEW_WORKER])  # not timed
            addr = address(NEW_WORKER)
            pb = self.current = Playbook(inv, "site.yml", f"add-worker-{strategy}-{n + 1}", strategy=strategy)
            run_id, first, ended = None, None, None
            # A run for the new worker's queue is triggered as soon as its
            # stack files are written (its task waits in the queue until the
            # worker takes it); then the task's hostname is watched, until
            # at most 5 minutes after the playbook ended.
            while first is None:
                if not pb.running():
                    if pb.proc.returncode != 0:
                        break
                    ended = ended or time.monotonic()
                    if time.monotonic() - ended > 300:
                        break
                if run_id is None:
                    if on_host(NEW_WORKER, f"test -f {BASE}/compose.yml", check=False).returncode == 0:
                        run_id = self.client.trigger(dag_id)
                        log(f"  triggered {dag_id} {run_id} at {time.monotonic() - pb.t0:.1f}s")
                    else:
                        time.sleep(2)
                    continue
                ti = task_instance(self.client, dag_id, run_id, "where")
                if ti.get("hostname") == addr and ti.get("state") in ("running", "success"):
                    first = time.monotonic() - pb.t0
                    log(f"  first task on {NEW_WORKER} ({addr}) at {first:.1f}s")
                elif ti.get("state") == "failed":
                    raise RuntimeError(f"{dag_id} run {run_id} failed on {ti.get('hostname')}")
                else:
                    time.sleep(1)
            pb.wait().check()
            if first is None:
                raise RuntimeError(f"no task ran on {NEW_WORKER} ({addr}); playbook took {pb.seconds:.0f}s")
            samples.append(first)
            playbook_s.append(pb.seconds)
            # the others' firewall admits the new host; nothing else of theirs may change
            others = {h: t for h, t in changed_tasks(pb.output).items() if h != NEW_WORKER and not only_the_firewall(t)}
            if others:
                others_zero = False
                detail.append(f"run {n + 1}: {others}")
            self.client.wait_run(dag_id, run_id, timeout=300)
        notes = [pb.slowest_note(),
                 f"site.yml itself took {', '.join(f'{s:.0f}' for s in playbook_s)} s; the new host is a fresh "
                 f"sandbox host (Docker and packages installed from the Debian mirror, the Airflow image shipped "
                 f"from the controller); its creation (`sandbox.sh create`) is not timed; for each run it is "
                 f"destroyed and created again",
                 "the run for the new worker's queue is triggered once the new host's compose.yml is written, "
                 "so its task waits in the queue for the worker", *cut_note(2)]
        self.results.add(row(2, f"add a worker: `site.yml` start → first task on it ({name})", samples, 90,
                             notes=notes))
        self.results.check(2, f"add a worker ({name}): on the other hosts only the firewall changed (it admits the "
                              "new host), in every run", others_zero,
                           "; ".join(detail))

    # 3 ------------------------------------------------------------------
    def new_dag(self):
        samples, listed_s, playbook_s = [], [], []
        for n in range(runs(3)):
            dag_id = f"bench_new_{int(time.time())}_{n + 1}"
            (DAGS / f"{dag_id}.py").write_text(NEW_DAG.format(dag_id=dag_id))
            pb = self.current = Playbook(self.inv, "deploy-dags.yml", f"new-dag-{n + 1}")
            listed = None
            deadline = time.monotonic() + 900
            while listed is None and time.monotonic() < deadline:
                if self.client.dag_listed(dag_id):
                    listed = time.monotonic()
                    break
                if not pb.running() and pb.proc.returncode != 0:
                    break
                time.sleep(1)
            if listed is None:
                pb.wait().check()
                raise RuntimeError(f"{dag_id} was not listed within 900 s")
            run_id = self.client.trigger(dag_id)
            done = wait_success(self.client, dag_id, run_id)
            pb.wait().check()
            samples.append(done - pb.t0)
            playbook_s.append(pb.seconds)
            listed_s.append(listed - pb.t0)
            log(f"  {dag_id}: listed at {listed - pb.t0:.1f}s, run succeeded at {done - pb.t0:.1f}s, "
                f"playbook {pb.seconds:.1f}s")
        notes = [f"measured until a triggered run of the new DAG succeeded (not just queued); the DAG was listed "
                 f"by the API after {', '.join(f'{s:.0f}' for s in listed_s)} s, the playbook took "
                 f"{', '.join(f'{s:.0f}' for s in playbook_s)} s; the DAG processor looks for new files every 30 s "
                 f"(AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL)", *cut_note(3)]
        self.results.add(row(3, "`deploy-dags.yml` with a new DAG → its run succeeded", samples, 30, notes=notes))

    # 4 ------------------------------------------------------------------
    def fresh_vs_floor(self):
        hosts = [MASTER, *WORKERS]
        compose = f"docker compose --project-directory {BASE} -f {BASE}/compose.yml"
        floors, floor_notes = [], []
        freshes = {strategy: [] for strategy in STRATEGIES}
        slowest_notes = {}
        for n in range(runs(4)):
            log(f"figure 4 run {n + 1}: floor (compose down, then up --wait on every host at once)")
            parallel(lambda h: on_host(h, f"{compose} down"), hosts)
            t0 = time.monotonic()
            retries = [r for r in parallel(lambda h: up_wait(h, compose), hosts) if r]
            floors.append(time.monotonic() - t0)
            log(f"  floor {floors[-1]:.1f}s")
            if retries:
                floor_notes.append(f"run {n + 1}: {'; '.join(retries)} (timed as one)")
            for strategy in STRATEGIES:
                log(f"figure 4 run {n + 1}: fresh converge ({strategy}; compose down, {BASE} removed)")
                parallel(lambda h: on_host(h, f"{compose} down && rm -rf {BASE}"), hosts)
                pb = playbook(self.inv, "site.yml", f"fresh-{strategy}-{n + 1}", strategy=strategy)
                freshes[strategy].append(pb.seconds)
                slowest_notes[strategy] = pb.slowest_note()
                self.ready()
        self.results.add(row(4, "floor: `docker compose up -d --wait` of the same stacks, hosts in parallel",
                             floors, notes=["after `docker compose down`; every file in place", *floor_notes]))
        for strategy, samples in freshes.items():
            name = strategy_name(strategy)
            self.results.add(row(4, f"fresh converge ({name}): `site.yml`, stacks down and the tree removed, "
                                    "images and packages kept", samples,
                                 notes=[slowest_notes[strategy], *cut_note(4)]))
            self.results.add(row(4, f"fresh converge / floor ({name}, per run)",
                                 [a / b for a, b in zip(samples, floors)], 1.5, unit="×"))

    # 5 ------------------------------------------------------------------
    def fanout(self):
        one, two, spread = [], [], []
        for n in range(runs(5)):
            order = [("bench_fanout_one_worker", one), ("bench_fanout_two_workers", two)]
            for dag_id, samples in (order if n % 2 == 0 else order[::-1]):
                t0 = time.monotonic()
                run_id = self.client.trigger(dag_id)
                done = wait_success(self.client, dag_id, run_id, timeout=1800)
                samples.append(done - t0)
                hosts = {}
                for ti in all_task_instances(self.client, dag_id, run_id):
                    hosts[ti.get("hostname")] = hosts.get(ti.get("hostname"), 0) + 1
                log(f"  {dag_id}: {done - t0:.1f}s, tasks per host {hosts}")
                if dag_id.endswith("two_workers"):
                    spread.append(hosts)
        ratios = [a / b for a, b in zip(one, two)]
        names = {address(h): h for h in WORKERS}
        per_host = "; ".join(", ".join(f"{names.get(h, h)} {c}" for h, c in sorted(s.items(), key=str))
                             for s in spread)
        self.results.add(row(5, "100 short mapped tasks on 1 worker (concurrency 4)", one,
                             notes=["from the trigger to the run's success seen by the API (polled every second)",
                                    *cut_note(5)]))
        self.results.add(row(5, "100 short mapped tasks on 2 workers (concurrency 4 each)", two,
                             notes=[f"tasks per host: {per_host}"]))
        self.results.add(row(5, "1 worker / 2 workers (speed-up)", ratios, unit="×",
                             notes=["both workers share this machine's CPUs: a second worker adds task slots, "
                                    "not CPU"]))

    # 6 ------------------------------------------------------------------
    def scale(self):
        per_count = {}
        for count in SCALE_WORKERS:
            workers = [f"bench-worker-{i}" for i in range(1, count + 1)]
            inv = inventory(workers)
            samples = []
            try:
                for n in range(runs(6)):
                    destroy_hosts()
                    log(f"figure 6: new hosts bench-master + {count} workers (creation not timed)")
                    create_hosts([MASTER, *workers])
                    pb = playbook(inv, "site.yml", f"scale-{count}w-{n + 1}", ["--flush-cache"])
                    samples.append(pb.seconds)
                    client = api()
                    client("GET", "/monitor/health")
            except Exception as exc:  # noqa: BLE001 - recorded in the results
                self.results.error(6, f"{count} workers: {exc}")
            per_count[count] = samples
            self.results.add(row(6, f"converge of new hosts, 1 master + {count} worker{'s' if count > 1 else ''}",
                                 samples))
        counts = [c for c in SCALE_WORKERS if per_count.get(c)]
        if len(counts) >= 2:
            lo, hi = counts[0], counts[-1]
            slope = (statistics.median(per_count[hi]) - statistics.median(per_count[lo])) / (hi - lo)
            if slope > 0:
                self.results.note(f"6. converge grows by about {slope:.0f} s per extra worker host "
                                  f"({lo} → {hi} workers, medians); all hosts share this machine's CPUs, so on "
                                  f"separate hosts the growth would be smaller")
            else:
                self.results.note(f"6. no growth measurable from {lo} to {hi} workers ({slope:.0f} s per extra "
                                  f"worker host, medians): the noise of this machine's load is larger")
        for note in cut_note(6):
            self.results.note(f"6. {note}")


    # 7 ------------------------------------------------------------------
    def rebuild(self):
        """The master destroyed with its disk while a variable is committed
        every second; a new bench-master, site.yml, restore.yml from the
        archive's latest state, then an etl run. RPO: the acknowledged
        commits lost; RTO: the loss to that run's success."""
        rpos, rtos, notes = [], [], []
        for n in range(runs(7)):
            self.client.wait_run("etl", self.client.trigger("etl"))
            committer = Committer(f"bench_rebuild_{n + 1}", UI)  # makes the variable
            wait_archived_after(MASTER, time.time())  # the run and the variable are in the archive
            committer.start()
            time.sleep(20)
            log(f"figure 7 run {n + 1}: destroying {MASTER} with its disk")
            t0 = time.monotonic()
            destroy_hosts([MASTER])
            last = committer.finish()
            create_hosts([MASTER])
            created = time.monotonic() - t0
            site = playbook(self.inv, "site.yml", f"rebuild-site-{n + 1}", ["--flush-cache"])
            restore = playbook(self.inv, "restore.yml", f"rebuild-restore-{n + 1}",
                               ["-e", "airflow_backup_restore_confirm=yes",
                                "-e", "airflow_backup_restore_source=archive"])
            self.ready()
            rpo = last - restored_commit(self.client, committer.key)
            self.client.wait_run("etl", self.client.trigger("etl"))
            rtos.append(time.monotonic() - t0)
            rpos.append(rpo)
            notes.append(f"run {n + 1}: new host {created:.0f} s, site.yml {site.seconds:.0f} s, restore.yml "
                         f"{restore.seconds:.0f} s, then an etl run")
            log(f"  RPO {rpo:.1f}s, RTO {rtos[-1]:.1f}s")
        self.results.add(row(7, "lost master rebuilt: RPO, acknowledged commits lost (one every second)", rpos,
                             ARCHIVE_TIMEOUT, notes=[f"archive_timeout {ARCHIVE_TIMEOUT} s bounds it", *cut_note(7)]))
        self.results.add(row(7, "lost master rebuilt: RTO, loss → an etl run succeeded on the rebuilt cluster", rtos,
                             notes=[*notes, "the new host's creation (a sandbox container with systemd and Docker) "
                                    "is timed; its packages and images come from the Debian mirror and the "
                                    "controller as on a real new host"]))


NEW_DAG = '''"""Written by make bench (figure 3): a new DAG file, one short task."""
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     tags=["bench"])
def new_dag():
    @task
    def hello():
        print("hello")

    hello()


new_dag()
'''

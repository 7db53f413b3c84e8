# Collects, read-only, everything the status report shows about one host and
# prints it as one JSON object: the compose services (state, health, image),
# the current DAG release and the disk use of some directories. With
# --cluster (the master), also the cluster-wide view: the Celery workers that
# answer a ping, the api-server's health (scheduler heartbeat) and the task
# instances queued and running, and with --archive the DB's archive (newest
# backup, last archived WAL segment). The slow parts run in parallel.
#
# Usage: collect.py --compose JSON --compose-file PATH [--dags-dir DIR] [--disk NAME=PATH ...]
#                   [--cluster --celery-services S,S --api-service S --api-port N --db-service S [--archive]]
# --compose is the argv that runs docker compose for the host's stack (the
# cluster's contract, roles/airflow_cluster/vars/main.yml), as a JSON list.
import argparse
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"


def run(args, timeout=60):
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    except (OSError, subprocess.TimeoutExpired) as err:
        return 255, "", str(err)


def last_lines(text, n=3):
    return " | ".join(line.strip() for line in text.strip().splitlines()[-n:])


def json_objects(text):
    """compose prints a JSON array (older releases) or one object per line."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def last_json_object(text):
    """The last line of output that is a JSON object (Airflow may log before it)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def disk_use(path):
    if not os.path.isdir(path):
        return None
    rc, out, _ = run(["du", "-sb", path], timeout=300)
    try:
        return int(out.split()[0])
    except (IndexError, ValueError):
        return None


def services(compose):
    result = {"defined": [], "containers": [], "error": None}
    rc, out, err = run(compose + ["config", "--services"])
    if rc != 0:
        result["error"] = f"docker compose config failed: {last_lines(err or out)}"
        return result
    result["defined"] = sorted(out.split())
    rc, out, err = run(compose + ["ps", "--all", "--format", "json"])
    if rc != 0:
        result["error"] = f"docker compose ps failed: {last_lines(err or out)}"
        return result
    for c in json_objects(out):
        result["containers"].append({
            "service": c.get("Service", ""),
            "name": c.get("Name", ""),
            "state": c.get("State", ""),
            "health": c.get("Health", ""),
            "image": c.get("Image", ""),
            "status": c.get("Status", ""),
            "exit_code": c.get("ExitCode"),
        })
    return result


def running(compose, candidates):
    rc, out, _ = run(compose + ["ps", "--status", "running", "--services"])
    up = set(out.split()) if rc == 0 else set()
    return [s for s in candidates if s in up]


def celery_ping(compose, candidates, timeout):
    where = running(compose, candidates)
    if not where:
        return {"error": f"no running container to ask from (tried: {', '.join(candidates)})"}
    rc, out, err = run(compose + ["exec", "-T", where[0], "celery", "--app", CELERY_APP, "inspect", "ping",
                                  "--json", "--timeout", str(timeout)], timeout=timeout + 120)
    replies = last_json_object(out)
    if replies is not None:
        return {"online": sorted(replies), "from": where[0]}
    if "No nodes replied" in out + err:
        return {"online": [], "from": where[0]}
    return {"error": f"celery inspect ping in {where[0]} failed ({rc}): {last_lines(err or out)}"}


def api_health(compose, service, port):
    if not running(compose, [service]):
        return {"error": f"{service} is not running"}
    # https when the cluster has TLS (airflow_stack_tls_enabled; the name in
    # the certificate is not localhost's, hence -k), else plain http
    for scheme in ("https", "http"):
        rc, out, err = run(compose + ["exec", "-T", service, "curl", "-s", "-k", "--max-time", "20",
                                      f"{scheme}://localhost:{port}/api/v2/monitor/health"])
        health = last_json_object(out)
        if rc == 0 and health is not None:
            break
    if rc != 0 or health is None:
        return {"error": f"no answer from {service}'s /api/v2/monitor/health ({rc}): {last_lines(err or out)}"}
    beat = (health.get("scheduler") or {}).get("latest_scheduler_heartbeat")
    if beat:
        when = datetime.fromisoformat(beat.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        health["scheduler_heartbeat_age"] = round((datetime.now(timezone.utc) - when).total_seconds())
    return health


def task_counts(compose, service):
    if not running(compose, [service]):
        return {"error": f"{service} is not running"}
    query = ("SELECT state, count(*) FROM task_instance WHERE state IN ('queued', 'running') GROUP BY state")
    rc, out, err = run(compose + ["exec", "-T", service, "sh", "-c",
                                  'psql -X -At -F " " -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$0"', query])
    if rc != 0:
        return {"error": f"psql in {service} failed ({rc}): {last_lines(err or out)}"}
    counts = {"queued": 0, "running": 0}
    for line in out.split("\n"):
        if line.strip():
            state, count = line.split()
            counts[state] = int(count)
    return counts


def archive_state(compose, service):
    """The pgBackRest repository's newest backup and PostgreSQL's archiver
    (last archived and last failed WAL segment), ages in seconds."""
    if not running(compose, [service]):
        return {"error": f"{service} is not running"}
    query = ("SELECT coalesce(last_archived_wal, '-'), coalesce(extract(epoch FROM now() - last_archived_time)::int, -1), "
             "coalesce(last_failed_wal, '-'), coalesce(extract(epoch FROM now() - last_failed_time)::int, -1) "
             "FROM pg_stat_archiver")
    rc, out, err = run(compose + ["exec", "-T", "-u", "postgres", service, "sh", "-c",
                                  'pgbackrest info --output=json && echo && psql -X -At -F " " -U "$PGBACKREST_PG1_USER" '
                                  '-d "$PGBACKREST_PG1_DATABASE" -c "$0"', query], timeout=120)
    lines = out.strip().splitlines()
    if rc != 0 or len(lines) < 2:
        return {"error": f"pgbackrest info in {service} failed ({rc}): {last_lines(err or out)}"}
    try:
        stanza = (json.loads(lines[0]) or [{}])[0]
    except ValueError:
        return {"error": f"pgbackrest info in {service} printed no JSON: {last_lines(lines[0])}"}
    wal, wal_age, failed, failed_age = lines[-1].split()
    backups = stanza.get("backup") or []
    newest = backups[-1] if backups else None
    now = datetime.now(timezone.utc).timestamp()
    return {
        "status": (stanza.get("status") or {}).get("message"),
        "backups": len(backups),
        "newest": None if newest is None else {
            "label": newest.get("label"), "type": newest.get("type"),
            "age": round(now - newest.get("timestamp", {}).get("stop", now))},
        "last_wal": None if wal == "-" else wal, "last_wal_age": int(wal_age),
        "last_failed_wal": None if failed == "-" else failed, "last_failed_age": int(failed_age),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compose", required=True, type=json.loads, help="docker compose argv, a JSON list")
    parser.add_argument("--compose-file", required=True)
    parser.add_argument("--dags-dir", default="")
    parser.add_argument("--disk", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--celery-services", default="scheduler,worker")
    parser.add_argument("--celery-timeout", type=int, default=5)
    parser.add_argument("--api-service", default="api-server")
    parser.add_argument("--api-port", type=int, default=8080)
    parser.add_argument("--db-service", default="postgres")
    parser.add_argument("--archive", action="store_true", help="report the DB's pgBackRest archive")
    args = parser.parse_args()

    compose = list(args.compose)
    report = {"stack": os.path.isfile(args.compose_file)}
    current = os.path.join(args.dags_dir, "current") if args.dags_dir else ""
    report["release"] = os.readlink(current) if current and os.path.islink(current) else None
    disks = dict(item.split("=", 1) for item in args.disk)

    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = {name: pool.submit(disk_use, path) for name, path in disks.items()}
        if report["stack"]:
            jobs["services"] = pool.submit(services, compose)
            if args.cluster:
                jobs["celery"] = pool.submit(celery_ping, compose, args.celery_services.split(","), args.celery_timeout)
                jobs["health"] = pool.submit(api_health, compose, args.api_service, args.api_port)
                jobs["tasks"] = pool.submit(task_counts, compose, args.db_service)
                if args.archive:
                    jobs["archive"] = pool.submit(archive_state, compose, args.db_service)
        report["disk"] = {name: jobs[name].result() for name in disks}
        for name in ("services", "celery", "health", "tasks", "archive"):
            if name in jobs:
                report[name] = jobs[name].result()
    print(json.dumps(report))


if __name__ == "__main__":
    main()

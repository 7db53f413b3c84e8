# The airflow_status role's report: turns what files/collect.py found on each
# host (or the host's unreachable result) into one table and a list of
# problems. Only formatting and judgement; nothing here talks to a host.

import json

DOCUMENTATION = """
  name: airflow_status_report
  short_description: The cluster status table and its problems
  description:
    - Builds the airflow_status role's table from each host's collect.py result and names every problem.
  options:
    _input:
      description: Registered collect results, by host.
      type: dict
      required: true
"""


def _size(num):
    if num is None:
        return "-"
    for unit in ("B", "K", "M", "G", "T"):
        if num < 1024 or unit == "T":
            return f"{num:.0f}{unit}" if unit == "B" else f"{num:.1f}{unit}"
        num /= 1024.0
    return "-"


def _first_line(text):
    text = str(text or "").strip()
    return text.splitlines()[0][:200] if text else ""


def _reason(msg):
    """Why a host is unreachable, short: the connection's own error when Ansible quotes it."""
    text = " ".join(str(msg or "").split())
    text = text.removeprefix("Task failed: ")
    for marker in ("Failed to connect to the host", "Error response from daemon:"):
        if marker in text:
            text = text[text.index(marker):]
            break
    else:
        text = text.split(". ", 1)[0]
    return text if len(text) <= 200 else text[:197] + "..."


def _data(result):
    try:
        return json.loads(result.get("stdout") or "")
    except ValueError:
        return None


def _host_rows(host, result, problems, notes, oneshot):
    """Table rows of one host, and its problems."""
    if result is None:
        problems.append(f"{host}: not checked (no result)")
        return [[host, "-", "NOT CHECKED"]]
    if result.get("unreachable"):
        problems.append(f"{host}: unreachable ({_reason(result.get('msg'))})")
        return [[host, "-", "UNREACHABLE"]]
    if result.get("skipped"):
        problems.append(f"{host}: not checked ({_first_line(result.get('skip_reason'))})")
        return [[host, "-", "NOT CHECKED"]]
    data = _data(result)
    if result.get("rc", 1) != 0 or not isinstance(data, dict):
        problems.append(f"{host}: the status collection failed: {_first_line(result.get('stderr') or result.get('msg'))}")
        return [[host, "-", "ERROR"]]
    disk = data.get("disk", {})
    extra = [data.get("release") or "-", _size(disk.get("logs")), _size(disk.get("db")), _size(disk.get("backups"))]
    if not data.get("release"):
        problems.append(f"{host}: no current DAG release (the symlink dags/current is missing)")
    if not data.get("stack"):
        problems.append(f"{host}: no Airflow stack (compose.yml is missing)")
        return [[host, "-", "NO STACK", "", ""] + extra]
    svc = data.get("services", {})
    if svc.get("error"):
        problems.append(f"{host}: {svc['error']}")
        return [[host, "-", "ERROR", "", ""] + extra]
    containers = {}
    for c in svc.get("containers", []):
        containers.setdefault(c["service"], c)
    rows = []
    for name in sorted(set(svc.get("defined", [])) | set(containers)):
        c = containers.get(name)
        if name not in svc.get("defined", []):
            notes.append(f"{host}: container {c['name']} of service {name} is not in compose.yml (an orphan)")
        if c is None:
            problems.append(f"{host}: service {name} has no container")
            rows.append([host, name, "missing", "-", "-"])
            continue
        state, health = c.get("state") or "?", c.get("health") or ""
        if name in oneshot and state == "exited" and c.get("exit_code") == 0:
            pass  # a one-shot service that has done its job
        elif state != "running":
            problems.append(f"{host}: service {name} is {state} ({c.get('status') or state}, container {c['name']})")
        elif health not in ("", "healthy"):
            problems.append(f"{host}: service {name} is {health} (container {c['name']})")
        rows.append([host, name, state, health or "-", c.get("image") or "-"])
    if not rows:
        problems.append(f"{host}: no service defined in compose.yml")
        rows.append([host, "-", "EMPTY", "", ""])
    rows[0] = rows[0] + extra
    return rows


def _archive(archive, limits, problems):
    """The archive's line, and its problems (limits: backup hours, WAL seconds)."""
    if "error" in archive:
        problems.append(f"DB archive unknown: {archive['error']}")
        return ("DB archive", f"unknown: {archive['error']}")
    backup_hours, wal_age = int(limits[0]), int(limits[1])
    newest = archive.get("newest")
    if newest is None:
        problems.append("DB archive: the repository holds no backup")
        text = "no backup"
    else:
        text = f"newest backup {newest['label']} ({newest['type']}) {newest['age'] // 60} min ago, {archive['backups']} kept"
        if newest["age"] > backup_hours * 3600:
            problems.append(f"DB archive: the newest backup is {newest['age'] // 3600} h old (limit {backup_hours} h)")
    if archive.get("last_wal") is None:
        problems.append("DB archive: PostgreSQL has archived no WAL segment yet")
        text += "; no WAL archived"
    else:
        text += f"; last WAL {archive['last_wal']} {archive['last_wal_age']}s ago"
        if archive["last_wal_age"] > wal_age:
            problems.append(f"DB archive: the last WAL segment reached it {archive['last_wal_age']}s ago "
                            f"(limit {wal_age}s)")
    if archive.get("last_failed_wal") and 0 <= archive["last_failed_age"] < archive.get("last_wal_age", -1):
        problems.append(f"DB archive: archiving {archive['last_failed_wal']} failed "
                        f"{archive['last_failed_age']}s ago, after the last success")
        text += f"; FAILED {archive['last_failed_wal']}"
    return ("DB archive", text)


def _cluster(master, data, expected, max_age, problems, notes, archive_limits=None):
    """Lines about the whole cluster, from the master's result."""
    lines = []
    celery = data.get("celery") or {"error": "not collected"}
    if "error" in celery:
        problems.append(f"Celery workers: could not ask them: {celery['error']}")
        lines.append(("Celery workers", f"unknown: {celery['error']}"))
    else:
        online = set(celery.get("online", []))
        missing = [w for w in expected if w not in online]
        extra = sorted(online - set(expected))
        for node in missing:
            problems.append(f"missing Celery worker {node} (in the inventory, but it does not answer a ping)")
        for node in extra:
            notes.append(f"Celery worker {node} is online but not in the inventory")
        text = f"{len(online & set(expected))}/{len(expected)} online: {', '.join(sorted(online)) or 'none'}"
        if missing:
            text += f"; MISSING: {', '.join(missing)}"
        lines.append(("Celery workers", text))
    health = data.get("health") or {"error": "not collected"}
    if "error" in health:
        problems.append(f"scheduler heartbeat unknown: {health['error']}")
        lines.append(("Scheduler", f"unknown: {health['error']}"))
    else:
        sched = health.get("scheduler") or {}
        age = health.get("scheduler_heartbeat_age")
        if age is None:
            problems.append("stale scheduler heartbeat: the scheduler has never sent one")
            lines.append(("Scheduler", "no heartbeat"))
        else:
            lines.append(("Scheduler", f"last heartbeat {age}s ago ({sched.get('status') or '?'}), "
                                       f"at {sched.get('latest_scheduler_heartbeat')}"))
            if age > max_age:
                problems.append(f"stale scheduler heartbeat: the last one was {age}s ago (limit {max_age}s)")
            elif sched.get("status") not in (None, "healthy"):
                problems.append(f"scheduler is {sched.get('status')} according to the api-server")
        others = []
        for part in ("metadatabase", "triggerer", "dag_processor"):
            status = (health.get(part) or {}).get("status")
            others.append(f"{part} {status or '-'}")
            if status == "unhealthy":
                problems.append(f"{part} is unhealthy according to the api-server")
        lines.append(("Components", ", ".join(others)))
    tasks = data.get("tasks") or {"error": "not collected"}
    if "error" in tasks:
        problems.append(f"task instance counts unknown: {tasks['error']}")
        lines.append(("Task instances", f"unknown: {tasks['error']}"))
    else:
        lines.append(("Task instances", f"{tasks.get('queued', 0)} queued, {tasks.get('running', 0)} running"))
    if archive_limits is not None:
        lines.append(_archive(data.get("archive") or {"error": "not collected"}, archive_limits, problems))
    return lines


def airflow_status_report(results, hosts, master, expected_workers, heartbeat_max_age=60, oneshot=None,
                          archive_limits=None):
    """{'table': str, 'problems': [str], 'notes': [str]} for the whole cluster."""
    problems, notes = [], []
    header = ["HOST", "SERVICE", "STATE", "HEALTH", "IMAGE", "DAG RELEASE", "LOGS", "DB", "BACKUPS"]
    rows = []
    for host in hosts:
        rows.extend(_host_rows(host, results.get(host), problems, notes, oneshot or []))
    images = {}
    for row in rows:
        if len(row) > 4 and row[1] not in ("postgres", "redis", "-") and row[4] not in ("", "-"):
            images.setdefault(row[4], []).append(f"{row[0]}/{row[1]}")
    if len(images) > 1:
        notes.append("the Airflow services do not all run the same image: "
                     + "; ".join(f"{image}: {', '.join(where)}" for image, where in sorted(images.items())))
    widths = [max(len(str(r[i])) for r in [header] + rows if len(r) > i) for i in range(len(header))]
    table = [" ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip() for r in [header] + rows]

    master_data = _data(results.get(master) or {})
    if master not in hosts:
        notes.append(f"cluster-wide checks skipped: the master {master} is not part of this run")
        cluster = []
    elif isinstance(master_data, dict) and master_data.get("stack"):
        cluster = _cluster(master, master_data, expected_workers, int(heartbeat_max_age), problems, notes,
                           archive_limits)
    else:
        problems.append(f"cluster-wide checks not done: the master {master} could not be checked")
        cluster = [("Cluster", "not checked (see the master's line)")]
    if cluster:
        width = max(len(k) for k, _ in cluster)
        table.append("")
        table.extend(f"{k.ljust(width)}  {v}" for k, v in cluster)
    table.append("")
    table.append(f"RESULT: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    table.extend(f"  PROBLEM: {p}" for p in problems)
    table.extend(f"  note: {n}" for n in notes)
    return {"table": "\n".join(table), "problems": problems, "notes": notes}


class FilterModule:
    def filters(self):
        return {"airflow_status_report": airflow_status_report}

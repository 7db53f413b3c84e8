# -*- coding: utf-8 -*-
"""What the modules that run a script in a service of the host's compose stack
share (datalake.airflow.fab_users, datalake.airflow.celery_drain): the
docker compose command lines, whether the service runs, the script's
one-line JSON result and a short account of a failure.

The scripts themselves are string constants (module_utils/*_script.py), not
files read at run time: a module's module_utils have no source file on the
host under Ansiballz (a zip) nor under Mitogen (its importer serves code, not
files).
"""

from __future__ import annotations

import json


def compose_argv(docker: str, project_dir: str, compose_file: str | None = None) -> list:
    """docker compose for the stack in project_dir, from any directory (the
    stack's contract: __airflow_cluster_compose_argv)."""
    argv = [docker, "compose", "--project-directory", project_dir]
    if compose_file:
        argv += ["--file", compose_file]
    return argv


def exec_argv(compose: list, service: str, script: str, env: dict | None = None) -> list:
    """`python -c SCRIPT` in the service's running container, no TTY (its
    input is the module's data), env as -e NAME=VALUE (no secrets: a command
    line is visible to every local user)."""
    argv = list(compose) + ["exec", "-T"]
    for name, value in sorted((env or {}).items()):
        if not name or "=" in name:
            raise ValueError(f"environment variable name {name!r} is not valid")
        argv += ["-e", f"{name}={_env_value(value)}"]
    return argv + [service, "python", "-c", script]


def _env_value(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def running_argv(compose: list) -> list:
    return list(compose) + ["ps", "--status", "running", "--services"]


def is_running(rc: int, stdout: str, service: str) -> bool:
    """Whether `compose ps --status running --services` lists the service."""
    return rc == 0 and service in (line.strip() for line in stdout.splitlines())


def last_json(stdout: str):
    """The script's result: its last line of output that is a JSON object
    (Airflow may print warnings before it); None if there is none."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def tail(text: str, lines: int = 5) -> str:
    """The last non-empty lines of a command's output, on one line."""
    kept = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " / ".join(kept[-lines:])


def failure(what: str, rc: int, stdout: str, stderr: str) -> str:
    """A failed script's message: what failed, its exit code and the last
    lines of its error output (or of its output, if it wrote no error)."""
    detail = tail(stderr) or tail(stdout) or "no output"
    return f"{what} failed (rc {rc}): {detail}"

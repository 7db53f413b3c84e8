# -*- coding: utf-8 -*-
"""What the modules that run a script in a service of the host's compose stack
share (datalake.airflow.fab_users, datalake.airflow.airflow_objects,
datalake.airflow.celery_drain): their
common options, the docker compose command lines, whether the service runs,
the script's one-line JSON result, a short account of a failure, and the
run itself (run_script).

The scripts themselves are string constants (module_utils/*_script.py), not
files read at run time: a module's module_utils have no source file on the
host under Ansiballz (a zip) nor under Mitogen (its importer serves code, not
files).
"""

from __future__ import annotations

import json

# The options of every module that runs a script in a service of the stack
# (documented once: doc_fragments/compose_service.py); each adds its service.
ARGUMENT_SPEC = {
    "project_dir": {"type": "path", "required": True},
    "compose_file": {"type": "path"},
}


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


def run_script(module, script, data: str, env: dict | None = None, *, skipped, outcome):
    """Run `python -c SCRIPT` in module.params' service with data on stdin,
    and end the module with outcome(rc, stdout, stderr) (a dict; failed when
    it says so). In check mode a host without docker, or a service that is
    not running, ends it with skipped(why) instead; outside check mode a host
    without docker fails."""
    params = module.params
    docker = module.get_bin_path("docker")
    if docker is None:
        if module.check_mode:
            module.exit_json(**skipped("docker is not installed"))
        module.fail_json(msg="docker is not installed on the host")
    base = compose_argv(docker, params["project_dir"], params["compose_file"])
    if module.check_mode:
        rc, out, _ = module.run_command(running_argv(base), expand_user_and_vars=False)
        if not is_running(rc, out, params["service"]):
            module.exit_json(**skipped("the service is not running"))
    try:
        argv = exec_argv(base, params["service"], script, env)
    except ValueError as error:
        module.fail_json(msg=str(error))
    # the script is no command line to expand ($, ~)
    rc, out, err = module.run_command(argv, data=data, expand_user_and_vars=False)
    result = outcome(rc, out, err)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)

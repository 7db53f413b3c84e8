"""A shell runner and the parsing of ansible-playbook output (PLAY RECAP,
the tasks that changed)."""

import re
import subprocess

from .settings import ROOT


def sh(*args, check=True, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}")
    return proc


def recap(output):
    """{host: {'ok': n, 'changed': n, ...}} from an ansible-playbook PLAY RECAP."""
    result = {}
    for line in output.rsplit("PLAY RECAP", 1)[-1].splitlines():
        if ":" in line and "ok=" in line:
            host, _, stats = line.partition(":")
            result[host.strip()] = {k: int(v) for k, v in (s.split("=") for s in stats.split())}
    return result


def changed_tasks(output):
    """{host: [task name, ...]}: the tasks (and handlers) that reported a
    change on each host in an ansible-playbook output."""
    result, task = {}, None
    for line in output.splitlines():
        heading = re.match(r"(?:TASK|RUNNING HANDLER) \[(.*)\]", line)
        if heading:
            task = heading.group(1)
            continue
        changed = re.match(r"changed: \[([^\]]+?)(?: -> [^\]]+)?\]", line)
        if changed and task:
            result.setdefault(changed.group(1), []).append(task)
    return result


def only_the_firewall(tasks):
    """Whether these changes (changed_tasks) are the firewall's alone: a host
    joining or leaving the inventory changes what every other host admits."""
    return all("Firewall | " in task for task in tasks)

# -*- coding: utf-8 -*-
"""The preflight's engine: problems, the views of a host's and the cluster's
settings that rules read, and the registry of rules.

A rule is a plain function registered with @rule(role, phase, scope). It
reads settings (never changes anything) and yields Problem objects; each
names the host, the one setting that is wrong, its value (never a secret's)
and the fix. The action plugin (plugins/action/preflight.py) builds the
views from the inventory and runs the rules on the controller; the unit tests
(tests/unit) build them from plain dicts.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

# Rules run in two phases: "settings" needs nothing but the inventory (it
# runs before any host is contacted); "hosts" needs the hosts' facts.
PHASES = ("settings", "hosts")
# "host": the rule runs once per host of the run; "cluster": once per run,
# for settings that are the same on every host (they are checked to be).
SCOPES = ("host", "cluster")


class Undefined(KeyError):
    """A setting the inventory and the roles' defaults do not define (or
    whose template cannot be worked out)."""


@dataclass(frozen=True)
class Problem:
    host: str
    setting: str
    value: object
    text: str
    secret: bool = False

    def render(self) -> str:
        shown = "(a secret, not shown)" if self.secret else show(self.value)
        return f"On {self.host}: {self.setting} is {shown}: {self.text}"


def show(value) -> str:
    """A value as the operator wrote it, short enough for one line."""
    if isinstance(value, str):
        text = "'" + value.replace("\n", "\\n") + "'"
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class Host:
    """One host's settings as the roles would see them."""

    def __init__(self, name: str, lookup: Callable[[str], object] | Mapping, facts: Mapping | None = None,
                 names: Iterable[str] = ()):
        self.name = name
        self._lookup = lookup.__getitem__ if isinstance(lookup, Mapping) else lookup
        self._cache: dict = {}
        self.facts = facts or {}
        # every variable name the inventory sets for this host
        self.names = frozenset(names if names else (lookup.keys() if isinstance(lookup, Mapping) else ()))

    def __getitem__(self, setting: str):
        if setting not in self._cache:
            try:
                self._cache[setting] = self._lookup(setting)
            except KeyError as err:
                raise Undefined(setting) from err
        return self._cache[setting]

    def get(self, setting: str, default=None):
        try:
            return self[setting]
        except Undefined:
            return default

    def problem(self, setting: str, text: str, value=None, secret: bool = False) -> Problem:
        return Problem(self.name, setting, self.get(setting) if value is None else value, text, secret)


@dataclass
class Cluster:
    """The hosts of the run and the inventory's groups."""

    hosts: dict  # name -> Host, every host of the run, in the run's order
    groups: dict  # group name -> [host names]
    controller: dict = field(default_factory=dict)  # what the action found on the controller

    @property
    def first(self) -> Host:
        return next(iter(self.hosts.values()))

    def group(self, setting: str) -> list:
        return list(self.groups.get(str(self.first.get(setting, "")), []))

    @property
    def masters(self) -> list:
        return self.group("airflow_cluster_master_group")

    @property
    def workers(self) -> list:
        return self.group("airflow_cluster_worker_group")

    @property
    def members(self) -> list:
        return list(dict.fromkeys(self.masters + self.workers))

    def is_master(self, host: Host) -> bool:
        return host.name in self.masters

    def runs_worker(self, host: Host) -> bool:
        return not self.is_master(host) or truthy(host.get("airflow_cluster_master_worker_enabled", False))

    def in_run(self) -> list:
        return [h for h in self.hosts.values() if h.name in self.members]


@dataclass(frozen=True)
class Rule:
    name: str
    role: str
    phase: str
    scope: str
    check: Callable
    layout: bool = False


RULES: list = []


def rule(role: str, phase: str = "settings", scope: str = "host", layout: bool = False):
    """Register a rule; its docstring says what it refuses. Layout rules
    (which host is the master, which hosts are in the run) run first: when
    one fails, the others are not run, since most depend on it."""
    assert phase in PHASES and scope in SCOPES

    def register(fn):
        RULES.append(Rule(fn.__name__, role, phase, scope, fn, layout))
        return fn
    return register


def run(cluster: Cluster, phase: str, roles: Iterable[str] | None = None, rules: Iterable[Rule] | None = None) -> list:
    """Every problem the rules of a phase find, in rule order, each once."""
    wanted = set(roles) if roles is not None else None
    chosen = [r for r in (rules if rules is not None else RULES)
              if r.phase == phase and (wanted is None or r.role in wanted)]
    layout = _run(cluster, [r for r in chosen if r.layout])
    return layout or _run(cluster, [r for r in chosen if not r.layout])


def _run(cluster: Cluster, rules: list) -> list:
    found: list = []
    for r in rules:
        targets = cluster.hosts.values() if r.scope == "host" else [cluster]
        for target in targets:
            try:
                problems = list(r.check(target, cluster) if r.scope == "host" else r.check(cluster))
            except Undefined as err:
                host = target.name if isinstance(target, Host) else cluster.first.name
                problems = [Problem(host, str(err.args[0]), "(undefined)",
                                    "it is not defined, or its value cannot be worked out: set it in the inventory.")]
            found.extend(p for p in problems if p not in found)
    return found


# Helpers the rules share.

def truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def whole(value, minimum: int | None = None):
    """The value as a whole number (an int or a string of digits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        return None
    return number if minimum is None or number >= minimum else None


def is_list(value) -> bool:
    return isinstance(value, (list, tuple))


def ipv4(value):
    try:
        return ipaddress.IPv4Address(str(value).strip())
    except ValueError:
        return None

# -*- coding: utf-8 -*-
"""Run the preflight's rules (plugins/module_utils/preflight) on the
controller, once for every host of the play: no module runs on a host.

Each host's settings are looked up as its roles would see them: the
inventory's values (host and group vars, extra vars, facts gathered so far)
over every role's defaults and vars, templated on demand in that host's
context.
"""

from __future__ import annotations

import glob
import os
import re
import socket

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.datalake.airflow.plugins.module_utils import preflight

DOCUMENTATION = r"""
action: preflight
short_description: Check the inventory's settings against every rule, changing nothing
options:
  phase:
    description: settings (the inventory alone) or hosts (with the hosts' facts).
    choices: [settings, hosts]
  roles:
    description: The roles whose rules run (default every role).
    type: list
  roles_dir:
    description: The directory of the roles (default ../ from the running role).
"""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        phase = args.get("phase", "settings")
        roles_dir = args.get("roles_dir") or os.path.dirname(self._task._role._role_path)
        roles = args.get("roles")
        defaults, owners = self._role_vars(roles_dir)
        hostvars = task_vars["hostvars"]
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        hosts = {name: self._host(name, hostvars, defaults, owners, roles_dir) for name in play_hosts}
        cluster = preflight.Cluster(hosts=hosts, groups=dict(task_vars.get("groups", {})),
                                    controller=self._controller(roles_dir))
        if phase == "hosts":
            cluster.controller["addresses"] = {n: str(h.get("airflow_cluster_advertise_address", "") or "")
                                               for n, h in hosts.items()}
            cluster.controller["controller_address"] = self._route_source(cluster)
        problems = preflight.run(cluster, phase, roles)
        result["changed"] = False
        if problems:
            result["failed"] = True
            result["msg"] = "\n".join([p.render() for p in problems] + ["Nothing was changed."])
        else:
            result["preflight"] = {"addresses": cluster.controller.get("addresses", {}),
                                   "controller_address": cluster.controller.get("controller_address", "")}
        return result

    def _role_vars(self, roles_dir):
        """Every role's defaults, then its vars (only __ internals there),
        and which role each setting belongs to."""
        merged, owners = {}, {}
        for kind in ("defaults", "vars"):
            for path in sorted(glob.glob(os.path.join(roles_dir, "*", kind, "main.yml"))):
                role = path.split(os.sep)[-3]
                data = self._loader.load_from_file(path, trusted_as_template=True) or {}
                for key, value in data.items():
                    merged[key] = value
                    owners[key] = role
        return merged, owners

    def _host(self, name, hostvars, defaults, owners, roles_dir):
        raw = hostvars.raw_get(name)
        env = dict(defaults)
        env.update(raw)
        env["hostvars"] = hostvars
        facts = dict(raw.get("ansible_facts") or {})
        facts["docker_os_vars"] = self._docker_vars(facts, roles_dir)
        names = [k for k in raw if not k.startswith("ansible_")]

        def lookup(setting):
            if setting not in env:
                raise KeyError(setting)
            local = dict(env, role_path=os.path.join(roles_dir, owners.get(setting, "")))
            templar = self._templar.copy_with_new_env(available_variables=local)
            try:
                return templar.template(env[setting])
            except AnsibleError as err:
                raise KeyError(f"{setting} ({str(err).splitlines()[0]})") from err
        return preflight.Host(name, lookup, facts, names)

    def _docker_vars(self, facts, roles_dir):
        """The docker role's vars for the host's distribution (first found)."""
        for candidate in (f"{facts.get('distribution')}-{facts.get('distribution_major_version')}.yml", "default.yml"):
            path = os.path.join(roles_dir, "docker", "vars", candidate)
            if os.path.isfile(path):
                return self._loader.load_from_file(path, trusted_as_template=True) or {}
        return {}

    def _controller(self, roles_dir):
        template = os.path.join(roles_dir, "airflow_stack", "templates", "airflow.env.j2")
        keys = set()
        if os.path.isfile(template):
            with open(template, encoding="utf-8") as handle:
                keys = set(re.findall(r"(?m)^([A-Z_][A-Z0-9_]*)=", handle.read()))
        return {
            "isfile": lambda path: os.path.isfile(self._loader.path_dwim(path)),
            # a vault-encrypted file is decrypted
            "read": lambda path: self._loader.get_text_file_contents(path).encode(),
            "managed_env_keys": keys,
        }

    @staticmethod
    def _route_source(cluster):
        """The controller's address on its route to the master (a UDP
        socket's connect sends nothing)."""
        if not cluster.masters:
            return ""
        address = cluster.controller["addresses"].get(cluster.masters[0])
        if not address:
            return ""
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((address, 9))
                return probe.getsockname()[0]
        except OSError:
            return ""

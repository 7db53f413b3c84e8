#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Read what the preflight's "hosts" phase needs of a host in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_state
short_description: A host's installed packages, users, groups and mounts, in one call
description:
  - Returns, as facts, what three modules would (M(ansible.builtin.package_facts)
    with the apt manager and M(ansible.builtin.getent) for passwd and group),
    in the same shapes, from one module execution. The preflight (roles/preflight)
    reads a host's state with it.
  - The packages come from C(dpkg-query) (no python3-apt needed); a host
    without dpkg gets an empty C(packages) fact, and the roles then install
    what they need. Users and groups come from the host's NSS (C(pwd), C(grp)).
  - The mounts (mount point, file system type, device) come from
    C(/proc/self/mounts), in the shape of the setup module's C(mounts) fact
    (the preflight gathers no hardware facts, the slowest part of setup).
  - Reads only; supports check mode.
options: {}
author: datalake team
"""

EXAMPLES = r"""
- name: Read the host's packages, users and groups
  datalake.airflow.host_state:
"""

RETURN = r"""
ansible_facts:
  description: packages (name -> list of {name, version, arch, source}),
    getent_passwd (name -> [password, uid, gid, gecos, home, shell]) and
    getent_group (name -> [password, gid, members]), uid and gid as strings
    as ansible.builtin.getent gives them, and mounts (a list of {mount,
    fstype, device}).
  returned: always
  type: dict
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule

DPKG_FORMAT = "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"


def parse_dpkg(output: str) -> dict:
    """dpkg-query -W lines to package_facts' shape; only installed packages
    (status "ii", or "hi" when held)."""
    packages: dict = {}
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) != 4 or fields[0].strip() not in ("ii", "hi"):
            continue
        _, name, version, arch = fields
        packages.setdefault(name, []).append({"name": name, "version": version, "arch": arch, "source": "apt"})
    return packages


def passwd_table() -> dict:
    return {e.pw_name: [e.pw_passwd, str(e.pw_uid), str(e.pw_gid), e.pw_gecos, e.pw_dir, e.pw_shell]
            for e in pwd.getpwall()}


def group_table() -> dict:
    return {e.gr_name: [e.gr_passwd, str(e.gr_gid), ",".join(e.gr_mem)] for e in grp.getgrall()}


def unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mounts(text: str) -> list:
    """/proc/self/mounts lines to the setup module's mounts shape (the fields
    the preflight reads)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mounts.append({"mount": unescape(fields[1]), "fstype": fields[2], "device": unescape(fields[0])})
    return mounts


def read_mounts(path: str = "/proc/self/mounts") -> list:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return parse_mounts(handle.read())
    except OSError:
        return []


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    packages = {}
    dpkg = module.get_bin_path("dpkg-query")
    if dpkg:
        rc, out, _ = module.run_command([dpkg, "-W", "-f", DPKG_FORMAT])
        if rc == 0:
            packages = parse_dpkg(out)
    module.exit_json(changed=False, ansible_facts={
        "packages": packages, "getent_passwd": passwd_table(), "getent_group": group_table(),
        "mounts": read_mounts()})


if __name__ == "__main__":
    main()

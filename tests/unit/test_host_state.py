"""The host_state module (datalake.airflow.host_state): the shapes it returns
are those of package_facts and getent, which the rules and roles read."""

import grp
import os
import pwd
import subprocess

import pytest

from ansible_collections.datalake.airflow.plugins.modules import host_state

DPKG_OUTPUT = (
    "ii \tiptables\t1.8.9-2\tamd64\n"
    "hi \tdocker-ce\t5:28.2.2-1~debian.12~bookworm\tamd64\n"
    "rc \tremoved-pkg\t1.0\tamd64\n"
    "un \tnever-installed\t\t\n"
    "ii \tlibc6\t2.36-9\tamd64\n"
    "ii \tlibc6\t2.36-9\ti386\n"
    "garbage line\n")


def test_only_installed_packages_are_listed_in_package_facts_shape():
    packages = host_state.parse_dpkg(DPKG_OUTPUT)
    assert sorted(packages) == ["docker-ce", "iptables", "libc6"]
    assert packages["iptables"] == [{"name": "iptables", "version": "1.8.9-2", "arch": "amd64", "source": "apt"}]
    assert packages["docker-ce"][0]["version"] == "5:28.2.2-1~debian.12~bookworm"
    assert [p["arch"] for p in packages["libc6"]] == ["amd64", "i386"]


def test_nothing_parsed_from_empty_output():
    assert host_state.parse_dpkg("") == {}


@pytest.mark.skipif(not os.path.exists("/usr/bin/dpkg-query"), reason="needs a Debian controller")
def test_the_format_parses_this_machines_real_dpkg_database():
    out = subprocess.run(["dpkg-query", "-W", "-f", host_state.DPKG_FORMAT], capture_output=True, text=True,
                         check=True).stdout
    packages = host_state.parse_dpkg(out)
    assert "dpkg" in packages and packages["dpkg"][0]["version"]


def test_users_and_groups_match_getents_shape():
    me = pwd.getpwuid(os.getuid())
    users = host_state.passwd_table()
    assert users[me.pw_name][1] == str(me.pw_uid) and users[me.pw_name][4] == me.pw_dir
    group = grp.getgrgid(os.getgid())
    groups = host_state.group_table()
    assert groups[group.gr_name][1] == str(group.gr_gid)
    assert groups[group.gr_name][2] == ",".join(group.gr_mem)


MOUNTS = ("overlay / overlay rw,relatime,lowerdir=/a:/b 0 0\n"
          "tmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0\n"
          "/dev/sdb1 /srv/air\\040flow ext4 rw,relatime 0 0\n"
          "short line\n")


def test_mounts_in_the_setup_modules_shape_with_escapes_undone():
    mounts = host_state.parse_mounts(MOUNTS)
    assert mounts == [{"mount": "/", "fstype": "overlay", "device": "overlay"},
                      {"mount": "/run", "fstype": "tmpfs", "device": "tmpfs"},
                      {"mount": "/srv/air flow", "fstype": "ext4", "device": "/dev/sdb1"}]


def test_this_machines_mounts_hold_the_root_file_system():
    mounts = host_state.read_mounts()
    assert any(m["mount"] == "/" for m in mounts), mounts
    assert all(m["fstype"] for m in mounts)
    assert host_state.read_mounts("/nonexistent/mounts") == []

"""Helpers shared by every scenario's testinfra tests."""

import os
import subprocess

import pytest


def _run_converge(*extra_vars, check=False, limit=None):
    """Run the current scenario's converge.yml against its instances with
    extra vars (each a `-e` argument); return (rc, combined output)."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
           os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")]
    if check:
        cmd.append("--check")
    if limit:
        cmd += ["--limit", limit]
    for var in extra_vars:
        cmd += ["-e", var]
    # plain text, whatever molecule set: the tests read the recap
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def run_converge():
    return _run_converge



def recap(output):
    """The PLAY RECAP part of an ansible-playbook output."""
    return output.rsplit("PLAY RECAP", 1)[-1]

"""The preflight's wiring: playbooks/preflight.yml on the sandbox
inventory, settings alone (no host is contacted: preflight_hosts=false), so
the action plugin's lookups (the roles' defaults under the inventory's
values and extra vars, templated per host) are what the rules see."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def preflight(*extra):
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory/sandbox", "--vault-password-file", "tests/sandbox/demo-vault-password",
           "playbooks/preflight.yml", "-e", "preflight_hosts=false",
           # the sandbox's TLS files are made by make demo, not here
           "-e", "airflow_stack_tls_enabled=false", *extra]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               SANDBOX_TAG_AIRFLOW_BASE="airflow-sandbox/airflow-base:t", SANDBOX_TAG_POSTGRES="airflow-sandbox/postgres:t",
               SANDBOX_TAG_REDIS="airflow-sandbox/redis:t")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_sandbox_inventory_passes():
    rc, out = preflight()
    assert rc == 0, out[-3000:]


def test_a_bad_setting_stops_the_run_naming_it():
    rc, out = preflight("-e", "airflow_cluster_base_dir=/", "-e", "airflow_stack_worker_concurrency=0")
    assert rc != 0
    assert "On sandbox-master: airflow_cluster_base_dir is '/': it is a system directory" in out, out[-3000:]
    # a per-host setting: every worker named
    for worker in ("sandbox-worker-1", "sandbox-worker-2"):
        assert f"On {worker}: airflow_stack_worker_concurrency is '0'" in out, out[-3000:]
    assert "Nothing was changed." in out

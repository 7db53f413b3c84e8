"""The table of settings that earlier releases read under another name
(__airflow_cluster_moved_settings in roles/airflow_cluster/vars/main.yml),
which the preflight's rule no_moved_settings refuses with the new name:

(a) every new name it gives is a setting some role defines today (a typo
    there would send the operator to a name nothing reads);
(b) no old name is still a setting of a role (the preflight would refuse the
    default itself);
(c) every setting that left airflow_stack's defaults for another role in
    this release is in it (the firewall's, the ports, the address);
and the list of settings that must agree on every host
(__airflow_cluster_same_on_every_host) names only real settings.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MOVED = yaml.safe_load((ROOT / "roles" / "airflow_cluster" / "vars" / "main.yml").read_text())[
    "__airflow_cluster_moved_settings"]
SETTINGS = {name for path in ROOT.glob("roles/*/defaults/main.yml")
            for name in (yaml.safe_load(path.read_text()) or {})}


def test_every_new_name_is_a_setting_of_a_role():
    wrong = {old: now for old, now in MOVED.items()
             if not str(now).startswith("no setting") and re.match(r"\S+", str(now)).group() not in SETTINGS}
    assert not wrong, f"the moved-settings table points to names no role defines: {wrong}"


def test_no_old_name_is_still_a_setting():
    assert not set(MOVED) & SETTINGS, set(MOVED) & SETTINGS


def test_the_settings_that_left_the_stack_are_listed():
    left = {"airflow_stack_advertise_address", "airflow_stack_api_port", "airflow_stack_postgres_port",
            "airflow_stack_redis_port", "airflow_stack_log_server_port", "airflow_stack_flower_port",
            "airflow_stack_flower_enabled", "airflow_stack_master_worker_enabled",
            "airflow_stack_firewall_enabled", "airflow_stack_firewall_ui_networks",
            "airflow_stack_firewall_internal_networks"}
    assert left <= set(MOVED), left - set(MOVED)


def test_every_setting_that_must_agree_on_every_host_exists():
    """A typo in __airflow_cluster_same_on_every_host would leave that
    setting unchecked without a word."""
    same = yaml.safe_load((ROOT / "roles" / "airflow_cluster" / "vars" / "main.yml").read_text())[
        "__airflow_cluster_same_on_every_host"]
    assert same and not set(same) - SETTINGS, set(same) - SETTINGS

"""The retention role reads the stack's remote logging settings with the
stack's own defaults as fallbacks (site.yml's housekeeping play does not load
airflow_stack, so its defaults are not there): the fallbacks must stay the
stack's defaults, or the bucket's logs would be pruned under another prefix
than the one they are written to."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _yaml(path):
    return yaml.safe_load((ROOT / path).read_text())


def test_the_retention_falls_back_on_the_stacks_defaults():
    stack = _yaml("roles/airflow_stack/defaults/main.yml")
    retention = _yaml("roles/airflow_retention/vars/main.yml")
    prefix = stack["airflow_stack_remote_logging_prefix"]
    assert f"airflow_stack_remote_logging_prefix | default('{prefix}')" in retention["__airflow_retention_s3_prefix"]
    enabled = stack["airflow_stack_remote_logging_enabled"].strip().removeprefix("{{").removesuffix("}}").strip()
    assert f"airflow_stack_remote_logging_enabled | default({enabled})" in retention["__airflow_retention_s3_remote_logging"]

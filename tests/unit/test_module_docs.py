"""Every module of the collection documents itself in YAML that parses (what
ansible-doc and ansible-lint read): DOCUMENTATION names the module and
describes each option with a type, EXAMPLES call it by its FQCN."""

import importlib
from pathlib import Path

import pytest
import yaml

MODULES = Path(__file__).resolve().parents[2] / "collections/ansible_collections/datalake/airflow/plugins/modules"
NAMES = sorted(p.stem for p in MODULES.glob("*.py") if p.stem != "__init__")


def options(spec):
    for name, option in (spec or {}).items():
        yield name, option
        yield from options(option.get("suboptions"))


@pytest.mark.parametrize("name", NAMES)
def test_a_modules_documentation_parses_and_describes_every_option(name):
    module = importlib.import_module(f"ansible_collections.datalake.airflow.plugins.modules.{name}")
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == name and doc["short_description"] and doc["description"]
    for option, spec in options(doc["options"]):
        assert spec.get("description") and spec.get("type"), f"option {option} lacks a description or a type"
    examples = yaml.safe_load(module.EXAMPLES)
    assert examples and all(f"datalake.airflow.{name}" in task for task in examples)
    returned = yaml.safe_load(module.RETURN)
    assert all(value.get("description") and value.get("returned") for value in returned.values())


def test_the_modules_are_found():
    assert {"host_state", "fab_users", "celery_drain"} <= set(NAMES)

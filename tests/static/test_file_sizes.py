"""Small files a newcomer can read: every task file of a role is at most 80
lines, and the Python of the roles, the collection, the tools, the unit,
static and end-to-end tiers and the bench is at most 400 lines."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASK_FILES = sorted(ROOT.glob("roles/*/tasks/*.yml"))
PYTHON = sorted(p for d in ("roles", "collections", "tools", "tests/unit", "tests/static", "tests/e2e", "molecule",
                          "bench")
                for p in (ROOT / d).rglob("*.py"))


def _lines(path):
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("path", TASK_FILES, ids=[str(p.relative_to(ROOT)) for p in TASK_FILES])
def test_a_task_file_is_at_most_80_lines(path):
    assert _lines(path) <= 80


@pytest.mark.parametrize("path", PYTHON, ids=[str(p.relative_to(ROOT)) for p in PYTHON])
def test_a_python_file_is_at_most_400_lines(path):
    assert _lines(path) <= 400


def test_the_checks_see_the_files():
    assert len(TASK_FILES) > 40 and len(PYTHON) > 10

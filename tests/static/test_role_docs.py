"""Each role's variables are described once, in meta/argument_specs.yml.

(a) every role README's generated variables section is what
    tools/gen_role_docs.py makes of the role's argument specs and defaults
    (`make docs` rewrites it);
(b) the specs are complete: every public variable of defaults/main.yml has a
    spec entry with a type and a description, every option of every entry
    point has both, every optional option of `main` has a default in
    defaults/main.yml, and a `default:` a spec repeats is the same value;
(c) the check can fail: a copy of a role whose spec or defaults changed, or
    whose README lost its markers, is reported.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
GENERATOR = ROOT / "tools" / "gen_role_docs.py"
ROLE_NAMES = sorted(p.name for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
# The types Ansible's argument spec validation knows.
TYPES = {"str", "int", "float", "bool", "list", "dict", "path", "raw", "bytes", "bits", "json", "jsonarg", "sid"}


def run_generator(*args):
    return subprocess.run([sys.executable, str(GENERATOR), *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)


def specs(role):
    return yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def defaults(role):
    path = ROLES / role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def description(option):
    desc = option.get("description") or ""
    if isinstance(desc, list):
        desc = " ".join(str(d) for d in desc)
    return " ".join(str(desc).split())


# (a) -------------------------------------------------------------------------

def test_every_role_has_specs_and_readme():
    for role in sorted(p.name for p in ROLES.iterdir() if p.is_dir()):
        assert (ROLES / role / "meta" / "argument_specs.yml").is_file(), f"{role}: no meta/argument_specs.yml"
        assert (ROLES / role / "README.md").is_file(), f"{role}: no README.md"


def test_readmes_agree_with_specs():
    result = run_generator("--check")
    assert result.returncode == 0, (
        "A role README's variables section is not what its argument specs and defaults give; "
        f"run make docs.\n{result.stdout}{result.stderr}")


# (b) -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLE_NAMES)
def test_public_defaults_have_a_spec(role):
    options = {name for entry in specs(role).values() for name in (entry.get("options") or {})}
    missing = [name for name in defaults(role) if not name.startswith("__") and name not in options]
    assert not missing, f"{role}: defaults/main.yml variables without an entry in meta/argument_specs.yml: {missing}"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_spec_options_have_type_and_description(role):
    problems = []
    for entry_point, entry in specs(role).items():
        for name, option in (entry.get("options") or {}).items():
            option = option or {}
            where = f"{entry_point}: {name}"
            if option.get("type") not in TYPES:
                problems.append(f"{where}: type {option.get('type')!r} (one of {sorted(TYPES)})")
            if option.get("type") == "list" and not option.get("elements"):
                problems.append(f"{where}: a list needs elements")
            text = description(option)
            if len(text.split()) < 3 or not text.endswith((".", ".)")):
                problems.append(f"{where}: description {text!r} is not a sentence")
    assert not problems, f"{role}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_optional_main_options_have_defaults(role):
    role_defaults = defaults(role)
    options = specs(role).get("main", {}).get("options") or {}
    missing = [name for name, option in options.items()
               if not (option or {}).get("required") and name not in role_defaults]
    assert not missing, f"{role}: optional options of main without a value in defaults/main.yml: {missing}"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_spec_defaults_repeat_defaults_main(role):
    """A spec may repeat a default (ansible-doc shows it); it must then be the very value."""
    role_defaults = defaults(role)
    differ = [f"{entry_point}: {name}: spec {option['default']!r}, defaults/main.yml {role_defaults.get(name)!r}"
              for entry_point, entry in specs(role).items()
              for name, option in (entry.get("options") or {}).items()
              if "default" in (option or {}) and option["default"] != role_defaults.get(name)]
    assert not differ, (f"{role}: drop these spec defaults or make them equal to defaults/main.yml:\n  "
                        + "\n  ".join(differ))


# (c) -------------------------------------------------------------------------

@pytest.fixture
def roles_copy(tmp_path):
    """A copy of one role in a roles directory of its own, checked clean first."""
    shutil.copytree(ROLES / "airflow_dags", tmp_path / "roles" / "airflow_dags")
    roles_dir = tmp_path / "roles"
    result = run_generator("--check", "--roles-dir", str(roles_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    return roles_dir


def replace_once(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected {old!r} once"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("edit", ["description", "default"])
def test_check_fails_when_spec_or_defaults_change(roles_copy, edit):
    role = roles_copy / "airflow_dags"
    if edit == "description":
        replace_once(role / "meta" / "argument_specs.yml", "for a quick roll back", "for a rather quick roll back")
        expected = "for a rather quick roll back"
    else:
        replace_once(role / "defaults" / "main.yml", "airflow_dags_keep_releases: 3", "airflow_dags_keep_releases: 5")
        expected = "| `airflow_dags_keep_releases` | int | `5` |"

    result = run_generator("--check", "--roles-dir", str(roles_copy))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "airflow_dags/README.md" in result.stdout
    assert expected not in (role / "README.md").read_text(), "--check wrote the README"

    # Without --check the README is rewritten, and then agrees again.
    assert run_generator("--roles-dir", str(roles_copy)).returncode == 0
    assert expected in (role / "README.md").read_text()
    assert run_generator("--check", "--roles-dir", str(roles_copy)).returncode == 0


def test_check_fails_without_markers(roles_copy):
    readme = roles_copy / "airflow_dags" / "README.md"
    readme.write_text("".join(line for line in readme.read_text().splitlines(keepends=True)
                              if not line.startswith("<!-- END GENERATED")))
    result = run_generator("--check", "--roles-dir", str(roles_copy))
    assert result.returncode != 0
    assert "END GENERATED" in result.stderr

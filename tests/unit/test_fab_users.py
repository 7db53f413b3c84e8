"""datalake.airflow.fab_users: the users' plan (the in-container script's
own code, exec'd here), the script against a stand-in for FAB (and FAB's
tables in a real sqlite DB, read the way the script reads them without
FAB), and the module's main() against a stand-in for docker."""

import contextlib
import io
import json
import sqlite3
import sys
import types

import pytest

from ansible_collections.datalake.airflow.plugins.module_utils import fab_users_script
from ansible_collections.datalake.airflow.plugins.modules import fab_users

SCRIPT = {"__name__": "fab_users_script"}
exec(compile(fab_users_script.SCRIPT, "fab_users_script", "exec"), SCRIPT)  # noqa: S102 (our own constant)
plan = SCRIPT["plan"]
ROLES = {"Admin", "Op", "User", "Viewer"}
PASSWORDS = {"admin": "admin-secret-1", "viewer": "viewer-secret-2"}
WANTED = [{"username": "admin", "role": "Admin", "email": "admin@localhost"},
          {"username": "viewer", "role": "Viewer", "email": "viewer@example.invalid"}]


def check_password(hashed, password):
    return hashed == "hash:" + password


def have(username, role, email, **more):
    return {"username": username, "roles": [role], "email": email, "first_name": username, "last_name": "",
            "active": True, "password": "hash:" + PASSWORDS.get(username, "other")} | more


IN_STEP = [have("admin", "Admin", "admin@localhost"), have("viewer", "Viewer", "viewer@example.invalid")]


def changes(existing, wanted=WANTED, passwords=PASSWORDS):
    return [s["change"] for s in plan(existing, ROLES, wanted, passwords, check_password)]


def test_users_in_step_with_the_list_need_nothing():
    assert changes(IN_STEP) == []


def test_missing_users_are_created_with_their_role():
    steps = plan([], ROLES, WANTED, PASSWORDS, check_password)
    assert [s["change"] for s in steps] == ["admin: created (Admin)", "viewer: created (Viewer)"]
    assert steps[1]["user"] == {"username": "viewer", "role": "Viewer", "email": "viewer@example.invalid",
                                "first_name": "viewer", "last_name": "", "password": "viewer-secret-2"}


@pytest.mark.parametrize("field, value, what", [
    ("roles", ["Op"], "role"), ("roles", ["Viewer", "Op"], "role"), ("email", "old@example.invalid", "email"),
    ("first_name", "Vera", "first name"), ("last_name", "Smith", "last name"), ("active", False, "activated"),
    ("password", "hash:old", "password"), ("password", None, "password")])
def test_each_difference_of_an_existing_user_is_named(field, value, what):
    existing = [IN_STEP[0], IN_STEP[1] | {field: value}]
    assert changes(existing) == [f"viewer: {what}"]
    step = plan(existing, ROLES, WANTED, PASSWORDS, check_password)[0]
    assert step["op"] == "update" and step["password"] == (what == "password")


def test_several_differences_in_one_change_password_last():
    existing = [IN_STEP[0], IN_STEP[1] | {"email": "x@example.invalid", "password": "hash:old", "roles": ["Op"]}]
    assert changes(existing) == ["viewer: role, email, password"]


def test_names_given_in_the_list_replace_the_defaults():
    wanted = [WANTED[0], WANTED[1] | {"first_name": "Vera", "last_name": "Smith"}]
    assert changes(IN_STEP, wanted) == ["viewer: first name, last name"]


def test_users_not_listed_are_deactivated_once_and_never_deleted():
    existing = IN_STEP + [have("auditor", "Op", "a@example.invalid"),
                          have("gone", "Op", "g@example.invalid", active=False)]
    steps = plan(existing, ROLES, WANTED, PASSWORDS, check_password)
    assert [(s["op"], s["change"]) for s in steps] == [("deactivate", "auditor: deactivated (not in the inventory)")]


def test_usernames_match_without_regard_to_case():
    existing = [IN_STEP[0], IN_STEP[1] | {"username": "Viewer"}]
    assert changes(existing) == []
    existing[1]["email"] = "old@example.invalid"
    step = plan(existing, ROLES, WANTED, PASSWORDS, check_password)[0]
    assert step["username"] == "Viewer" and step["change"] == "viewer: email"


@pytest.mark.parametrize("wanted, passwords, message", [
    ([WANTED[0] | {"role": "Auditor"}], PASSWORDS, "role Auditor of user admin does not exist"),
    (WANTED, {"admin": "admin-secret-1"}, "no password for user viewer")])
def test_a_missing_role_or_password_stops_before_any_step(wanted, passwords, message):
    with pytest.raises(ValueError, match=message):
        plan([], ROLES, wanted, passwords, check_password)


class Role:
    def __init__(self, name):
        self.name = name


class User:
    def __init__(self, uid, username, role, email, password, active=True):
        self.id, self.username, self.roles, self.email = uid, username, [Role(role)], email
        self.first_name, self.last_name, self.active, self.password = username, "", active, "hash:" + password


class SecurityManager:
    """FAB's security manager as far as the script uses it; `calls` records
    every change asked of it."""

    def __init__(self, users, fail=()):
        self.users, self.fail, self.calls, self.started = users, fail, [], 0

    def find_role(self, name):
        return Role(name) if name in ROLES else None

    def get_all_users(self):
        return list(self.users)

    def add_user(self, username, first_name, last_name, email, role, password):
        self.calls.append(("add_user", username, role.name))
        if "add_user" in self.fail:
            return False
        self.users.append(User(len(self.users) + 1, username, role.name, email, password))
        return self.users[-1]

    def update_user(self, user):
        self.calls.append(("update_user", user.username, [r.name for r in user.roles], user.active))
        return "update_user" not in self.fail

    def reset_password(self, uid, password):
        self.calls.append(("reset_password", uid))
        next(u for u in self.users if u.id == uid).password = "hash:" + password
        return True


@pytest.fixture
def fab(monkeypatch):
    """Airflow's FAB and werkzeug as the script imports them, around a
    SecurityManager of an admin with an old password and a user to deactivate."""
    sm = SecurityManager([User(1, "admin", "Admin", "admin@localhost", "old"),
                          User(2, "auditor", "Op", "a@example.invalid", "x")])

    @contextlib.contextmanager
    def get_application_builder():
        sm.started += 1
        yield types.SimpleNamespace(sm=sm)

    for name in ("airflow", "airflow.providers", "airflow.providers.fab", "airflow.providers.fab.auth_manager",
                 "airflow.providers.fab.auth_manager.cli_commands", "werkzeug"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    utils = types.ModuleType("utils")
    utils.get_application_builder = get_application_builder
    monkeypatch.setitem(sys.modules, "airflow.providers.fab.auth_manager.cli_commands.utils", utils)
    security = types.ModuleType("security")
    security.check_password_hash = check_password
    monkeypatch.setitem(sys.modules, "werkzeug.security", security)
    return sm


def run_script(stdin, monkeypatch, capsys):
    """The script as `python -c` runs it: stdin in, its output out."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    exec(compile(fab_users_script.SCRIPT, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
    return capsys.readouterr().out


EXPECTED = ["admin: password", "viewer: created (Viewer)", "auditor: deactivated (not in the inventory)"]


def test_the_script_makes_fabs_users_match_and_says_what_it_changed(fab, monkeypatch, capsys):
    out = run_script(fab_users.payload(WANTED, PASSWORDS, False), monkeypatch, capsys)
    assert json.loads(out.splitlines()[-1]) == {"changes": EXPECTED}
    assert fab.calls == [("reset_password", 1), ("add_user", "viewer", "Viewer"),
                         ("update_user", "auditor", ["Op"], False)]
    assert [u.password for u in fab.users] == ["hash:admin-secret-1", "hash:x", "hash:viewer-secret-2"]
    assert not any(p in out for p in PASSWORDS.values())


def test_the_script_in_check_mode_reports_the_same_and_changes_nothing(fab, monkeypatch, capsys):
    out = run_script(fab_users.payload(WANTED, PASSWORDS, True), monkeypatch, capsys)
    assert json.loads(out) == {"changes": EXPECTED} and fab.calls == []


def test_the_script_stops_with_a_message_when_fab_refuses(fab, monkeypatch, capsys):
    fab.fail = ("add_user",)
    with pytest.raises(SystemExit, match="could not create user viewer"):
        run_script(fab_users.payload(WANTED, PASSWORDS, False), monkeypatch, capsys)
    with pytest.raises(SystemExit, match="^role Auditor of user admin does not exist$"):
        run_script(fab_users.payload([WANTED[0] | {"role": "Auditor"}], PASSWORDS, False), monkeypatch, capsys)


def fab_tables(users):
    """FAB's three tables, as its models define them, in a real (sqlite) DB holding these users."""
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE ab_role (id INTEGER PRIMARY KEY, name VARCHAR(64) UNIQUE NOT NULL);"
        "CREATE TABLE ab_user (id INTEGER PRIMARY KEY, first_name VARCHAR(256), last_name VARCHAR(256),"
        " username VARCHAR(512) UNIQUE NOT NULL, password VARCHAR(256), active BOOLEAN, email VARCHAR(512));"
        "CREATE TABLE ab_user_role (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES ab_user (id),"
        " role_id INTEGER REFERENCES ab_role (id));")
    roles = sorted(ROLES)
    db.executemany("INSERT INTO ab_role (id, name) VALUES (?, ?)", enumerate(roles, 1))
    for u in users:
        db.execute("INSERT INTO ab_user (id, username, email, first_name, last_name, active, password) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?)", (u.id, u.username, u.email, u.first_name, u.last_name, u.active, u.password))
        db.executemany("INSERT INTO ab_user_role (user_id, role_id) VALUES (?, ?)",
                       [(u.id, roles.index(r.name) + 1) for r in u.roles])
    return db


def test_fabs_tables_read_without_fab_give_what_fab_gives(fab):
    db = fab_tables(fab.users)
    users, roles = SCRIPT["read_tables"](lambda sql: db.execute(sql).fetchall())
    assert roles == ROLES and users == [SCRIPT["snapshot"](u) for u in fab.users]


@pytest.fixture
def tables(fab, monkeypatch):
    """FAB's tables (sqlite) behind SQLAlchemy's create_engine() and text() as
    the script calls them, the DB URL in the container's environment."""
    db = fab_tables(fab.users)

    def create_engine(url):
        if url != "sqlite://":
            raise ValueError(f"no driver for {url}")
        return types.SimpleNamespace(dispose=lambda: None, connect=lambda: contextlib.nullcontext(db))

    monkeypatch.setitem(sys.modules, "sqlalchemy", types.SimpleNamespace(create_engine=create_engine, text=str))
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite://")
    return db


def test_a_run_that_changes_nothing_or_only_checks_never_starts_fab(fab, tables, monkeypatch, capsys):
    in_step = [WANTED[0], {"username": "auditor", "role": "Op", "email": "a@example.invalid"}]
    out = run_script(fab_users.payload(in_step, {"admin": "old", "auditor": "x"}, False), monkeypatch, capsys)
    assert json.loads(out) == {"changes": []} and fab.started == 0
    out = run_script(fab_users.payload(WANTED, PASSWORDS, True), monkeypatch, capsys)
    assert json.loads(out) == {"changes": EXPECTED} and fab.started == 0 and fab.calls == []
    with pytest.raises(SystemExit, match="^role Auditor of user admin does not exist$"):
        run_script(fab_users.payload([WANTED[0] | {"role": "Auditor"}], PASSWORDS, False), monkeypatch, capsys)
    assert fab.started == 0


def test_fab_takes_the_steps_and_reads_the_tables_it_cannot_be_bypassed_for(fab, tables, monkeypatch, capsys):
    out = run_script(fab_users.payload(WANTED, PASSWORDS, False), monkeypatch, capsys)
    assert json.loads(out) == {"changes": EXPECTED} and fab.started == 1 and len(fab.calls) == 3
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://a:b@master/airflow")
    out = run_script(fab_users.payload(WANTED[:1], {"admin": "admin-secret-1"}, True), monkeypatch, capsys)
    assert json.loads(out) == {"changes": ["viewer: deactivated (not in the inventory)"]} and fab.started == 2


def test_the_payload_drops_unset_names_and_sends_only_the_listed_users_passwords():
    users = [WANTED[0] | {"first_name": None, "last_name": None}, WANTED[1] | {"last_name": "Smith"}]
    sent = json.loads(fab_users.payload(users, PASSWORDS | {"stranger": "s"}, True))
    assert sent == {"users": [WANTED[0], WANTED[1] | {"last_name": "Smith"}], "passwords": PASSWORDS, "check": True}


@pytest.mark.parametrize("passwords", [{"admin": "a"}, {"admin": "a", "viewer": ""}, {"admin": "a", "viewer": None}])
def test_the_payload_refuses_a_user_without_a_password(passwords):
    with pytest.raises(ValueError, match=r"^no password for user\(s\) viewer in passwords$"):
        fab_users.payload(WANTED, passwords, False)


@pytest.mark.parametrize("rc, out, err, result", [
    (0, 'warning: something\n{"changes": ["viewer: email"]}\n', "", {"changed": True, "changes": ["viewer: email"]}),
    (0, '{"changes": []}', "noise", {"changed": False, "changes": []}),
    (1, "", "Traceback\n  File x\nSystemExit: role Auditor of user admin does not exist\n",
     {"failed": True, "rc": 1, "msg": "syncing the users in service api-server failed (rc 1): Traceback / File x / "
                                      "SystemExit: role Auditor of user admin does not exist"}),
    (1, "service \"api-server\" is not running\n", "", {"failed": True, "rc": 1, "msg":
     "syncing the users in service api-server failed (rc 1): service \"api-server\" is not running"}),
    (0, "nothing useful\n", "", {"failed": True, "rc": 0, "msg":
     "syncing the users in service api-server printed no result: nothing useful"}),
    (0, '{"changes": "viewer"}', "", {"failed": True, "rc": 0, "msg":
     "syncing the users in service api-server printed no result: {\"changes\": \"viewer\"}"}),
])
def test_the_outcome_of_the_container_call(rc, out, err, result):
    assert fab_users.outcome(rc, out, err, "api-server") == result


ARGS = {"project_dir": "/srv/airflow", "compose_file": "/srv/airflow/compose.yml", "service": "api-server",
        "users": WANTED, "passwords": PASSWORDS}
BASE = ["/usr/bin/docker", "compose", "--project-directory", "/srv/airflow", "--file", "/srv/airflow/compose.yml"]


def answer(ps="api-server\nredis\n", rc=0, out='{"changes": ["viewer: created (Viewer)"]}', err=""):
    def reply(argv, data):
        return (0, ps, "") if "ps" in argv else (rc, out, err)
    return reply


def test_main_runs_the_script_in_the_service_with_the_wanted_state_on_stdin(run_module):
    result, docker = run_module(fab_users, ARGS, answer())
    assert result["changed"] is True and result["changes"] == ["viewer: created (Viewer)"]
    [(argv, data)] = docker.calls
    assert argv == BASE + ["exec", "-T", "-e", "AIRFLOW__FAB__UPDATE_FAB_PERMS=False", "api-server", "python", "-c",
                           fab_users_script.SCRIPT]
    assert json.loads(data) == {"users": WANTED, "passwords": PASSWORDS, "check": False}
    assert not any(p in json.dumps(result) for p in PASSWORDS.values())


def test_main_reports_unchanged_when_the_script_changed_nothing(run_module):
    result, _ = run_module(fab_users, ARGS, answer(out='{"changes": []}'))
    assert result["changed"] is False and result["changes"] == []


def test_main_in_check_mode_asks_the_script_only_against_a_running_service(run_module):
    result, docker = run_module(fab_users, ARGS | {"env": {"AIRFLOW__FAB__UPDATE_FAB_PERMS": True, "X": 1}},
                                answer(), check=True)
    assert result["changed"] is True and "skipped" not in result
    (ps, _), (argv, data) = docker.calls
    assert ps == BASE + ["ps", "--status", "running", "--services"]
    assert argv[6:12] == ["exec", "-T", "-e", "AIRFLOW__FAB__UPDATE_FAB_PERMS=True", "-e", "X=1"]
    assert json.loads(data)["check"] is True


@pytest.mark.parametrize("docker, ps", [("/usr/bin/docker", "redis\npostgres\n"), ("/usr/bin/docker", ""),
                                        (None, "api-server\n")])
def test_main_in_check_mode_skips_without_a_running_service(run_module, docker, ps):
    result, calls = run_module(fab_users, ARGS, answer(ps=ps), docker=docker, check=True)
    assert result["changed"] is False and result["skipped"] is True and result["changes"] == []
    assert "check mode" in result["msg"] and not [argv for argv, _ in calls.calls if "exec" in argv]


def test_main_fails_with_the_end_of_the_error_and_never_a_password(run_module):
    err = "Traceback (most recent call last):\n" + "x\n" * 10 + f"SystemExit: bad {PASSWORDS['viewer']}\n"
    result, _ = run_module(fab_users, ARGS, answer(rc=1, out="", err=err))
    assert result["failed"] is True and result["rc"] == 1 and "changes" not in result
    assert result["msg"].startswith("syncing the users in service api-server failed (rc 1): x / x / x / x / SystemExit")
    assert PASSWORDS["viewer"] not in json.dumps(result)


@pytest.mark.parametrize("args, message", [
    (ARGS | {"passwords": {"admin": PASSWORDS["admin"]}}, "no password for user(s) viewer"),
    (ARGS | {"users": [{"username": "x", "role": "Viewer"}]}, "missing required arguments: email"),
    (ARGS | {"env": {"A=B": "c"}}, "environment variable name 'A=B' is not valid")])
def test_main_refuses_bad_arguments_before_any_docker_call(run_module, args, message):
    result, docker = run_module(fab_users, args, answer())
    assert result["failed"] is True and message in result["msg"] and docker.calls == []


def test_main_without_docker_fails_outside_check_mode(run_module):
    result, _ = run_module(fab_users, ARGS, answer(), docker=None)
    assert result["failed"] is True and result["msg"] == "docker is not installed on the host"

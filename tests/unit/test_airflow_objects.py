"""datalake.airflow.airflow_objects: the plan (the in-container script's own
code, exec'd here) and the script against a stand-in for Airflow's models
and session (the payload and main(): test_airflow_objects_module.py)."""

import contextlib
import io
import json
import sys
import types

import pytest

from ansible_collections.datalake.airflow.plugins.module_utils import airflow_objects_script
from ansible_collections.datalake.airflow.plugins.modules import airflow_objects

SCRIPT = {"__name__": "airflow_objects_script"}
exec(compile(airflow_objects_script.SCRIPT, "airflow_objects_script", "exec"), SCRIPT)  # noqa: S102 (our own constant)
plan, tag = SCRIPT["plan"], SCRIPT["tag"]
SECRETS = {"password": "s3-secret-key-0123", "token": "api-token-4567", "variable": "variable-secret-89ab"}
WANTED = {
    "connections": [{"conn_id": "aws_default", "conn_type": "aws", "login": "AKEXAMPLE",
                     "password": SECRETS["password"], "extra": {"region_name": "us-east-1"}},
                    {"conn_id": "api", "conn_type": "http", "description": "The partner API", "host": "api.invalid",
                     "port": 443, "extra": {"api_token": SECRETS["token"]}}],
    "variables": {"api_ping_url": "http://api.invalid/", "api_secret": SECRETS["variable"]},
    "pools": [{"name": "warehouse", "slots": 4, "include_deferred": False},
              {"name": "default_pool", "slots": 64, "include_deferred": False}],
}


def in_step():
    """Airflow's objects exactly as WANTED makes them (decrypted)."""
    return {
        "connection": {
            "aws_default": {"conn_type": "aws", "description": tag("aws_default"), "host": None, "port": None,
                            "login": "AKEXAMPLE", "schema": None, "password": SECRETS["password"],
                            "extra": {"region_name": "us-east-1"}},
            "api": {"conn_type": "http", "description": "The partner API " + tag("api"), "host": "api.invalid",
                    "port": 443, "login": None, "schema": None, "password": None,
                    "extra": {"api_token": SECRETS["token"]}}},
        "variable": {"api_ping_url": {"value": "http://api.invalid/", "description": tag("api_ping_url")},
                     "api_secret": {"value": SECRETS["variable"], "description": tag("api_secret")}},
        "pool": {"warehouse": {"slots": 4, "description": tag("warehouse"), "include_deferred": False},
                 "default_pool": {"slots": 64, "description": tag("default_pool"), "include_deferred": False}},
    }


def changes(existing, wanted=WANTED):
    return [s["change"] for s in plan(existing, wanted)]


def test_objects_in_step_with_the_lists_need_nothing():
    assert changes(in_step()) == []


def test_missing_objects_are_created_marked_with_their_own_name():
    steps = plan({}, WANTED)
    assert [s["change"] for s in steps] == [
        "connection aws_default created", "connection api created", "variable api_ping_url created",
        "variable api_secret created", "pool warehouse created", "pool default_pool created"]
    assert steps[1]["want"]["description"] == "The partner API [managed by ansible: api]"
    assert steps[0]["want"]["description"] == "[managed by ansible: aws_default]"
    assert steps[0]["want"]["password"] == SECRETS["password"] and steps[1]["want"]["password"] is None


@pytest.mark.parametrize("kind, name, field, value", [
    ("connection", "aws_default", "password", "old-password"), ("connection", "aws_default", "password", None),
    ("connection", "api", "password", "set-by-hand"), ("connection", "api", "host", "other.invalid"),
    ("connection", "api", "port", 8443), ("connection", "aws_default", "extra", {"region_name": "eu-west-1"}),
    ("connection", "aws_default", "extra", "(not a JSON object)"), ("connection", "api", "conn_type", "https"),
    ("connection", "api", "description", "The partner API"), ("variable", "api_secret", "value", "old"),
    ("variable", "api_secret", "value", None), ("pool", "warehouse", "slots", 8),
    ("pool", "default_pool", "slots", 128), ("pool", "warehouse", "include_deferred", True)])
def test_each_difference_is_named_by_field_never_by_value(kind, name, field, value):
    existing = in_step()
    existing[kind][name][field] = value
    assert changes(existing) == [f"{kind} {name} updated ({field})"]
    step = plan(existing, WANTED)[0]
    assert step["op"] == "update" and step["fields"] == [field]


def test_empty_strings_are_no_value_as_the_ui_saves_them():
    existing = in_step()
    existing["connection"]["api"].update(login="", schema="", password="")
    existing["connection"]["aws_default"]["extra"] = {"region_name": "us-east-1"}
    assert changes(existing) == []


def test_several_differences_in_one_change_in_a_fixed_order():
    existing = in_step()
    existing["connection"]["api"].update(extra={}, host="x.invalid", password="p")
    assert changes(existing) == ["connection api updated (host, password, extra)"]


def test_an_unmarked_object_of_a_listed_name_is_taken_over():
    existing = in_step()
    existing["connection"]["api"]["description"] = "made in the UI"
    existing["pool"]["warehouse"]["description"] = None
    assert changes(existing) == ["connection api updated (description)", "pool warehouse updated (description)"]


def test_only_marked_objects_not_listed_are_removed():
    existing = in_step()
    existing["connection"]["old"] = {"description": "Gone " + tag("old")}
    existing["connection"]["by_hand"] = {"description": "made in the UI"}
    existing["connection"]["no_description"] = {"description": None}
    # a copy of a managed connection made in the UI keeps the other's tag
    existing["connection"]["api_copy"] = {"description": "The partner API " + tag("api")}
    existing["variable"]["old_var"] = {"description": tag("old_var")}
    existing["variable"]["hand_var"] = {"description": ""}
    existing["pool"]["old_pool"] = {"description": tag("old_pool")}
    existing["pool"]["tagged_mid_text"] = {"description": tag("tagged_mid_text") + " then edited"}
    steps = plan(existing, WANTED)
    assert [(s["op"], s["change"]) for s in steps] == [
        ("remove", "connection old removed (no longer listed)"),
        ("remove", "variable old_var removed (no longer listed)"),
        ("remove", "pool old_pool removed (no longer listed)")]


def test_default_pool_is_never_removed_even_marked():
    existing = in_step()
    wanted = dict(WANTED, pools=WANTED["pools"][:1])
    assert changes(existing, wanted) == []


def test_empty_lists_remove_every_managed_object_but_default_pool():
    assert changes(in_step(), {"connections": [], "variables": {}, "pools": []}) == [
        "connection api removed (no longer listed)", "connection aws_default removed (no longer listed)",
        "variable api_ping_url removed (no longer listed)", "variable api_secret removed (no longer listed)",
        "pool warehouse removed (no longer listed)"]


def test_a_name_listed_twice_stops_before_any_step():
    wanted = dict(WANTED, pools=WANTED["pools"] + [{"name": "warehouse", "slots": 1}])
    with pytest.raises(ValueError, match="^pool warehouse is listed twice$"):
        plan({}, wanted)


# --- the script, against a stand-in for Airflow ---------------------------------

class Row:
    """A row of Airflow's models as the script uses them: password, extra and
    val are stored "encrypted" (prefixed) and read decrypted."""

    def __init__(self, **fields):
        self.description = None
        self._password = self._extra = self._val = None
        for name, value in fields.items():
            setattr(self, name, value)

    def _encrypted(name):  # noqa: N805 (a property factory)
        def get(self):
            stored = getattr(self, "_" + name)
            return stored[4:] if stored else stored

        def put(self, value):
            if value:
                setattr(self, "_" + name, "enc:" + value)
            elif name == "extra":
                self._extra = value
        return property(get, put)

    password, extra, val = _encrypted("password"), _encrypted("extra"), _encrypted("val")


class Connection(Row):
    conn_type = host = port = login = schema = None
    is_encrypted = False


class Variable(Row):
    pass


class Pool(Row):
    pass


class Session:
    def __init__(self, rows, fail=None):
        self.rows, self.fail, self.calls = rows, fail, []

    def scalars(self, model):
        return [r for r in self.rows if type(r) is model]

    def add(self, row):
        self.calls.append(("add", type(row).__name__, vars(row).copy()))
        self.rows.append(row)

    def delete(self, row):
        self.calls.append(("delete", type(row).__name__))
        self.rows.remove(row)

    def flush(self):
        if self.fail:
            raise self.fail


@pytest.fixture
def airflow(monkeypatch):
    """Airflow's models, session and SQLAlchemy's select as the script imports
    them, around rows: a managed connection to update, one to remove, one made
    by hand, and default_pool as Airflow creates it."""
    rows = [Connection(conn_id="aws_default", conn_type="aws", description=tag("aws_default"), login="AKEXAMPLE",
                       _password="enc:old-password", _extra='enc:{"region_name": "us-east-1"}'),
            Connection(conn_id="gone", conn_type="http", description=tag("gone")),
            Connection(conn_id="by_hand", conn_type="http", description="made in the UI", _password="enc:hand"),
            Pool(pool="default_pool", slots=128, description="Default pool", include_deferred=False)]
    session = Session(rows)

    @contextlib.contextmanager
    def create_session():
        yield session
        session.calls.append(("commit",))

    def module(name, **attrs):
        made = types.ModuleType(name)
        made.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, made)
        return made

    module("airflow", settings=module("airflow.settings", Session=object()))
    module("airflow.models")
    module("airflow.models.connection", Connection=Connection)
    module("airflow.models.variable", Variable=Variable)
    module("airflow.models.pool", Pool=Pool)
    module("airflow.utils")
    module("airflow.utils.session", create_session=create_session)
    module("sqlalchemy", select=lambda model: model)
    return session


def run_script(stdin, monkeypatch, capsys):
    """The script as `python -c` runs it: stdin in, its output out."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    exec(compile(airflow_objects_script.SCRIPT, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
    return capsys.readouterr().out


def module_payload(check=False, **changes):
    args = {"connections": [{k: v for k, v in c.items() if k != "password"} for c in WANTED["connections"]],
            "passwords": {"aws_default": SECRETS["password"]}, "secret_extras": {},
            "variables": {"api_ping_url": WANTED["variables"]["api_ping_url"]},
            "secret_variables": {"api_secret": SECRETS["variable"]}, "pools": WANTED["pools"]} | changes
    return airflow_objects.payload(check=check, **args)


EXPECTED = ["connection aws_default updated (password)", "connection api created", "connection gone removed "
            "(no longer listed)", "variable api_ping_url created", "variable api_secret created",
            "pool warehouse created", "pool default_pool updated (slots, description)"]


def test_the_script_makes_airflow_match_and_says_what_it_changed(airflow, monkeypatch, capsys):
    out = run_script(module_payload(), monkeypatch, capsys)
    assert json.loads(out.splitlines()[-1]) == {"changes": EXPECTED}
    assert not any(s in out for s in SECRETS.values())
    by_name = {getattr(r, "conn_id", None) or getattr(r, "key", None) or r.pool: r for r in airflow.rows}
    assert "gone" not in by_name and by_name["by_hand"]._password == "enc:hand"
    assert by_name["aws_default"]._password == "enc:" + SECRETS["password"]
    api = by_name["api"]
    assert (api.conn_type, api.host, api.port, api.description) == ("http", "api.invalid", 443,
                                                                    "The partner API [managed by ansible: api]")
    assert json.loads(api.extra) == {"api_token": SECRETS["token"]} and api._extra.startswith("enc:")
    assert api._password is None and by_name["api_secret"]._val == "enc:" + SECRETS["variable"]
    assert (by_name["default_pool"].slots, by_name["warehouse"].slots) == (64, 4)
    assert airflow.calls[-1] == ("commit",)


def test_a_rerun_changes_nothing(airflow, monkeypatch, capsys):
    run_script(module_payload(), monkeypatch, capsys)
    airflow.calls.clear()
    out = run_script(module_payload(), monkeypatch, capsys)
    assert json.loads(out) == {"changes": []} and airflow.calls == [("commit",)]


def test_the_script_clears_a_password_the_vault_no_longer_has(airflow, monkeypatch, capsys):
    out = run_script(module_payload(passwords={}), monkeypatch, capsys)
    assert "connection aws_default updated (password)" in json.loads(out)["changes"]
    aws = next(r for r in airflow.rows if getattr(r, "conn_id", "") == "aws_default")
    assert aws._password is None and aws.is_encrypted is False


def test_the_script_in_check_mode_reports_the_same_and_writes_nothing(airflow, monkeypatch, capsys):
    before = [vars(r).copy() for r in airflow.rows]
    out = run_script(module_payload(check=True), monkeypatch, capsys)
    assert json.loads(out) == {"changes": EXPECTED}
    assert [vars(r) for r in airflow.rows] == before and airflow.calls == [("commit",)]


def test_a_database_error_is_told_without_the_statements_values(airflow, monkeypatch, capsys):
    class IntegrityError(Exception):
        pass

    wrapped = Exception(f"(psycopg2.errors.UniqueViolation) [parameters: ('{SECRETS['password']}',)]")
    wrapped.orig = IntegrityError('duplicate key value violates unique constraint "connection_conn_id_uq"\nDETAIL: x')
    airflow.fail = wrapped
    with pytest.raises(SystemExit) as stop:
        run_script(module_payload(), monkeypatch, capsys)
    assert str(stop.value) == ("could not write connection aws_default: IntegrityError: duplicate key value violates "
                               "unique constraint \"connection_conn_id_uq\"")
    airflow.fail = ValueError(SECRETS["password"])
    with pytest.raises(SystemExit, match=r"^could not write connection \S+: ValueError$"):
        run_script(module_payload(), monkeypatch, capsys)

"""datalake.airflow.airflow_objects without Airflow: the script reads the
connection, variable and slot_pool tables (a real sqlite DB with Airflow's
columns, values encrypted with a real fernet key, as Airflow stores them),
and a run that changes nothing, or only checks, never imports Airflow."""

import contextlib
import json
import sqlite3
import sys
import types

import pytest
from cryptography.fernet import Fernet

from test_airflow_objects import SCRIPT, SECRETS, WANTED, in_step, module_payload, run_script

KEY = Fernet.generate_key().decode()
OLD_KEY = Fernet.generate_key().decode()


def encrypt(value, key=KEY):
    return Fernet(key.encode()).encrypt(value.encode()).decode()


def airflow_tables(objects=None, key=KEY):
    """Airflow's three tables holding objects ({kind: {name: fields}}, as
    in_step() gives them), secrets encrypted with key; plus a connection made
    by hand whose password no key here decrypts."""
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE connection (id INTEGER PRIMARY KEY, conn_id VARCHAR(250) UNIQUE NOT NULL,"
        " conn_type VARCHAR(500) NOT NULL, description TEXT, host VARCHAR(500), schema VARCHAR(500),"
        " login TEXT, password TEXT, port INTEGER, is_encrypted BOOLEAN, is_extra_encrypted BOOLEAN, extra TEXT);"
        "CREATE TABLE variable (id INTEGER PRIMARY KEY, key VARCHAR(250) UNIQUE, val TEXT, description TEXT,"
        " is_encrypted BOOLEAN);"
        "CREATE TABLE slot_pool (id INTEGER PRIMARY KEY, pool VARCHAR(256) UNIQUE, slots INTEGER,"
        " description TEXT, include_deferred BOOLEAN NOT NULL);")
    objects = in_step() if objects is None else objects
    for name, c in objects["connection"].items():
        extra = json.dumps(c["extra"]) if c["extra"] else None
        db.execute("INSERT INTO connection (conn_id, conn_type, description, host, schema, login, password, port,"
                   " is_encrypted, is_extra_encrypted, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (name, c["conn_type"], c["description"], c["host"], c["schema"], c["login"],
                    c["password"] and encrypt(c["password"], key), c["port"], bool(c["password"]), bool(extra),
                    extra and encrypt(extra, key)))
    db.execute("INSERT INTO connection (conn_id, conn_type, description, password, is_encrypted, is_extra_encrypted)"
               " VALUES ('by_hand', 'http', 'made in the UI', ?, 1, 0)", (encrypt("hand", Fernet.generate_key().decode()),))
    for name, v in objects["variable"].items():
        db.execute("INSERT INTO variable (key, val, description, is_encrypted) VALUES (?, ?, ?, 1)",
                   (name, encrypt(v["value"], key), v["description"]))
    for name, p in objects["pool"].items():
        db.execute("INSERT INTO slot_pool (pool, slots, description, include_deferred) VALUES (?, ?, ?, ?)",
                   (name, p["slots"], p["description"], p["include_deferred"]))
    return db


def names():
    return {kind: set(objects) for kind, objects in in_step().items()}


def test_the_tables_read_as_airflow_reads_its_objects_decrypting_only_the_listed_ones():
    db = airflow_tables()
    existing = SCRIPT["read_tables"](lambda sql: db.execute(sql).fetchall(),
                                     lambda text: Fernet(KEY.encode()).decrypt(text.encode()).decode(), names())
    assert existing == in_step() | {"connection": in_step()["connection"] | {
        "by_hand": {"description": "made in the UI"}}}


@pytest.fixture
def tables(monkeypatch):
    """Airflow's tables (sqlite) behind SQLAlchemy's create_engine() and
    text() as the script calls them, the DB URL and the fernet key (a new
    one, then the old one) in the container's environment; Airflow itself
    cannot be imported, so a fallback to it fails the test."""
    db = airflow_tables(key=OLD_KEY)

    def create_engine(url):
        assert url == "sqlite://"
        return types.SimpleNamespace(dispose=lambda: None, connect=lambda: contextlib.nullcontext(db))

    monkeypatch.setitem(sys.modules, "sqlalchemy", types.SimpleNamespace(create_engine=create_engine, text=str))
    monkeypatch.setitem(sys.modules, "airflow", None)
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite://")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", f"{KEY},{OLD_KEY}")
    return db


def test_a_rerun_reads_the_tables_and_never_imports_airflow(tables, monkeypatch, capsys):
    assert json.loads(run_script(module_payload(), monkeypatch, capsys)) == {"changes": []}


def test_a_check_reports_the_changes_and_never_imports_airflow(tables, monkeypatch, capsys):
    payload = module_payload(check=True, secret_variables={"api_secret": "new"}, pools=WANTED["pools"][1:])
    assert json.loads(run_script(payload, monkeypatch, capsys)) == {"changes": [
        "variable api_secret updated (value)", "pool warehouse removed (no longer listed)"]}
    assert tables.execute("SELECT count(*) FROM slot_pool").fetchone() == (2,)


def test_changes_are_left_to_airflow(tables, monkeypatch, capsys):
    with pytest.raises(ImportError):
        run_script(module_payload(secret_variables={"api_secret": SECRETS["variable"] + "2"}), monkeypatch, capsys)


@pytest.mark.parametrize("env", [{"AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode()},
                                 {"AIRFLOW__CORE__FERNET_KEY": ""}, {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": ""}])
def test_tables_that_cannot_be_read_without_airflow_are_left_to_it(tables, monkeypatch, capsys, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImportError):
        run_script(module_payload(check=True), monkeypatch, capsys)

"""End-to-end test of Airflow's connections, variables and pools as the
inventory and the vault list them (role airflow_connections, run by
users.yml and site.yml on the master): users.yml makes a connection with a
password and a secret extra field, a plain and a secret variable and a pool
(default_pool listed too); the REST API shows them (secrets masked) and the
api-server's metadata DB holds the secrets encrypted, decrypting to the
vault's values; a rerun changes nothing; --check with changes reports them
and writes nothing; taking objects off the lists removes them while
objects made by hand through the REST API stay (one of them carrying a
managed object's tag, as a copy made in the UI would); the sandbox's own
inventory removes every managed object again. No run prints a secret.

Expects the sandbox cluster (make e2e, after test_1d_workers.py); leaves it
as the sandbox inventory has it (no managed object; default_pool keeps its
slots, its description tagged).
"""

import hashlib
import json

import pytest

from cluster import BASE, DEMO_SECRETS, HOSTS, INVENTORY, MASTER, PLAYBOOK, recap, sh

PASSWORD = "e2e-connection-password-0123"
TOKEN = "e2e-extra-token-4567"
SECRET_VALUE = "e2e-secret-variable-89ab"
SECRETS = [PASSWORD, TOKEN, SECRET_VALUE]
CONN, URL_VAR, SECRET_VAR, POOL = "e2e_warehouse", "e2e_url", "e2e_api_secret", "e2e_pool"
BY_HAND = {"connections": ["e2e_by_hand", "e2e_warehouse_copy"], "variables": ["e2e_by_hand"],
           "pools": ["e2e_by_hand"]}


def tag(name):
    return f"[managed by ansible: {name}]"


def wanted(default_slots, **changes):
    """The extra vars of a users.yml run: the objects, their secrets in the vault's names."""
    return {
        "airflow_connections_list": [{"conn_id": CONN, "conn_type": "postgres", "host": "db.e2e.invalid", "port": 5432,
                                      "login": "etl", "schema": "dwh", "description": "The e2e warehouse",
                                      "extra": {"sslmode": "require"}}],
        "vault_airflow_connection_passwords": {CONN: PASSWORD},
        "vault_airflow_connection_extras": {CONN: {"api_token": TOKEN}},
        "airflow_connections_variables": {URL_VAR: "http://api.e2e.invalid/"},
        "vault_airflow_secret_variables": {SECRET_VAR: SECRET_VALUE},
        "airflow_connections_pools": [{"name": POOL, "slots": 3, "description": "e2e pool"},
                                      {"name": "default_pool", "slots": default_slots}],
    } | changes


def users_yml(*args, extra=None):
    """Run users.yml (extra: extra vars, None: the sandbox inventory as it is);
    return its output, checked to hold no secret."""
    given = ["-e", json.dumps(extra)] if extra is not None else []
    proc = sh(*PLAYBOOK, "-i", INVENTORY, *args, *given, "playbooks/users.yml")
    out = proc.stdout + proc.stderr
    assert not [s for s in SECRETS + DEMO_SECRETS if s in out], "a secret in the playbook's output"
    return out


def changed(out):
    return {h: s["changed"] for h, s in recap(out).items()}


ONLY_THE_MASTER = {h: int(h == MASTER) for h in HOSTS}
NOTHING = {h: 0 for h in HOSTS}

# What the api-server's metadata DB holds, read with Airflow's own models in
# its container: each secret as a SHA-256 of its decrypted value (the test
# prints no secret either), and whether Airflow stored it encrypted.
_STORED = """
import hashlib, json, logging
logging.disable(logging.WARNING)
from sqlalchemy import select
from airflow.models.connection import Connection
from airflow.models.variable import Variable
from airflow.utils.session import create_session

def digest(value):
    return hashlib.sha256(value.encode()).hexdigest() if isinstance(value, str) else value

with create_session() as session:
    connections = {c.conn_id: {"password": digest(c.password), "encrypted": [c.is_encrypted, c.is_extra_encrypted],
                               "extra": {k: digest(v) for k, v in json.loads(c.extra or "{}").items()}}
                   for c in session.scalars(select(Connection))}
    variables = {v.key: {"value": digest(v.val), "encrypted": v.is_encrypted} for v in session.scalars(select(Variable))}
print(json.dumps({"connections": connections, "variables": variables}))
"""


def stored():
    proc = sh("docker", "exec", "-i", MASTER, "docker", "compose", "--project-directory", BASE, "exec", "-T",
              "api-server", "python", "-", input=_STORED)
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def found(api, kind, name):
    """An object through the REST API, or None (404)."""
    resp = api.session.get(f"{api.ui}/api/v2/{kind}/{name}", timeout=30)
    assert resp.status_code in (200, 404), f"{kind}/{name}: {resp.status_code} {resp.text[:300]}"
    return resp.json() if resp.status_code == 200 else None


@pytest.fixture(scope="module")
def default_slots(api):
    return api("GET", "/pools/default_pool")["slots"]


@pytest.fixture(scope="module")
def made(api, default_slots):
    """users.yml with the objects, once for the module; afterwards the
    sandbox inventory's own run takes every managed object away again."""
    out = users_yml(extra=wanted(default_slots))
    yield out
    users_yml()
    for name in BY_HAND["connections"]:
        api.session.delete(f"{api.ui}/api/v2/connections/{name}", timeout=30)
    for kind in ("variables", "pools"):
        api.session.delete(f"{api.ui}/api/v2/{kind}/{BY_HAND[kind][0]}", timeout=30)


def test_users_yml_makes_the_listed_objects_on_the_master_only(made):
    assert changed(made) == ONLY_THE_MASTER, recap(made)
    for change in (f"connection {CONN} created", f"variable {URL_VAR} created", f"variable {SECRET_VAR} created",
                   f"pool {POOL} created", "pool default_pool updated (description)"):
        assert change in made, made[-3000:]


def test_the_rest_api_shows_them_with_the_secrets_masked(api, made, default_slots):
    conn = found(api, "connections", CONN)
    assert {k: conn[k] for k in ("conn_type", "host", "port", "login", "schema")} == {
        "conn_type": "postgres", "host": "db.e2e.invalid", "port": 5432, "login": "etl", "schema": "dwh"}, conn
    assert conn["description"] == f"The e2e warehouse {tag(CONN)}", conn
    assert conn["password"] == "***", "the API shows the connection's password"
    assert json.loads(conn["extra"]) == {"sslmode": "require", "api_token": "***"}, conn["extra"]
    url = found(api, "variables", URL_VAR)
    assert (url["value"], url["description"]) == ("http://api.e2e.invalid/", tag(URL_VAR)), url
    secret = found(api, "variables", SECRET_VAR)
    assert secret["value"] == "***" and secret["description"] == tag(SECRET_VAR), "the API shows the secret variable"
    pool = found(api, "pools", POOL)
    assert (pool["slots"], pool["description"], pool["include_deferred"]) == (3, f"e2e pool {tag(POOL)}", False), pool
    default = found(api, "pools", "default_pool")
    assert default["slots"] == default_slots and default["description"] == tag("default_pool"), default


def test_the_secrets_are_stored_encrypted_and_decrypt_to_the_vaults(made):
    db = stored()
    conn = db["connections"][CONN]
    assert conn["password"] == digest(PASSWORD) and conn["encrypted"] == [True, True], conn
    assert conn["extra"] == {"sslmode": digest("require"), "api_token": digest(TOKEN)}, conn
    assert db["variables"][SECRET_VAR] == {"value": digest(SECRET_VALUE), "encrypted": True}


def test_a_rerun_changes_nothing(made, default_slots):
    out = users_yml(extra=wanted(default_slots))
    assert changed(out) == NOTHING, out[-3000:]


def test_check_mode_reports_the_changes_and_writes_nothing(api, made, default_slots):
    before, api_before = stored(), {n: found(api, k, n) for k, n in (("pools", POOL), ("variables", URL_VAR))}
    changes = wanted(default_slots, vault_airflow_connection_passwords={CONN: PASSWORD + "-new"},
                     airflow_connections_variables={},
                     airflow_connections_pools=[{"name": POOL, "slots": 5, "description": "e2e pool"}])
    out = users_yml("--check", extra=changes)
    assert changed(out) == ONLY_THE_MASTER, recap(out)
    for change in (f"connection {CONN} updated (password)", f"variable {URL_VAR} removed (no longer listed)",
                   f"pool {POOL} updated (slots)"):
        assert change in out, out[-3000:]
    assert "pool default_pool removed" not in out, "check mode would remove default_pool"
    assert stored() == before
    assert {n: found(api, k, n) for k, n in (("pools", POOL), ("variables", URL_VAR))} == api_before


def test_taking_objects_off_the_lists_removes_them_and_leaves_those_made_by_hand(api, made, default_slots):
    api("POST", "/connections", json={"connection_id": "e2e_by_hand", "conn_type": "http", "host": "hand.invalid",
                                      "description": "made by hand"})
    # as a copy of the managed connection made in the UI: another id, its tag
    api("POST", "/connections", json={"connection_id": "e2e_warehouse_copy", "conn_type": "postgres",
                                      "description": f"The e2e warehouse {tag(CONN)}"})
    api("POST", "/variables", json={"key": "e2e_by_hand", "value": "kept", "description": "made by hand"})
    api("POST", "/pools", json={"name": "e2e_by_hand", "slots": 1, "description": "made by hand"})
    out = users_yml(extra=wanted(default_slots, airflow_connections_variables={},
                                 airflow_connections_pools=[]))
    assert changed(out) == ONLY_THE_MASTER, recap(out)
    assert f"variable {URL_VAR} removed (no longer listed)" in out and f"pool {POOL} removed" in out, out[-3000:]
    assert "default_pool removed" not in out and "e2e_by_hand" not in out and "e2e_warehouse_copy" not in out
    assert found(api, "variables", URL_VAR) is None and found(api, "pools", POOL) is None
    assert found(api, "connections", CONN) and found(api, "variables", SECRET_VAR)
    assert found(api, "pools", "default_pool")["slots"] == default_slots
    for kind, names in BY_HAND.items():
        for name in names:
            assert found(api, kind, name), f"{kind} {name}, made by hand, is gone"
    assert changed(users_yml(extra=wanted(default_slots, airflow_connections_variables={},
                                          airflow_connections_pools=[]))) == NOTHING


def test_the_sandbox_inventory_takes_every_managed_object_away(api, made):
    out = users_yml()
    assert changed(out) == ONLY_THE_MASTER, recap(out)
    for kind, name in (("connections", CONN), ("variables", SECRET_VAR)):
        assert found(api, kind, name) is None, f"{kind} {name} is still there"
    assert found(api, "pools", "default_pool") and found(api, "connections", "e2e_warehouse_copy")
    assert changed(users_yml()) == NOTHING

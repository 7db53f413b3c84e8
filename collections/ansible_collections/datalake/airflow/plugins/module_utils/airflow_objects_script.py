# -*- coding: utf-8 -*-
"""The script datalake.airflow.airflow_objects runs in the api-server
container (`python -c SCRIPT`), as a string: see module_utils/compose.py for
why.

Its input, JSON on stdin (the module's payload(): secrets merged in):
  {"connections": [{"conn_id", "conn_type", "description"?, "host"?, "port"?,
                    "login"?, "schema"?, "password"?, "extra": {...}}],
   "variables": {"<key>": "<value>"},
   "pools": [{"name", "slots", "description"?, "include_deferred"}],
   "check": false}
Its output, one JSON line: {"changes": ["connection aws_default updated
(password)", ...]}, names and field names only, never a value. An error
ends it with rc 1 and one line on stderr (never a value: a database error
is told by its type and first line, not the statement's parameters).

What it manages is marked: the description Airflow keeps for each listed
object ends with the tag "[managed by ansible: <its name>]". Only an
object that carries the tag with its own name is removed when the list no
longer names it; an object made in the UI has no tag, and a copy of a
managed one made in the UI has another name than its tag's, so neither is
ever touched. default_pool may be listed but is never removed.

plan() is the decision, Airflow left out (the unit tests exec SCRIPT and
call it); main() is the glue to Airflow's ORM (airflow.models.Connection,
Variable and Pool rows in one session, committed at the end or not at
all). A run that changes nothing (every rerun) and a check never import
Airflow (seconds of CPU): read_tables() reads the three tables with
SQLAlchemy alone and decrypts with the fernet key as Airflow does, and
Airflow's ORM only takes the steps, when there are some. Any trouble
reading them that way falls back to Airflow for all of it.
"""

SCRIPT = r'''
import json
import logging
import os
import sys

MARKER = "managed by ansible"
DEFAULT_POOL = "default_pool"
# a connection's extra that is no JSON object (made by hand)
UNREADABLE = "(not a JSON object)"
KINDS = ("connection", "variable", "pool")
# the fields each kind compares, in the order a change names them
FIELDS = {
    "connection": ("conn_type", "description", "host", "port", "login", "schema", "password", "extra"),
    "variable": ("value", "description"),
    "pool": ("slots", "description", "include_deferred"),
}


def tag(name):
    return f"[{MARKER}: {name}]"


def marked(description, name):
    """The description a managed object carries: the listed one, then the tag naming the object."""
    return f"{description} {tag(name)}" if description else tag(name)


def managed(description, name):
    """Whether Airflow's object of that name carries the tag with its own name."""
    return (description or "").rstrip().endswith(tag(name))


def wanted_objects(wanted):
    """{kind: {name: fields}}: what each listed object should be. A name
    listed twice raises ValueError."""
    result = {kind: {} for kind in KINDS}

    def add(kind, name, fields):
        if name in result[kind]:
            raise ValueError(f"{kind} {name} is listed twice")
        result[kind][name] = fields

    for c in wanted.get("connections", []):
        add("connection", c["conn_id"], {
            "conn_type": c["conn_type"], "description": marked(c.get("description"), c["conn_id"]),
            "host": c.get("host"), "port": c.get("port"), "login": c.get("login"), "schema": c.get("schema"),
            "password": c.get("password"), "extra": c.get("extra") or {}})
    for key, value in wanted.get("variables", {}).items():
        add("variable", key, {"value": value, "description": marked(None, key)})
    for p in wanted.get("pools", []):
        add("pool", p["name"], {"slots": p["slots"], "description": marked(p.get("description"), p["name"]),
                                "include_deferred": bool(p.get("include_deferred", False))})
    return result


def same(old, new):
    """Whether a field is as wanted: an empty string is no value, as the UI saves one."""
    old, new = (None if v == "" else v for v in (old, new))
    if isinstance(new, dict) or isinstance(old, dict):
        return (old or {}) == (new or {})
    return old == new


def plan(existing, wanted):
    """The steps that make Airflow's connections, variables and pools match the lists.

    existing: {kind: {name: fields}} as Airflow has them, decrypted: every
    field of FIELDS for a listed name, at least the description for the
    others. wanted: the script's input. Each step is {"kind", "op": "create"
    | "update" | "remove", "name", "change"}, with "want" (the fields) for
    create and update and "fields" (the ones that differ) for update. An
    object not listed is removed only when it carries its own tag, and
    default_pool never is.
    """
    want = wanted_objects(wanted)
    steps = []
    for kind in KINDS:
        have = existing.get(kind, {})
        for name, fields in want[kind].items():
            old = have.get(name)
            if old is None:
                steps.append({"kind": kind, "op": "create", "name": name, "want": fields,
                              "change": f"{kind} {name} created"})
                continue
            differ = [f for f in FIELDS[kind] if not same(old.get(f), fields[f])]
            if differ:
                steps.append({"kind": kind, "op": "update", "name": name, "want": fields, "fields": differ,
                              "change": f"{kind} {name} updated ({', '.join(differ)})"})
        for name in sorted(set(have) - set(want[kind])):
            if managed(have[name].get("description"), name) and not (kind == "pool" and name == DEFAULT_POOL):
                steps.append({"kind": kind, "op": "remove", "name": name,
                              "change": f"{kind} {name} removed (no longer listed)"})
    return steps


def listed(wanted):
    return {kind: set(names) for kind, names in wanted_objects(wanted).items()}


def extra_of(row):
    """A connection's extra as a dict; UNREADABLE when it is no JSON object (it then differs from any list's)."""
    try:
        text = row.extra
    except ValueError:
        return UNREADABLE
    return extra_value(text)


def extra_value(text):
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return UNREADABLE
    return value if isinstance(value, dict) else UNREADABLE


def read(kind, row, full):
    """What plan() compares, of one of Airflow's rows (decrypted when full)."""
    data = {"description": row.description}
    if not full:
        return data
    if kind == "connection":
        data.update(conn_type=row.conn_type, host=row.host, port=row.port, login=row.login, schema=row.schema,
                    password=row.password, extra=extra_of(row))
    elif kind == "variable":
        data["value"] = row.val
    else:
        data.update(slots=row.slots, include_deferred=bool(row.include_deferred))
    return data


SQL = {
    "connection": "SELECT conn_id, description, conn_type, host, port, login, schema, password, is_encrypted, "
                  "extra, is_extra_encrypted FROM connection",
    "variable": "SELECT key, description, val, is_encrypted FROM variable",
    "pool": "SELECT pool, description, slots, include_deferred FROM slot_pool",
}


def read_tables(query, decrypt, names):
    """{kind: {name: fields}} as read() gives them, from Airflow's tables:
    query(sql) gives a statement's rows as tuples, decrypt(text) the clear
    text of an encrypted column (as Airflow's getters: only a value that is
    there and marked encrypted); names: the listed ones, by kind."""
    def clear(value, encrypted):
        return decrypt(value) if value is not None and value != "" and encrypted else value

    existing = {kind: {} for kind in KINDS}
    for name, description, *rest in query(SQL["connection"]):
        data = existing["connection"][name] = {"description": description}
        if name in names["connection"]:
            conn_type, host, port, login, schema, password, encrypted, extra, extra_encrypted = rest
            data.update(conn_type=conn_type, host=host, port=port, login=login, schema=schema,
                        password=clear(password, encrypted), extra=extra_value(clear(extra, extra_encrypted)))
    for name, description, val, encrypted in query(SQL["variable"]):
        data = existing["variable"][name] = {"description": description}
        if name in names["variable"]:
            data["value"] = clear(val, encrypted)
    for name, description, slots, include_deferred in query(SQL["pool"]):
        data = existing["pool"][name] = {"description": description}
        if name in names["pool"]:
            data.update(slots=slots, include_deferred=bool(include_deferred))
    return existing


def existing_from_tables(names):
    """read_tables() on the DB of the container's environment, or None when
    it cannot be read that way (Airflow then reads it)."""
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if not url:
        return None
    try:
        from cryptography.fernet import Fernet, MultiFernet
        from sqlalchemy import create_engine, text

        keys = [k.strip() for k in os.environ.get("AIRFLOW__CORE__FERNET_KEY", "").split(",") if k.strip()]
        fernet = MultiFernet([Fernet(k.encode()) for k in keys]) if keys else None

        def decrypt(value):
            if fernet is None:
                raise ValueError("no fernet key")
            return fernet.decrypt(value.encode()).decode()

        engine = create_engine(url)
        try:
            with engine.connect() as db:
                return read_tables(lambda sql: [tuple(row) for row in db.execute(text(sql))], decrypt, names)
        finally:
            engine.dispose()
    except Exception:
        return None


def write(kind, row, fields):
    """Give one of Airflow's rows the wanted fields (Airflow encrypts the password, extra and value)."""
    row.description = fields["description"]
    if kind == "connection":
        row.conn_type, row.host, row.port = fields["conn_type"], fields["host"], fields["port"]
        row.login, row.schema = fields["login"], fields["schema"]
        if fields["password"]:
            row.password = fields["password"]
        else:
            # Airflow's setter ignores an empty password: clear the column
            row._password, row.is_encrypted = None, False
        row.extra = json.dumps(fields["extra"], sort_keys=True) if fields["extra"] else None
    elif kind == "variable":
        row.val = fields["value"]
    else:
        row.slots, row.include_deferred = fields["slots"], fields["include_deferred"]


def failed(what, error):
    """An error's account without a value: a database error's type and first line (not its statement's
    parameters); any other error's type."""
    cause = getattr(error, "orig", None)
    if cause is None:
        return f"{what}: {type(error).__name__}"
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{what}: {type(cause).__name__}: {first}"


def apply(session, models, rows, steps):
    """Take the steps in the session; models: {kind: (model, name column)}; rows: Airflow's, by kind and name."""
    for step in steps:
        kind, name = step["kind"], step["name"]
        try:
            if step["op"] == "remove":
                session.delete(rows[kind][name])
                continue
            row = rows[kind].get(name)
            if row is None:
                model, column = models[kind]
                row = model(**{column: name})
                write(kind, row, step["want"])
                session.add(row)
            else:
                write(kind, row, step["want"])
            session.flush()
        except Exception as error:
            raise SystemExit(failed(f"could not write {kind} {name}", error)) from None


def main():
    wanted = json.load(sys.stdin)
    logging.disable(logging.WARNING)
    try:
        names = listed(wanted)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    existing = existing_from_tables(names)
    if existing is not None:
        steps = plan(existing, wanted)
        if wanted.get("check") or not steps:
            print(json.dumps({"changes": [step["change"] for step in steps]}))
            return
    from airflow import settings
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if getattr(settings, "Session", None) is None:
        settings.configure_orm()
    models = {"connection": (Connection, "conn_id"), "variable": (Variable, "key"), "pool": (Pool, "pool")}
    try:
        with create_session() as session:
            rows = {kind: {getattr(r, column): r for r in session.scalars(select(model))}
                    for kind, (model, column) in models.items()}
            existing = {kind: {} for kind in KINDS}
            for kind, by_name in rows.items():
                for name, row in by_name.items():
                    try:
                        existing[kind][name] = read(kind, row, name in names[kind])
                    except Exception as error:
                        raise SystemExit(f"could not read {kind} {name} ({type(error).__name__}): is the "
                                         "fernet key the one it was written with?") from None
            steps = plan(existing, wanted)
            if not wanted.get("check"):
                apply(session, models, rows, steps)
    except SystemExit:
        raise
    except Exception as error:
        raise SystemExit(failed("the metadata DB", error)) from None
    print(json.dumps({"changes": [step["change"] for step in steps]}))


if __name__ == "__main__":
    main()
'''

# -*- coding: utf-8 -*-
"""The script datalake.airflow.fab_users runs in the api-server container
(`python -c SCRIPT`), as a string: see module_utils/compose.py for why.

Its input, JSON on stdin:
  {"users": [{"username", "role", "email", "first_name"?, "last_name"?}],
   "passwords": {"<username>": "<password>"}, "check": false}
Its output, one JSON line: {"changes": ["<user>: <what>", ...]}. Users the
list does not name are deactivated, never deleted (their audit trail stays);
a listed user gets its role, email, names and password from the list. With
"check": true it only reports what it would change. An error ends it with
rc 1 and one line on stderr (never a password).

plan() is the decision, FAB left out (the unit tests exec SCRIPT and call
it); main() is the glue to FAB's security manager. A run that changes
nothing (every rerun) and a check never start FAB's application (Flask,
Airflow's plugins: seconds of CPU): read_tables() reads FAB's users and
roles from its tables with SQLAlchemy alone, and FAB's security manager
only takes the steps, when there are some. Any trouble reading the tables
(another DB URL form, a schema FAB changed) falls back to FAB for all of it.
"""

SCRIPT = r'''
import json
import logging
import os
import sys

USERS_SQL = "SELECT id, username, email, first_name, last_name, active, password FROM ab_user"
LINKS_SQL = "SELECT ur.user_id, r.name FROM ab_user_role ur JOIN ab_role r ON r.id = ur.role_id"
ROLES_SQL = "SELECT name FROM ab_role"


def plan(existing, roles, wanted, passwords, check_password):
    """The steps that make FAB's users match the list.

    existing: FAB's users, each {"username", "roles" (names), "email",
    "first_name", "last_name", "active", "password" (the hash)}; roles: the
    names of FAB's roles; wanted: the list; passwords: by username;
    check_password(hash, password): whether the hash is the password's.
    Each step is {"op": "create" | "update" | "deactivate", "username",
    "change": "<user>: <what>"}, "user" (the wanted user, names defaulted,
    password included) for create and update, "fields" and "password" (what
    to update) for update. A role that does not exist or a missing password
    raises ValueError, before any step is taken.
    """
    by_name = {u["username"].lower(): u for u in existing}
    listed = set()
    steps = []
    for item in wanted:
        name = item["username"]
        if item["role"] not in roles:
            raise ValueError(f"role {item['role']} of user {name} does not exist")
        if name not in passwords:
            raise ValueError(f"no password for user {name}")
        user = {"first_name": name, "last_name": "", **item, "password": passwords[name]}
        listed.add(name.lower())
        have = by_name.get(name.lower())
        if have is None:
            steps.append({"op": "create", "username": name, "user": user,
                          "change": f"{name}: created ({user['role']})"})
            continue
        fields = [field for field, old, new in (
            ("role", sorted(have["roles"]), [user["role"]]),
            ("email", have["email"], user["email"]),
            ("first name", have["first_name"], user["first_name"]),
            ("last name", have["last_name"], user["last_name"]),
            ("activated", bool(have["active"]), True)) if old != new]
        password = not check_password(have["password"] or "", user["password"])
        if fields or password:
            what = fields + (["password"] if password else [])
            steps.append({"op": "update", "username": have["username"], "user": user, "fields": fields,
                          "password": password, "change": f"{name}: {', '.join(what)}"})
    for have in existing:
        if have["username"].lower() not in listed and have["active"]:
            steps.append({"op": "deactivate", "username": have["username"],
                          "change": f"{have['username']}: deactivated (not in the inventory)"})
    return steps


def snapshot(user):
    return {"username": user.username, "roles": [r.name for r in user.roles], "email": user.email,
            "first_name": user.first_name, "last_name": user.last_name, "active": bool(user.active),
            "password": user.password}


def read_tables(query):
    """(FAB's users as snapshot() gives them, the names of its roles) from its
    tables; query(sql) gives a statement's rows as tuples."""
    roles = {}
    for user_id, role in query(LINKS_SQL):
        roles.setdefault(user_id, []).append(role)
    users = [{"username": username, "roles": roles.get(uid, []), "email": email, "first_name": first,
              "last_name": last, "active": bool(active), "password": password}
             for uid, username, email, first, last, active, password in query(USERS_SQL)]
    return users, {name for (name,) in query(ROLES_SQL)}


def plan_from_tables(wanted, check_password):
    """plan() from FAB's tables read with SQLAlchemy alone, or None when they
    cannot be read that way (FAB then reads them)."""
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if not url:
        return None
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        try:
            with engine.connect() as db:
                users, roles = read_tables(lambda sql: [tuple(row) for row in db.execute(text(sql))])
        finally:
            engine.dispose()
    except Exception:
        return None
    try:
        return plan(users, {u["role"] for u in wanted["users"] if u["role"] in roles}, wanted["users"],
                    wanted["passwords"], check_password)
    except ValueError as error:
        raise SystemExit(str(error)) from None


def apply(sm, users, steps):
    """Take the steps with FAB's security manager; users: FAB's users by name."""
    for step in steps:
        wanted = step.get("user")
        if step["op"] == "create":
            if not sm.add_user(wanted["username"], wanted["first_name"], wanted["last_name"], wanted["email"],
                               sm.find_role(wanted["role"]), wanted["password"]):
                raise SystemExit(f"could not create user {wanted['username']}")
            continue
        user = users[step["username"]]
        if step["op"] == "deactivate":
            user.active = False
            if not sm.update_user(user):
                raise SystemExit(f"could not deactivate user {user.username}")
            continue
        if step["fields"]:
            user.roles, user.email, user.active = [sm.find_role(wanted["role"])], wanted["email"], True
            user.first_name, user.last_name = wanted["first_name"], wanted["last_name"]
            if not sm.update_user(user):
                raise SystemExit(f"could not update user {user.username}")
        if step["password"] and not sm.reset_password(user.id, wanted["password"]):
            raise SystemExit(f"could not set the password of user {user.username}")


def main():
    wanted = json.load(sys.stdin)
    logging.disable(logging.WARNING)
    from werkzeug.security import check_password_hash

    steps = plan_from_tables(wanted, check_password_hash)
    if steps is not None and (wanted.get("check") or not steps):
        print(json.dumps({"changes": [step["change"] for step in steps]}))
        return
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        users = {u.username: u for u in sm.get_all_users()}
        roles = {u["role"] for u in wanted["users"] if sm.find_role(u["role"]) is not None}
        try:
            steps = plan([snapshot(u) for u in users.values()], roles, wanted["users"], wanted["passwords"],
                         check_password_hash)
        except ValueError as error:
            raise SystemExit(str(error)) from None
        if not wanted.get("check"):
            apply(sm, users, steps)
    print(json.dumps({"changes": [step["change"] for step in steps]}))


if __name__ == "__main__":
    main()
'''

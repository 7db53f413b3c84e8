# Make the UI's users (Airflow's FAB auth manager) match the inventory.
# Run by the airflow_stack role in the master's api-server container:
#   python -c "$(cat sync_users.py)"   with the wanted state as JSON on stdin:
#   {"users": [{"username", "role", "email", "first_name"?, "last_name"?}],
#    "passwords": {"<username>": "<password>"}, "check": false}
# Prints one JSON line: {"changes": ["<user>: <what>", ...]}. Users the list
# does not name are deactivated, never deleted (their audit trail stays); a
# listed user gets its role, email, names and password from the list. With
# "check": true it only reports what it would change.
import json
import logging
import sys


def main():
    wanted = json.load(sys.stdin)
    check = bool(wanted.get("check"))
    logging.disable(logging.WARNING)
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder
    from werkzeug.security import check_password_hash

    changes = []
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        names = {u["username"].lower() for u in wanted["users"]}
        for u in wanted["users"]:
            u = {"first_name": u["username"], "last_name": "", **u, "password": wanted["passwords"][u["username"]]}
            role = sm.find_role(u["role"])
            if role is None:
                raise SystemExit(f"role {u['role']} of user {u['username']} does not exist")
            user = sm.find_user(username=u["username"])
            if user is None:
                changes.append(f"{u['username']}: created ({u['role']})")
                if not check:
                    sm.add_user(u["username"], u["first_name"], u["last_name"], u["email"], role, u["password"])
                continue
            what = [field for field, have, want in (
                ("role", sorted(r.name for r in user.roles), [u["role"]]),
                ("email", user.email, u["email"]),
                ("first name", user.first_name, u["first_name"]),
                ("last name", user.last_name, u["last_name"]),
                ("activated", bool(user.active), True)) if have != want]
            if what and not check:
                user.roles, user.email, user.active = [role], u["email"], True
                user.first_name, user.last_name = u["first_name"], u["last_name"]
                if not sm.update_user(user):
                    raise SystemExit(f"could not update user {u['username']}")
            if not check_password_hash(user.password or "", u["password"]):
                what.append("password")
                if not check and not sm.reset_password(user.id, u["password"]):
                    raise SystemExit(f"could not set the password of user {u['username']}")
            if what:
                changes.append(f"{u['username']}: {', '.join(what)}")
        for user in sm.get_all_users():
            if user.username.lower() not in names and user.active:
                changes.append(f"{user.username}: deactivated (not in the inventory)")
                if not check:
                    user.active = False
                    if not sm.update_user(user):
                        raise SystemExit(f"could not deactivate user {user.username}")
    print(json.dumps({"changes": changes}))


main()

# -*- coding: utf-8 -*-
"""Rules of the UI's users (role airflow_users): names, e-mails, roles and
passwords of the FAB accounts the inventory lists."""

from __future__ import annotations

import re

from .core import Cluster, is_list, rule, truthy
from .stack import DEMO, SECRET_MIN_LENGTH, secret_problem

ROLE = "airflow_users"
ROLES = ("Admin", "Op", "User", "Viewer")
USERNAME = re.compile(r"^[A-Za-z0-9._@-]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@rule(ROLE, scope="cluster")
def admin_password(cluster: Cluster):
    """The admin's password: set (from the vault), strong, no demo value
    outside the sandbox, URL-safe (the stack's secrets' rule)."""
    first = cluster.first
    allow_demo = truthy(first.get("airflow_stack_allow_demo_secrets", False))
    text = secret_problem(first.get("airflow_users_admin_password", ""), "airflow_users_admin_password", allow_demo)
    if text:
        yield first.problem("airflow_users_admin_password", text, secret=True)


@rule(ROLE, scope="cluster")
def users(cluster: Cluster):
    """Each user: a plain, unique name, a unique e-mail address, one of
    FAB's roles, and a strong password in the vault."""
    first = cluster.first
    listed = first.get("airflow_users_list", [])
    if not is_list(listed) or [u for u in listed if not isinstance(u, dict)]:
        yield first.problem("airflow_users_list", "it must be a list of {username, role, email} mappings.")
        return
    admin = str(first.get("airflow_users_admin_user"))
    passwords = first.get("airflow_users_passwords", {}) or {}
    allow_demo = truthy(first.get("airflow_stack_allow_demo_secrets", False))
    if not USERNAME.match(admin):
        yield first.problem("airflow_users_admin_user", "a username may only hold letters, digits and . _ @ -.")
    names = [admin.lower()] + [str(u.get("username", "")).lower() for u in listed]
    emails = [str(first.get("airflow_users_admin_email")).lower()] + [str(u.get("email", "")).lower() for u in listed]
    for i, user in enumerate(listed):
        name, email, role = str(user.get("username", "")), str(user.get("email", "")), user.get("role")
        setting = f"airflow_users_list[{i}]"
        if not USERNAME.match(name):
            yield first.problem(setting + ".username", "a username may only hold letters, digits and . _ @ -.",
                                value=name)
        elif name.lower() in names[:i + 1]:
            yield first.problem(setting + ".username", (
                "it is listed twice (or is the admin account, airflow_users_admin_user): give each user one entry."),
                value=name)
        elif not EMAIL.match(email):
            yield first.problem(setting + ".email", f"the e-mail of '{name}' is not an address.", value=email)
        elif email.lower() in emails[:i + 1]:
            yield first.problem(setting + ".email", (
                f"the e-mail of '{name}' is given to more than one user (FAB needs one per user)."), value=email)
        elif role not in ROLES:
            yield first.problem(setting + ".role", f"the role of '{name}' must be one of {', '.join(ROLES)}.",
                                value=role)
        else:
            password = str(passwords.get(name, "") or "")
            where = f"airflow_users_passwords.{name}"
            if not password:
                yield first.problem(where, (
                    f"'{name}' has no password: add it to vault_airflow_user_passwords in the inventory's vault "
                    "(README, Secrets)."), secret=True)
            elif len(password) < SECRET_MIN_LENGTH:
                yield first.problem(where, (
                    f"the password of '{name}' is too weak ({len(password)} characters, at least "
                    f"{SECRET_MIN_LENGTH} needed): generate it with `openssl rand -hex 16`."), secret=True)
            elif not allow_demo and DEMO.search(password):
                yield first.problem(where, (
                    f"the password of '{name}' is a demo or placeholder value: this inventory needs real secrets."),
                    secret=True)

# -*- coding: utf-8 -*-
"""The options every module that runs a script in a compose service shares
(datalake.airflow.fab_users, datalake.airflow.airflow_objects,
datalake.airflow.celery_drain)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  project_dir:
    description: The compose project's directory (C(docker compose --project-directory)).
    type: path
    required: true
  compose_file:
    description: The compose file (C(docker compose --file)); compose's default in I(project_dir) if not set.
    type: path
"""

# -*- coding: utf-8 -*-
"""Rules of the firewall's settings (role airflow_firewall)."""

from __future__ import annotations

import ipaddress

from .core import Cluster, is_list, rule, truthy

ROLE = "airflow_firewall"
KEYWORDS = ("controller", "controller-network")


def _network(value):
    try:
        return ipaddress.IPv4Network(str(value).strip(), strict=False)
    except ValueError:
        return None


@rule(ROLE, scope="cluster")
def networks(cluster: Cluster):
    """The networks the UI and the stack's ports admit: IPv4 addresses or
    CIDRs (the UI's list may also say controller or controller-network)."""
    first = cluster.first
    for setting, keywords in (("airflow_firewall_ui_networks", KEYWORDS), ("airflow_firewall_internal_networks", ())):
        value = first.get(setting, [])
        if not is_list(value):
            yield first.problem(setting, "it must be a list of IPv4 addresses or CIDRs, e.g. [192.0.2.0/24].")
            continue
        bad = [v for v in value if str(v) not in keywords and (_network(v) is None or ":" in str(v))]
        if bad:
            also = " (or controller, controller-network)" if keywords else ""
            yield first.problem(setting, (
                f"{', '.join(map(str, bad))}: not an IPv4 address or CIDR (e.g. 192.0.2.0/24){also}."))


@rule(ROLE, phase="hosts", scope="cluster")
def controller_address(cluster: Cluster):
    """When the UI's networks name the controller, the controller's address
    towards the master is known."""
    first = cluster.first
    wanted = [n for n in first.get("airflow_firewall_ui_networks", []) or []
              if str(n) in ("controller", "controller-network")]
    if truthy(first.get("airflow_firewall_enabled", False)) and wanted and cluster.masters \
            and not cluster.controller.get("controller_address"):
        yield first.problem("airflow_firewall_ui_networks", (
            f"it names the controller, but the controller has no route to the master {cluster.masters[0]} to tell "
            "its address from: list the networks the UI is used from instead (e.g. [\"192.0.2.0/24\"])."))

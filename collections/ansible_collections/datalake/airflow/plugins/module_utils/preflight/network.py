# -*- coding: utf-8 -*-
"""Rules of the addresses (role airflow_cluster, "hosts" phase): the address
each host advertises to the others, checked against its facts."""

from __future__ import annotations

import ipaddress

from .core import Cluster, Host, rule

ROLE = "airflow_cluster"
# Interfaces of Docker's own networks: an address there is the host's only
# from its own containers' point of view.
BRIDGE_PREFIXES = ("docker", "br-", "veth", "cni", "flannel", "virbr")


def _host_addresses(host: Host) -> dict:
    """Every IPv4 address of the host, by interface."""
    found = {}
    for name in host.facts.get("interfaces", []) or []:
        info = host.facts.get(str(name).replace("-", "_").replace(".", "_").replace(":", "_")) or {}
        for entry in [info.get("ipv4")] + list(info.get("ipv4_secondaries", []) or []):
            if isinstance(entry, dict) and entry.get("address"):
                found[entry["address"]] = info.get("device", name)
    return found


@rule(ROLE, phase="hosts")
def advertise_address(host: Host, cluster: Cluster):
    """The address other hosts reach this host at: an IPv4 address of the
    host, not loopback, link-local or a Docker bridge's."""
    setting = "airflow_cluster_advertise_address"
    value = str(host.get(setting) or "").strip()
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        yield host.problem(setting, (
            "it is not an IP address: set it to the IPv4 address the other hosts reach this host at."))
        return
    if address.version == 6:
        yield host.problem(setting, (
            "it is an IPv6 address; the stack publishes and filters its ports on IPv4: give this host's IPv4 "
            "address."))
        return
    if address.is_loopback or address.is_unspecified or address.is_link_local or address.is_multicast:
        yield host.problem(setting, (
            "it is a loopback, link-local or unspecified address, which other hosts cannot reach: give the "
            "address of this host on the cluster's network."))
        return
    addresses = _host_addresses(host)
    if not addresses:
        listed = host.facts.get("all_ipv4_addresses") or []
        addresses = {a: "" for a in listed}
    if addresses and value not in addresses:
        yield host.problem(setting, (
            f"it is not an address of {host.name} (it has {', '.join(sorted(addresses))}): set it to the address "
            "the other hosts reach this host at."))
    elif str(addresses.get(value, "")).startswith(BRIDGE_PREFIXES):
        yield host.problem(setting, (
            f"it is the address of {addresses[value]}, a Docker network of this host, which other hosts cannot "
            "reach: give the address of this host on the cluster's network."))


@rule(ROLE, phase="hosts", scope="cluster")
def addresses_unique(cluster: Cluster):
    """No two hosts of the run advertise one address."""
    seen: dict = {}
    for host in cluster.hosts.values():
        value = str(host.get("airflow_cluster_advertise_address") or "")
        if value in seen:
            yield host.problem("airflow_cluster_advertise_address", (
                f"{seen[value]} has the same address: each host needs its own; is one host listed twice in the "
                "inventory (check ansible_host)?"))
        seen.setdefault(value, host.name)

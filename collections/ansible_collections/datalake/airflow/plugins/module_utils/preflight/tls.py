# -*- coding: utf-8 -*-
"""Rules of the TLS files (role airflow_stack): the certificate, its key and
the CA, read on the controller (the key may be ansible-vault encrypted: the
action plugin's reader decrypts it)."""

from __future__ import annotations

import datetime
import ipaddress
import os
from urllib.parse import urlsplit

from .core import Cluster, rule, truthy

ROLE = "airflow_stack"
FILES = ("airflow_stack_tls_cert_file", "airflow_stack_tls_key_file", "airflow_stack_tls_ca_file")


def _enabled(cluster: Cluster) -> bool:
    return truthy(cluster.first.get("airflow_stack_tls_enabled", False))


@rule(ROLE, scope="cluster")
def tls_files(cluster: Cluster):
    """With TLS on, the certificate, its key and the CA are files on the
    controller."""
    if not _enabled(cluster):
        return
    first = cluster.first
    exists = cluster.controller.get("isfile", os.path.isfile)
    for setting in FILES:
        path = first.get(setting, "")
        if not path or not exists(str(path)):
            yield first.problem(setting, (
                "the api-server serves HTTPS (airflow_stack_tls_enabled), but it is not a file on the controller: "
                "give the paths of the certificate, its key (ansible-vault encrypted) and the CA that issued it "
                "(README, TLS)."))


def _load(cluster: Cluster):
    """The certificate, the CA and the key, or None when a file is missing
    (tls_files says so) or unreadable (then the problem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    first = cluster.first
    read = cluster.controller.get("read", lambda path: open(path, "rb").read())
    loaded = {}
    for setting in FILES:
        try:
            data = read(str(first[setting]))
        except (OSError, KeyError):
            return None, None
        try:
            if setting == "airflow_stack_tls_key_file":
                loaded[setting] = serialization.load_pem_private_key(data, password=None)
            else:
                loaded[setting] = x509.load_pem_x509_certificate(data)
        except (ValueError, TypeError):
            what = "an unencrypted PEM private key" if setting.endswith("key_file") else "a PEM certificate"
            return None, first.problem(setting, f"it is not {what} (ansible-vault encryption is fine).")
    return loaded, None


def _ext(cert, oid_name):
    from cryptography import x509
    try:
        return cert.extensions.get_extension_for_oid(getattr(x509.oid.ExtensionOID, oid_name)).value
    except x509.ExtensionNotFound:
        return None


def _public(key):
    from cryptography.hazmat.primitives import serialization
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@rule(ROLE, phase="hosts", scope="cluster")
def tls_certificate(cluster: Cluster):
    """The key is the certificate's; the CA issued it with the extensions
    Python 3.13's strict verification needs; it is valid for a week more and
    names the master's address and the UI's host."""
    if not _enabled(cluster):
        return
    loaded, problem = _load(cluster)
    if problem:
        yield problem
    if not loaded:
        return
    first = cluster.first
    cert, ca = loaded["airflow_stack_tls_cert_file"], loaded["airflow_stack_tls_ca_file"]
    key = loaded["airflow_stack_tls_key_file"]
    if _public(key.public_key()) != _public(cert.public_key()):
        yield first.problem("airflow_stack_tls_key_file", "it is not the key of airflow_stack_tls_cert_file.")
    aki, ski = _ext(cert, "AUTHORITY_KEY_IDENTIFIER"), _ext(ca, "SUBJECT_KEY_IDENTIFIER")
    if cert.issuer != ca.subject or (aki and ski and aki.key_identifier != ski.digest):
        yield first.problem("airflow_stack_tls_cert_file", (
            f"it was not issued by airflow_stack_tls_ca_file ({cert.issuer.rfc4514_string()}): give the CA that "
            "issued it."))
    usage = _ext(ca, "KEY_USAGE")
    if usage is None or not usage.key_cert_sign:
        yield first.problem("airflow_stack_tls_ca_file", (
            "it has no keyUsage extension with keyCertSign: the Airflow image's Python verifies certificates "
            "strictly and refuses such a CA (reissue it with keyUsage=critical,keyCertSign,cRLSign)."))
    if aki is None:
        yield first.problem("airflow_stack_tls_cert_file", (
            "it has no authorityKeyIdentifier extension: the Airflow image's Python verifies certificates strictly "
            "and refuses it (reissue it with authorityKeyIdentifier=keyid,issuer)."))
    now = cluster.controller.get("now") or datetime.datetime.now(datetime.timezone.utc)
    if cert.not_valid_after_utc < now + datetime.timedelta(days=7):
        yield first.problem("airflow_stack_tls_cert_file", f"it expires within a week ({cert.not_valid_after_utc}): renew it.")
    from cryptography import x509
    san = _ext(cert, "SUBJECT_ALTERNATIVE_NAME")
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] if san else []
    dns = [name.lower() for name in san.get_values_for_type(x509.DNSName)] if san else []
    names = ", ".join([f"IP:{i}" for i in ips] + [f"DNS:{d}" for d in dns]) or "none"
    master = cluster.controller.get("addresses", {}).get(cluster.masters[0]) if cluster.masters else None
    if master and master not in ips:
        yield first.problem("airflow_stack_tls_cert_file", (
            f"it does not name the master's address (IP:{master} is not in its subjectAltName {names}): the "
            "workers reach the execution API there. Reissue it with that address."))
    ui_host = urlsplit(str(first.get("airflow_stack_ui_url", "") or f"https://{master}")).hostname or ""
    try:
        named = str(ipaddress.ip_address(ui_host)) in ips
    except ValueError:
        named = ui_host.lower() in dns
    if ui_host and ui_host != master and not named:
        yield first.problem("airflow_stack_ui_url", (
            f"airflow_stack_tls_cert_file does not name {ui_host}, the host of airflow_stack_ui_url (its "
            f"subjectAltName: {names}): reissue the certificate with it, or point airflow_stack_ui_url at a name "
            "it holds."))

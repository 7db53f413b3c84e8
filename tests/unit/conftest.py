"""The unit tier: the preflight's rules and the project's modules, with no
host (pytest, seconds). `make unit` runs it first in `make test`.

`cluster()` builds a good cluster of a master and two workers, as the
roles' defaults and a sandbox-like inventory would give it; each test
changes one setting and checks what the rules say.
"""

import copy
import datetime
import ipaddress

import pytest

from ansible_collections.datalake.airflow.plugins.module_utils import preflight

MASTER, W1, W2 = "m1", "w1", "w2"
ADDRESSES = {MASTER: "10.9.0.10", W1: "10.9.0.11", W2: "10.9.0.12"}
SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90"

GOOD = {
    "airflow_cluster_master_group": "airflow_master",
    "airflow_cluster_worker_group": "airflow_workers",
    "airflow_cluster_user": "airflow", "airflow_cluster_group": "airflow",
    "airflow_cluster_uid": 51000, "airflow_cluster_gid": 51000,
    "airflow_cluster_base_dir": "/srv/airflow", "airflow_cluster_backup_dir": "/srv/airflow/backups",
    "airflow_cluster_project_name": "airflow", "airflow_cluster_postgres_user": "airflow",
    "airflow_cluster_postgres_db": "airflow", "airflow_cluster_wait_timeout": 600,
    "airflow_cluster_airflow_version": "3.3.2",
    "airflow_cluster_postgres_image": "postgres:17", "airflow_cluster_broker_image": "valkey/valkey:8.1",
    "airflow_cluster_awscli_pgp_fingerprint": "FB5DB77FD5C118B80511ADA8A6310ACC4672475C",
    "__airflow_cluster_moved_settings": {"airflow_user_uid": "airflow_cluster_uid",
                                         "airflow_tools_wait": "no setting (the stack's own); delete it"},
    "__airflow_cluster_same_on_every_host": ["airflow_cluster_base_dir", "airflow_stack_jwt_secret"],
    "airflow_cluster_master_worker_enabled": False, "airflow_cluster_flower_enabled": True,
    "airflow_stack_worker_queues": ["default"], "airflow_stack_worker_concurrency": 4,
    "airflow_cluster_api_port": 8080, "airflow_cluster_postgres_port": 5432, "airflow_cluster_broker_port": 6379,
    "airflow_cluster_log_server_port": 8793, "airflow_cluster_flower_port": 5555,
    "airflow_stack_rolling_batch": "25%", "airflow_stack_worker_stop_grace_period": 180,
    "airflow_stack_task_heartbeat_timeout": 120, "airflow_stack_task_queued_timeout": 180,
    "airflow_stack_execution_api_timeout": 30,
    "airflow_stack_celery_visibility_timeout": 86400, "airflow_stack_extra_env": {"AIRFLOW__CORE__PARALLELISM": "8"},
    "airflow_stack_allow_demo_secrets": False,
    "airflow_stack_fernet_key": "Yk0cEn1lE4hN2zYxZ8pWq3v5u7t9s1r2q4p6o8n0m2k=",
    "airflow_stack_api_secret_key": SECRET, "airflow_stack_jwt_secret": SECRET + "1",
    "airflow_stack_postgres_password": SECRET + "2", "airflow_stack_redis_password": SECRET + "3",
    "airflow_stack_flower_password": SECRET + "4", "airflow_users_admin_password": SECRET + "5",
    "airflow_users_admin_user": "admin", "airflow_users_admin_email": "admin@localhost",
    "airflow_users_list": [{"username": "viewer", "role": "Viewer", "email": "viewer@example.invalid"}],
    "airflow_users_passwords": {"viewer": SECRET + "6"},
    "airflow_connections_list": [{"conn_id": "warehouse", "conn_type": "postgres", "host": "db.example.invalid",
                                  "port": 5432, "extra": {"sslmode": "require"}}],
    "airflow_connections_passwords": {"warehouse": SECRET + "7"},
    "airflow_connections_secret_extras": {"warehouse": {"private_key": SECRET + "8"}},
    "airflow_connections_variables": {"api_ping_url": "http://api.example.invalid/", "batch": {"size": 500}},
    "airflow_connections_secret_variables": {"partner_api_token": SECRET + "9"},
    "airflow_connections_pools": [{"name": "warehouse", "slots": 4}, {"name": "default_pool", "slots": 64}],
    "airflow_connections_aws_enabled": True, "airflow_connections_aws_conn_id": "aws_default",
    "airflow_firewall_enabled": True, "airflow_firewall_ui_networks": ["controller", "192.0.2.0/24"],
    "airflow_firewall_internal_networks": [],
    "airflow_stack_tls_enabled": False, "airflow_stack_tls_cert_file": "", "airflow_stack_tls_key_file": "",
    "airflow_stack_tls_ca_file": "", "airflow_stack_ui_url": "",
    "airflow_user_dir_mode": "2775", "airflow_user_subdirs": ["dags", "logs", "plugins", "config", "data"],
    "airflow_user_acl_users": [], "airflow_user_acl_groups": [], "airflow_user_extra_groups": [],
    "docker_install_source": "distro", "docker_daemon_options": {"log-driver": "json-file"},
    "docker_users": ["airflow"],
    "awscli_install_source": "official", "awscli_version": "2.37.4", "awscli_arch": "x86_64",
    "awscli_pgp_public_key": "/keys/aws.asc", "awscli_controller_bundle": "", "awscli_controller_bundle_sig": ".sig",
    "airflow_image_source": "ship", "airflow_image_awscli_source": "distro", "airflow_image_awscli_bundle": "",
    "airflow_image_registry": "", "airflow_image_registry_username": "", "airflow_image_registry_password": "",
    "airflow_image_name": "datalake/airflow", "airflow_image_base": "apache/airflow:3.3.2",
    "airflow_dags_keep_releases": 3, "airflow_backup_keep": 7, "airflow_backup_fetch": False,
    "airflow_backup_fetch_dir": "/ctl/backups", "airflow_backup_s3_enabled": True, "airflow_backup_s3_prefix": "dumps",
    "airflow_cluster_s3_endpoint": "https://s3.example.invalid:8333", "airflow_cluster_s3_region": "us-east-1",
    "airflow_cluster_s3_bucket": "airflow-lake", "airflow_cluster_s3_path_style": True,
    "airflow_cluster_s3_access_key_id": "AKIAEXAMPLE", "airflow_cluster_s3_secret_access_key": SECRET + "7",
    "airflow_cluster_s3_ca_file": "", "airflow_cluster_archive_enabled": True,
    "airflow_cluster_archive_path": "/pgbackrest", "airflow_cluster_archive_cipher_pass": SECRET + "8",
    "airflow_cluster_archive_timeout": 60, "airflow_cluster_archive_retention_full": 2,
    "airflow_archive_full_schedule": "Sun *-*-* 01:30:00", "airflow_archive_diff_schedule": "Mon..Sat *-*-* 01:30:00",
    "airflow_status_archive_backup_max_age_hours": 26, "airflow_status_archive_wal_max_age": 600,
    "airflow_retention_log_days": 30, "airflow_retention_db_days": 90, "airflow_retention_images_keep_previous": 1,
    "airflow_stack_remote_logging_enabled": False,
    "airflow_stack_remote_logging_prefix": "logs", "airflow_stack_remote_logging_conn_id": "aws_default",
}


def facts(name):
    address = ADDRESSES[name]
    return {
        "os_family": "Debian", "distribution": "Debian", "distribution_major_version": "13",
        "interfaces": ["lo", "eth0", "docker0"],
        "lo": {"device": "lo", "ipv4": {"address": "127.0.0.1"}},
        "eth0": {"device": "eth0", "ipv4": {"address": address}},
        "docker0": {"device": "docker0", "ipv4": {"address": "172.17.0.1"}},
        "all_ipv4_addresses": [address, "172.17.0.1"],
        "mounts": [{"mount": "/", "fstype": "ext4"}, {"mount": "/run", "fstype": "tmpfs"}],
        "getent_passwd": {"root": ["x", "0", "0"], "daemon": ["x", "1", "1"], "airflow": ["x", "51000", "51000"],
                          "etl": ["x", "1001", "1001"]},
        "getent_group": {"root": ["x", "0"], "daemon": ["x", "1"], "airflow": ["x", "51000"], "analysts": ["x", "1002"]},
        "docker_os_vars": {"__docker_distro_has_compose_v2": True},
    }


class Made:
    """A cluster for one test: settings per host, facts, controller files."""

    def __init__(self):
        self.settings = {h: copy.deepcopy(GOOD) | {"airflow_cluster_advertise_address": ADDRESSES[h]} for h in ADDRESSES}
        self.facts = {h: facts(h) for h in ADDRESSES}
        self.groups = {"airflow_master": [MASTER], "airflow_workers": [W1, W2]}
        self.run_hosts = list(ADDRESSES)
        self.files = {"/keys/aws.asc": b"key"}
        self.controller = {"managed_env_keys": {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__CORE__EXECUTOR"},
                           "addresses": dict(ADDRESSES), "controller_address": "10.9.0.1",
                           "now": datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)}

    def set(self, setting, value, hosts=None):
        for h in hosts or ADDRESSES:
            self.settings[h][setting] = value
        return self

    def build(self):
        hosts = {h: preflight.Host(h, self.settings[h], self.facts[h]) for h in self.run_hosts}
        controller = dict(self.controller, isfile=lambda p: p in self.files, read=lambda p: self.files[p])
        return preflight.Cluster(hosts=hosts, groups=self.groups, controller=controller)


@pytest.fixture
def made():
    return Made()


def problems(made_cluster, phase="settings", only=None):
    rules = [r for r in preflight.RULES if only is None or r.name == only]
    assert rules, f"no rule named {only}"
    return preflight.run(made_cluster.build(), phase, rules=rules)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A CA and a certificate for the master's address, as PEM bytes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)

    def make(subject, issuer, key, issuer_key, ca, sans=(), days=365, aki=True):
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if aki:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        if ca:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    def pem_key(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_key, key, other = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    sans = [x509.IPAddress(ipaddress.ip_address(ADDRESSES[MASTER])), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("airflow.example.invalid")]
    return {
        "/tls/ca.crt": make("Sandbox CA", "Sandbox CA", ca_key, ca_key, True),
        "/tls/server.crt": make(MASTER, "Sandbox CA", key, ca_key, False, sans),
        "/tls/server.key": pem_key(key),
        "/tls/other.key": pem_key(other),
        "/tls/short.crt": make(MASTER, "Sandbox CA", key, ca_key, False, sans, days=33),
        "/tls/no-aki.crt": make(MASTER, "Sandbox CA", key, ca_key, False, sans, aki=False),
        "/tls/no-master.crt": make(MASTER, "Sandbox CA", key, ca_key, False, sans[1:]),
        "/tls/ca-no-usage.crt": make("Sandbox CA", "Sandbox CA", ca_key, ca_key, False),
        "/tls/other-ca.crt": make("Other CA", "Other CA", other, other, True),
    }


class Docker:
    """A stand-in for the host's docker, for a module's main(): run_command
    is answered by `answer(argv, data)` -> (rc, stdout, stderr), each call
    kept in `calls` as (argv, data)."""

    def __init__(self, answer, path="/usr/bin/docker"):
        self.answer, self.path, self.calls = answer, path, []

    def run_command(self, args, data=None):
        self.calls.append((list(args), data))
        return self.answer(list(args), data)


@pytest.fixture
def run_module(monkeypatch, capsys):
    """Run a module's main() with these args against a Docker stand-in:
    (the module's JSON result, the Docker stand-in)."""
    import json

    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    def run(module, args, answer, docker="/usr/bin/docker", check=False):
        fake = Docker(answer, docker)
        monkeypatch.setattr(basic.AnsibleModule, "run_command",
                            lambda self, args, data=None, **_: fake.run_command(args, data))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: fake.path)
        with patch_module_args(dict(args, _ansible_check_mode=check)), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out), fake

    return run

"""Each preflight rule refuses a bad value, naming the host, the setting
that is wrong (and only it) and the fix, and accepts good ones. Every
registered rule has a bad case here: removing a rule fails its case;
adding one without a case fails test_every_rule_has_a_bad_case."""

import pytest

from ansible_collections.datalake.airflow.plugins.module_utils import preflight
from conftest import MASTER, W1, W2, problems
from test_preflight_connections import BAD as CONNECTIONS_BAD
from test_preflight_storage import BAD as STORAGE_BAD


def _set(setting, value, hosts=None):
    return lambda m: m.set(setting, value, hosts)


def _both(*changes):
    def change(m):
        for c in changes:
            c(m)
    return change


def _facts(host, key, value):
    def change(m):
        m.facts[host][key] = value
    return change


def _groups(**groups):
    def change(m):
        m.groups.update(groups)
    return change


def _run(*hosts):
    def change(m):
        m.run_hosts = list(hosts)
    return change


def _tls(cert="/tls/server.crt", key="/tls/server.key", ca="/tls/ca.crt", ui=""):
    def change(m, files):
        m.files.update(files)
        m.set("airflow_stack_tls_enabled", True).set("airflow_stack_tls_cert_file", cert)
        m.set("airflow_stack_tls_key_file", key).set("airflow_stack_tls_ca_file", ca).set("airflow_stack_ui_url", ui)
    change.tls = True
    return change


# (id, rule, phase, change, host, setting, text in the message)
BAD = [
    ("restore-source", "restore_source", "settings", _set("airflow_backup_restore_source", "s3"), MASTER,
     "airflow_backup_restore_source", "it must be dump"),
    ("restore-archive-off", "restore_source", "settings",
     _both(_set("airflow_backup_restore_source", "archive"), _set("airflow_cluster_archive_enabled", False)), MASTER,
     "airflow_backup_restore_source", "airflow_cluster_archive_enabled is off"),
    ("restore-target", "restore_source", "settings", _set("airflow_backup_restore_target", "yesterday"), MASTER,
     "airflow_backup_restore_target", "YYYY-MM-DD HH:MM:SS+00"),
    ("archive-status-limit", "archive_status_limits", "settings", _set("airflow_status_archive_wal_max_age", 0), MASTER,
     "airflow_status_archive_wal_max_age", "how old the archive may get"),
    ("no-master", "one_master", "settings", _groups(airflow_master=[]), MASTER, "airflow_cluster_master_group", "it has 0"),
    ("two-masters", "one_master", "settings", _groups(airflow_master=[MASTER, W1], airflow_workers=[W2]), MASTER,
     "airflow_cluster_master_group", "exactly one host; it has 2"),
    ("limit-without-master", "master_in_run", "settings", _run(W1), W1, "--limit", f"the master {MASTER} is not part"),
    ("old-name", "no_moved_settings", "settings", _set("airflow_user_uid", 5, [W1]), W1, "airflow_user_uid",
     "it is now airflow_cluster_uid"),
    ("dropped-setting", "no_moved_settings", "settings", _set("airflow_tools_wait", 5, [W2]), W2, "airflow_tools_wait",
     "this release has no setting (the stack's own); delete it from the inventory"),
    ("differs-on-a-host", "same_on_every_host", "settings", _set("airflow_stack_jwt_secret", "x" * 20, [W2]), W2,
     "airflow_stack_jwt_secret", "must be the same on every host"),
    ("base-dir-root", "tree_paths", "settings", _both(_set("airflow_cluster_base_dir", "/"),
                                                      _set("airflow_cluster_backup_dir", "//backups")), MASTER,
     "airflow_cluster_base_dir", "system directory"),
    ("base-dir-relative", "tree_paths", "settings", _both(_set("airflow_cluster_base_dir", "srv/airflow"),
                                                          _set("airflow_cluster_backup_dir", "srv/airflow/backups")), MASTER,
     "airflow_cluster_base_dir", "absolute path"),
    ("base-dir-in-etc", "tree_paths", "settings", _set("airflow_cluster_base_dir", "/etc/airflow"), MASTER,
     "airflow_cluster_base_dir", "inside /etc"),
    ("base-dir-unplain", "tree_paths", "settings", _set("airflow_cluster_base_dir", "/srv/x/../airflow/"), MASTER,
     "airflow_cluster_base_dir", "write /srv/airflow"),
    ("base-dir-with-space", "tree_paths", "settings", _set("airflow_cluster_base_dir", "/srv/air flow"), MASTER,
     "airflow_cluster_base_dir", "may only hold"),
    ("backups-in-db", "tree_paths", "settings", _set("airflow_cluster_backup_dir", "/srv/airflow/postgres/bk"), MASTER,
     "airflow_cluster_backup_dir", "inside /srv/airflow/postgres"),
    ("backups-relative", "tree_paths", "settings", _set("airflow_cluster_backup_dir", "backups"), MASTER,
     "airflow_cluster_backup_dir", "absolute path"),
    ("backups-are-tree", "tree_paths", "settings", _set("airflow_cluster_backup_dir", "/srv/airflow"), MASTER,
     "airflow_cluster_backup_dir", "the tree itself"),
    ("tree-in-backups", "tree_paths", "settings", _both(_set("airflow_cluster_backup_dir", "/data"),
                                                        _set("airflow_cluster_base_dir", "/data/airflow")), MASTER,
     "airflow_cluster_base_dir", "inside the backups"),
    ("project-upper", "names", "settings", _set("airflow_cluster_project_name", "Airflow"), MASTER,
     "airflow_cluster_project_name", "docker compose takes lowercase"),
    ("db-user-dash", "names", "settings", _set("airflow_cluster_postgres_user", "air-flow"), MASTER,
     "airflow_cluster_postgres_user", "PostgreSQL"),
    ("db-name-long", "names", "settings", _set("airflow_cluster_postgres_db", "a" * 64), MASTER,
     "airflow_cluster_postgres_db", "at most 63"),
    ("account-space", "names", "settings", _set("airflow_cluster_user", "air flow"), MASTER, "airflow_cluster_user",
     "Linux account"),
    ("uid-root", "ids", "settings", _set("airflow_cluster_uid", 0), MASTER, "airflow_cluster_uid", "0 is root's"),
    ("secret-empty", "secrets", "settings", _set("airflow_stack_jwt_secret", ""), MASTER, "airflow_stack_jwt_secret",
     "is not set"),
    ("secret-demo", "secrets", "settings", _set("airflow_stack_redis_password", "sandbox-demo-0123456789"), MASTER,
     "airflow_stack_redis_password", "demo or placeholder"),
    ("secret-url", "secrets", "settings", _set("airflow_stack_postgres_password", "p@ss:word-0123456789"), MASTER,
     "airflow_stack_postgres_password", "connection URLs"),
    ("secret-weak", "secrets", "settings", _set("airflow_stack_flower_password", "flower1234"), MASTER,
     "airflow_stack_flower_password", "too weak (10 characters"),
    ("admin-password-weak", "admin_password", "settings", _set("airflow_users_admin_password", "admin12345"), MASTER,
     "airflow_users_admin_password", "too weak (10 characters"),
    ("admin-password-empty", "admin_password", "settings", _set("airflow_users_admin_password", ""), MASTER,
     "airflow_users_admin_password", "it is not set"),
    ("fernet-bad", "secrets", "settings", _set("airflow_stack_fernet_key", "not-a-key"), MASTER,
     "airflow_stack_fernet_key", "not a Fernet key"),
    ("queues-string", "worker_settings", "settings", _set("airflow_stack_worker_queues", "default,etl", [W1]), W1,
     "airflow_stack_worker_queues", "must be a list"),
    ("queue-space", "worker_settings", "settings", _set("airflow_stack_worker_queues", ["default", "my q"], [W2]), W2,
     "airflow_stack_worker_queues", "at least one queue"),
    ("concurrency-zero", "worker_settings", "settings", _set("airflow_stack_worker_concurrency", 0, [W1]), W1,
     "airflow_stack_worker_concurrency", "1 or more"),
    ("host-in-both", "one_role_per_host", "settings", _groups(airflow_workers=[MASTER, W1, W2]), MASTER,
     "airflow_cluster_worker_group", f"{MASTER} is in both"),
    ("no-worker", "topology", "settings", _both(_groups(airflow_workers=[]), _run(MASTER)), MASTER,
     "airflow_cluster_master_worker_enabled", "no host runs a Celery worker"),
    ("no-default-queue", "topology", "settings", _set("airflow_stack_worker_queues", ["etl"]), W1,
     "airflow_stack_worker_queues", "serves the queue 'default'"),
    ("port-range", "ports", "settings", _set("airflow_cluster_api_port", 70000), MASTER, "airflow_cluster_api_port",
     "from 1 to 65535"),
    ("port-shared", "ports", "settings", _set("airflow_cluster_broker_port", 5432), MASTER, "airflow_cluster_broker_port",
     "airflow_cluster_postgres_port of m1 listens on that port too"),
    ("batch-150", "rolling", "settings", _set("airflow_stack_rolling_batch", "150%"), MASTER,
     "airflow_stack_rolling_batch", "from 1% to 100%"),
    ("batch-zero", "rolling", "settings", _set("airflow_stack_rolling_batch", 0), MASTER, "airflow_stack_rolling_batch",
     "a number of workers"),
    ("grace-negative", "timeouts", "settings", _set("airflow_stack_worker_stop_grace_period", -5), MASTER,
     "airflow_stack_worker_stop_grace_period", "at least 1"),
    ("heartbeat-zero", "timeouts", "settings", _set("airflow_stack_task_heartbeat_timeout", 0), MASTER,
     "airflow_stack_task_heartbeat_timeout", "at least 30"),
    ("queued-zero", "timeouts", "settings", _set("airflow_stack_task_queued_timeout", 0), MASTER,
     "airflow_stack_task_queued_timeout", "at least 30"),
    ("api-timeout-short", "timeouts", "settings", _set("airflow_stack_execution_api_timeout", 2), MASTER,
     "airflow_stack_execution_api_timeout", "at least 5"),
    ("wait-zero", "timeouts", "settings", _set("airflow_cluster_wait_timeout", 0), MASTER,
     "airflow_cluster_wait_timeout", "at least 1"),
    ("visibility-short", "timeouts", "settings", _set("airflow_stack_celery_visibility_timeout", 150), MASTER,
     "airflow_stack_celery_visibility_timeout", "longer than airflow_stack_worker_stop_grace_period (180 s)"),
    ("visibility-below-heartbeat", "timeouts", "settings", _both(
        _set("airflow_stack_celery_visibility_timeout", 200), _set("airflow_stack_worker_stop_grace_period", 100),
        _set("airflow_stack_task_heartbeat_timeout", 300)), MASTER,
     "airflow_stack_celery_visibility_timeout", "longer than airflow_stack_task_heartbeat_timeout (300 s)"),
    ("extra-env-managed", "extra_env", "settings", _set("airflow_stack_extra_env", {"AIRFLOW__CORE__FERNET_KEY": "x"}),
     MASTER, "airflow_stack_extra_env.AIRFLOW__CORE__FERNET_KEY", "the project sets this one itself"),
    ("extra-env-newline", "extra_env", "settings", _set("airflow_stack_extra_env", {"AIRFLOW__A__B": "x\ny=1"}),
     MASTER, "airflow_stack_extra_env.AIRFLOW__A__B", "one line"),
    ("extra-env-lower", "extra_env", "settings", _set("airflow_stack_extra_env", {"airflow__core__x": "1"}), MASTER,
     "airflow_stack_extra_env.airflow__core__x", "upper-case"),
    ("extra-env-list", "extra_env", "settings", _set("airflow_stack_extra_env", ["A=1"]), MASTER,
     "airflow_stack_extra_env", "mapping"),
    ("remote-logging-no-bucket", "remote_logging", "settings", _both(
        _set("airflow_stack_remote_logging_enabled", True), _set("airflow_backup_s3_enabled", False),
        _set("airflow_cluster_s3_bucket", ""), _set("airflow_cluster_archive_enabled", False)),
     MASTER, "airflow_stack_remote_logging_enabled", "airflow_cluster_s3_bucket is empty: set the bucket"),
    ("remote-logging-prefix-slash", "remote_logging", "settings", _both(
        _set("airflow_stack_remote_logging_enabled", True), _set("airflow_cluster_s3_bucket", "airflow-logs"),
        _set("airflow_stack_remote_logging_prefix", "/logs/")), MASTER, "airflow_stack_remote_logging_prefix",
     "without a leading or trailing /"),
    ("remote-logging-prefix-dots", "remote_logging", "settings", _both(
        _set("airflow_stack_remote_logging_enabled", True), _set("airflow_cluster_s3_bucket", "airflow-logs"),
        _set("airflow_stack_remote_logging_prefix", "logs/../etc")), MASTER, "airflow_stack_remote_logging_prefix",
     "no . or .. segment"),
    ("remote-logging-conn-id", "remote_logging", "settings", _both(
        _set("airflow_stack_remote_logging_enabled", True), _set("airflow_cluster_s3_bucket", "airflow-logs"),
        _set("airflow_stack_remote_logging_conn_id", "aws default")), MASTER, "airflow_stack_remote_logging_conn_id",
     "an Airflow connection id"),
    ("user-dup", "users", "settings", _set("airflow_users_list", [{"username": "Admin", "role": "Op", "email": "a@x.y"}]),
     MASTER, "airflow_users_list[0].username", "listed twice"),
    ("user-role", "users", "settings", _set("airflow_users_list", [{"username": "ann", "role": "Root", "email": "a@x.y"}]),
     MASTER, "airflow_users_list[0].role", "one of Admin, Op, User, Viewer"),
    ("user-email", "users", "settings", _set("airflow_users_list", [{"username": "ann", "role": "Op", "email": "nope"}]),
     MASTER, "airflow_users_list[0].email", "not an address"),
    ("user-email-twice", "users", "settings", _both(_set("airflow_users_list", [
        {"username": "ann", "role": "Op", "email": "a@x.y"}, {"username": "bob", "role": "Op", "email": "A@x.y"}]),
        _set("airflow_users_passwords", {"ann": "0123456789abcdef0", "bob": "0123456789abcdef1"})),
     MASTER, "airflow_users_list[1].email", "more than one user"),
    ("user-no-password", "users", "settings", _set("airflow_users_list", [{"username": "ann", "role": "Op", "email": "a@x.y"}]),
     MASTER, "airflow_users_passwords.ann", "has no password"),
    ("user-name-chars", "users", "settings", _set("airflow_users_list", [{"username": "a b", "role": "Op", "email": "a@x.y"}]),
     MASTER, "airflow_users_list[0].username", "letters, digits"),
    ("firewall-cidr", "networks", "settings", _set("airflow_firewall_ui_networks", ["10.0.0.0/33"]), MASTER,
     "airflow_firewall_ui_networks", "10.0.0.0/33: not an IPv4"),
    ("firewall-internal-word", "networks", "settings", _set("airflow_firewall_internal_networks", ["controller"]),
     MASTER, "airflow_firewall_internal_networks", "controller: not an IPv4"),
    ("tls-missing", "tls_files", "settings", _tls(cert="/nope.crt"), MASTER,
     "airflow_stack_tls_cert_file", "not a file on the controller"),
    ("dir-mode", "tree_settings", "settings", _set("airflow_user_dir_mode", "rwxr-x"), MASTER, "airflow_user_dir_mode",
     "octal"),
    ("subdir-abs", "tree_settings", "settings", _set("airflow_user_subdirs", ["logs", "/etc"]), MASTER,
     "airflow_user_subdirs", "relative names"),
    ("docker-source", "docker_settings", "settings", _set("docker_install_source", "rsync", [W1]), W1,
     "docker_install_source", "docker_repo"),
    ("docker-daemon", "docker_settings", "settings", _set("docker_daemon_options", ["a"], [W1]), W1,
     "docker_daemon_options", "mapping"),
    ("awscli-source", "awscli_settings", "settings", _set("awscli_install_source", "pip"), MASTER,
     "awscli_install_source", "one of official"),
    ("image-source", "image_source", "settings", _set("airflow_image_source", "rsync"), MASTER, "airflow_image_source",
     "build, pull, ship"),
    ("image-pull-no-registry", "image_source", "settings", _set("airflow_image_source", "pull"), MASTER,
     "airflow_image_registry", "pull needs"),
    ("image-registry-user", "image_source", "settings", _set("airflow_image_registry_username", "u"), MASTER,
     "airflow_image_registry_username", "go together"),
    ("image-name-upper", "image_names", "settings", _set("airflow_image_name", "DataLake/Airflow"), MASTER,
     "airflow_image_name", "lowercase"),
    ("image-name-tag", "image_names", "settings", _set("airflow_image_name", "datalake/airflow:1"), MASTER,
     "airflow_image_name", "without a tag"),
    ("postgres-image-space", "image_names", "settings", _set("airflow_cluster_postgres_image", "postgres 17"), MASTER,
     "airflow_cluster_postgres_image", "image reference"),
    ("base-release", "image_release", "settings", _set("airflow_image_base", "apache/airflow:3.3.1-python3.12"), MASTER,
     "airflow_image_base", "is Airflow 3.3.1"),
    ("dags-keep-zero", "counts_airflow_dags", "settings", _set("airflow_dags_keep_releases", 0), MASTER,
     "airflow_dags_keep_releases", "current release"),
    ("backup-keep-zero", "counts_airflow_backup", "settings", _set("airflow_backup_keep", 0), MASTER,
     "airflow_backup_keep", "just taken"),
    ("log-days-zero", "counts_airflow_retention", "settings", _set("airflow_retention_log_days", 0), MASTER,
     "airflow_retention_log_days", "running tasks"),
    ("fetch-no-dir", "backup_fetch", "settings", _both(_set("airflow_backup_fetch", True),
                                                       _set("airflow_backup_fetch_dir", "")), MASTER,
     "airflow_backup_fetch_dir", "airflow_backup_fetch is on"),
    # the hosts phase
    ("uid-taken", "accounts", "hosts", _set("airflow_cluster_uid", 1), MASTER, "airflow_cluster_uid",
     "UID 1 is already held by user 'daemon'"),
    ("uid-other", "accounts", "hosts", _set("airflow_cluster_uid", 51234), MASTER, "airflow_cluster_uid",
     "already exists with UID 51000"),
    ("gid-other", "accounts", "hosts", _set("airflow_cluster_gid", 51234), MASTER, "airflow_cluster_gid",
     "already exists with GID 51000"),
    ("acl-user-missing", "accounts", "hosts", _set("airflow_user_acl_users", ["ghost"]), MASTER,
     "airflow_user_acl_users", "ghost: no such user"),
    ("not-debian", "accounts", "hosts", _facts(W1, "os_family", "RedHat"), W1, "ansible_facts.os_family",
     "supports Debian-family"),
    ("docker-no-compose", "docker_host", "hosts", _facts(W2, "docker_os_vars", {}), W2, "docker_install_source",
     "no docker compose v2"),
    ("docker-user-missing", "docker_host", "hosts", _set("docker_users", ["airflow", "ci"], [W2]), W2, "docker_users",
     "ci: no such user"),
    ("awscli-version", "awscli_bundle", "hosts", _set("awscli_version", "1.2.3"), MASTER, "awscli_version", "v2 release"),
    ("awscli-arch", "awscli_bundle", "hosts", _set("awscli_arch", "ppc64le", [W1]), W1, "awscli_arch", "x86_64 and aarch64"),
    ("awscli-key", "awscli_bundle", "hosts", _set("awscli_pgp_public_key", "/nope.asc"), MASTER, "awscli_pgp_public_key",
     "not a file on the controller"),
    ("address-v6", "advertise_address", "hosts", _set("airflow_cluster_advertise_address", "fd00::1", [W1]), W1,
     "airflow_cluster_advertise_address", "IPv6"),
    ("address-loopback", "advertise_address", "hosts", _set("airflow_cluster_advertise_address", "127.0.0.1", [W1]), W1,
     "airflow_cluster_advertise_address", "loopback"),
    ("address-bridge", "advertise_address", "hosts", _set("airflow_cluster_advertise_address", "172.17.0.1", [W2]), W2,
     "airflow_cluster_advertise_address", "docker0, a Docker network"),
    ("address-foreign", "advertise_address", "hosts", _set("airflow_cluster_advertise_address", "192.0.2.10", [W1]), W1,
     "airflow_cluster_advertise_address", "is not an address of w1"),
    ("address-twice", "addresses_unique", "hosts", _both(_set("airflow_cluster_advertise_address", "10.9.0.11", [W2]),
                                                         _facts(W2, "eth0", {"device": "eth0", "ipv4": {"address": "10.9.0.11"}})),
     W2, "airflow_cluster_advertise_address", "w1 has the same address"),
    ("controller-unknown", "controller_address", "hosts", lambda m: m.controller.update(controller_address=""), MASTER,
     "airflow_firewall_ui_networks", "names the controller"),
    ("tree-on-tmpfs", "tree_on_disk", "hosts", _both(_set("airflow_cluster_backup_dir", "/data/backups"), _facts(
        W1, "mounts", [{"mount": "/", "fstype": "ext4"}, {"mount": "/srv", "fstype": "tmpfs"}])), W1,
     "airflow_cluster_base_dir", "a tmpfs of w1"),
    ("tls-other-key", "tls_certificate", "hosts", _tls(key="/tls/other.key"), MASTER, "airflow_stack_tls_key_file",
     "not the key of"),
    ("tls-other-ca", "tls_certificate", "hosts", _tls(ca="/tls/other-ca.crt"), MASTER, "airflow_stack_tls_cert_file",
     "not issued by"),
    ("tls-ca-usage", "tls_certificate", "hosts", _tls(ca="/tls/ca-no-usage.crt"), MASTER, "airflow_stack_tls_ca_file",
     "keyCertSign"),
    ("tls-no-aki", "tls_certificate", "hosts", _tls(cert="/tls/no-aki.crt"), MASTER, "airflow_stack_tls_cert_file",
     "authorityKeyIdentifier"),
    ("tls-expiring", "tls_certificate", "hosts", _tls(cert="/tls/short.crt"), MASTER, "airflow_stack_tls_cert_file",
     "expires within a week"),
    ("tls-no-master", "tls_certificate", "hosts", _tls(cert="/tls/no-master.crt"), MASTER, "airflow_stack_tls_cert_file",
     "IP:10.9.0.10 is not in"),
    ("tls-ui-host", "tls_certificate", "hosts", _tls(ui="https://ui.example.invalid"), MASTER, "airflow_stack_ui_url",
     "does not name ui.example.invalid"),
    ("tls-not-pem", "tls_certificate", "hosts", _tls(key="/keys/aws.asc"), MASTER, "airflow_stack_tls_key_file",
     "not an unencrypted PEM private key"),
] + CONNECTIONS_BAD + STORAGE_BAD


def _apply(made, change, tls_files):
    if getattr(change, "tls", False):
        change(made, tls_files)
    else:
        change(made)


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_a_bad_value_is_refused_naming_only_its_setting(made, tls_files, case):
    _, name, phase, change, host, setting, text = case
    _apply(made, change, tls_files)
    own = problems(made, phase, only=name)
    assert own, f"rule {name} let it through"
    assert any(p.host == host and p.setting == setting and text in p.text for p in own), [p.render() for p in own]
    # all of the phase's rules: only the wrong setting is named
    every = problems(made, phase)
    assert {p.setting for p in every} == {setting}, [p.render() for p in every]
    rendered = [p.render() for p in every]
    assert len(rendered) == len(set(rendered)), "a message is printed twice"


def test_every_rule_has_a_bad_case():
    assert {r.name for r in preflight.RULES} == {c[1] for c in BAD}


@pytest.mark.parametrize("phase", ["settings", "hosts"])
def test_a_good_cluster_passes(made, phase):
    assert [p.render() for p in problems(made, phase)] == []


def test_a_good_tls_setup_passes(made, tls_files):
    _tls(ui="https://airflow.example.invalid")(made, tls_files)
    assert [p.render() for p in problems(made, "hosts")] == []
    assert [p.render() for p in problems(made, "settings")] == []


GOOD_VALUES = [
    ("airflow_stack_rolling_batch", "100%"), ("airflow_stack_rolling_batch", 2),
    ("airflow_cluster_backup_dir", "/var/backups/airflow"), ("airflow_cluster_base_dir", "/data/airflow"),
    ("airflow_firewall_ui_networks", ["controller-network", "10.0.0.5"]),
    ("airflow_stack_extra_env", {"AIRFLOW__CORE__PARALLELISM": 32}),
    ("airflow_image_name", "registry.example.invalid:5000/datalake/airflow"),
    ("airflow_cluster_postgres_image", "registry.example.invalid/postgres:17.2-bookworm"),
    ("airflow_stack_worker_queues", ["default", "etl.v2"]), ("airflow_retention_images_keep_previous", 0),
    ("airflow_stack_allow_demo_secrets", True), ("airflow_cluster_project_name", "airflow-prod_2"),
    ("awscli_install_source", "distro"),
    ("airflow_cluster_s3_endpoint", ""), ("airflow_cluster_s3_endpoint", "https://10.0.0.5"),
    ("airflow_cluster_archive_enabled", False), ("airflow_backup_restore_source", "archive"),
    ("airflow_backup_restore_target", "2026-12-01 14:30:00+00"),
]


@pytest.mark.parametrize("setting, value", GOOD_VALUES, ids=[f"{s}={v}" for s, v in GOOD_VALUES])
def test_a_good_value_passes(made, setting, value):
    made.set(setting, value)
    assert [p.render() for p in problems(made, "settings") + problems(made, "hosts")] == []


def test_remote_logging_with_a_bucket_passes(made):
    made.set("airflow_stack_remote_logging_enabled", True).set("airflow_cluster_s3_bucket", "airflow-logs")
    made.set("airflow_stack_remote_logging_prefix", "airflow/prod/logs")
    assert [p.render() for p in problems(made, "settings") + problems(made, "hosts")] == []


def test_remote_logging_without_a_bucket_names_host_setting_value_and_fix(made):
    """As the templated default renders it (a string), and as set (a bool)."""
    made.set("airflow_cluster_s3_bucket", "").set("airflow_cluster_archive_enabled", False)
    for value, shown in (("True", "'True'"), (True, "true")):
        made.set("airflow_stack_remote_logging_enabled", value)
        assert [p.render() for p in problems(made, only="remote_logging")] == [
            f"On {MASTER}: airflow_stack_remote_logging_enabled is {shown}: task logs go to S3, but "
            "airflow_cluster_s3_bucket is empty: set the bucket (with the store's endpoint, region and keys) in the "
            "inventory's group_vars/all, or set airflow_stack_remote_logging_enabled: false to keep task logs on the "
            "workers only."]


def test_a_secret_is_never_shown(made):
    made.set("airflow_stack_redis_password", "sandbox-demo-0123456789")
    made.set("airflow_stack_jwt_secret", "sandbox-other-secret-value", [W2])
    made.set("airflow_stack_extra_env", {"AIRFLOW__CORE__FERNET_KEY": "hidden-value-123"})
    text = "\n".join(p.render() for p in problems(made))
    assert "sandbox-demo" not in text and "sandbox-other" not in text and "hidden-value" not in text
    assert text.count("(a secret, not shown)") == 3, text


def test_an_undefined_setting_is_a_problem_not_a_crash(made):
    del made.settings[W1]["airflow_stack_worker_concurrency"]
    found = problems(made, only="worker_settings")
    assert [(p.host, p.setting) for p in found] == [(W1, "airflow_stack_worker_concurrency")]


def test_a_broken_layout_stops_the_other_rules(made):
    """With no master, what depends on it (here a TLS file named after it)
    is not reported: only the layout is."""
    made.groups["airflow_master"] = []
    made.run_hosts = [W1, W2]
    made.set("airflow_stack_tls_enabled", True).set("airflow_stack_tls_cert_file", "/tls/no-master.crt")
    assert {p.setting for p in problems(made)} == {"airflow_cluster_master_group"}
    made.groups["airflow_master"] = [MASTER]
    made.run_hosts = [MASTER, W1, W2]
    assert {p.setting for p in problems(made)} == {"airflow_stack_tls_cert_file", "airflow_stack_tls_key_file",
                                                   "airflow_stack_tls_ca_file"}

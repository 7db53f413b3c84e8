"""The preflight's rules of the S3 store, the metadata DB's archive and the
backups' copies in S3 (roles airflow_cluster, airflow_archive,
airflow_backup): their bad cases (BAD, run with every other rule's by
test_preflight_rules.py: each must name its setting, and only it)."""

from conftest import MASTER


def _set(setting, value):
    return lambda m: m.set(setting, value)


def _both(*changes):
    def change(m):
        for c in changes:
            c(m)
    return change


# (id, rule, phase, change, host, setting, text in the message)
BAD = [
    ("backup-s3-no-bucket", "backup_s3", "settings",
     _both(_set("airflow_backup_s3_enabled", True), _set("airflow_cluster_s3_bucket", ""),
           _set("airflow_cluster_archive_enabled", False), _set("airflow_stack_remote_logging_enabled", False),
           _set("airflow_cluster_s3_secret_access_key", "")), MASTER,
     "airflow_backup_s3_enabled", "airflow_cluster_s3_bucket is empty"),
    ("backup-s3-prefix", "backup_s3", "settings", _set("airflow_backup_s3_prefix", "/dumps/"), MASTER,
     "airflow_backup_s3_prefix", "without a leading or trailing /"),
    ("s3-endpoint-path", "s3_store", "settings", _set("airflow_cluster_s3_endpoint", "https://s3.example.invalid/lake"),
     MASTER, "airflow_cluster_s3_endpoint", "with no path"),
    ("s3-bucket-name", "s3_store", "settings", _set("airflow_cluster_s3_bucket", "Airflow_Lake"), MASTER,
     "airflow_cluster_s3_bucket", "3 to 63 lowercase"),
    ("s3-no-secret-key", "s3_store", "settings", _set("airflow_cluster_s3_secret_access_key", ""), MASTER,
     "airflow_cluster_s3_secret_access_key", "vault_airflow_s3_secret_access_key"),
    ("archive-without-bucket", "archive", "settings",
     _both(_set("airflow_cluster_s3_bucket", ""), _set("airflow_cluster_s3_secret_access_key", ""),
           _set("airflow_backup_s3_enabled", False)), MASTER,
     "airflow_cluster_archive_enabled", "airflow_cluster_s3_bucket is empty"),
    ("archive-short-pass", "archive", "settings", _set("airflow_cluster_archive_cipher_pass", "short"), MASTER,
     "airflow_cluster_archive_cipher_pass", "shorter than 20"),
    ("archive-timeout", "archive", "settings", _set("airflow_cluster_archive_timeout", 5), MASTER,
     "airflow_cluster_archive_timeout", "from 30 to 3600"),
    ("archive-retention", "archive", "settings", _set("airflow_cluster_archive_retention_full", 0), MASTER,
     "airflow_cluster_archive_retention_full", "nothing to restore from"),
    ("archive-schedule", "archive_schedule", "settings", _set("airflow_archive_diff_schedule", " "), MASTER,
     "airflow_archive_diff_schedule", "OnCalendar"),
]

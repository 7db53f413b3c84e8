"""The metadata DB's continuous archive (pgBackRest to the sandbox's S3
store, the airflow_archive role), the broker's append-only file, and
restores from the archive, end to end on the sandbox cluster:

- the repository has its stanza and a full backup, encrypted, in the bucket;
  the backup timers are installed and a timer's service makes a backup;
- a commit reaches the archive within archive_timeout (no manual switch);
- status.yml shows the archive and fails when it is older than its limit;
- the broker keeps what it holds across a recreation of its container.

Restores from the archive (to a moment, onto a new master after the old
one was lost with its disk): test_6_rebuild.

The cluster is left healthy (later modules use it).
"""

import json
import time

from cluster import BASE, DEMO_SECRETS, INVENTORY, MASTER, PLAYBOOK, archive, ready_api, sh
from cluster.archive import PGBACKREST

REDIS = f"cd {BASE} && docker compose exec -T redis sh -c 'VALKEYCLI_AUTH=\"$REDIS_PASSWORD\" REDISCLI_AUTH=\"$REDIS_PASSWORD\" valkey-cli \"$@\"' cli"


def on_master(command, check=True):
    return sh("docker", "exec", MASTER, "bash", "-c", command, check=check)


def play(playbook, *args, check=True):
    return sh(*PLAYBOOK, "-i", INVENTORY, *args, playbook, check=check)


def info():
    return json.loads(on_master(f"{PGBACKREST} pgbackrest info --output=json").stdout)[0]


def wait_archived_after(moment, timeout=150):
    return archive.wait_archived_after(MASTER, moment, timeout)


def test_the_repository_holds_an_encrypted_full_backup_in_the_bucket(s3):
    stanza = info()
    assert stanza["status"]["message"] == "ok", stanza["status"]
    assert stanza["cipher"] == "aes-256-cbc"
    assert any(b["type"] == "full" for b in stanza["backup"]), stanza["backup"]
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket, Prefix="pgbackrest/")["Contents"]]
    assert any(k.startswith("pgbackrest/archive/airflow/") for k in keys), keys[:20]
    assert any(k.startswith("pgbackrest/backup/airflow/") for k in keys), keys[:20]
    # encrypted: pgBackRest's encrypted files start with OpenSSL's salt header
    manifest = next(k for k in keys if k.endswith("/backup.manifest"))
    assert s3.client.get_object(Bucket=s3.bucket, Key=manifest)["Body"].read(8) == b"Salted__"
    # the secrets are in the postgres container's own env file, 0600, and
    # on no container's command line
    assert on_master(f"stat -c '%a %U' {BASE}/postgres.env").stdout.split() == ["600", "root"]
    commands = on_master("docker ps -q | xargs docker inspect -f '{{.Path}} {{.Args}}'").stdout
    assert not [s for s in DEMO_SECRETS if s in commands]


def test_a_timer_backs_the_db_up():
    for timer in ("airflow-archive-full.timer", "airflow-archive-diff.timer"):
        assert on_master(f"systemctl is-enabled {timer} && systemctl is-active {timer}").stdout.split() == [
            "enabled", "active"]
    before = len(info()["backup"])
    on_master("systemctl start airflow-archive-backup@diff.service")
    backups = info()["backup"]
    assert len(backups) == before + 1 and backups[-1]["type"] == "diff", backups


def test_a_commit_reaches_the_archive_within_archive_timeout():
    client = ready_api()
    run_id = client.run_etl()
    committed = time.time()
    wal, when = wait_archived_after(committed, timeout=60 + 60)
    assert when - committed <= 60 + 30, (run_id, wal, when - committed)


def test_status_reports_the_archive_and_fails_when_it_is_old():
    out = play("playbooks/status.yml").stdout
    line = next(x for x in out.splitlines() if "DB archive" in x)
    assert "newest backup" in line and "last WAL" in line, line
    # a limit of 1 s: older than that unless a segment reached the archive in
    # the very second of the check (a busy DB switches segments often), then
    # again a few seconds later
    for _ in range(3):
        proc = play("playbooks/status.yml", "-e", "airflow_status_archive_wal_max_age=1", check=False)
        if proc.returncode != 0:
            break
        time.sleep(5)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "DB archive: the last WAL segment reached it" in proc.stdout, proc.stdout[-3000:]


def test_the_broker_keeps_its_data_across_a_recreation():
    assert on_master(f"{REDIS} RPUSH e2e-durable one two three").stdout.strip() == "3"
    on_master(f"cd {BASE} && docker compose up -d --force-recreate --wait redis")
    assert on_master(f"{REDIS} LRANGE e2e-durable 0 -1").stdout.split() == ["one", "two", "three"]
    assert on_master(f"ls {BASE}/broker/appendonlydir").stdout.strip()
    on_master(f"{REDIS} DEL e2e-durable")

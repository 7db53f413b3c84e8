"""Backup and restore of the metadata DB (playbooks/backup.yml, restore.yml,
the airflow_backup role), end to end on the sandbox cluster: backups on the
master with checksums and rotation, check mode, the copy to the controller,
the backup site.yml takes before a migration (and only then), a restore
refused without confirmation or from a damaged file, and the round trip
through a destroyed PostgreSQL data directory and a failed restore to the
named backup, checked through the REST API. (The no-op site.yml run after
all the modules, with no secret, no backup and under stock Ansible, ends
test_6_rebuild.)

The cluster is left healthy (later modules use it).
"""

import hashlib
import re
import stat
import time


from cluster import BASE, INVENTORY, MASTER, PLAYBOOK, WORKERS, ready_api, recap, sh

BACKUP_DIR = f"{BASE}/backups"
DUMP_NAME = re.compile(r"^airflow-\d{8}T\d{6}Z\.dump$")
HOSTS = [MASTER, *WORKERS]


def flat(text):
    """Playbook output with runs of white space as one space (the YAML
    callback wraps long messages)."""
    return " ".join(text.split())


def on_master(command, check=True):
    return sh("docker", "exec", MASTER, "bash", "-c", command, check=check)


def play(playbook, *args, check=True):
    return sh(*PLAYBOOK, "-i", INVENTORY, *args, playbook, check=check)


def dumps():
    """The backups on the master, oldest first (names carry the UTC time)."""
    out = on_master(f"ls -1 {BACKUP_DIR} 2>/dev/null || true").stdout.split()
    return sorted(name for name in out if name.endswith(".dump"))


def backup_dir_listing():
    """Everything in the backup directory (hidden files too), with modes, sizes
    and times, or the error when it does not exist: what must not change."""
    return on_master(f"ls -la --time-style=full-iso {BACKUP_DIR} 2>&1 || true").stdout


def containers():
    """Every container of every host with its state and start time."""
    fmt = "{{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.Config.Image}}"
    return {h: sh("docker", "exec", h, "sh", "-c", f"docker ps -aq | xargs -r docker inspect -f '{fmt}' | sort").stdout
            for h in HOSTS}


def all_healthy():
    """{host: [containers that are not running and healthy]} (empty lists when all are)."""
    return {h: [line for line in sh("docker", "exec", h, "docker", "ps", "-a", "--format", "{{.Names}} {{.Status}}")
                .stdout.splitlines() if "(healthy)" not in line]
            for h in HOSTS}


def checksum_file(name):
    return on_master(f"cat {BACKUP_DIR}/{name}.sha256").stdout


def pg_data_initialised():
    return on_master(f"test -s {BASE}/postgres/PG_VERSION", check=False).returncode == 0


def etl_run_ids(client):
    runs = client("GET", "/dags/etl/dagRuns", params={"limit": 1000})["dag_runs"]
    return {r["dag_run_id"]: r["state"] for r in runs}


def take_backup(*args):
    """Run backup.yml; return its output and the name of the one new backup."""
    before = set(dumps())
    proc = play("playbooks/backup.yml", *args)
    assert recap(proc.stdout)[MASTER]["changed"] > 0, proc.stdout[-3000:]
    new = set(dumps()) - before
    assert len(new) == 1, f"backup.yml made {sorted(new)}; before: {sorted(before)}"
    name = new.pop()
    # names carry the master's clock to the second: never two in one second
    time.sleep(1.1)
    return proc, name


def test_backup_in_check_mode_changes_nothing():
    listing, running = backup_dir_listing(), containers()
    proc = play("playbooks/backup.yml", "--check")
    assert recap(proc.stdout)[MASTER]["changed"] > 0, "check mode should report the backup it would take"
    assert "would be taken" in flat(proc.stdout)
    assert backup_dir_listing() == listing
    assert containers() == running


def test_backups_are_complete_checksummed_and_rotated(api, s3):
    api.run_etl()
    before = set(dumps())
    made = []
    for args in ([], ["-e", "airflow_backup_keep=1"]):
        proc, name = take_backup(*args)
        assert DUMP_NAME.match(name), name
        made.append(name)
        sha256, named = checksum_file(name).split()
        assert named == name
        size = on_master(f"stat -c %s {BACKUP_DIR}/{name}").stdout.strip()
        # the run shows the backup's name, size and checksum
        out = flat(proc.stdout)
        assert name in out and sha256 in out and f"({size} bytes)" in out, out[-3000:]
    assert made == sorted(made)
    # the newest one is kept (keep=1); older ones go with their checksums, and
    # no temporary file is left behind
    kept = sorted(before | set(made))[-1:]
    assert dumps() == kept and made[-1] in kept and made[0] not in kept
    entries = on_master(f"ls -1A {BACKUP_DIR}").stdout.split()
    assert sorted(entries) == sorted(kept + [f"{d}.sha256" for d in kept]), entries
    on_master(f"cd {BACKUP_DIR} && sha256sum --check --strict {' '.join(f'{d}.sha256' for d in kept)}")
    assert on_master(f"stat -c '%a %U' {BACKUP_DIR}").stdout.strip() == "700 root"
    for d in kept:
        assert on_master(f"stat -c '%a %U' {BACKUP_DIR}/{d} {BACKUP_DIR}/{d}.sha256").stdout.split() == ["600", "root"] * 2
    # no ACL (the base directory's default ACLs share it with the airflow group)
    assert on_master(f"getfacl --recursive --skip-base --absolute-names {BACKUP_DIR}").stdout == ""
    # a PostgreSQL custom-format archive of the metadata DB, DAG runs included
    toc = on_master(f"cd {BASE} && docker compose exec -T postgres pg_restore --list < {BACKUP_DIR}/{made[-1]}")
    assert "TABLE DATA public dag_run " in toc.stdout, toc.stdout[:2000]
    # the same backups and checksums in the bucket (airflow_backup_s3_enabled,
    # on with a bucket): the pruned ones are gone from there too
    assert f"Copied to S3: s3://{s3.bucket}/dumps/{made[-1]}" in flat(proc.stdout)
    listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix="dumps/").get("Contents", [])
    assert sorted(o["Key"].split("/", 1)[1] for o in listed) == sorted(entries), listed
    for d in kept:
        body = s3.client.get_object(Bucket=s3.bucket, Key=f"dumps/{d}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == checksum_file(d).split()[0], d


def test_a_backup_copied_to_the_controller_matches_its_checksum(tmp_path):
    dest = tmp_path / "backups"
    proc, name = take_backup("-e", "airflow_backup_fetch=true", "-e", f"airflow_backup_fetch_dir={dest}")
    copy = dest / name
    assert sorted(p.name for p in dest.iterdir()) == [name, f"{name}.sha256"]
    assert (dest / f"{name}.sha256").read_text() == checksum_file(name)
    assert (dest / f"{name}.sha256").read_text().split() == [hashlib.sha256(copy.read_bytes()).hexdigest(), name]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert f"Copied to the controller: {copy}" in flat(proc.stdout)


def test_before_migration_backs_up_only_when_the_image_changes(tmp_path):
    """The site.yml step: a backup when airflow-init runs another image than
    the one the run deploys, nothing (and no change) when it is the same."""
    image = sh("docker", "exec", MASTER, "sh", "-c",
               "docker inspect -f '{{.Config.Image}}' $(docker ps -q --filter label=com.docker.compose.service=airflow-init)"
               ).stdout.strip()
    assert image
    playbook = tmp_path / "before-migration.yml"
    playbook.write_text(f"""---
- name: The backup step of site.yml
  hosts: {MASTER}
  become: true
  gather_facts: false
  tasks:
    - name: Back up before a migration
      ansible.builtin.include_role:
        name: airflow_backup
        tasks_from: before_migration
""")
    before = dumps()
    proc = play(str(playbook), "-e", f"airflow_backup_target_image={image}")
    assert recap(proc.stdout)[MASTER]["changed"] == 0
    assert dumps() == before
    proc = play(str(playbook), "-e", "airflow_backup_target_image=sandbox/airflow:3.3.2-another-image")
    assert recap(proc.stdout)[MASTER]["changed"] > 0
    new = set(dumps()) - set(before)
    assert len(new) == 1 and DUMP_NAME.match(new.pop())
    time.sleep(1.1)


def test_restore_is_refused_without_confirmation():
    running = containers()
    for extra in ([], ["-e", "airflow_backup_restore_confirm=no"], ["-e", '{"airflow_backup_restore_confirm": true}']):
        proc = play("playbooks/restore.yml", *extra, check=False)
        out = flat(proc.stdout + proc.stderr)
        assert proc.returncode != 0
        assert "-e airflow_backup_restore_confirm=yes" in out and "Nothing was changed" in out, out[-3000:]
        stats = recap(proc.stdout)
        # only the settings-alone preflight ran: the restore's play never started
        assert all(s["changed"] == 0 for s in stats.values()), stats
        assert "PLAY [Restore the metadata DB]" not in proc.stdout, out[-3000:]
    assert containers() == running


def test_restore_refuses_a_damaged_backup():
    newest = dumps()[-1]
    damaged = "airflow-20000101T000000Z.dump"
    running = containers()
    # a truncated copy with the original's checksum
    on_master(f"cd {BACKUP_DIR} && head -c 1000 {newest} > {damaged} && "
              f"sed 's/{newest}/{damaged}/' {newest}.sha256 > {damaged}.sha256")
    try:
        proc = play("playbooks/restore.yml", "-e", "airflow_backup_restore_confirm=yes",
                    "-e", f"airflow_backup_restore_file={damaged}", check=False)
        out = flat(proc.stdout + proc.stderr)
        assert proc.returncode != 0
        assert f"{damaged} does not match its checksum file" in out and "Nothing was changed" in out, out[-3000:]
        assert all(s["changed"] == 0 for s in recap(proc.stdout).values())
        proc = play("playbooks/restore.yml", "-e", "airflow_backup_restore_confirm=yes",
                    "-e", "airflow_backup_restore_file=airflow-19990101T000000Z.dump", check=False)
        assert proc.returncode != 0 and "There is no airflow-19990101T000000Z.dump" in flat(proc.stdout), proc.stdout[-3000:]
    finally:
        on_master(f"rm -f {BACKUP_DIR}/{damaged} {BACKUP_DIR}/{damaged}.sha256")
    assert containers() == running


def test_restore_in_check_mode_changes_nothing(api):
    runs, running, listing = etl_run_ids(api), containers(), backup_dir_listing()
    proc = play("playbooks/restore.yml", "--check", "-e", "airflow_backup_restore_confirm=yes")
    assert recap(proc.stdout)[MASTER]["changed"] > 0
    assert f"Check mode: would restore {dumps()[-1]}" in flat(proc.stdout)
    assert containers() == running and backup_dir_listing() == listing
    assert etl_run_ids(api) == runs


def test_restore_brings_back_a_destroyed_db_from_the_named_backup(api):
    """backup -> a later run -> a newer backup -> PostgreSQL data directory
    destroyed -> refused without confirmation -> a restore that fails half-way
    (so the last restore goes over a populated DB) -> restored by name from
    the backup that is not the newest: exactly the DAG runs of that backup are
    back (the later run is gone), and etl runs."""
    first = api.run_etl()
    _, name = take_backup()
    runs = etl_run_ids(api)
    assert runs[first] == "success"
    later = api.run_etl()
    take_backup()
    assert dumps()[-1] != name

    on_master(f"cd {BASE} && docker compose stop postgres && rm -rf {BASE}/postgres/*")
    assert not pg_data_initialised()

    proc = play("playbooks/restore.yml", check=False)
    assert proc.returncode != 0 and "-e airflow_backup_restore_confirm=yes" in flat(proc.stdout + proc.stderr)
    assert all(s["changed"] == 0 for s in recap(proc.stdout).values())
    assert not pg_data_initialised()

    # A restore that fails half-way (a truncated dump, checksummed as such)
    # leaves the Airflow services stopped, and a DB with part of the dump in
    # it; the same command then just works, over that DB.
    truncated = "airflow-20000102T000000Z.dump"
    on_master(f"cd {BACKUP_DIR} && head -c $(( $(stat -c %s {name}) * 9 / 10 )) {name} > {truncated} "
              f"&& sha256sum {truncated} > {truncated}.sha256")
    try:
        proc = play("playbooks/restore.yml", "-e", "airflow_backup_restore_confirm=yes",
                    "-e", f"airflow_backup_restore_file={truncated}", check=False)
        assert proc.returncode != 0 and "pg_restore: error" in flat(proc.stdout), proc.stdout[-3000:]
        running = on_master(f"cd {BASE} && docker compose ps --status running --format '{{{{.Service}}}}'").stdout
        assert sorted(running.split()) == ["postgres", "redis"]
        assert pg_data_initialised()
    finally:
        on_master(f"rm -f {BACKUP_DIR}/{truncated} {BACKUP_DIR}/{truncated}.sha256")

    proc = play("playbooks/restore.yml", "-e", "airflow_backup_restore_confirm=yes",
                "-e", f"airflow_backup_restore_file={name}")
    assert recap(proc.stdout)[MASTER]["changed"] > 0
    assert f"Restored {name} into the DB airflow" in flat(proc.stdout), proc.stdout[-3000:]
    assert all_healthy() == {h: [] for h in HOSTS}

    client = ready_api()
    after = etl_run_ids(client)
    assert later not in after
    assert after == runs
    new = client.run_etl()
    assert new not in runs

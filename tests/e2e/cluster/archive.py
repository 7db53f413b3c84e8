"""The metadata DB's continuous archive seen from outside: what
pg_stat_archiver says was archived last, waiting for a segment archived
after a moment, and a stream of commits to measure how much acknowledged
history a lost master takes with it (RPO). test_3b_archive, test_6_rebuild
and the bench's figure 7 use them."""

import threading
import time

import requests

from .api import Api
from .settings import BASE
from .shell import sh

PGBACKREST = f"cd {BASE} && docker compose exec -T -u postgres postgres"
# airflow_cluster_archive_timeout's default, which the sandbox keeps
ARCHIVE_TIMEOUT = 60


def _sql(master, query, check=True):
    return sh("docker", "exec", master, "bash", "-c",
              f"{PGBACKREST} psql -X -At -F ' ' -U airflow -d airflow -c \"{query}\"", check=check).stdout


def archiver(master):
    """(last archived WAL, its time as a UTC epoch) from pg_stat_archiver."""
    wal, when = _sql(master, "SELECT coalesce(last_archived_wal, '-'), "
                             "coalesce(extract(epoch FROM last_archived_time), 0) FROM pg_stat_archiver").split()
    return wal, float(when)


def wait_archived_after(master, moment, timeout=150):
    """Wait until PostgreSQL on master has archived a WAL segment after
    moment (epoch); return (segment, time). On failure, say what failed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        wal, when = archiver(master)
        if when > moment:
            return wal, when
        time.sleep(3)
    failed = _sql(master, "SELECT failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver", check=False)
    logs = sh("docker", "exec", master, "bash", "-c", f"cd {BASE} && docker compose logs --tail 30 postgres",
              check=False).stdout
    raise AssertionError(f"no WAL segment reached the archive within {timeout}s after {moment}: last "
                         f"{archiver(master)}, failed (count, segment, time): {failed}\n{logs}")


class Committer(threading.Thread):
    """Makes the variable `key` (wait for it to be archived before .start()),
    then, once started, sets it to the time every second through the REST
    API (a commit as Airflow makes them) until .finish(); .last is the newest
    value the api-server acknowledged. Errors (the master going away) are
    ignored."""

    def __init__(self, key, ui=None):
        super().__init__(daemon=True)
        self.key, self.client, self.last, self.stop = key, Api(ui), None, threading.Event()
        self.client("POST", "/variables", json={"key": key, "value": repr(time.time())})

    def run(self):
        while not self.stop.is_set():
            now = time.time()
            try:
                self.client("PATCH", f"/variables/{self.key}", json={"key": self.key, "value": repr(now)})
                self.last = now
            except (requests.RequestException, AssertionError):
                pass
            self.stop.wait(1)

    def finish(self):
        self.stop.set()
        self.join()
        return self.last


def restored_commit(client, key):
    """The time the restored DB's copy of `key` holds (the last commit kept)."""
    return float(client("GET", f"/variables/{key}")["value"])

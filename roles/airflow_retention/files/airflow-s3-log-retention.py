#!/usr/bin/python3
"""Delete the task logs in S3 older than a number of days: every object under
the logs prefix whose LastModified (its upload, when the task ended) is older
than the cut-off. Run by airflow-s3-log-retention.service on the master (one
host for the one bucket), with the host's AWS CLI v2.

Its settings come from the unit's environment: AIRFLOW_S3_BUCKET,
AIRFLOW_S3_PREFIX (the logs' key prefix), AIRFLOW_S3_LOG_DAYS and
AIRFLOW_S3_ENDPOINT (empty: AWS itself). The AWS CLI reads the credentials,
the region, the path style and the CA from its own files and environment
(AWS_SHARED_CREDENTIALS_FILE, a 0600 file; AWS_CONFIG_FILE; AWS_CA_BUNDLE):
no secret is ever on a command line.

It lists the prefix a page (1000 keys, S3's most) at a time, from the last
key seen (--start-after, so deleting what was listed never disturbs the
listing), and deletes each page's old keys in one delete-objects call. It
exits 1 if any key could not be deleted, and stops at the first failed call.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile

PAGE = 1000


class Failed(Exception):
    """An AWS CLI call that failed."""


def aws(args, endpoint=""):
    """One `aws s3api` call; its JSON output (an empty dict for none)."""
    command = ["aws", *(["--endpoint-url", endpoint] if endpoint else []), "s3api", *args, "--output", "json"]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise Failed(f"aws s3api {args[0]} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def modified(text):
    """LastModified as the AWS CLI prints it (v2: ISO 8601 with an offset; v1: ...Z)."""
    when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def pages(bucket, prefix, endpoint=""):
    """The prefix's objects, a page at a time."""
    start = None
    while True:
        args = ["list-objects-v2", "--bucket", bucket, "--prefix", prefix, "--max-keys", str(PAGE), "--no-paginate"]
        if start:
            args += ["--start-after", start]
        page = aws(args, endpoint)
        contents = page.get("Contents") or []
        yield contents
        if not page.get("IsTruncated") or not contents:
            return
        start = contents[-1]["Key"]


def delete(bucket, keys, folder, endpoint=""):
    """Delete up to PAGE keys in one call; the errors S3 reports."""
    path = os.path.join(folder, "delete.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"Objects": [{"Key": key} for key in keys], "Quiet": True}, handle)
    return aws(["delete-objects", "--bucket", bucket, "--delete", f"file://{path}"], endpoint).get("Errors") or []


def settings(env):
    """Bucket, prefix (ending in /), days and endpoint from the environment."""
    bucket = env.get("AIRFLOW_S3_BUCKET", "").strip()
    prefix = env.get("AIRFLOW_S3_PREFIX", "").strip().strip("/")
    days = env.get("AIRFLOW_S3_LOG_DAYS", "").strip()
    if not bucket or not prefix or not days.isdigit() or int(days) < 1:
        raise Failed("AIRFLOW_S3_BUCKET, AIRFLOW_S3_PREFIX and AIRFLOW_S3_LOG_DAYS (1 or more) must be set: "
                     "the unit sets them (role airflow_retention)")
    return bucket, prefix + "/", int(days), env.get("AIRFLOW_S3_ENDPOINT", "").strip()


def main(env=None, now=None):
    try:
        bucket, prefix, days, endpoint = settings(os.environ if env is None else env)
    except Failed as err:
        print(err, file=sys.stderr)
        return 2
    cutoff = (now or datetime.datetime.now(datetime.timezone.utc)) - datetime.timedelta(days=days)
    print(f"deleting the objects under s3://{bucket}/{prefix} last modified before "
          f"{cutoff:%Y-%m-%dT%H:%M:%SZ} ({days} days)")
    seen = deleted = 0
    errors = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for contents in pages(bucket, prefix, endpoint):
                seen += len(contents)
                old = [o["Key"] for o in contents if modified(o["LastModified"]) < cutoff]
                if old:
                    failed = delete(bucket, old, folder, endpoint)
                    errors += failed
                    deleted += len(old) - len(failed)
    except Failed as err:
        print(f"{deleted} of {seen} objects listed so far deleted; {err}", file=sys.stderr)
        return 1
    print(f"{deleted} of {seen} objects deleted")
    for error in errors[:20]:
        print(f"could not delete {error.get('Key')}: {error.get('Code')} {error.get('Message')}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} objects could not be deleted", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

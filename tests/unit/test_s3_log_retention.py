"""The S3 log retention's script (roles/airflow_retention/files/
airflow-s3-log-retention.py) against a stand-in `aws` on PATH that keeps a
bucket's objects in a JSON file: it deletes the objects under the prefix
older than the days, a page at a time, nothing else, never with a secret on
the command line, and reports what it could not delete."""

import datetime
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles" / "airflow_retention" / "files" / "airflow-s3-log-retention.py"
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
SECRET = "s3-secret-key-never-on-argv"

FAKE_AWS = r'''#!PYTHON
import json, os, sys
path = os.environ["FAKE_AWS_STATE"]
with open(path) as handle:
    state = json.load(handle)
argv = sys.argv[1:]
state["calls"].append(argv)
state["env"].append({k: v for k, v in os.environ.items() if k.startswith("AWS_")})


def opt(name):
    return argv[argv.index(name) + 1] if name in argv else None


out, code = {}, 0
if state.get("fail") in argv:
    print("An error occurred (InternalError): boom", file=sys.stderr)
    code = 254
elif "list-objects-v2" in argv:
    prefix, start, limit = opt("--prefix"), opt("--start-after") or "", int(opt("--max-keys"))
    keys = sorted(k for k in state["objects"] if k.startswith(prefix) and k > start)
    out = {"IsTruncated": len(keys) > limit, "KeyCount": len(keys[:limit])}
    if keys[:limit]:
        out["Contents"] = [{"Key": k, "LastModified": state["objects"][k], "Size": 1} for k in keys[:limit]]
elif "delete-objects" in argv:
    with open(opt("--delete")[len("file://"):]) as handle:
        doc = json.load(handle)
    state["batches"].append(len(doc["Objects"]))
    errors = [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"}
              for o in doc["Objects"] if o["Key"] in state["undeletable"]]
    for o in doc["Objects"]:
        if o["Key"] not in state["undeletable"]:
            del state["objects"][o["Key"]]
    out = {"Errors": errors} if errors else {}
with open(path, "w") as handle:
    json.dump(state, handle)
if code == 0:
    print(json.dumps(out))
sys.exit(code)
'''


@pytest.fixture
def retention():
    spec = importlib.util.spec_from_file_location("s3_log_retention", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def iso(days_ago, v1=False):
    when = NOW - datetime.timedelta(days=days_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z") if v1 else when.isoformat(timespec="seconds")


@pytest.fixture
def bucket(tmp_path, monkeypatch):
    """The stand-in's state: objects (key -> LastModified), the calls made."""
    aws = tmp_path / "bin" / "aws"
    aws.parent.mkdir()
    aws.write_text(FAKE_AWS.replace("PYTHON", sys.executable))
    aws.chmod(0o755)
    state = tmp_path / "state.json"
    monkeypatch.setenv("PATH", f"{aws.parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_AWS_STATE", str(state))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/etc/airflow-retention/aws-credentials")

    class Bucket:
        def put(self, objects, undeletable=(), fail=None):
            state.write_text(json.dumps({"objects": objects, "calls": [], "env": [], "batches": [],
                                         "undeletable": list(undeletable), "fail": fail}))

        def __getattr__(self, name):
            return json.loads(state.read_text())[name]
    return Bucket()


ENV = {"AIRFLOW_S3_BUCKET": "airflow", "AIRFLOW_S3_PREFIX": "logs", "AIRFLOW_S3_LOG_DAYS": "30",
       "AIRFLOW_S3_ENDPOINT": "https://s3.example.invalid:8333"}


def test_only_old_objects_under_the_prefix_are_deleted_a_page_at_a_time(retention, bucket, monkeypatch, capsys):
    monkeypatch.setattr(retention, "PAGE", 3)
    old = {f"logs/dag_id=etl/run_id=manual__2026-10-0{i}T00:00:00+00:00/task_id=load/attempt=1.log": iso(40 + i)
           for i in range(1, 8)}
    kept = {"logs/dag_id=etl/run_id=today/task_id=load/attempt=1.log": iso(1),
            "logs/dag_id=etl/run_id=edge/task_id=load/attempt=1.log": iso(29, v1=True),
            "logs2/old.log": iso(400), "examples/s3_aws_cli/old.bin": iso(400), "logs.old": iso(400)}
    bucket.put({**old, **kept, "logs/v1-old.log": iso(31, v1=True)})
    assert retention.main(ENV, now=NOW) == 0
    assert sorted(bucket.objects) == sorted(kept)
    assert all(n <= 3 for n in bucket.batches) and sum(bucket.batches) == 8
    lists = [c for c in bucket.calls if "list-objects-v2" in c]
    assert len(lists) == 4 and all(c[c.index("--prefix") + 1] == "logs/" for c in lists)
    # each page starts after the last key of the one before (deleting never disturbs the listing)
    assert "--start-after" not in lists[0] and all("--start-after" in c for c in lists[1:])
    assert all(c[:2] == ["--endpoint-url", ENV["AIRFLOW_S3_ENDPOINT"]] for c in bucket.calls)
    out = capsys.readouterr().out
    assert "s3://airflow/logs/ last modified before 2026-11-01T12:00:00Z (30 days)" in out
    assert "8 of 10 objects deleted" in out


def test_the_credentials_come_from_the_aws_cli_files_never_the_command_line(retention, bucket, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    bucket.put({"logs/a.log": iso(90)})
    assert retention.main(ENV, now=NOW) == 0
    assert bucket.calls and not any(SECRET in arg for call in bucket.calls for arg in call)
    assert all(e["AWS_SHARED_CREDENTIALS_FILE"] == "/etc/airflow-retention/aws-credentials" for e in bucket.env)


def test_aws_itself_needs_no_endpoint(retention, bucket):
    bucket.put({"logs/a.log": iso(90)})
    assert retention.main(dict(ENV, AIRFLOW_S3_ENDPOINT=""), now=NOW) == 0
    assert all(c[0] == "s3api" for c in bucket.calls) and bucket.objects == {}


def test_an_empty_prefix_deletes_nothing(retention, bucket, capsys):
    bucket.put({"other/a.log": iso(90)})
    assert retention.main(ENV, now=NOW) == 0
    assert bucket.batches == [] and "0 of 0 objects deleted" in capsys.readouterr().out


def test_keys_it_could_not_delete_fail_the_run_naming_them(retention, bucket, capsys):
    bucket.put({"logs/a.log": iso(90), "logs/b.log": iso(90)}, undeletable=["logs/b.log"])
    assert retention.main(ENV, now=NOW) == 1
    err = capsys.readouterr().err
    assert "could not delete logs/b.log: AccessDenied Access Denied" in err and "1 objects could not" in err
    assert list(bucket.objects) == ["logs/b.log"]


def test_a_failed_call_stops_the_run(retention, bucket, capsys):
    bucket.put({"logs/a.log": iso(90)}, fail="delete-objects")
    assert retention.main(ENV, now=NOW) == 1
    assert "aws s3api delete-objects failed (exit 254): An error occurred (InternalError): boom" in capsys.readouterr().err


@pytest.mark.parametrize("change", [{"AIRFLOW_S3_BUCKET": ""}, {"AIRFLOW_S3_PREFIX": "/"}, {"AIRFLOW_S3_LOG_DAYS": "0"},
                                    {"AIRFLOW_S3_LOG_DAYS": "x"}])
def test_missing_settings_delete_nothing(retention, bucket, capsys, change):
    bucket.put({"logs/a.log": iso(90)})
    assert retention.main(dict(ENV, **change), now=NOW) == 2
    assert bucket.calls == [] and "must be set" in capsys.readouterr().err

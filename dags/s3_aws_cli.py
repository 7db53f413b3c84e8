"""Round trip through the cluster's S3 store with the AWS CLI v2 on the worker.

The task reads the Airflow connection `aws_default` (the airflow_connections
role makes it from the cluster's S3 settings) with the Amazon provider's
AwsBaseHook, and hands its keys, endpoint, region, path style and TLS
verification to the `aws` subprocess through the subprocess's environment
(and a throwaway AWS config file for the path style): never on its command
line, never the worker's own environment. It then uploads a generated file
under examples/s3_aws_cli/, lists it, downloads it, compares the SHA-256
checksums and deletes it (the delete runs even when a step before it failed).

The bucket is the run's `bucket` param, else the Airflow Variable `s3_bucket`
(the stack sets it from airflow_cluster_s3_bucket). Without one the task
fails at once, saying so, rather than skip: the example is there to prove
the store works, and a cluster without S3 must not show it green.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import uuid

import pendulum
from airflow.sdk import Variable, dag, task

CONN_ID = "aws_default"
PREFIX = "examples/s3_aws_cli"
SIZE = 256 * 1024
# AWS_ENDPOINT_URL_S3 (the endpoint from the environment) came with 2.13.
MIN_AWSCLI = (2, 13)


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def aws_environment(conn_id: str, folder: str) -> tuple[dict, list]:
    """The AWS CLI's environment for the connection, and the CLI's extra
    options (none of them a secret): keys, region, endpoint, CA, and a config
    file in `folder` for the addressing style (no variable sets it)."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=conn_id, client_type="s3")
    config = hook.conn_config
    credentials = hook.get_credentials()
    s3_config = dict(getattr(config.botocore_config, "s3", None) or {})
    region = config.region_name or "us-east-1"
    endpoint = config.get_service_endpoint_url("s3")
    aws_config = os.path.join(folder, "aws-config")
    with open(aws_config, "w", encoding="utf-8") as handle:
        handle.write(f"[default]\nregion = {region}\n")
        if endpoint:
            # an S3-compatible store: the CLI's default CRC checksums in a
            # chunked upload's trailer are AWS's own (SeaweedFS refuses them)
            handle.write("request_checksum_calculation = when_required\n"
                         "response_checksum_validation = when_required\n")
        if s3_config.get("addressing_style"):
            handle.write(f"s3 =\n  addressing_style = {s3_config['addressing_style']}\n")
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "HOME": folder, "LANG": "C.UTF-8",
           "AWS_CONFIG_FILE": aws_config, "AWS_SHARED_CREDENTIALS_FILE": os.path.join(folder, "none"),
           "AWS_DEFAULT_REGION": region, "AWS_PAGER": ""}
    if credentials.access_key:
        env["AWS_ACCESS_KEY_ID"] = credentials.access_key
        env["AWS_SECRET_ACCESS_KEY"] = credentials.secret_key
        if credentials.token:
            env["AWS_SESSION_TOKEN"] = credentials.token
    if endpoint:
        env["AWS_ENDPOINT_URL_S3"] = endpoint
    options = []
    if isinstance(config.verify, str) and config.verify:
        env["AWS_CA_BUNDLE"] = config.verify
    elif config.verify is False:
        options.append("--no-verify-ssl")
    elif os.environ.get("AWS_CA_BUNDLE"):
        # the image's system bundle, which holds the store's CA (role airflow_image)
        env["AWS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"]
    where = endpoint or "AWS (the region's own)"
    print(f"connection {conn_id}: endpoint {where}, region {region}, "
          f"addressing style {s3_config.get('addressing_style', 'auto')}, "
          f"keys {'from the connection' if credentials.access_key else 'none (the instance role)'}")
    return env, options


def run_aws(env: dict, options: list, *args: str) -> str:
    """One `aws` command (its output); a failure raises with the CLI's message."""
    command = ["aws", *options, *args]
    print("$ " + " ".join(command))
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def check_awscli(env: dict) -> str:
    version = run_aws(env, [], "--version").strip()
    found = re.match(r"aws-cli/(\d+)\.(\d+)", version)
    if not found or tuple(map(int, found.groups())) < MIN_AWSCLI:
        raise RuntimeError(f"this needs AWS CLI v2 ({'.'.join(map(str, MIN_AWSCLI))} or later, which reads the "
                           f"endpoint from AWS_ENDPOINT_URL_S3), the image has: {version}")
    return version


@dag(
    dag_id="s3_aws_cli",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"bucket": "", "conn_id": CONN_ID},
    tags=["example", "s3"],
)
def s3_aws_cli():
    @task(retries=0)
    def round_trip(params=None, run_id=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        bucket = params["bucket"] or Variable.get("s3_bucket", default="")
        if not bucket:
            raise AirflowFailException(
                "no S3 bucket: set airflow_cluster_s3_bucket in the inventory (the stack then gives the DAGs the "
                "Variable s3_bucket), or pass the run a `bucket` param")
        stamp = pendulum.now("UTC").format("YYYYMMDDTHHmmss")
        key = f"{PREFIX}/{stamp}-{uuid.uuid4().hex[:12]}.bin"
        url = f"s3://{bucket}/{key}"
        with tempfile.TemporaryDirectory() as folder:
            env, options = aws_environment(params["conn_id"], folder)
            version = check_awscli(env)
            sent, received = os.path.join(folder, "sent.bin"), os.path.join(folder, "received.bin")
            with open(sent, "wb") as handle:
                handle.write(f"s3_aws_cli {run_id} {key}\n".encode() + os.urandom(SIZE))
            uploaded = False
            try:
                run_aws(env, options, "s3", "cp", "--only-show-errors", sent, url)
                uploaded = True
                listing = json.loads(run_aws(env, options, "s3api", "list-objects-v2", "--bucket", bucket,
                                             "--prefix", key, "--output", "json") or "{}")
                listed = {o["Key"]: o["Size"] for o in listing.get("Contents") or []}
                if listed.get(key) != os.path.getsize(sent):
                    raise RuntimeError(f"{url} is not listed with {os.path.getsize(sent)} bytes: {listed}")
                print(f"listed {url}: {listed[key]} bytes")
                run_aws(env, options, "s3", "cp", "--only-show-errors", url, received)
                if sha256(received) != sha256(sent):
                    raise RuntimeError(f"{url} came back different: sha256 {sha256(received)}, sent {sha256(sent)}")
                print(f"downloaded {url}: sha256 {sha256(received)} matches")
            finally:
                if uploaded:
                    run_aws(env, options, "s3", "rm", "--only-show-errors", url)
                    print(f"deleted {url}")
            gone = json.loads(run_aws(env, options, "s3api", "list-objects-v2", "--bucket", bucket,
                                      "--prefix", key, "--output", "json") or "{}")
            if gone.get("Contents"):
                raise RuntimeError(f"{url} is still listed after its deletion")
            return {"bucket": bucket, "key": key, "bytes": os.path.getsize(sent), "sha256": sha256(sent),
                    "awscli": version}

    round_trip()


s3_aws_cli()

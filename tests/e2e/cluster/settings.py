"""The cluster under test (the sandbox inventory's hosts, its settings, the
api-server's and Flower's addresses and accounts) and the session's setup:
the sandbox CA trusted by requests, the sandbox base images' tags."""

import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
SANDBOX = ROOT / "tests" / "sandbox" / "sandbox.sh"
# The cluster under test: `make demo`'s by default. E2E_INVENTORY points the
# tests at another sandbox inventory (its hosts.yml names the master and the
# workers); E2E_UI / E2E_FLOWER at its published api-server / Flower.
INVENTORY = os.environ.get("E2E_INVENTORY", "inventory/sandbox")
_GROUPS = yaml.safe_load((ROOT / INVENTORY / "hosts.yml").read_text())["all"]["children"]["airflow"]["children"]
MASTER = next(iter(_GROUPS["airflow_master"]["hosts"]))
WORKERS = list(_GROUPS["airflow_workers"]["hosts"])
HOSTS = [MASTER, *WORKERS]
NEW_WORKER = os.environ.get("E2E_NEW_WORKER", "sandbox-worker-3")
# Notes a module leaves for a later one in another pytest session (the DAG
# release shipped, the image build directory an upgrade left running), one
# set per cluster: .cache/E2E_NOTES-<name> (make test's second cluster sets
# E2E_NOTES=e2e-b).
NOTES = os.environ.get("E2E_NOTES", "e2e")


def note(name):
    return ROOT / ".cache" / f"{NOTES}-{name}"


def upgraded_image_args():
    """-e airflow_image_build_dir=... when test_4_rolling upgraded this
    cluster's image (site.yml without it would roll the cluster back)."""
    path = note("upgraded-image-dir")
    build = path.read_text().strip() if path.exists() else ""
    return ["-e", f"airflow_image_build_dir={build}"] if build and os.path.isdir(build) else []


def ui_url():
    """The api-server's URL (E2E_UI), read when asked (Api reads it when a
    client is made, so whoever sets E2E_UI after the import is heard)."""
    return os.environ.get("E2E_UI", f"https://127.0.0.1:{os.environ.get('DEMO_UI_PORT', '8080')}")


UI = ui_url()
FLOWER = os.environ.get("E2E_FLOWER", f"https://127.0.0.1:{os.environ.get('DEMO_FLOWER_PORT', '5555')}")
# The sandbox's throwaway CA (sandbox.sh tls, run by make demo): the tests'
# HTTPS requests trust it besides this machine's own CAs.
CA = ROOT / ".cache" / "tls" / "ca.crt"


def trust_the_sandbox_ca():
    """Make requests trust CA (once it exists) besides the system's CAs."""
    if CA.exists():
        bundle = CA.with_name("bundle.pem")
        # replaced whole: other pytest sessions (make test's lanes) read it meanwhile
        fresh = CA.with_name(f"bundle.pem.{os.getpid()}")
        fresh.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + CA.read_text())
        os.replace(fresh, bundle)
        os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)


trust_the_sandbox_ca()
# The sandbox base images' tags (inventory/sandbox's SANDBOX_TAG_*), worked
# out once for the session rather than by each playbook run at each use:
# make e2e sets them (the Makefile's SANDBOX_TAGS); this is for pytest run by hand.
for _kind in ("airflow-base", "postgres", "redis"):
    os.environ.setdefault("SANDBOX_TAG_" + _kind.upper().replace("-", "_"),
                          subprocess.run([str(SANDBOX), "image-tag", _kind], check=True, capture_output=True,
                                         text=True).stdout.strip())
# The sandbox S3 store's address (the inventory's SANDBOX_S3_ADDRESS).
os.environ.setdefault("SANDBOX_S3_ADDRESS", subprocess.run([str(SANDBOX), "address", "sandbox-s3"], check=False,
                                                           capture_output=True, text=True).stdout.strip())
S3_ENDPOINT = f"https://{os.environ['SANDBOX_S3_ADDRESS']}:8333"
S3_BUCKET = "airflow-sandbox"
ADMIN = ("admin", "sandbox-demo-admin")
# the sandbox's read-only user (airflow_users_list) and Flower's account
VIEWER = ("viewer", "sandbox-demo-viewer")
FLOWER_AUTH = ("flower", "sandbox-demo-flower")
# The sandbox sets the cluster-wide base directory and UID to values other
# than the defaults, so the tests check that everything follows them.
_SETTINGS = yaml.safe_load((ROOT / INVENTORY / "group_vars" / "all" / "main.yml").read_text())
BASE = _SETTINGS.get("airflow_cluster_base_dir", "/opt/airflow")
UID = _SETTINGS.get("airflow_cluster_uid", 50000)
GID = _SETTINGS.get("airflow_cluster_gid", 50000)
PLAYBOOK = ["ansible-playbook", "--vault-password-file", str(ROOT / "tests/sandbox/demo-vault-password")]
EXPECTED_TOTALS = {"kim": 150, "lee": 80}
# the sandbox vault's demo values: they must never show up in playbook output
DEMO_SECRETS = ["sandbox-demo-api-secret-key", "sandbox-demo-jwt-secret", "sandbox-demo-postgres",
                "sandbox-demo-redis", "sandbox-demo-admin", "sandbox-demo-flower", "sandbox-demo-viewer",
                "sandboxdemoAAAA", "sandbox-demo-s3-secret-key", "sandbox-demo-archive-cipher-pass"]

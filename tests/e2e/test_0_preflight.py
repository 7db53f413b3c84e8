"""A battery of broken inventories against the running sandbox cluster: each
one must stop site.yml in its preflight, on every host, before any change,
with a message that names the setting (and the host where it matters) and
prints no secret.

The cases run a few at a time (they only read the hosts), each with its own
fact cache. "Nothing changed" is checked on the hosts themselves (stack
files, DAG release, containers, systemd units, accounts), before and after
the whole battery, besides each run's PLAY RECAP.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from cluster import BASE, DEMO_SECRETS, HOSTS, GID, MASTER, PLAYBOOK, UID, WORKERS, copy_of_inventory, recap, sh

W1, W2 = WORKERS[0], WORKERS[1]


def _hosts(inventory):
    path = inventory / "hosts.yml"
    return path, yaml.safe_load(path.read_text())


def _groups(doc):
    return doc["all"]["children"]["airflow"]["children"]


def group_vars(text, group="airflow"):
    """Settings for a group; by default `airflow`, every host: the inventory's
    group_vars/all loses to the playbooks' group_vars/all (issue 9), a child
    group's wins."""
    def change(inventory):
        (inventory / "group_vars" / group).mkdir(parents=True, exist_ok=True)
        (inventory / "group_vars" / group / "zz_broken.yml").write_text(text)
    return change


def host_vars(host, text):
    def change(inventory):
        (inventory / "host_vars").mkdir(exist_ok=True)
        path = inventory / "host_vars" / f"{host}.yml"
        path.write_text((path.read_text() if path.exists() else "") + "\n" + text)
    return change


def topology(edit):
    def change(inventory):
        path, doc = _hosts(inventory)
        edit(_groups(doc))
        path.write_text(yaml.safe_dump(doc))
    return change


def _two_masters(groups):
    groups["airflow_master"]["hosts"][W1] = groups["airflow_workers"]["hosts"].pop(W1)


def _master_also_worker(groups):
    groups["airflow_workers"]["hosts"][MASTER] = None


def _no_worker(groups):
    groups["airflow_workers"]["hosts"] = {}


def _no_master(groups):
    groups["airflow_master"]["hosts"] = {}


def _unreachable_worker(groups):
    groups["airflow_workers"]["hosts"]["sandbox-ghost"] = {"ansible_host": "sandbox-no-such-container"}


def _one_host_twice(groups):
    groups["airflow_workers"]["hosts"][W2] = {"ansible_host": W1}


def _key_of_another_certificate(inventory):
    """A TLS key that is not the certificate's (a new one, next to the inventory)."""
    key = inventory / "other.key"
    sh("openssl", "genrsa", "-out", str(key), "2048")
    group_vars(f"airflow_stack_tls_key_file: {key}\n")(inventory)


# (id, change to the inventory, extra ansible-playbook arguments, expected text)
CASES = [
    ("no-master", topology(_no_master), [],
     "The inventory group 'airflow_master' must hold exactly one host; it has 0"),
    ("two-masters", topology(_two_masters), [],
     "The inventory group 'airflow_master' must hold exactly one host; it has 2"),
    ("host-in-both-groups", topology(_master_also_worker), [],
     f"{MASTER} is in both 'airflow_master' and 'airflow_workers'"),
    ("no-worker-at-all", lambda inv: (topology(_no_worker)(inv),
                                      host_vars(MASTER, "airflow_stack_master_worker_enabled: false\n")(inv)), [],
     "No host runs a Celery worker"),
    ("no-worker-serves-default", group_vars('airflow_stack_worker_queues: ["{{ inventory_hostname }}"]\n',
                                            "airflow_workers"), [],
     "No Celery worker serves the queue 'default'"),
    ("queues-given-as-a-string", group_vars("airflow_stack_worker_queues: default,etl\n", "airflow_workers"), [],
     f"On {W1}: airflow_stack_worker_queues must be a list of queue names"),
    ("queue-name-with-spaces", host_vars(W2, "airflow_stack_worker_queues: [default, my queue]\n"), [],
     f"On {W2}: airflow_stack_worker_queues must name at least one queue"),
    ("concurrency-zero", host_vars(W1, "airflow_stack_worker_concurrency: 0\n"), [],
     f"On {W1}: airflow_stack_worker_concurrency must be a whole number of 1 or more"),
    ("concurrency-not-a-number", group_vars("airflow_stack_worker_concurrency: many\n"), [],
     "role airflow_stack: argument 'airflow_stack_worker_concurrency' is of type str"),
    ("grace-period-in-words", group_vars("airflow_stack_worker_stop_grace_period: ten minutes\n"), [],
     "argument 'airflow_stack_worker_stop_grace_period' is of type str"),
    ("rolling-batch-over-100-percent", group_vars('airflow_stack_rolling_batch: "150%"\n'), [],
     "airflow_stack_rolling_batch must be a number of workers (e.g. 2) or a percentage"),
    ("advertise-address-not-on-the-host", host_vars(W1, "airflow_stack_advertise_address: 192.0.2.10\n"), [],
     f"airflow_stack_advertise_address '192.0.2.10' is not an address of {W1}"),
    ("one-host-listed-twice", topology(_one_host_twice), [],
     "have the same address"),
    ("two-services-on-one-port", group_vars("airflow_stack_redis_port: 5432\n"), [],
     f"On {MASTER}: Two services of {MASTER} would listen on one port"),
    ("port-out-of-range", group_vars("airflow_stack_api_port: 70000\n"), [],
     "airflow_stack_api_port must be a port number from 1 to 65535, got '70000'"),
    ("base-image-of-another-release", group_vars('airflow_image_base: "apache/airflow:3.3.1-python3.12"\n'), [],
     "airflow_image_base 'apache/airflow:3.3.1-python3.12' is Airflow 3.3.1, but airflow_cluster_airflow_version is '3.3.2'"),
    ("weak-admin-password", group_vars("vault_airflow_admin_password: admin12345\n"), [],
     "airflow_stack_admin_password is too weak (10 characters, at least 16 needed)"),
    ("user-with-an-unknown-role", group_vars("airflow_stack_users: [{username: ann, role: Superuser, email: a@x.invalid}]\n"
                                             "vault_airflow_user_passwords: {ann: sandbox-demo-0123456789}\n"), [],
     "value of role must be one of: Admin, Op, User, Viewer, got: Superuser"),
    ("user-without-a-password", group_vars("airflow_stack_users: [{username: ann, role: Op, email: a@x.invalid}]\n"), [],
     "'ann' has no password: add it to vault_airflow_user_passwords"),
    ("two-users-one-email", group_vars("airflow_stack_users: [{username: ann, role: Op, email: a@x.invalid},"
                                       " {username: bob, role: User, email: A@x.invalid}]\n"
                                       "vault_airflow_user_passwords: {ann: sandbox-demo-0123456789,"
                                       " bob: sandbox-demo-9876543210}\n"), [],
     "the e-mail A@x.invalid is given to more than one user"),
    ("firewall-network-not-a-cidr", group_vars("airflow_stack_firewall_ui_networks: [10.0.0.0/33, office]\n"), [],
     "10.0.0.0/33, office: not an IPv4 address or CIDR"),
    ("tls-certificate-missing", group_vars("airflow_stack_tls_cert_file: /nonexistent/airflow.crt\n"), [],
     "airflow_stack_tls_cert_file ('/nonexistent/airflow.crt') is not a file on the controller"),
    ("tls-key-of-another-certificate", _key_of_another_certificate, [],
     "airflow_stack_tls_key_file is not the key of airflow_stack_tls_cert_file"),
    ("weak-flower-password", group_vars("vault_airflow_flower_password: flower\n"), [],
     "airflow_stack_flower_password is too weak"),
    ("secret-not-set", group_vars('vault_airflow_jwt_secret: ""\n'), [],
     "airflow_stack_jwt_secret is not set"),
    ("secret-that-breaks-urls", group_vars('vault_airflow_redis_password: "p@ss:word-0123456789"\n'), [],
     "airflow_stack_redis_password may only hold letters"),
    ("demo-secrets-in-production", group_vars("airflow_stack_allow_demo_secrets: false\n"), [],
     "airflow_stack_jwt_secret is a demo or placeholder value"),
    ("not-a-fernet-key", group_vars("vault_airflow_fernet_key: not-a-fernet-key-at-all-0123456789\n"), [],
     "airflow_stack_fernet_key is not a Fernet key"),
    ("settings-differ-on-one-host", host_vars(W2, "vault_airflow_jwt_secret: sandbox-demo-other-jwt-secret\n"
                                                  "airflow_stack_extra_env: {AIRFLOW__CORE__PARALLELISM: '8'}\n"), [],
     f"on {W2}: airflow_stack_jwt_secret, airflow_stack_extra_env;"),
    ("uid-of-another-account", group_vars("airflow_cluster_uid: 0\n"), [],
     f"User 'airflow' already exists with UID {UID}, not the requested 0"),
    ("gid-of-another-group", group_vars("airflow_cluster_gid: 0\n"), [],
     f"Group 'airflow' already exists with GID {GID}, not the requested 0"),
    ("setting-under-its-old-name", group_vars("airflow_user_uid: 51000\nairflow_stack_base_dir: /data/airflow\n"), [],
     "the inventory sets airflow_stack_base_dir (now airflow_cluster_base_dir); airflow_user_uid (now airflow_cluster_uid)."),
    ("base-dir-on-one-host", host_vars(W1, "airflow_cluster_base_dir: /data/airflow\n"), [],
     f"on {W1}: airflow_cluster_base_dir, airflow_cluster_backup_dir;"),
    ("dir-mode-not-octal", group_vars('airflow_user_dir_mode: "rwxrwsr-x"\n'), [],
     'airflow_user_dir_mode must be an octal'),
    ("subdir-outside-the-tree", group_vars("airflow_user_subdirs: [logs, /etc]\n"), [],
     "airflow_user_subdirs must be"),
    ("unknown-docker-install-source", host_vars(W1, "docker_install_source: rsync\n"), [],
     f"On {W1}: role docker: value of docker_install_source must be one of: docker_repo, distro, got: rsync"),
    ("unknown-awscli-install-source", group_vars("awscli_install_source: pip\n"), [],
     "awscli_install_source must be one of"),
    ("unknown-image-source", group_vars("airflow_image_source: rsync\n"), [],
     "airflow_image_source is 'rsync'; it must be build, pull or ship."),
    ("registry-user-without-password", group_vars("airflow_image_registry_username: puller\n"), [],
     "airflow_image_registry_username and airflow_image_registry_password go together"),
    ("limit-without-the-master", lambda inv: None, ["--limit", W1],
     f"The master {MASTER} is not part of this run"),
    ("unreachable-worker", topology(_unreachable_worker), [],
     "fatal: [sandbox-ghost]"),
]


def host_state():
    """What a run that changed anything would leave different on the hosts."""
    probe = (f"sha256sum {BASE}/.env {BASE}/compose.yml; readlink {BASE}/dags/current; "
             "docker ps -a --no-trunc --format '{{.ID}} {{.Status}}' | sed 's/Up .*/Up/' | sort; "
             "ls -l --time-style=+%s /etc/systemd/system/airflow-* /usr/local/bin/airflow-* 2>/dev/null; "
             f"getent passwd airflow; getent group airflow; getfacl -p {BASE} 2>/dev/null")
    return {h: sh("docker", "exec", h, "sh", "-c", probe).stdout for h in HOSTS}


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    # the broken inventories first, one after the other (tmp_path_factory is
    # not thread-safe); then the runs, a few at a time
    inventories = {}
    for name, change, _, _ in CASES:
        inventories[name] = copy_of_inventory(tmp_path_factory.mktemp(name))
        change(inventories[name])

    def run(case):
        name, _, extra, _ = case
        inventory = inventories[name]
        facts = str(inventory.parent / "facts")
        proc = sh(*PLAYBOOK, "-i", str(inventory), *extra, "playbooks/site.yml", check=False,
                  env={**os.environ, "ANSIBLE_CACHE_PLUGIN_CONNECTION": facts})
        return name, proc

    before = host_state()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, CASES))
    return results, before, host_state()


def test_the_battery_has_at_least_20_broken_inventories():
    assert len({c[0] for c in CASES}) == len(CASES) >= 20


def test_no_host_changed_during_the_battery(battery):
    _, before, after = battery
    assert after == before


@pytest.mark.parametrize("name, expected", [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_a_broken_inventory_stops_in_the_preflight(battery, name, expected):
    proc = battery[0][name]
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert expected in " ".join(out.split()), out[-4000:]
    # stopped in the preflight play, on every host: no later play started
    assert "PLAY [Prepare the hosts]" not in out, "a host went on past the preflight"
    stats = recap(proc.stdout)
    assert stats and all(s["changed"] == 0 for s in stats.values()), stats
    if name != "unreachable-worker":
        assert "Nothing was changed" in out
    assert not [secret for secret in DEMO_SECRETS + ["sandbox-demo-other-jwt-secret"] if secret in out]

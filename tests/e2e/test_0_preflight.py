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
import re
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


def _cases(*cases):
    """(id, change, extra arguments, expected texts, the settings the
    messages name: exactly those, or None for Ansible's own messages)."""
    return [(c[0], c[1], c[2], (c[3],) if isinstance(c[3], str) else c[3], c[4]) for c in cases]


SECRET = "(a secret, not shown)"
CASES = _cases(
    # the inventory's layout
    ("no-master", topology(_no_master), [],
     "the inventory group 'airflow_master' must hold exactly one host; it has 0", {"airflow_cluster_master_group"}),
    ("two-masters", topology(_two_masters), [],
     "the inventory group 'airflow_master' must hold exactly one host; it has 2", {"airflow_cluster_master_group"}),
    ("host-in-both-groups", topology(_master_also_worker), [],
     f"{MASTER} is in both 'airflow_master' and 'airflow_workers'", {"airflow_cluster_worker_group"}),
    ("no-worker-at-all", lambda inv: (topology(_no_worker)(inv),
                                      host_vars(MASTER, "airflow_cluster_master_worker_enabled: false\n")(inv)), [],
     "no host runs a Celery worker", {"airflow_cluster_master_worker_enabled"}),
    ("no-worker-serves-default", group_vars('airflow_stack_worker_queues: ["{{ inventory_hostname }}"]\n',
                                            "airflow_workers"), [],
     "no Celery worker serves the queue 'default'", {"airflow_stack_worker_queues"}),
    ("limit-without-the-master", lambda inv: None, ["--limit", W1],
     f"On {W1}: --limit is '{W1}': the master {MASTER} is not part of this run", {"--limit"}),
    ("unreachable-worker", topology(_unreachable_worker), [], "fatal: [sandbox-ghost]", None),
    # workers, queues, ports
    ("queues-given-as-a-string", group_vars("airflow_stack_worker_queues: default,etl\n", "airflow_workers"), [],
     f"On {W1}: airflow_stack_worker_queues is 'default,etl': it must be a list of queue names",
     {"airflow_stack_worker_queues"}),
    ("queue-name-with-spaces", host_vars(W2, "airflow_stack_worker_queues: [default, my queue]\n"), [],
     (f"On {W2}: airflow_stack_worker_queues is", "it must name at least one queue"), {"airflow_stack_worker_queues"}),
    ("concurrency-zero", host_vars(W1, "airflow_stack_worker_concurrency: 0\n"), [],
     f"On {W1}: airflow_stack_worker_concurrency is 0: it must be a whole number of 1 or more",
     {"airflow_stack_worker_concurrency"}),
    ("concurrency-not-a-number", group_vars("airflow_stack_worker_concurrency: many\n"), [],
     "role airflow_stack: argument 'airflow_stack_worker_concurrency' is of type str", None),
    ("two-services-on-one-port", group_vars("airflow_cluster_broker_port: 5432\n"), [],
     f"On {MASTER}: airflow_cluster_broker_port is 5432: airflow_cluster_postgres_port of {MASTER} listens on that port too",
     {"airflow_cluster_broker_port"}),
    ("port-out-of-range", group_vars("airflow_cluster_api_port: 70000\n"), [],
     "airflow_cluster_api_port is 70000: it must be a port number from 1 to 65535", {"airflow_cluster_api_port"}),
    # rolling changes and timeouts
    ("grace-period-negative", group_vars("airflow_stack_worker_stop_grace_period: -5\n"), [],
     "airflow_stack_worker_stop_grace_period is -5: it must be a whole number of seconds, at least 1",
     {"airflow_stack_worker_stop_grace_period"}),
    ("rolling-batch-over-100-percent", group_vars('airflow_stack_rolling_batch: "150%"\n'), [],
     "airflow_stack_rolling_batch is '150%': it must be a number of workers (e.g. 2) or a percentage",
     {"airflow_stack_rolling_batch"}),
    ("visibility-shorter-than-the-grace-period", group_vars("airflow_stack_celery_visibility_timeout: 120\n"), [],
     "airflow_stack_celery_visibility_timeout is 120: it must be longer than airflow_stack_worker_stop_grace_period "
     "(180 s)", {"airflow_stack_celery_visibility_timeout"}),
    ("wait-timeout-zero", group_vars("airflow_cluster_wait_timeout: 0\n"), [],
     "airflow_cluster_wait_timeout is 0: it must be a whole number of seconds, at least 1",
     {"airflow_cluster_wait_timeout"}),
    # extra settings
    ("extra-env-the-project-sets", group_vars("airflow_stack_extra_env: {AIRFLOW__CORE__EXECUTOR: LocalExecutor}\n"), [],
     f"airflow_stack_extra_env.AIRFLOW__CORE__EXECUTOR is {SECRET}: the project sets this one itself",
     {"airflow_stack_extra_env.AIRFLOW__CORE__EXECUTOR"}),
    ("extra-env-value-with-a-newline", group_vars('airflow_stack_extra_env: {AIRFLOW__CORE__PARALLELISM: "8\\nX=1"}\n'), [],
     f"airflow_stack_extra_env.AIRFLOW__CORE__PARALLELISM is {SECRET}: a value must be one line of text",
     {"airflow_stack_extra_env.AIRFLOW__CORE__PARALLELISM"}),
    # paths
    ("base-dir-relative", group_vars("airflow_cluster_base_dir: srv/airflow\n"), [],
     "airflow_cluster_base_dir is 'srv/airflow': it must be an absolute path", {"airflow_cluster_base_dir"}),
    ("base-dir-in-a-tmpfs-tree", group_vars("airflow_cluster_base_dir: /run/airflow\n"), [],
     "airflow_cluster_base_dir is '/run/airflow': it is inside /run", {"airflow_cluster_base_dir"}),
    ("backups-in-the-db-data", group_vars(f"airflow_cluster_backup_dir: {BASE}/postgres/backups\n"), [],
     f"airflow_cluster_backup_dir is '{BASE}/postgres/backups': it is inside {BASE}/postgres",
     {"airflow_cluster_backup_dir"}),
    ("tree-inside-the-backups", group_vars("airflow_cluster_backup_dir: /data\nairflow_cluster_base_dir: /data/airflow\n"),
     [], "airflow_cluster_base_dir is '/data/airflow': it is inside the backups' directory", {"airflow_cluster_base_dir"}),
    # names
    ("db-user-with-a-dash", group_vars("airflow_cluster_postgres_user: air-flow\n"), [],
     "airflow_cluster_postgres_user is 'air-flow': PostgreSQL and the connection URLs take",
     {"airflow_cluster_postgres_user"}),
    ("image-name-in-capitals", group_vars("airflow_image_name: Sandbox/Airflow\n"), [],
     "airflow_image_name is 'Sandbox/Airflow': docker takes a repository name of lowercase", {"airflow_image_name"}),
    ("backend-image-with-a-space", group_vars('airflow_cluster_postgres_image: "postgres 17"\n'), [],
     "airflow_cluster_postgres_image is 'postgres 17': it is not an image reference", {"airflow_cluster_postgres_image"}),
    ("base-image-of-another-release", group_vars('airflow_image_base: "apache/airflow:3.3.1-python3.12"\n'), [],
     "airflow_image_base is 'apache/airflow:3.3.1-python3.12': it is Airflow 3.3.1, but airflow_cluster_airflow_version "
     "is '3.3.2'", {"airflow_image_base"}),
    # counts that would delete what is in use
    ("backups-kept-zero", group_vars("airflow_backup_keep: 0\n"), [],
     "airflow_backup_keep is 0: it must be a whole number of 1 or more", {"airflow_backup_keep"}),
    # secrets
    ("weak-admin-password", group_vars("vault_airflow_admin_password: admin12345\n"), [],
     f"airflow_users_admin_password is {SECRET}: it is too weak (10 characters, at least 16 needed)",
     {"airflow_users_admin_password"}),
    ("secret-not-set", group_vars('vault_airflow_jwt_secret: ""\n'), [],
     f"airflow_stack_jwt_secret is {SECRET}: it is not set", {"airflow_stack_jwt_secret"}),
    ("secret-that-breaks-urls", group_vars('vault_airflow_redis_password: "p@ss:word-0123456789"\n'), [],
     f"airflow_stack_redis_password is {SECRET}: it may only hold letters", {"airflow_stack_redis_password"}),
    ("demo-secrets-in-production", group_vars("airflow_stack_allow_demo_secrets: false\n"), [],
     f"airflow_stack_jwt_secret is {SECRET}: it is a demo or placeholder value", None),
    ("not-a-fernet-key", group_vars("vault_airflow_fernet_key: not-a-fernet-key-at-all-0123456789\n"), [],
     f"airflow_stack_fernet_key is {SECRET}: it is not a Fernet key", {"airflow_stack_fernet_key"}),
    ("settings-differ-on-one-host", host_vars(W2, "vault_airflow_jwt_secret: sandbox-demo-other-jwt-secret\n"
                                                  "airflow_stack_extra_env: {AIRFLOW__CORE__PARALLELISM: '8'}\n"), [],
     (f"On {W2}: airflow_stack_jwt_secret is {SECRET}: it must be the same on every host",
      f"On {W2}: airflow_stack_extra_env is {SECRET}: it must be the same"),
     {"airflow_stack_jwt_secret", "airflow_stack_extra_env"}),
    ("base-dir-on-one-host", host_vars(W1, "airflow_cluster_base_dir: /data/airflow\n"), [],
     (f"On {W1}: airflow_cluster_base_dir is '/data/airflow': it must be the same on every host",
      f"On {W1}: airflow_cluster_backup_dir is '/data/airflow/backups'"),
     {"airflow_cluster_base_dir", "airflow_cluster_backup_dir"}),
    ("setting-under-its-old-name", group_vars("airflow_user_uid: 51000\nairflow_stack_base_dir: /data/airflow\n"), [],
     (f"On {MASTER}: airflow_stack_base_dir is '/data/airflow': this release no longer reads that name; it is now "
      "airflow_cluster_base_dir", "airflow_user_uid is 51000: this release no longer reads that name; it is now "
      "airflow_cluster_uid"), {"airflow_stack_base_dir", "airflow_user_uid"}),
    # the UI's users
    ("user-with-an-unknown-role", group_vars("airflow_users_list: [{username: ann, role: Superuser, email: a@x.invalid}]\n"
                                             "vault_airflow_user_passwords: {ann: sandbox-demo-0123456789}\n"), [],
     "value of role must be one of: Admin, Op, User, Viewer, got: Superuser", None),
    ("user-without-a-password", group_vars("airflow_users_list: [{username: ann, role: Op, email: a@x.invalid}]\n"), [],
     f"airflow_users_passwords.ann is {SECRET}: 'ann' has no password: add it to vault_airflow_user_passwords",
     {"airflow_users_passwords.ann"}),
    ("two-users-one-email", group_vars("airflow_users_list: [{username: ann, role: Op, email: a@x.invalid},"
                                       " {username: bob, role: User, email: A@x.invalid}]\n"
                                       "vault_airflow_user_passwords: {ann: sandbox-demo-0123456789,"
                                       " bob: sandbox-demo-9876543210}\n"), [],
     "airflow_users_list[1].email is 'A@x.invalid': the e-mail of 'bob' is given to more than one user",
     {"airflow_users_list[1].email"}),
    # connections, variables and pools
    ("connection-password-for-no-connection", group_vars(
        "airflow_connections_list: [{conn_id: warehouse, conn_type: postgres}]\n"
        "vault_airflow_connection_passwords: {warehuose: sandbox-demo-connection-password}\n"), [],
     f"airflow_connections_passwords.warehuose is {SECRET}: 'warehuose' names no connection of "
     "airflow_connections_list (warehouse)", {"airflow_connections_passwords.warehuose"}),
    # the firewall
    ("firewall-network-not-a-cidr", group_vars("airflow_firewall_ui_networks: [10.0.0.0/33, office]\n"), [],
     "10.0.0.0/33, office: not an IPv4 address or CIDR", {"airflow_firewall_ui_networks"}),
    # TLS
    ("tls-certificate-missing", group_vars("airflow_stack_tls_cert_file: /nonexistent/airflow.crt\n"), [],
     "airflow_stack_tls_cert_file is '/nonexistent/airflow.crt': the api-server serves HTTPS (airflow_stack_tls_enabled), "
     "but it is not a file on the controller", {"airflow_stack_tls_cert_file"}),
    ("tls-key-of-another-certificate", _key_of_another_certificate, [],
     "it is not the key of airflow_stack_tls_cert_file", {"airflow_stack_tls_key_file"}),
    ("tls-ui-host-not-in-the-certificate", group_vars("airflow_stack_ui_url: https://ui.sandbox.invalid:8080\n"), [],
     "airflow_stack_ui_url is 'https://ui.sandbox.invalid:8080': airflow_stack_tls_cert_file does not name "
     "ui.sandbox.invalid", {"airflow_stack_ui_url"}),
    # the host roles
    ("uid-of-another-account", group_vars("airflow_cluster_uid: 51234\n"), [],
     f"airflow_cluster_uid is 51234: user 'airflow' already exists with UID {UID}, not the requested 51234",
     {"airflow_cluster_uid"}),
    ("acl-user-that-does-not-exist", group_vars("airflow_user_acl_users: [ghost]\n"), [],
     f"On {MASTER}: airflow_user_acl_users is [\"ghost\"]: ghost: no such user on {MASTER}", {"airflow_user_acl_users"}),
    ("docker-user-that-does-not-exist", host_vars(W2, "docker_users: [airflow, ci-bot]\n"), [],
     f"On {W2}: docker_users is", {"docker_users"}),
    ("subdir-outside-the-tree", group_vars("airflow_user_subdirs: [logs, /etc]\n"), [],
     "it must be a list of relative names inside airflow_cluster_base_dir", {"airflow_user_subdirs"}),
    ("unknown-docker-install-source", host_vars(W1, "docker_install_source: rsync\n"), [],
     f"On {W1}: role docker: value of docker_install_source must be one of: docker_repo, distro, got: rsync", None),
    ("unknown-image-source", group_vars("airflow_image_source: rsync\n"), [],
     "airflow_image_source is 'rsync': it must be one of build, pull, ship", {"airflow_image_source"}),
    ("registry-user-without-password", group_vars("airflow_image_registry_username: puller\n"), [],
     "airflow_image_registry_username is 'puller': airflow_image_registry_username and airflow_image_registry_password "
     "go together", {"airflow_image_registry_username"}),
    # addresses
    ("advertise-address-not-on-the-host", host_vars(W1, "airflow_cluster_advertise_address: 192.0.2.10\n"), [],
     f"On {W1}: airflow_cluster_advertise_address is '192.0.2.10': it is not an address of {W1}",
     {"airflow_cluster_advertise_address"}),
    ("advertise-address-ipv6", host_vars(W1, 'airflow_cluster_advertise_address: "fd00::10"\n'), [],
     f"On {W1}: airflow_cluster_advertise_address is 'fd00::10': it is an IPv6 address",
     {"airflow_cluster_advertise_address"}),
    ("advertise-address-docker-bridge", host_vars(W2, "airflow_cluster_advertise_address: 172.17.0.1\n"), [],
     f"On {W2}: airflow_cluster_advertise_address is '172.17.0.1': it is the address of docker0, a Docker network",
     {"airflow_cluster_advertise_address"}),
    ("one-host-listed-twice", topology(_one_host_twice), [],
     "has the same address", {"airflow_cluster_advertise_address"}),
)

PROBLEM = re.compile(r"On (\S+): (\S+) is ")


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
    for name, change, _, _, _ in CASES:
        inventories[name] = copy_of_inventory(tmp_path_factory.mktemp(name))
        change(inventories[name])

    def run(case):
        name, _, extra, _, _ = case
        inventory = inventories[name]
        facts = str(inventory.parent / "facts")
        # a longer connection timeout than ansible.cfg's: four runs at once
        # beside the molecule scenarios load the machine (a docker exec to the
        # master once timed out after 10 s, failing a case for no input of its own)
        proc = sh(*PLAYBOOK, "-i", str(inventory), *extra, "playbooks/site.yml", check=False,
                  env={**os.environ, "ANSIBLE_CACHE_PLUGIN_CONNECTION": facts, "ANSIBLE_TIMEOUT": "60"})
        return name, proc

    before = host_state()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, CASES))
    return results, before, host_state()


def test_the_battery_has_at_least_45_broken_inventories():
    """A representative case of each class the rules refuse; every value of
    every rule is in the unit tier (tests/unit/test_preflight_*.py)."""
    assert len({c[0] for c in CASES}) == len(CASES) >= 45


def test_no_host_changed_during_the_battery(battery):
    _, before, after = battery
    assert after == before


@pytest.mark.parametrize("name, expected, settings", [(c[0], c[3], c[4]) for c in CASES], ids=[c[0] for c in CASES])
def test_a_broken_inventory_stops_in_the_preflight(battery, name, expected, settings):
    proc = battery[0][name]
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    flat = " ".join(out.split())
    for text in expected:
        assert text in flat, out[-4000:]
    # every message names the setting that is wrong, and only it
    if settings is not None:
        named = {m.group(2) for line in proc.stdout.splitlines() if (m := PROBLEM.search(line))}
        assert named == settings, out[-4000:]
    # stopped in the preflight play, on every host: no later play started
    assert "PLAY [Sort the hosts" not in out, "a host went on past the preflight"
    stats = recap(proc.stdout)
    assert stats and all(s["changed"] == 0 for s in stats.values()), stats
    if name != "unreachable-worker":
        assert "Nothing was changed" in out
    assert not [secret for secret in DEMO_SECRETS + ["sandbox-demo-other-jwt-secret"] if secret in out]

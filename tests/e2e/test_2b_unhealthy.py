"""A stack that does not become healthy in time fails the run with its state
and its services' logs, and the same command without the cause then repairs
it, and only it. make test runs it first on its second cluster (a cluster
running dags/ as its inventory ships them, so the master has nothing to
change); it leaves the cluster as it found it.
"""

from cluster import (BASE, DEMO_SECRETS, INVENTORY, MASTER, PLAYBOOK, PORTS, WORKERS, changed_tasks, copy_of_inventory,
                     on_host, recap, sh)


def test_a_stack_that_does_not_become_healthy_fails_with_its_logs(tmp_path):
    inventory = copy_of_inventory(tmp_path)
    run = [*PLAYBOOK, "--limit", f"{MASTER},{WORKERS[0]}"]
    # One worker gets a new setting (so it is recreated) and cannot become
    # healthy: its host drops what its containers send to the broker's port
    # (the worker is stopped first, so there is nothing to drain, which would
    # need the broker too). Then 20 s are plenty to see it fail.
    (inventory / "host_vars" / f"{WORKERS[0]}.yml").write_text(
        "airflow_stack_worker_concurrency: 3\nairflow_cluster_wait_timeout: 20\n")
    block = f"DOCKER-USER -p tcp --dport {PORTS['broker']} -j REJECT"
    on_host(WORKERS[0], f"docker compose --project-directory {BASE} stop worker && iptables -I {block}")
    try:
        proc = sh(*run, "-i", str(inventory), "playbooks/site.yml", check=False)
        rules = on_host(WORKERS[0], "iptables -S FORWARD; iptables -S DOCKER-USER").stdout
    finally:
        on_host(WORKERS[0], f"iptables -D {block}")
    # the same command without the cause (run first, so that a failed check
    # below leaves the cluster as the next modules expect it)
    repair = sh(*run, "-i", INVENTORY, "playbooks/site.yml").stdout
    out = proc.stdout + proc.stderr
    assert f"--dport {PORTS['broker']} -j REJECT" in rules, f"the block is gone after the run:\n{rules}"
    assert proc.returncode != 0, f"{out[-4000:]}\n{rules}"
    assert f"The Airflow stack on {WORKERS[0]} did not become healthy" in out, out[-3000:]
    assert "----- worker (last 40 lines)" in out, out[-3000:]
    assert not [secret for secret in DEMO_SECRETS if secret in out]
    stats = recap(repair)
    assert stats[WORKERS[0]]["changed"] > 0 and stats[MASTER]["changed"] == 0, changed_tasks(repair)

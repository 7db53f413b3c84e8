"""End-to-end test of the multi-host cluster (after test_1b_services.py): DAG
deploys (a broken DAG ships nothing, --check ships nothing, a new DAG on
every host), api_ping against the sample API, and the UI in a real headless
browser. Expects the sandbox cluster from `make demo` (make e2e).
"""

import base64
import json

from cluster import (ADMIN, BASE, HOSTS, INVENTORY, MASTER, PLAYBOOK, ROOT, UI, WORKERS, address, copy_of_dags,
                     current_releases, dag_folders, recap, sh, stack_files)


def test_a_dag_import_error_stops_the_deploy_and_ships_nothing(tmp_path):
    dags = copy_of_dags(tmp_path)
    # a DAG file (Airflow only parses files that mention "airflow" and "dag")
    # whose import fails, as one with a missing requirement would
    (dags / "broken.py").write_text("from airflow.sdk import dag\nimport no_such_module_for_the_check\n")
    before = dag_folders()
    proc = sh(*PLAYBOOK, "-i", INVENTORY, "-e", f"airflow_dags_src={dags}",
              "playbooks/deploy-dags.yml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "DAG import check failed; nothing was shipped" in out, out[-3000:]
    assert "broken.py" in out and "no_such_module_for_the_check" in out, out[-3000:]
    assert dag_folders() == before


PROBE_DAG = '''
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="deploy_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def deploy_probe():
    @task
    def probe() -> str:
        return "shipped"

    @task(queue="master")
    def on_master() -> str:
        print("ran on the master's own worker")
        return "master queue"

    probe() >> on_master()


deploy_probe()
'''


def test_check_mode_reports_a_dag_change_and_ships_nothing(tmp_path):
    """site.yml --check on the running cluster (the master and one worker): the
    new DAG release shows up as a change on each host of the run (after the
    import check), and nothing is touched on any host."""
    dags = copy_of_dags(tmp_path)
    (dags / "deploy_probe.py").write_text(PROBE_DAG)
    before, stacks = dag_folders(), stack_files()
    proc = sh(*PLAYBOOK, "-i", INVENTORY, "--check", "--limit", f"{MASTER},{WORKERS[0]}",
              "-e", f"airflow_dags_src={dags}", "playbooks/site.yml")
    stats = recap(proc.stdout)
    assert set(stats) == {MASTER, WORKERS[0]} and all(s["changed"] > 0 for s in stats.values()), stats
    assert "DAGs found: api_ping, deploy_probe, etl, s3_aws_cli" in proc.stdout
    assert dag_folders() == before and stack_files() == stacks


def test_deploy_dags_ships_a_new_dag_to_every_host(api, tmp_path):
    dags = copy_of_dags(tmp_path)
    (dags / "deploy_probe.py").write_text(PROBE_DAG)
    original = current_releases()
    try:
        sh(*PLAYBOOK, "-i", INVENTORY, "-e", f"airflow_dags_src={dags}", "playbooks/deploy-dags.yml")
        current = current_releases()
        assert len(set(current.values())) == 1, current
        assert set(current.values()) != set(original.values())
        assert next(iter(current.values())).startswith("releases/")
        for h in HOSTS:
            owner = sh("docker", "exec", h, "stat", "-c", "%U:%G", f"{BASE}/dags/current/deploy_probe.py")
            assert owner.stdout.strip() == "airflow:airflow"
        # the scheduler sees it, and a worker host runs it from its own copy
        api.wait_for_dag("deploy_probe")
        api("PATCH", "/dags/deploy_probe", json={"is_paused": False})
        run_id = api.run_dag("deploy_probe")
        assert api.xcom("deploy_probe", run_id, "probe") == "shipped"
        # the master's optional local worker serves the `master` queue (sandbox host_vars)
        ti = {t["task_id"]: t for t in api.task_instances(run_id, "deploy_probe")}["on_master"]
        assert ti["hostname"] == address(MASTER), ti
        log = json.dumps(api("GET", f"/dags/deploy_probe/dagRuns/{run_id}/taskInstances/on_master/logs/1"))
        assert "ran on the master's own worker" in log, log[:2000]
    finally:
        sh(*PLAYBOOK, "-i", INVENTORY, "playbooks/deploy-dags.yml")
    assert current_releases() == original


def test_api_ping_calls_the_sample_api_on_its_docker_host(api):
    """api_ping's default URL, host.docker.internal:8000, is the worker's own
    host: run the sample API there, as the README says, and ping it."""
    for w in WORKERS:
        sh("docker", "cp", str(ROOT / "files" / "sample-api" / "sample_api.py"), f"{w}:/usr/local/bin/sample_api.py")
        sh("docker", "exec", "-d", w, "sh", "-c",
           "echo $$ > /run/sample-api.pid; exec python3 /usr/local/bin/sample_api.py --port 8000")
        sh("docker", "exec", w, "python3", "-c",
           "import time, urllib.request\n"
           "for _ in range(50):\n"
           "    try:\n"
           "        urllib.request.urlopen('http://127.0.0.1:8000/', timeout=2); break\n"
           "    except OSError:\n"
           "        time.sleep(0.2)\n"
           "else:\n"
           "    raise SystemExit('sample API did not start')\n")
    try:
        api("PATCH", "/dags/api_ping", json={"is_paused": False})
        run_id = api.run_dag("api_ping", timeout=300)
        result = api.xcom("api_ping", run_id, "ping")
        assert result["status"] == 200 and result["body"]["status"] == "ok", result
    finally:
        api("PATCH", "/dags/api_ping", json={"is_paused": True})
        for w in WORKERS:
            sh("docker", "exec", w, "sh", "-c", "kill $(cat /run/sample-api.pid)", check=False)


def test_ui_lists_the_dags_in_a_real_browser(api, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # the browser accepts the sandbox master's certificate, and only it
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    cert = x509.load_pem_x509_certificate((ROOT / ".cache" / "tls" / f"{MASTER}.crt").read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    options = webdriver.ChromeOptions()
    options.add_argument(f"--ignore-certificate-errors-spki-list={base64.b64encode(digest.finalize()).decode()}")
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(f"{UI}/")
        wait = WebDriverWait(driver, 60)
        # the sign-in form of the FAB auth manager (on airflow_stack_ui_url)
        user = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "input[name='username'], input#username"))
        assert driver.current_url.startswith(UI), f"sign-in page at {driver.current_url}, not on {UI}"
        user.send_keys(ADMIN[0])
        driver.find_element(By.CSS_SELECTOR, "input[type='password']").send_keys(ADMIN[1])
        driver.find_element(By.CSS_SELECTOR, "button[type='submit'], input[type='submit']").click()
        wait.until(lambda d: "/login" not in d.current_url and "/auth/" not in d.current_url)
        driver.get(f"{UI}/dags")
        wait.until(lambda d: "api_ping" in d.find_element(By.TAG_NAME, "body").text
                   and "etl" in d.find_element(By.TAG_NAME, "body").text)
        driver.save_screenshot(str(ROOT / ".cache" / "e2e-dags-page.png"))
    finally:
        driver.quit()

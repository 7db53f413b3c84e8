# The two commands: `make demo` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV ?= .venv
export PATH := $(abspath $(VENV))/bin:$(PATH)
export ANSIBLE_FORCE_COLOR ?= 0
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
SANDBOX := tests/sandbox/sandbox.sh
DEMO_MASTER := sandbox-master
DEMO_WORKERS := sandbox-worker-1 sandbox-worker-2
DEMO_HOSTS := $(DEMO_MASTER) $(DEMO_WORKERS)
# The sandbox's S3 object store (SeaweedFS) and its bucket
DEMO_S3 := sandbox-s3
DEMO_BUCKET := airflow-sandbox
DEMO_UI_PORT ?= 8080
DEMO_FLOWER_PORT ?= 5555
SANDBOX_PLAYBOOK := ansible-playbook -i inventory/sandbox --vault-password-file tests/sandbox/demo-vault-password
# The sandbox base images' tags, worked out once for a playbook run (make demo)
# or the end-to-end test rather than by the inventory at each use
# (inventory/sandbox reads SANDBOX_TAG_*).
SANDBOX_IMAGE_TAGS = SANDBOX_TAG_AIRFLOW_BASE=$$($(SANDBOX) image-tag airflow-base) \
  SANDBOX_TAG_POSTGRES=$$($(SANDBOX) image-tag postgres) SANDBOX_TAG_REDIS=$$($(SANDBOX) image-tag redis)
SANDBOX_TAGS = $(SANDBOX_IMAGE_TAGS) SANDBOX_S3_ADDRESS=$$($(SANDBOX) address $(DEMO_S3))
# make test's second sandbox cluster, beside the first (make demo's): a master
# and one worker (sandbox-b-*) on a docker network, S3 store and published
# ports of their own, its inventory a copy of inventory/sandbox
# (.cache/e2e-b/inventory). The modules of E2E_ON_B (an unhealthy stack,
# those that restore or replace the master) run on it, beside the others on
# the first cluster. B_ENV points the
# playbooks, sandbox.sh and the tests at it (with SANDBOX_S3_ADDRESS: B_TAGS).
B_MASTER := sandbox-b-master
B_WORKERS := sandbox-b-worker-1
B_S3 := sandbox-b-s3
B_HOSTS := $(B_MASTER) $(B_WORKERS)
B_INVENTORY := .cache/e2e-b/inventory
B_UI_PORT := 8081
B_FLOWER_PORT := 5556
B_ENV := SANDBOX_NETWORK=airflow-sandbox-b DEMO_UI_PORT=$(B_UI_PORT) DEMO_FLOWER_PORT=$(B_FLOWER_PORT) \
  E2E_INVENTORY=$(B_INVENTORY) E2E_NOTES=e2e-b
B_TAGS = $(SANDBOX_IMAGE_TAGS) SANDBOX_S3_ADDRESS=$$($(SANDBOX) address $(B_S3))

.PHONY: help venv engine images images-test unit lint syntax static docs molecule e2e e2e-cluster e2e-cluster-b e2e-tests e2e-first e2e-rest-a e2e-rest-b e2e-on-b test demo demo-down bench clean

help:
	@echo "make demo       start the local sandbox cluster and deploy to it"
	@echo "make demo-down  remove the sandbox cluster"
	@echo "make unit       the unit tier: the preflight's rules and the project's modules, no host (seconds)"
	@echo "make test       every check: the unit tier, sandbox images, then the end-to-end test with yamllint, ansible-lint, syntax, static checks and the molecule scenarios beside it"
	@echo "                (one scenario: make molecule SCENARIOS=docker; only the end-to-end test: make e2e)"
	@echo "make docs       rewrite the variables section of each role README from its argument specs and defaults"
	@echo "make bench      time the common operations on sandbox hosts of its own (bench/results.md; BENCH_RUNS=3)"

# The venv's Python: Debian's own when it can make a venv (built with PGO and
# LTO, it runs Ansible's controller a fifth faster than an unoptimized build
# such as pyenv's default), else the first python3 on PATH.
PYTHON ?= $(shell /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && echo /usr/bin/python3 || echo python3)
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

# A Docker engine on this machine (installed and started if missing) and the
# sandbox base images (built once, then reused by content hash).
engine:
	tests/sandbox/ensure-engine.sh
images: engine
	$(SANDBOX) images

# The base images that stand in for the official Airflow, PostgreSQL and Redis
# images work as the compose files expect.
images-test: venv images
	pytest -q tests/test_sandbox_images.py

# The unit tier: every preflight rule with good and bad values, the
# project's modules, no host (tests/unit, seconds). make test runs it first.
unit: venv
	pytest -q tests/unit

lint: venv
	yamllint --strict .
	ansible-lint --profile production

# Checks of the repository itself that need no host: docs against their
# sources, the two READMEs against each other (tests/static).
static: venv
	pytest -q tests/static

# The variables section of each role's README, generated from the role's
# meta/argument_specs.yml and defaults/main.yml (tests/static checks it).
docs: venv
	$(VENV)/bin/python tools/gen_role_docs.py

syntax: venv
	for p in playbooks/*.yml; do \
	  ansible-playbook --syntax-check -i inventory/production $$p; \
	  $(SANDBOX_PLAYBOOK) --syntax-check $$p; \
	done

# The scenarios run the roles under stock Ansible (the linear strategy, no
# Mitogen); the end-to-end test and make demo under ansible.cfg's Mitogen.
molecule: venv images
	for s in $(SCENARIOS); do echo "== $$(date +%T) scenario $$s"; ANSIBLE_STRATEGY=linear molecule test -s $$s; done

# The multi-host end-to-end test: fresh sandbox clusters (e2e-cluster), then
# the checks in tests/e2e (e2e-tests: REST API, logs across hosts, browser, a
# third worker, ...). The demo cluster and the second one (e2e-cluster-b,
# log: .cache/cluster-b.log) deploy at once, and the browser is installed (a
# download, when missing) meanwhile. Both clusters run the same image tag,
# built once on this machine: the second cluster's site.yml starts once the
# first one's is exporting the image (B_AFTER_IMAGE), so it finds the tag and
# skips the build. Two builds of one tag at once make two images under one
# name, and the first cluster's archive then no longer matches the tag.
# The first cluster's archive of that image: the role's cache directory
# (airflow_image_cache_dir) and file name (the tag with / and : as _).
DEMO_IMAGE_ARCHIVE := .cache/images/sandbox_airflow_*.tar
e2e: e2e-cluster
	$(MAKE) --no-print-directory e2e-tests
e2e-cluster: venv images
	@mkdir -p .cache
	set +e; tests/e2e/ensure-browser.sh > .cache/browser.log 2>&1 & browser_pid=$$!; \
	$(MAKE) --no-print-directory demo-down; rm -f $(DEMO_IMAGE_ARCHIVE); \
	$(MAKE) --no-print-directory e2e-cluster-b B_AFTER_IMAGE='$(DEMO_IMAGE_ARCHIVE)' > .cache/cluster-b.log 2>&1 & b_pid=$$!; \
	$(MAKE) --no-print-directory demo; demo_rc=$$?; \
	wait $$b_pid; b_rc=$$?; echo "== the second cluster (.cache/cluster-b.log): exit $$b_rc"; cat .cache/cluster-b.log; \
	wait $$browser_pid; browser_rc=$$?; cat .cache/browser.log; \
	test $$demo_rc -eq 0 && test $$b_rc -eq 0 && test $$browser_rc -eq 0

# The end-to-end checks: on the first cluster in three steps, while the
# second cluster runs its own modules beside them (e2e-on-b). e2e-first: two
# lanes at once, the battery of broken inventories (test_0, which only reads
# the hosts and checks that none changed) beside the modules that only use
# the running cluster through its API and the UI's users (test_1, test_1b,
# test_1e: no file, unit, account or container of a host changes); the
# battery's output follows. e2e-rest-a: DAG releases, a third worker and the
# S3 logs. e2e-rest-b: the rolling changes, the upgrade and the faults, then
# test_7_noop (site.yml changes nothing after it all); then the first
# sandbox is removed. e2e-on-b (log: .cache/on-b.log): the modules that
# restore or replace the master (E2E_ON_B: an unhealthy stack, backups and
# restores, the archive, the rebuild), then the day-2 tools (status,
# retention, stop and start: on the rebuilt master; rest-b mostly waits for
# tasks and drains, and its lane is the longer one), then test_7_noop under
# stock Ansible; then the second sandbox is removed. Each part can be run
# again on its own; every lane and part runs whatever another's result, and
# each exit code counts.
E2E_BATTERY := tests/e2e/test_0_preflight.py
E2E_BESIDE_BATTERY := tests/e2e/test_1_cluster.py tests/e2e/test_1b_services.py tests/e2e/test_1e_objects.py
E2E_REST_A := tests/e2e/test_1c_dags.py tests/e2e/test_1d_workers.py tests/e2e/test_1f_s3.py
E2E_ON_B := tests/e2e/test_2b_unhealthy.py tests/e2e/test_3_backup.py tests/e2e/test_3b_archive.py tests/e2e/test_6_rebuild.py \
  tests/e2e/test_2_ops.py
E2E_LAST := tests/e2e/test_7_noop.py
E2E_REST_B = $(filter-out $(E2E_BATTERY) $(E2E_BESIDE_BATTERY) $(E2E_REST_A) $(E2E_ON_B) $(E2E_LAST),$(sort $(wildcard tests/e2e/test_*.py))) $(E2E_LAST)
e2e-tests: venv
	@mkdir -p .cache
	@echo "== $$(date +%T) in the background: the second cluster's modules (log: .cache/on-b.log)"
	set +e; $(MAKE) --no-print-directory e2e-on-b > .cache/on-b.log 2>&1 & b_pid=$$!; \
	$(MAKE) --no-print-directory e2e-first; first_rc=$$?; \
	$(MAKE) --no-print-directory e2e-rest-a; a_rc=$$?; \
	$(MAKE) --no-print-directory e2e-rest-b; rest_rc=$$?; \
	echo "== $$(date +%T) waiting for the second cluster's modules"; wait $$b_pid; b_rc=$$?; \
	echo "== the second cluster's modules (.cache/on-b.log)"; cat .cache/on-b.log; \
	echo "== end-to-end: the first step exit $$first_rc, rest-a exit $$a_rc, rest-b exit $$rest_rc, the second cluster exit $$b_rc"; \
	test $$first_rc -eq 0 && test $$a_rc -eq 0 && test $$rest_rc -eq 0 && test $$b_rc -eq 0
e2e-cluster-b: venv images
	@echo "== $$(date +%T) the second cluster: $(B_HOSTS), S3 store $(B_S3)"
	export $(B_ENV); $(SANDBOX) destroy $(B_HOSTS) $(B_S3); rm -rf .cache/e2e-b .cache/e2e-b-*; \
	SANDBOX_HOST_KIND=host-ready SANDBOX_PUBLISH="127.0.0.1:$(B_UI_PORT):8080 127.0.0.1:$(B_FLOWER_PORT):5555" \
	  $(SANDBOX) create $(B_MASTER); \
	SANDBOX_HOST_KIND=host-ready $(SANDBOX) create $(B_WORKERS); \
	$(SANDBOX) s3 $(B_S3) $(DEMO_BUCKET); $(SANDBOX) tls $(B_MASTER); \
	python tests/sandbox/copy_inventory.py $(B_INVENTORY) $(B_MASTER) $(B_WORKERS); \
	if [ -n "$(B_AFTER_IMAGE)" ]; then \
	  for _ in $$(seq 1 240); do ls $(B_AFTER_IMAGE) >/dev/null 2>&1 && break; sleep 5; done; \
	  if ls $(B_AFTER_IMAGE) >/dev/null 2>&1; then echo "== $$(date +%T) the first cluster's image is built: the second cluster's site.yml"; \
	  else echo "== $$(date +%T) no $(B_AFTER_IMAGE) after 20 min: the second cluster's site.yml builds the image itself"; fi; \
	fi; \
	export $(B_TAGS); nice -n 5 ansible-playbook -i $(B_INVENTORY) --vault-password-file tests/sandbox/demo-vault-password \
	  --flush-cache playbooks/site.yml
	@echo "== $$(date +%T) the second cluster is up"
e2e-first: venv
	@mkdir -p .cache
	@echo "== $$(date +%T) the battery (log: .cache/battery.log) beside $(E2E_BESIDE_BATTERY)"
	set +e; export $(SANDBOX_TAGS); \
	pytest -v -p no:cacheprovider --durations=10 $(E2E_BATTERY) > .cache/battery.log 2>&1 & battery_pid=$$!; \
	pytest -v --durations=10 $(E2E_BESIDE_BATTERY); beside_rc=$$?; \
	wait $$battery_pid; battery_rc=$$?; echo "== the battery (.cache/battery.log)"; cat .cache/battery.log; \
	echo "== end-to-end, first step: the battery exit $$battery_rc; beside it exit $$beside_rc"; \
	test $$battery_rc -eq 0 && test $$beside_rc -eq 0
e2e-rest-a: venv
	@echo "== $$(date +%T) the end-to-end modules $(E2E_REST_A)"
	$(SANDBOX_TAGS) pytest -v --durations=10 $(E2E_REST_A)
e2e-rest-b: venv
	@echo "== $$(date +%T) the end-to-end modules $(E2E_REST_B)"
	set +e; $(SANDBOX_TAGS) pytest -v --durations=30 $(E2E_REST_B); rest_rc=$$?; \
	$(SANDBOX) destroy $(DEMO_HOSTS) sandbox-worker-3 $(DEMO_S3); test $$rest_rc -eq 0
e2e-on-b: venv
	@echo "== $$(date +%T) on the second cluster: $(E2E_ON_B) $(E2E_LAST) (under stock Ansible)"
	set +e; export $(B_ENV); export $(B_TAGS) E2E_NOOP_STRATEGY=linear; \
	pytest -v -p no:cacheprovider --durations=30 $(E2E_ON_B) $(E2E_LAST); rc=$$?; \
	$(SANDBOX) destroy $(B_HOSTS) $(B_S3); echo "== $$(date +%T) the second cluster's modules: exit $$rc"; test $$rc -eq 0

# The rest of the checks run in the background beside the end-to-end test, at
# a lower CPU priority (nice, and the molecule hosts' cpu-shares): they take
# the CPU the end-to-end test leaves idle rather than slow it down, so the
# suite takes far less than one after the other. One background lane, from
# the end-to-end cluster's deploy on: the lint, syntax and static checks, then
# the molecule scenarios (their own hosts, on their own docker network); the
# deploy, the DAG deploys and the modules that wait for tasks, drains and the
# archive leave a third to a half of the CPU idle.
# The sandbox images build (a cold machine: minutes) while the unit tier runs.
# Every check runs, and each exit code counts.
test: engine
	@mkdir -p .cache
	@echo "== $$(date +%T) the sandbox images in the background (log: .cache/images.log); the unit tier"
	set +e; $(MAKE) --no-print-directory images > .cache/images.log 2>&1 & images_pid=$$!; \
	$(MAKE) --no-print-directory unit; unit_rc=$$?; wait $$images_pid; images_rc=$$?; cat .cache/images.log; \
	test $$unit_rc -eq 0 && test $$images_rc -eq 0
	$(MAKE) --no-print-directory images-test
	@echo "== $$(date +%T) in the background: lint, syntax and static checks, then the molecule scenarios (logs: .cache/checks.log, .cache/molecule.log); the end-to-end test's cluster"
	set +e; rm -f .cache/checks.rc .cache/molecule.rc; \
	{ nice -n 10 $(MAKE) --no-print-directory -k lint syntax static > .cache/checks.log 2>&1; echo $$? > .cache/checks.rc; \
	  echo "== $$(date +%T) molecule scenarios" > .cache/molecule.log; \
	  SANDBOX_NETWORK=airflow-molecule SANDBOX_CPU_SHARES=256 nice -n 10 \
	    $(MAKE) --no-print-directory molecule >> .cache/molecule.log 2>&1; echo $$? > .cache/molecule.rc; } & background_pid=$$!; \
	$(MAKE) --no-print-directory e2e-cluster; cluster_rc=$$?; tests_rc=1; \
	if [ $$cluster_rc -eq 0 ]; then $(MAKE) --no-print-directory e2e-tests; tests_rc=$$?; fi; \
	echo "== $$(date +%T) the end-to-end test is done; waiting for the background lane"; \
	wait $$background_pid; checks_rc=$$(cat .cache/checks.rc 2>/dev/null || echo 1); molecule_rc=$$(cat .cache/molecule.rc 2>/dev/null || echo 1); \
	echo "== $$(date +%T) lint, syntax and static checks (.cache/checks.log)"; cat .cache/checks.log; \
	echo "== molecule scenarios (.cache/molecule.log)"; cat .cache/molecule.log; \
	echo "== checks: exit $$checks_rc; molecule: exit $$molecule_rc; end-to-end: cluster exit $$cluster_rc, the tests exit $$tests_rc"; \
	test $$checks_rc -eq 0 && test $$molecule_rc -eq 0 && test $$cluster_rc -eq 0 && test $$tests_rc -eq 0

demo: venv images
	SANDBOX_HOST_KIND=host-ready SANDBOX_PUBLISH="127.0.0.1:$(DEMO_UI_PORT):8080 127.0.0.1:$(DEMO_FLOWER_PORT):5555" \
	  $(SANDBOX) create $(DEMO_MASTER)
	SANDBOX_HOST_KIND=host-ready $(SANDBOX) create $(DEMO_WORKERS)
	$(SANDBOX) s3 $(DEMO_S3) $(DEMO_BUCKET)
	$(SANDBOX) tls $(DEMO_MASTER)
	$(SANDBOX_TAGS) $(SANDBOX_PLAYBOOK) --flush-cache playbooks/site.yml
	@echo
	@echo "Airflow UI and REST API: https://127.0.0.1:$(DEMO_UI_PORT)/  (user admin, password sandbox-demo-admin)"
	@echo "Flower (Celery workers): https://127.0.0.1:$(DEMO_FLOWER_PORT)/  (user flower, password sandbox-demo-flower)"
	@echo "Both use a throwaway CA's certificate: trust $(CURDIR)/.cache/tls/ca.crt (e.g. curl --cacert)"
	@echo "Sandbox hosts: $(DEMO_HOSTS)  (a shell: docker exec -it sandbox-master bash)"
	@echo "S3 store (SeaweedFS): https://$$($(SANDBOX) address $(DEMO_S3)):8333  bucket $(DEMO_BUCKET), keys in the sandbox vault"
	@echo "Redeploy DAGs: $(SANDBOX_PLAYBOOK) playbooks/deploy-dags.yml"

# Timings of the common operations (no-op converge, a new worker, a new DAG,
# fresh converge, 100 tasks, converge with more hosts) on sandbox hosts of its
# own (bench-*, docker network airflow-bench, UI on 127.0.0.1:18080), written
# to bench/results.md and bench/results.json. Not part of make test: it takes
# most of an hour (bench/README.md).
bench: venv images
	$(VENV)/bin/python -m bench

demo-down:
	$(SANDBOX) destroy $(DEMO_HOSTS) sandbox-worker-3 $(DEMO_S3)
	$(B_ENV) $(SANDBOX) destroy $(B_HOSTS) $(B_S3)
	rm -rf .cache/e2e-probe-release .cache/e2e-upgraded-image-dir .cache/e2e-b .cache/e2e-b-*

clean: demo-down
	rm -rf $(VENV) .cache

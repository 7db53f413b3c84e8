# The two commands: `make demo` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV ?= .venv
export PATH := $(abspath $(VENV))/bin:$(PATH)
export ANSIBLE_FORCE_COLOR ?= 0
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
SANDBOX := tests/sandbox/sandbox.sh
DEMO_HOSTS := sandbox-master sandbox-worker-1 sandbox-worker-2

.PHONY: help venv engine images images-test lint syntax molecule test demo demo-down clean

help:
	@echo "make demo       start the local sandbox cluster and deploy to it"
	@echo "make demo-down  remove the sandbox cluster"
	@echo "make test       every check: yamllint, ansible-lint, syntax, sandbox images, molecule scenarios"
	@echo "                (one scenario: make molecule SCENARIOS=docker)"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
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

lint: venv
	yamllint --strict .
	ansible-lint --profile production

syntax: venv
	for p in playbooks/*.yml; do \
	  for i in inventory/production inventory/sandbox; do \
	    ansible-playbook --syntax-check -i $$i $$p; \
	  done; \
	done

molecule: venv images
	for s in $(SCENARIOS); do molecule test -s $$s; done

test: lint syntax images-test molecule

demo: venv images
	$(SANDBOX) create $(DEMO_HOSTS)
	ansible-playbook -i inventory/sandbox --flush-cache playbooks/site.yml
	@echo "Sandbox hosts: $(DEMO_HOSTS) (shell: docker exec -it sandbox-master bash)"

demo-down:
	$(SANDBOX) destroy $(DEMO_HOSTS)

clean: demo-down
	rm -rf $(VENV) .cache

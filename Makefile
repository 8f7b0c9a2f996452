# Entry points for people and CI. `make up` bootstraps the platform, `make test` runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3.11
CACHE_DIR ?= $(HOME)/.cache/gitops-platform
LOG_DIR := build/logs
# Offline (air-gapped) mode builds tools and images from source and Debian packages instead of
# downloading releases and pulling images. Auto-detected from DNS; override with GITOPS_OFFLINE=true|false.
GITOPS_OFFLINE ?= $(shell getent hosts get.helm.sh >/dev/null 2>&1 && echo false || echo true)
MOLECULE_SCENARIOS ?= promotion registry_login kind_cluster argocd argocd_app default existing_cluster

export GITOPS_OFFLINE
export PATH := $(CURDIR)/$(VENV)/bin:$(CACHE_DIR)/bin:$(PATH)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: help venv prerequisites bundle up status teardown lint syntax pytest molecule test bench collection clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## Create the Python virtualenv with the pinned requirements

$(VENV)/.installed: requirements.txt app/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@# --no-compile: Python compiles what is imported, when it is first imported; compiling all 20,000 files of
	@# the packages up front made the install take 163 s instead of 50 s (measured, pip cache filled, 2 CPUs), mostly
	@# for collections never imported.
	$(VENV)/bin/pip install --quiet --no-compile -r requirements.txt
	@touch $@

prerequisites: venv ## Install and start Docker, install helm and kind, and the test tools kubeconform and actionlint (offline: built from source) and headless chromium
	ansible-playbook playbooks/prerequisites.yml -e '{"host_prereqs_tools": ["helm", "kind", "kubeconform", "actionlint"], "host_prereqs_packages": ["chromium", "chromium-driver"]}'

up: bundle ## Bootstrap the whole platform (ansible-playbook site.yml); GITOPS_REPO=<git URL>
	ansible-playbook site.yml $(if $(GITOPS_REPO),-e platform_gitops_repo=$(GITOPS_REPO))

status: venv ## Per environment: tag in git and running, commit, sync, health, pin, autoscaler, served version; GITOPS_REPO=<git URL>
	ansible-playbook playbooks/status.yml $(if $(GITOPS_REPO),-e platform_gitops_repo=$(GITOPS_REPO))

teardown: venv ## Remove the Application, Argo CD, the pull secret and the cluster, in that order
	ansible-playbook playbooks/teardown.yml

lint: venv ## yamllint, ansible-lint (profile production), a syntax check of every playbook, ansible-test on the collection
	yamllint --strict .
	ansible-lint --nocolor
	for playbook in site.yml playbooks/*.yml; do ansible-playbook --syntax-check "$$playbook" >/dev/null; done
	python scripts/collection-sanity.py
	@echo "lint: yamllint, ansible-lint, syntax-check and ansible-test sanity and units clean"

bundle: prerequisites ## Offline: Kubernetes, the kind node image, Argo CD's and the app's images, built from source (cached)
	@if [ "$(GITOPS_OFFLINE)" = true ]; then \
	  python scripts/build-images.py; \
	else echo "bundle: online, nothing to build (kind and Argo CD images are pulled)"; fi

pytest: bundle ## Unit, app, chart, image, promotion and offline-bundle tests (real Docker, git, helm)
	pytest --cov --cov-report=term --cov-fail-under=90

molecule: bundle ## Every Molecule scenario; logs in build/logs
	@mkdir -p $(LOG_DIR); passed=0; failed=0; \
	for scenario in $(MOLECULE_SCENARIOS); do \
	  start=$$(date +%s); \
	  if molecule test -s $$scenario > $(LOG_DIR)/molecule-$$scenario.log 2>&1; then \
	    passed=$$((passed + 1)); echo "molecule $$scenario: passed in $$(( $$(date +%s) - start ))s"; \
	  else \
	    failed=$$((failed + 1)); echo "molecule $$scenario: FAILED in $$(( $$(date +%s) - start ))s, last lines of $(LOG_DIR)/molecule-$$scenario.log:"; \
	    tail -n 60 $(LOG_DIR)/molecule-$$scenario.log | sed 's/\x1b\[[0-9;]*m//g'; \
	  fi; \
	done; \
	echo "molecule: $$passed passed, $$failed failed"; \
	test $$failed -eq 0

test: venv ## Everything CI runs: lint beside the builds, then the tests, the ones without Docker beside Molecule
	python scripts/run-tests.py

bench: bundle ## Benchmark tables: promotion (1 and 20 concurrent); offline, the GitOps loop (site.yml, promote, rollback) and canary releases
	python benchmarks/promotion.py
	@if [ "$(GITOPS_OFFLINE)" = true ]; then python benchmarks/gitops_loop.py && python benchmarks/canary.py && ansible-playbook playbooks/teardown.yml >/dev/null; fi

collection: venv ## Build the gitops.platform collection (plugins, roles, playbooks) into build/collection/
	python scripts/build-collection.py

clean: ## Remove the virtualenv and build logs (the tool/image cache in ~/.cache stays)
	rm -rf $(VENV) build

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

.PHONY: help venv prerequisites bundle up status teardown lint lint-static lint-workflows gitops-validate gitops-crds app-lint app-test app-image app-e2e app-promote app-scan sbom scan scan-db syntax pytest molecule test bench collection clean

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

prerequisites: venv ## Install and start Docker, install helm, kind and kubeseal, and the test tools kubeconform, kube-score and actionlint (offline: built from source) and headless chromium
	ansible-playbook playbooks/prerequisites.yml -e '{"host_prereqs_tools": ["helm", "kind", "kubeseal", "kubeconform", "kube-score", "actionlint"], "host_prereqs_packages": ["chromium", "chromium-driver"]}'

up: bundle ## Bootstrap the whole platform (ansible-playbook site.yml); offline after the bundle and its SBOMs; GITOPS_REPO=<git URL>
	@if [ "$(GITOPS_OFFLINE)" = true ]; then $(MAKE) --no-print-directory -o bundle sbom; fi
	ansible-playbook site.yml $(if $(GITOPS_REPO),-e platform_gitops_repo=$(GITOPS_REPO))

status: venv ## Per environment: tag in git and running, commit, sync, health, pin, autoscaler, served version; GITOPS_REPO=<git URL>
	ansible-playbook playbooks/status.yml $(if $(GITOPS_REPO),-e platform_gitops_repo=$(GITOPS_REPO))

teardown: venv ## Remove the Application, Argo CD, the pull secret and the cluster, in that order; KEEP_SERVICES=true keeps the offline registry and git server
	ansible-playbook playbooks/teardown.yml $(if $(KEEP_SERVICES),-e teardown_keep_services=$(KEEP_SERVICES))

lint: lint-static lint-workflows ## Every linter: lint-static and lint-workflows

lint-static: venv ## yamllint, ansible-lint (profile production), a syntax check of every playbook, ansible-test on the collection, ruff
	yamllint --strict .
	ansible-lint --nocolor
	for playbook in site.yml playbooks/*.yml; do ansible-playbook --syntax-check "$$playbook" >/dev/null; done
	python scripts/collection-sanity.py
	ruff check app pipelines
	@echo "lint-static: yamllint, ansible-lint, syntax-check, ansible-test sanity and units, ruff clean"

lint-workflows: venv ## actionlint on .github/workflows (the binary make prerequisites builds)
	@command -v actionlint >/dev/null || { echo "actionlint is missing: run make prerequisites (it builds it from its Go module)"; exit 1; }
	@# Without shellcheck and pyflakes: the same result on every machine (tests/test_actionlint.py says why).
	actionlint -shellcheck= -pyflakes= .github/workflows/*.yml
	@echo "lint-workflows: actionlint clean"

# The seed's two CI pipelines, stage by stage; .github/workflows only call these (docs/pipelines.md).
BASE ?= HEAD
gitops-validate: venv ## The gitops repository's validation: helm lint, render, yamllint, kubeconform, kube-score, security, diff against BASE (default HEAD); KUBE_CONTEXT=<context> adds the server-side dry-run; STAGES="lint schema" picks stages
	python -m pipelines gitops --base $(BASE) $(if $(KUBE_CONTEXT),--kube-context $(KUBE_CONTEXT)) $(foreach stage,$(STAGES),--stage $(stage))

gitops-crds: venv ## Install the CRDs the charts use (Argo Rollouts, VPA) into KUBE_CONTEXT's cluster, before a dry-run on a bare cluster
	python -m pipelines crds --kube-context $(KUBE_CONTEXT)

app-lint: venv ## The app's lint (ruff: pycodestyle, pyflakes, mccabe and pylint's rules)
	ruff check app

app-test: venv ## The app's unit tests with their coverage report (fails under 90 %)
	cd app && pytest -p no:cacheprovider --cov=demo_app --cov-report=term-missing --cov-fail-under=90 tests

app-image: venv ## Build the app image <registry>/demo-flask-app:VERSION with its OCI labels
	@test -n "$(VERSION)" || { echo "app-image needs VERSION=<tag>, e.g. make app-image VERSION=1.2.0"; exit 1; }
	ansible-playbook playbooks/build-app-image.yml -e app_image_version=$(VERSION)

app-e2e: venv ## The app on an ephemeral kind cluster: VERSION=<tag> (built by make app-image), chart installed with helm, health and version checked, cluster deleted
	@test -n "$(VERSION)" || { echo "app-e2e needs VERSION=<tag>, e.g. make app-e2e VERSION=1.2.0"; exit 1; }
	ansible-playbook playbooks/app-e2e.yml -e app_e2e_version=$(VERSION)

app-scan: venv ## The app image's SBOM and vulnerability scan, failing on critical findings: VERSION=<tag> (built by make app-image); offline GRYPE_DB=<grype database>
	@test -n "$(VERSION)" || { echo "app-scan needs VERSION=<tag>, e.g. make app-scan VERSION=1.2.0"; exit 1; }
	ansible-playbook playbooks/prerequisites.yml -e '{"host_prereqs_tools": ["syft", "grype"]}'
	ansible-playbook playbooks/sbom.yml playbooks/scan.yml -e app_image_version=$(VERSION) $(if $(GRYPE_DB),-e scan_db=$(GRYPE_DB))

app-promote: venv ## The gitops update: VERSION=<tag> [ENV=<environment>] through playbooks/promote.yml
	@test -n "$(VERSION)" || { echo "app-promote needs VERSION=<tag>, e.g. make app-promote VERSION=1.2.0 ENV=dev"; exit 1; }
	ansible-playbook playbooks/promote.yml -e image_tag=$(VERSION) $(if $(ENV),-e environment=$(ENV))

bundle: prerequisites ## Offline: Kubernetes, the kind node image, Argo CD's and the app's images, built from source (cached)
	@if [ "$(GITOPS_OFFLINE)" = true ]; then \
	  python scripts/build-images.py; \
	else echo "bundle: online, nothing to build (kind and Argo CD images are pulled)"; fi

sbom: bundle ## An SBOM (syft, built from its Go module, with grype) of every image the platform built, kept in $(CACHE_DIR)/sbom
	ansible-playbook playbooks/prerequisites.yml -e '{"host_prereqs_tools": ["syft", "grype"]}'
	ansible-playbook playbooks/sbom.yml

scan: venv ## Scan the SBOMs for known vulnerabilities (grype), failing on FAIL_ON (default critical); offline GRYPE_DB=<grype database>
	ansible-playbook playbooks/scan.yml $(if $(GRYPE_DB),-e scan_db=$(GRYPE_DB)) $(if $(FAIL_ON),-e scan_fail_on=$(FAIL_ON))

scan-db: venv ## Offline: a grype database from the Go vulnerability database the Go module proxy serves (for make scan GRYPE_DB=...)
	ansible-playbook playbooks/scan-db.yml

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

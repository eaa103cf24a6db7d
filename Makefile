# The two commands of the README: `make plan` (STACK=dev|prod) and `make test`. Each sets itself up.
STACK ?= dev
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python

.PHONY: plan test verify bench bench-migrate bench-budget e2e

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

plan: $(VENV)/.installed
	$(PY) -m tools.plan $(STACK)

test: $(VENV)/.installed node_modules/.installed
	$(PY) -m mypy --exclude venv .  # what `pulumi up` runs (Pulumi.yaml: typechecker: mypy)
	$(PY) -m mypy tools/*.py tools/e2e/*.py benchmarks/*.py
	$(PY) -m pytest

# On a deployed stack: `make verify STACK=prod` (needs `pulumi login` and kubectl), or from saved copies:
# `make verify STACK=prod OUTPUTS=outputs.json KUBERNETES=objects.json`.
verify: $(VENV)/.installed
	$(PY) -m tools.verify $(STACK) $(if $(OUTPUTS),--outputs $(OUTPUTS)) $(if $(KUBERNETES),--kubernetes $(KUBERNETES))

bench: $(VENV)/.installed
	$(PY) -m benchmarks.plan_vs_import

bench-migrate: $(VENV)/.installed
	$(PY) -m benchmarks.migrate_vectors

bench-budget: $(VENV)/.installed
	$(PY) -m tools.budget_load $(STACK)

# The stack's Open WebUI on the real release (README, "Proven against the real Open WebUI"): not part of `make test`.
# OPEN_WEBUI=<version> tries another release; BREAK=redis-password|pool-budget|config-key sabotages one thing.
# The release's venv is cached in E2E_HOME (~/.cache/openwebui-e2e): about 7.4 GB and 5 minutes the first time.
e2e: $(VENV)/.installed
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q redis-server; } \
		|| { echo "make e2e needs Debian's redis-server: sudo apt-get install redis-server"; exit 1; }
	mkdir -p build && $(PY) -m tools.plan dev > build/plan-dev.log || { cat build/plan-dev.log; exit 1; }
	$(PY) -m tools.e2e $(if $(OPEN_WEBUI),--version $(OPEN_WEBUI)) $(if $(BREAK),--break $(BREAK))

# The two commands of README.md: `make plan` (STACK=dev|prod) and `make test`. Each sets itself up.
STACK ?= dev
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv

.PHONY: plan test verify bench bench-migrate bench-database bench-budget e2e e2e-migration e2e-upgrade e2e-setup lock releases
# The locks: every package pinned with its hashes, for any platform, compiled by uv from the ranges in the .in files.
LOCK := $(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	$(if $(UPGRADE),--upgrade) $(foreach p,$(PACKAGE),--upgrade-package $(p))

# uv installs the lock (hashes checked) and compiles its bytecode, as pip does (a run must not recompile the SDKs);
# uv itself comes first, by pip, from its own hashed entry in the lock.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	awk '/^uv==/{p=1} p{print} p&&!/\\$$/{exit}' requirements-dev.txt > $(VENV)/uv-lock.txt
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(VENV)/uv-lock.txt
	$(UV) pip install --quiet --require-hashes --compile-bytecode --python $(PY) -r requirements-dev.txt
	touch $@

# Open WebUI's wheel alone (its Alembic migrations and models), for the database migration's tests.
build/open-webui/.installed: requirements-openwebui.txt $(VENV)/.installed
	rm -rf build/open-webui
	$(UV) pip install --quiet --require-hashes --no-deps --target build/open-webui -r requirements-openwebui.txt
	touch $@

# The release's env.py reads the first CHANGELOG.md it finds, BASE_DIR's (the folder above its install: build/) before
# its own, and parses it to HTML at every import: 5 s of each Alembic process the SQLite migration's tests start
# (2 s with this one). The tests use the release's migrations and models, never its changelog.
build/CHANGELOG.md:
	mkdir -p build && printf '# Changelog\n\nThe tests use the release'"'"'s migrations and models only.\n' > $@

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# After editing a .in file: `make lock`; to move pins on: `make lock UPGRADE=1` or `make lock PACKAGE=pulumi`.
lock: $(VENV)/.installed
	$(LOCK) -o requirements.txt requirements.in
	$(LOCK) -o requirements-dev.txt requirements-dev.in
	$(LOCK) --no-deps -o requirements-openwebui.txt requirements-openwebui.in

plan: $(VENV)/.installed
	$(PY) -m offline_plan.plan $(STACK) $(if $(FROM),--from $(FROM))

# promtool parses the dashboards' and the rules' PromQL in the tests (testing/promtool.py): Debian's prometheus package.
test: $(VENV)/.installed node_modules/.installed build/open-webui/.installed build/CHANGELOG.md
	@command -v promtool >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && \
		apt-get install -y -q --no-install-recommends prometheus; } \
		|| { echo "make test needs Debian's promtool: sudo apt-get install prometheus"; exit 1; }
	$(PY) -m mypy --exclude venv .  # what `pulumi up` runs (Pulumi.yaml: typechecker: mypy)
	$(PY) -m mypy $(foreach d,in_cluster ops offline_plan e2e testing benchmarks,$(d)/*.py)
	$(PY) -m pytest

# On a deployed stack: `make verify STACK=prod` (needs `pulumi login` and kubectl), or from saved copies:
# `make verify STACK=prod OUTPUTS=outputs.json KUBERNETES=objects.json`.
verify: $(VENV)/.installed
	$(PY) -m ops.verify $(STACK) $(if $(OUTPUTS),--outputs $(OUTPUTS)) $(if $(KUBERNETES),--kubernetes $(KUBERNETES)) \
		$(if $(RESTORED),--restored)

bench: $(VENV)/.installed
	$(PY) -m benchmarks.plan_vs_import

bench-migrate: $(VENV)/.installed
	$(PY) -m benchmarks.migrate_vectors

bench-database: $(VENV)/.installed build/open-webui/.installed build/CHANGELOG.md
	$(PY) -m benchmarks.migrate_database

bench-budget: $(VENV)/.installed
	$(PY) -m benchmarks.budget_load $(STACK)

# The stack's Open WebUI on the real release (docs/proven.md, 'Proven against the real Open WebUI'): not part of `make test`.
# OPEN_WEBUI=<version> tries another release; BREAK=redis-password|pool-budget|config-key|role-grant|telemetry-off sabotages one thing in
# the stack as rendered, BREAK=secret-key|session-key in the Entra ID scenario (e2e/sign_in.py).
# The release's venv is cached in E2E_HOME (~/.cache/openwebui-e2e): about 7.4 GB and 5 minutes the first time.
# Then the migration scenario (e2e/migration.py): a default SQLite + Chroma install carried across whole.
E2E_MIGRATION = $(PY) -m e2e.migration $(if $(OPEN_WEBUI),--version $(OPEN_WEBUI)) $(if $(OLD),--old-version $(OLD))
SIGN_IN_BREAKS := secret-key session-key
e2e: e2e-setup
	$(PY) -m e2e $(if $(OPEN_WEBUI),--version $(OPEN_WEBUI)) \
		$(if $(filter-out $(SIGN_IN_BREAKS),$(BREAK)),--break $(BREAK))
	$(PY) -m e2e.sign_in $(if $(OPEN_WEBUI),--version $(OPEN_WEBUI)) \
		$(if $(filter $(SIGN_IN_BREAKS),$(BREAK)),--break $(BREAK))
	$(E2E_MIGRATION)

# Only the migration scenario; OLD=<version> makes the old install another release (make e2e-migration OLD=0.6.43).
e2e-migration: e2e-setup
	$(E2E_MIGRATION)

# An upgrade rehearsed on two real releases: make e2e-upgrade FROM=0.12.3 TO=0.12.4
e2e-upgrade: e2e-setup
	$(PY) -m e2e.upgrade --from $(FROM) --to $(TO)

e2e-setup: $(VENV)/.installed
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q redis-server; } \
		|| { echo "make e2e needs Debian's redis-server: sudo apt-get install redis-server"; exit 1; }
	mkdir -p build && $(PY) -m offline_plan.plan dev > build/plan-dev.log || { cat build/plan-dev.log; exit 1; }

# The Alembic head of each Open WebUI release given, from its PyPI wheel, into components/releases.json.
releases: $(VENV)/.installed
	$(PY) -m ops.release_heads $(VERSIONS)

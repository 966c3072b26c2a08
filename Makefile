# storefront: `make run` serves the API, `make test` checks everything.
# Both set themselves up: a Python >= 3.12 is found, uv is installed into
# .tools/ when missing, and the locked environment is synced into .venv/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
UV_VERSION := 0.13.8
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced

# Tests get their own database name and Redis db, never your development data.
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/storefront
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: help
help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	@python=$$(scripts/find-python) && "$$python" -m venv .tools && \
	  .tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# --compile-bytecode: a web process then starts from .pyc files instead of
# compiling Django and every dependency from source (where PYTHONDONTWRITEBYTECODE
# is set, as in many containers and CI machines, that compilation happened at every
# start: 2.3 s of a cold start against 0.8 s, docs/performance.md).
$(STAMP): pyproject.toml uv.lock | $(UV)
	@python=$$(scripts/find-python) && $(UV) sync --frozen --python "$$python" --quiet --compile-bytecode
	@$(PY) -m compileall -q -j 0 storefront manage.py >/dev/null
	@touch $@

.PHONY: install
install: $(STAMP)  ## Create .venv from uv.lock

.PHONY: run
run: $(STAMP)  ## Serve the API on 127.0.0.1:$PORT (embedded mode unless DATABASE_URL and REDIS_URL are set)
	@exec $(PY) manage.py serve --port $(PORT)

.PHONY: lint
lint: $(STAMP)  ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: format
format: $(STAMP)  ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

define test_env
DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
SECRET_KEY="$${SECRET_KEY:-$$(head -c 48 /dev/urandom | base64)}" DEBUG=false
endef

.PHONY: check-services
check-services:
	@$(test_env) scripts/check-services

.PHONY: test
test: $(STAMP) check-services lint  ## Lint, migrations check, schema check, pytest with coverage
	@# The history-consistency check needs no database here: its warning is noise,
	@# and without the pool a missing database is not retried in the background.
	$(test_env) DB_POOL=false $(PY) -W ignore::RuntimeWarning manage.py makemigrations --check --dry-run
	$(test_env) DB_POOL=false $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(test_env) $(PY) -m pytest --cov --cov-report=term $(PYTEST_ARGS)

.PHONY: fuzz
fuzz: $(STAMP) check-services  ## Contract fuzzing with schemathesis, deeper than make test's bounded pass
	$(test_env) FUZZ_DEEP=1 FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-40} \
	  $(PY) -m pytest storefront/core/tests/test_fuzz_contract.py -p no:cacheprovider $(PYTEST_ARGS)

.PHONY: soak
soak: $(STAMP)  ## 200 clients for 60 s on a 10k-product catalog, private PostgreSQL and Redis (not part of make test)
	$(PY) bench/soak/soak.py $(SOAK_ARGS)

.PHONY: schema
schema: $(STAMP)  ## Regenerate docs/api/openapi*.yaml from the code
	$(test_env) DB_POOL=false $(PY) manage.py spectacular --validate --fail-on-warn --api-version v1 --file docs/api/openapi.yaml
	$(test_env) DB_POOL=false $(PY) manage.py spectacular --validate --fail-on-warn --api-version v2 --file docs/api/openapi-v2.yaml

.PHONY: bench
bench: $(STAMP)  ## Benchmark app vs bench/baseline vs bench/limit (BENCH_PRODUCTS=100000, BENCH_CATALOG=file); docs/performance.md
	$(PY) -m bench.run --plots docs/performance $(BENCH_ARGS)

.PHONY: clean
clean:  ## Remove the environment and local data (var/)
	rm -rf $(VENV) .tools var .pytest_cache .ruff_cache .coverage htmlcov

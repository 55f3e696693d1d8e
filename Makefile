# Every habit is one command. `make run` and `make test` install what they
# need (Python packages, Docker engine, sandbox image) and are idempotent.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test fuzz mutate check lint typecheck format schema setup engine sandbox-image services web-assets browser bench clean

run: setup sandbox-image web-assets  ## http://127.0.0.1:8000/ (web page) and /graphql (GraphiQL)
	$(BIN)/scriptbox serve

test: setup sandbox-image services web-assets browser  ## The whole suite: real Docker, S3, SQLite, PostgreSQL, Redis, Chromium
	$(BIN)/pytest

fuzz: setup sandbox-image  ## The schema fuzzer of `make test`, longer (SCRIPTBOX_FUZZ_EXAMPLES, default 3000)
	SCRIPTBOX_FUZZ_EXAMPLES=$${SCRIPTBOX_FUZZ_EXAMPLES:-3000} $(BIN)/pytest tests/graphql_api/test_schema_fuzz.py -p no:cacheprovider -s

mutate: setup sandbox-image services  ## Mutation testing of the security-critical modules (mutation/*.toml; GROUP=x for one)
	$(BIN)/python -m mutation $(GROUP)

check: lint typecheck test  ## Everything CI runs

# lint-imports takes a second without its cache, which can miss an edit undone
# within the same second.
lint: setup  ## ruff, and the layers contract of pyproject.toml (imports point down)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: setup
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: setup  ## Rewrite schema.graphql from the code
	$(BIN)/scriptbox export-schema --output schema.graphql

setup:
	@scripts/bootstrap.sh

engine:
	@scripts/docker-up.sh

sandbox-image: engine
	@scripts/build-sandbox-image.sh >/dev/null

services:  ## PostgreSQL and Redis on 127.0.0.1 (for the scale-out tests)
	@scripts/services-up.sh

web-assets: setup  ## GraphiQL's files, the page's CodeMirror and diff, and the graphql-ws client from npm (web/)
	@scripts/setup-web-assets.sh

browser:  ## Debian's chromium for the browser tests
	@scripts/setup-browser.sh >/dev/null

bench: setup sandbox-image services  ## Benchmarks B1-B6; rewrites BENCHMARKS.md (~12 min)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.b6_scale

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules graphql_api/static/vendor

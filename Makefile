# Every habit is one command. `make run` and `make test` install what they
# need (Python packages, Docker engine, sandbox image) and are idempotent.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check lint typecheck format schema setup engine sandbox-image services bench clean

run: setup sandbox-image  ## Start the service on http://127.0.0.1:8000/graphql
	$(BIN)/scriptbox serve

test: setup sandbox-image services  ## The whole suite: real Docker, S3, SQLite, PostgreSQL, Redis
	$(BIN)/pytest

check: lint typecheck test  ## Everything CI runs

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

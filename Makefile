# The two commands of the README: `make run` (embedded platform) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Tests talk to the real PostgreSQL and Redis on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dream
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test serve help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime  ## set up and serve the platform on SQLite with the small demo study, http://127.0.0.1:8000
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py make_demo_study --size small
	$(BIN)/python manage.py ensure_admin
	@echo "Annotators: http://127.0.0.1:8000/c/demo-study/   Researchers: http://127.0.0.1:8000/admin/ and /staff/campaigns/demo-study/"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(VENV)/.dev  ## run the whole test suite against PostgreSQL, Redis and headless Chromium
	bash .ci/services
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_TEST_BROKER_URL=$(TEST_REDIS_URL) SECRET_KEY=test-only-secret \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

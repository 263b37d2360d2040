# The two commands of the README: `make run` (embedded platform) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Tests talk to the real PostgreSQL and Redis on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dream
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test serve help messages

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt requirements-nodeps.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-nodeps.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime  ## set up and serve the platform on SQLite with the small demo study, http://127.0.0.1:8000
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py make_demo_study --size small
	$(BIN)/python manage.py make_demo_model
	$(BIN)/python manage.py ensure_admin
	@echo "Annotators: http://127.0.0.1:8000/c/demo-study/   Researchers: http://127.0.0.1:8000/admin/ and /staff/campaigns/demo-study/"
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

# The embedded default (`make run`) runs on SQLite: the workflow, both stores' contract, the views
# and one Chromium journey run there too, on the ORM store (about 25 s on two cores).
SQLITE_TESTS ?= tests/annotation/test_workflow.py tests/annotation/test_store_contract.py \
	tests/annotation/test_views.py tests/annotation/test_ratings_batch.py tests/annotation/test_forms.py \
	tests/annotation/test_browser.py::test_qualified_journey_with_screenshot_and_no_leak

test: $(VENV)/.dev  ## run the whole test suite against PostgreSQL, Redis and headless Chromium, then its SQLite part
	bash .ci/services
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_TEST_BROKER_URL=$(TEST_REDIS_URL) SECRET_KEY=test-only-secret \
		$(BIN)/python -m pytest $(PYTEST_ARGS)
	DATABASE_URL=sqlite:///$(CURDIR)/var/test/sqlite.sqlite3 SECRET_KEY=test-only-secret \
		$(BIN)/python -m pytest $(SQLITE_TESTS) $(SQLITE_PYTEST_ARGS)

# The annotator pages' translations (locale/): the .po from the marked strings of the code and the
# annotator templates (staff pages, the admin's and the tests' are English only), then the .mo, both
# committed so `make run` and the image need no gettext. Needs gettext (xgettext, msgfmt).
MESSAGES_IGNORE := --ignore='.venv/*' --ignore='tests/*' --ignore='var/*' --ignore='templates/admin/*' --ignore='bench/*' --ignore='docs/*'
messages: $(VENV)/.runtime  ## refresh locale/zh_Hans/LC_MESSAGES/django.po from the code and compile its .mo (needs gettext)
	SECRET_KEY=messages-only $(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete $(MESSAGES_IGNORE)
	msgfmt --check -o locale/zh_Hans/LC_MESSAGES/django.mo locale/zh_Hans/LC_MESSAGES/django.po

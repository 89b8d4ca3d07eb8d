# Racine — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fuzz install install-dev schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Run the product on its embedded default (SQLite under var/, tasks in process) at http://127.0.0.1:8000/,
## with the demo shop registered and scanned so the catalog is not empty
run: install
	$(BIN)/python manage.py bootstrap --no-input
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## Run the test suite (SQLite by default; PostgreSQL when DATABASE_URL is set) in TEST_WORKERS parallel processes
## (pytest-xdist, each on a test database of its own; a test class or module stays on one process; the long-running
## integration and browser tests are handed out first, tests/conftest.py). TEST_WORKERS=0 runs it in this process
## (for --pdb). Bytecode is written even where PYTHONDONTWRITEBYTECODE is set (into the ignored __pycache__ folders):
## without it every process (each worker, each manage.py and Celery worker a test starts) compiled the project again
## and pytest rewrote the asserts of every test module again, about 5 s of CPU per worker.
TEST_WORKERS ?= 2
test: install-dev
	DEBUG=true PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

## Lint (ruff, configured in ruff.toml); CI runs it before the tests
lint: install-dev
	$(BIN)/ruff check .

## Fuzz every API operation with schemathesis against a seeded production-mode server on PostgreSQL
## (docs/security.md; RACINE_FUZZ_MAX_EXAMPLES bounds it)
fuzz: install-dev
	bash tests/fuzz/run_schemathesis.sh

schema: install
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

clean:
	rm -rf $(VENV) var staticfiles

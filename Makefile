# Partner Hub — the make targets are the interface: run, test, lint, bench.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: run test test-sqlite test-postgresql check-reliability scale-out lint format bench messages screenshots services install install-dev clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: start the hub on http://127.0.0.1:8000 (SQLite, embedded Redis, in-process worker)
run: install
	$(BIN)/hub serve

## make test: lint, then the whole suite on SQLite and on PostgreSQL
test: install-dev lint services
	$(MAKE) --no-print-directory test-sqlite
	@if [ -f var/test-postgres.skip ]; then \
		echo "!! PostgreSQL is not available here: the suite ran on SQLite only"; \
	else \
		$(MAKE) --no-print-directory test-postgresql; \
	fi

test-sqlite: install-dev
	HUB_TEST_DATABASE=sqlite $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgresql: install-dev
	HUB_TEST_DATABASE=postgresql $(BIN)/pytest -q $(PYTEST_ARGS)

## make check-reliability: fault injection and load against real servers (bounded in time)
check-reliability: install-dev services
	@if [ -f var/test-postgres.skip ]; then db=sqlite; else db=postgresql; fi; \
		HUB_TEST_DATABASE=$$db $(BIN)/pytest -q -m reliability $(PYTEST_ARGS)

## make scale-out: PostgreSQL, Redis, two web processes and two workers on this machine;
## a campaign to 5,000 e-mail contacts and 20,000 clicks (SCALE_OUT_ARGS="--contacts 500 --keep")
scale-out: install-dev
	$(PY) scripts/scale_out.py $(SCALE_OUT_ARGS)

services:
	@bash scripts/ensure-services.sh
	@bash scripts/ensure-browser.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev services
	$(PY) bench/run.py

## make screenshots: refresh docs/screenshots/ from the browser journeys (on SQLite)
screenshots: install-dev services
	HUB_TEST_DATABASE=sqlite HUB_SCREENSHOTS=1 $(BIN)/pytest -q tests/browser/test_journeys.py

## make messages: extract UI strings and merge them into the Danish catalog
messages: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _ -k lazy -o hub/locale/messages.pot --no-location --sort-output \
		--project "Partner Hub" --version "$$($(PY) -c 'import hub; print(hub.__version__)')" .
	$(BIN)/pybabel update -i hub/locale/messages.pot -d hub/locale -l da --no-fuzzy-matching \
		--init-missing --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

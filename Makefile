# Two commands on a fresh machine with only Python and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= watercooler.toml
# PORT overrides the listening port of `make run` (the test of `make run` uses a free one).
PORT ?=

# The JavaScript clients that tests/clients drives (pinned in package-lock.json); the stamp
# lives in node_modules, so a removed node_modules or a changed lock file installs again.
JS_CLIENTS := tests/clients/js
NPM_STAMP := $(JS_CLIENTS)/node_modules/.installed

.PHONY: run test bench lint format clean

$(BIN)/watercooler: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

run: $(BIN)/watercooler
	@test -f $(CONFIG) || $(BIN)/watercooler --config $(CONFIG) init --domain localhost:8080
	$(BIN)/watercooler --config $(CONFIG) serve --ensure-admin $(if $(PORT),--port $(PORT))

$(NPM_STAMP): $(JS_CLIENTS)/package.json $(JS_CLIENTS)/package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd $(JS_CLIENTS) && npm ci --no-audit --no-fund
	@touch $@

# The browser tests (tests/web) drive Debian's chromium through Playwright's Python package.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# Two pytest processes (pytest-xdist), a test module each at a time (`loadfile`): a module's
# live divisions and browser start once; the whole suite takes about half as long on 2 cores.
test: $(BIN)/watercooler $(NPM_STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2 --dist loadfile

# Benchmarks print figures (see bench/README.md); `python -m bench --quick` is the short run.
bench: $(BIN)/watercooler
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(BIN)/watercooler
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/watercooler
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(JS_CLIENTS)/node_modules

# The two commands: `make run` (set up and start the agent) and `make test` (set up and run the suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.yamori-installed

.PHONY: run test venv deps system-deps lint bench clean assets

VENDOR := src/yamori/web/static/vendor

run: $(STAMP) assets
	@sh scripts/system-deps.sh run
	$(VENV)/bin/yamori run

test: system-deps $(STAMP)-test assets
	$(PY) -m pytest -q

# The dashboard's third-party browser code (uPlot), from npm at the version and integrity
# hash package-lock.json pins; copied into the package's static files (gitignored).
assets: $(VENDOR)/uPlot.iife.min.js

$(VENDOR)/uPlot.iife.min.js: package.json package-lock.json
	@sh scripts/system-deps.sh venv
	npm ci --ignore-scripts --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE $(VENDOR)/

# System packages the tests start for real (PostgreSQL, pgpool-II, nftables, named, ...);
# installed with apt-get when run as root, otherwise listed.
system-deps:
	@sh scripts/system-deps.sh test

$(VENV)/bin/python:
	@sh scripts/system-deps.sh venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(STAMP)-test: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP) $@

lint: $(STAMP)-test
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy src/yamori

bench: $(STAMP)-test
	@for b in bench/*.py; do case $$b in */loggen.py) continue;; esac; echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info node_modules $(VENDOR) test-artifacts

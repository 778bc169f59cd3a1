# The two commands: `make run` (set up and start the agent) and `make test` (set up and run the suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.yamori-installed

.PHONY: run test venv deps system-deps lint bench clean

run: $(STAMP)
	$(VENV)/bin/yamori run

test: system-deps $(STAMP)-test
	$(PY) -m pytest -q

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
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info

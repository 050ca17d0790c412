# realbogus: set-up, pipeline and tests.  `make repro` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Stage commands in dvc.yaml call `python` and `realbogus`: they must find the venv's.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup browser repro survey test test-fast bench bench-mining

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Debian's Chromium for the review page's browser test (no browser download at run time).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed and not root: the browser test will be skipped"; fi; }

# The whole pipeline on the embedded default (the simulated release).
repro: setup
	$(BIN)/dvc repro

# The survey path (survey/dvc.yaml) on top of the main pipeline's model.
survey: setup
	cd survey && $(CURDIR)/$(BIN)/dvc repro

test: setup browser
	$(BIN)/pytest -q

# Unit tests only (no dvc / mlflow server / chromium end-to-end runs).
test-fast: setup
	$(BIN)/pytest -q -m "not slow"

# Speed and memory scripts (minutes).  bench-mining runs the pipeline on three releases (~30 min).
bench: setup
	@for script in benchmarks/bench_*.py; do \
	  case $$script in *bench_mining.py) continue;; esac; \
	  echo "== $$script"; $(BIN)/python $$script; done

bench-mining: setup
	$(BIN)/python benchmarks/bench_mining.py --diagnostics

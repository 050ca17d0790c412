# realbogus: set-up, pipeline and tests.  `make repro` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Stage commands in dvc.yaml call `python` and `realbogus`: they must find the venv's.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# The `dvc plots` page template (see plots-page below).
PLOTS_PAGE := build/dvc-plots/page.html
PLOTS_PAGE_SOURCES := tools/plots-page/package.json tools/plots-page/package-lock.json tools/plots-page/page.html \
	tools/build_plots_page.py

.PHONY: setup setup-gpu plots-page browser repro repro-gpu survey test test-fast bench bench-mining

setup: $(VENV)/.installed $(PLOTS_PAGE)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The HTML template of `dvc plots show/diff` pages (.dvc/config: plots.html_template) with
# vega, vega-lite and vega-embed inlined from the npm registry packages pinned in
# tools/plots-page/package-lock.json (installed into the git-ignored tools/plots-page/node_modules),
# so the pages draw with no network.  Without npm, or with the registry out of reach, the
# template keeps DVC's own script tags: the pages then load vega from the internet, and
# `make plots-page` (once npm works) makes them offline.
$(PLOTS_PAGE): $(PLOTS_PAGE_SOURCES) | $(VENV)/.installed
	@$(MAKE) --no-print-directory plots-page

plots-page: | $(VENV)/.installed
	@if command -v npm >/dev/null 2>&1 && npm ci --prefix tools/plots-page --no-audit --no-fund --loglevel=error; then \
	  $(BIN)/python tools/build_plots_page.py --scripts tools/plots-page/node_modules --out $(PLOTS_PAGE); \
	else \
	  echo "npm missing or the npm registry out of reach: dvc plots pages will load vega from the internet"; \
	  $(BIN)/python tools/build_plots_page.py --cdn --out $(PLOTS_PAGE); \
	fi

# CUDA jax for the GPU profile (an NVIDIA driver must be installed; the CUDA libraries come as wheels).
setup-gpu: setup
	$(BIN)/python -m pip install --quiet -e '.[gpu]'

# Debian's Chromium for the review page's browser test (no browser download at run time).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed and not root: the browser test will be skipped"; fi; }

# The whole pipeline on the embedded default (the simulated release).
repro: setup
	$(BIN)/dvc repro

# The whole pipeline with the GPU profile (params-gpu.yaml: the paper's four CNNs as members,
# 50 epochs, batch 256, bf16, compiled steps) on the jax backend.  The profile's values are
# written into params.yaml (as `dvc exp run -S` would; `git checkout params.yaml` switches
# back), then up to GPU_JOBS independent stages run at once so the CNN members share the
# GPU (GPU_JOBS=1: one at a time); jax must not take most of the GPU's memory up front.
GPU_JOBS ?= 4
repro-gpu: setup
	$(BIN)/python -m realbogus.profiles params-gpu.yaml --apply
	KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false $(BIN)/python -m realbogus.dvc_parallel --jobs $(GPU_JOBS)

# The survey path (survey/dvc.yaml) on top of the main pipeline's model.
survey: setup
	cd survey && $(CURDIR)/$(BIN)/dvc repro

# The tests run on one worker per core, at most four (pytest-xdist; each worker may hold
# TensorFlow's ~1.5 GB).  --dist worksteal: a worker that runs out of tests takes queued
# ones from a busy one, so the long end-to-end tests (started first, tests/run_order.py) end
# the run no later than they must.  `make test TEST_WORKERS=0` runs them in this process.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -q --numprocesses $(TEST_WORKERS) --maxprocesses 4 --dist worksteal

test: setup browser
	$(PYTEST)

# Unit tests only (no dvc / mlflow server / chromium end-to-end runs).
test-fast: setup
	$(PYTEST) -m "not slow"

# Speed and memory scripts (minutes).  bench-mining runs the pipeline on three releases (~30 min).
bench: setup
	@for script in benchmarks/bench_*.py; do \
	  case $$script in *bench_mining.py) continue;; esac; \
	  echo "== $$script"; $(BIN)/python $$script; done

bench-mining: setup
	$(BIN)/python benchmarks/bench_mining.py --diagnostics

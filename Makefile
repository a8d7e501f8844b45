# The two commands a fresh machine needs: `make demo` and `make test`. Everything else builds on them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench lint lock clean chromium

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The ML libraries the autolog integration tests need, with pip so that torch is the local CPU wheel
# (see requirements-ml.txt; uv would pull a CUDA build).
ML_STAMP := $(VENV)/.installed-ml
$(ML_STAMP): $(STAMP) requirements-ml.txt
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -r requirements-ml.txt
	touch $(ML_STAMP)

demo: install
	rm -rf demo-workdir
	$(BIN)/python examples/demo.py demo-workdir

# The browser tests drive the machine's Chromium (Playwright never downloads one): install the Debian package
# when it is missing and we may (root), else say how. Under CI=true a missing Chromium fails those tests.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	  else \
	    echo "Chromium is missing at $(CHROMIUM): run 'sudo apt-get install -y chromium chromium-driver' (the UI tests need it)" >&2; \
	  fi; \
	fi

# Byte-compiled once up front: where PYTHONDONTWRITEBYTECODE is set, every CLI process a test starts would
# otherwise compile the package from source again.
test: install $(ML_STAMP) chromium
	$(BIN)/python -m compileall -q -j 0 src tests > /dev/null
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: install
	$(BIN)/python -m compileall -q -j 0 src tests > /dev/null
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

# The peers (MLflow, DVC) pin libraries differently from the test tools (DVC's hydra wants an older antlr4
# than moto's, and hydra registers a pytest plugin that then fails to load), so benchmarks get their own venv.
BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_STAMP := $(BENCH_VENV)/.installed
$(BENCH_STAMP): pyproject.toml requirements-bench.lock requirements-ml.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/python -m pip install -q --upgrade pip
	$(BENCH_BIN)/python -m pip install -q torch==2.13.0
	$(BENCH_BIN)/python -m pip install -q -r requirements-bench.lock
	$(BENCH_BIN)/python -m pip install -q -r requirements-ml.txt
	$(BENCH_BIN)/python -m pip install -q --no-deps -e .
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) chromium
	$(BENCH_BIN)/python -m compileall -q -j 0 src bench > /dev/null
	$(BENCH_BIN)/python -m bench

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# Regenerate the lockfiles after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile -q pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev -o requirements-dev.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --extra bench -o requirements-bench.lock

clean:
	rm -rf $(VENV) $(BENCH_VENV) demo-workdir bench/.work .pytest_cache .hypothesis

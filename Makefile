# Two commands for a newcomer: `make demo` and `make test`. Everything else is here for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-net

VENDOR := src/trilink/web/static/vendor/maplibre-gl.js

.PHONY: demo test test-postgres install lint typecheck pytest services bench fuzz clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The COP's map library comes from the npm registry at build time, never at run time.
$(VENDOR): web/package.json web/package-lock.json scripts/build-web.sh
	scripts/build-web.sh

install: $(STAMP) $(VENDOR)

services:
	@scripts/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (pytest-xdist): most tests wait on node processes, so the two cores overlap
# them; each worker moves its nodes' ports (tests/conftest.py), so keep it at two or a few.
pytest: install services
	$(BIN)/pytest -n 2 --durations=15

test: lint typecheck pytest

# The federation suite (real node processes, both transports) with every node on PostgreSQL.
test-postgres: install services
	TRILINK_TEST_DB=postgres $(BIN)/pytest -n 2 tests/federation

demo: install
	$(BIN)/trilink demo --dir $(DEMO_DIR)

# Every benchmark, with the baselines they compare against (the `bench` extra), then
# docs/BENCHMARKS.md; `make bench ONLY=cop,geo` runs some.
bench: install services
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@command -v ogr2ogr >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin; } \
	  || echo "warning: GDAL's ogr2ogr (Debian: gdal-bin) is missing; the export benchmark's GDAL baseline is skipped" >&2
	$(BIN)/python bench/run_all.py $(if $(ONLY),--only $(ONLY))

# Long fuzz run of the NMEA/AIS decoder (the suite runs the same properties briefly);
# `make fuzz MINUTES=30` runs longer. Prints inputs run, and any crash with a reproducer.
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz_nmea.py --minutes $(or $(MINUTES),5)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache

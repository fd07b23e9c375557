# make run    - set up the pinned virtual environment if missing, then run the study
# make test   - the test suite (unit, end-to-end workflow, browser, lint)
# make verify - run the default study and check it against docs/reference/default
# make test-sanitize - the native step's tests against its ASan + UBSan build
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: run test lint format report bench verify lock test-cluster test-sanitize clean

# The environment comes from the lock: every package at its exact version, nothing resolved.
$(BIN)/.installed: requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

# Re-pin the whole environment after changing requirements*.txt (writes both locks and
# envs/interp5d.yaml), then reinstall from it.
lock: $(BIN)/.installed
	$(BIN)/python tools/lock.py
	$(MAKE) $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/snakemake --cores $(CORES)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not cluster"

# The native step built with AddressSanitizer and UBSan, every report fatal, its tests run
# against that build (tools/test_sanitize.sh says how).
test-sanitize: $(BIN)/.installed
	PY=$(BIN)/python tools/test_sanitize.sh

lint: $(BIN)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/snakefmt --check Snakefile workflow/rules && $(BIN)/snakemake --lint

format: $(BIN)/.installed
	$(BIN)/ruff format . && $(BIN)/snakefmt Snakefile workflow/rules

report: $(BIN)/.installed
	$(BIN)/snakemake --cores $(CORES) && $(BIN)/snakemake --report report.html

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/recipes.py

# The default study, checked against the shipped reference run: PASS/FAIL per size.
verify: $(BIN)/.installed
	$(BIN)/snakemake --cores $(CORES) && $(BIN)/python -m interp5d verify results docs/reference/default

# The Slurm test cluster is torn down whatever happens (failure, Ctrl-C); in here the
# cluster test fails, rather than skips, when Slurm is not up.
test-cluster: $(BIN)/.installed
	trap 'tests/cluster/slurm_down.sh || exit 1' EXIT; trap 'exit 130' INT TERM; \
	tests/cluster/slurm_up.sh && \
	SLURM_TEST_REQUIRED=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m cluster

# The archived runs are read-only (results/archive): made writable first, or rm stops on them.
clean:
	if [ -d results/archive ]; then chmod -R u+w results/archive; fi
	rm -rf results/* figures/* .snakemake report.html
	touch results/.gitkeep figures/.gitkeep

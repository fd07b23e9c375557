# make run   - set up the pinned virtual environment if missing, then run the study
# make test  - the test suite (unit, end-to-end workflow, lint)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: run test lint format report bench test-cluster clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

run: $(BIN)/.installed
	$(BIN)/snakemake --cores $(CORES)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not cluster"

lint: $(BIN)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/snakefmt --check Snakefile workflow/rules && $(BIN)/snakemake --lint

format: $(BIN)/.installed
	$(BIN)/ruff format . && $(BIN)/snakefmt Snakefile workflow/rules

report: $(BIN)/.installed
	$(BIN)/snakemake --cores $(CORES) && $(BIN)/snakemake --report report.html

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/recipes.py

# The Slurm test cluster is torn down whatever happens (failure, Ctrl-C); in here the
# cluster test fails, rather than skips, when Slurm is not up.
test-cluster: $(BIN)/.installed
	trap 'tests/cluster/slurm_down.sh || exit 1' EXIT; trap 'exit 130' INT TERM; \
	tests/cluster/slurm_up.sh && \
	SLURM_TEST_REQUIRED=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m cluster

clean:
	rm -rf results/* figures/* .snakemake report.html
	touch results/.gitkeep figures/.gitkeep

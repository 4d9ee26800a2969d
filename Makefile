# Two commands from a fresh clone: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Installs take the versions the tests passed with (constraints.txt), so a new release of moto,
# botocore or JupyterLab cannot break a fresh clone; pyproject.toml keeps ranges for people who
# install the package. `make lock` moves constraints.txt to the newest versions in those ranges.
CONSTRAINTS := constraints.txt

# Python may write its bytecode caches (__pycache__, git-ignored) whatever the shell says: with
# PYTHONDONTWRITEBYTECODE set, as on CI machines, every process (each notebook's kernel, each
# `runbook` command, each local AWS, each test worker rewriting the test modules' asserts)
# compiled the package from source again, a fifth of a kernel's start.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test check lint notebooks bench lab clean install lock prereqs

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -c $(CONSTRAINTS)
	@touch $(STAMP)

install: $(STAMP)

## make lock: upgrade within pyproject's ranges, then pin what is installed; run make test after
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]'
	@echo "# Versions the tests passed with: make installs with -c $(CONSTRAINTS)." > $(CONSTRAINTS)
	@echo "# Regenerate with make lock (the ranges live in pyproject.toml)." >> $(CONSTRAINTS)
	$(BIN)/python -m pip freeze --exclude-editable >> $(CONSTRAINTS)
	@touch $(STAMP)

## make prereqs: Python 3.11+, git, Node.js and npm, checked before anything is installed
prereqs:
	@$(PYTHON) -m runbook_lib.app.prereqs

## make run: build the whole pipeline on the embedded local AWS, headless, into out/<run-id>/
# Under the rehearsal clock: the local AWS's waits (gate WaitTime, approval expiry, build
# timeouts, schedule rates) run TIME_FACTOR times faster, so the canonical history with its
# blocked and rolled-back releases happens as AWS would run it, only in seconds. TIME_FACTOR=1
# runs in real time. A local AWS already running keeps the factor it was started with.
# Always the sample app on the local AWS: a runbook.toml left here by rehearsing your own app
# (or pointing it at real AWS) is neither read nor written (RUNBOOK_PARAMS_FILE=off).
TIME_FACTOR ?= 20
run: prereqs $(STAMP)
	RUNBOOK_PARAMS_FILE=off RUNBOOK_LOCAL_TIME_FACTOR=$(TIME_FACTOR) $(BIN)/runbook run \
		--target local -p apply=true -p push_sample_history=true --report

# Notebooks in the canonical run's order: the suite, the health report, then the teardown.
NOTEBOOKS_IN_RUN_ORDER := $(filter-out notebooks/14_teardown.ipynb,$(sort $(wildcard notebooks/*.ipynb))) \
	notebooks/reports/pipeline_health.ipynb notebooks/14_teardown.ipynb

## make test: unit, local-AWS, CLI, browser and notebook regression tests (nbval, strict)
# Tests run on TEST_WORKERS processes (pytest-xdist; TEST_WORKERS=0 runs them in this one): each
# worker has its own local AWS and temporary folders, and the notebooks stay together on one
# worker, in run order (conftest.py). Many tests wait on builds, kernels and subprocesses rather
# than on the CPU, so there are more workers than cores: on 2 cores, 5 left the machine idle 16 s
# in a 14-minute run, 4 left it idle 100 s (2026-12-07).
# Coverage: branch coverage of runbook_lib in the test processes and in the notebooks' kernels
# (nbval starts coverage in each kernel; it needs the package and the config file named, as
# here), printed per file not fully covered, HTML in out/coverage/html; under the floor in
# pyproject [tool.coverage.report] the run fails. Subprocesses (the `runbook` commands CLI tests
# start, the local AWS a test starts in a subprocess) are not measured.
TEST_WORKERS ?= 5
COVERAGE := --cov=runbook_lib --cov-config=pyproject.toml --cov-report=term --cov-report=html
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) tests $(NOTEBOOKS_IN_RUN_ORDER) \
		--nbval --nbval-sanitize-with tests/notebooks/sanitize.cfg --durations=20 $(COVERAGE)

## make check: the quick loop for every edit: unit tests, the local-AWS tests and the CLI's input
## checks, without those marked slow (no notebooks, browsers, end-to-end runs, fault rounds or
## fuzzing); stops at the first failure. `make test` and CI run everything.
CHECK_TESTS := tests/unit tests/integration tests/local_aws \
	tests/cli/test_bad_inputs.py tests/cli/test_local_clock.py
CHECK_WORKERS ?= 2
check: $(STAMP)
	$(BIN)/python -m pytest -n $(CHECK_WORKERS) -x -q \
		-m "not slow and not browser and not aws" $(CHECK_TESTS)

## make lint: ruff over the code, mypy over runbook_lib (its settings: pyproject [tool.mypy]) and
## `runbook buildspec check` over the buildspecs the project ships or runs in its tests; the same
## checks as the pre-commit hooks (.pre-commit-config.yaml)
LINT_BUILDSPECS := runbook_lib/sample_app/buildspec.yml $(sort $(wildcard \
	tests/fixtures/apps/*/buildspec.yml tests/fixtures/repos/*/buildspec.yml))
lint: $(STAMP)
	$(BIN)/ruff check runbook_lib tests tools notebooks/src benchmarks
	$(BIN)/mypy
	$(BIN)/runbook buildspec check --quiet $(LINT_BUILDSPECS)

## make notebooks: rebuild notebooks from notebooks/src and store the canonical run's outputs
notebooks: $(STAMP)
	$(BIN)/python tools/build_notebooks.py --execute

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lab: $(STAMP)
	$(BIN)/runbook lab

clean:
	rm -rf $(VENV) out lab .pytest_cache

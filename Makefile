# Two commands for a fresh machine: `make demo` (set up and run) and `make test` (set up and test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# OpenBLAS threads slow model training 3-8x on busy cores (scipy issue #23191), same results
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: setup demo test lint bench clean

# the product alone (what `make demo` needs)
# (scripts/install-venv uses uv when it can be had, pip otherwise)
$(RUN_STAMP): pyproject.toml scripts/install-venv
	bash scripts/install-venv $(PYTHON) $(VENV) .
	touch $(RUN_STAMP)

# the product plus the test tools
$(DEV_STAMP): $(RUN_STAMP)
	bash scripts/install-venv $(PYTHON) $(VENV) '.[dev]'
	touch $(DEV_STAMP)

setup: $(DEV_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/yuqing demo $(DEMO_ARGS)

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(DEV_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache

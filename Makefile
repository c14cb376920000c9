# Two commands on a fresh machine: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
# pip's lines go through sed: a failed install must still fail the recipe.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BACKENDS_STAMP := $(VENV)/.installed-backends

.PHONY: setup backends run test bench lint format graphviz clean help

help:
	@echo "make run    set up, then run steps 1-9 and the report at the tutorial's settings"
	@echo "make test   set up, then run the test suite"
	@echo "make bench  time the tutorial's code against stackgen (docs/speed.md)"
	@echo "make lint   ruff check and format check"
	@echo "make clean  remove everything a run generates (data, models, figures, results, lineage)"

setup: $(STAMP) graphviz

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "stackgen needs Python 3.11 or newer; found " + sys.version.split()[0] + " (set PYTHON=python3.11)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "installing stackgen and what it needs (TensorFlow, Keras, scikit-learn, ...) into $(VENV): a few minutes the first time"
	$(PY) -m pip install --progress-bar off -c constraints.txt -e ".[dev]" | sed '/^Requirement already satisfied/d'
	@touch $(STAMP)

# JAX and PyTorch (CPU builds, pinned in constraints.txt), for the tests that run every step
# under each Keras backend; pyarrow (Parquet), the packages that ship the real tables the tests
# run on, and Dask's distributed (the repeat study on a cluster). `make run` needs none of them.
backends: $(BACKENDS_STAMP)

$(BACKENDS_STAMP): $(STAMP)
	@echo "installing the optional backends and extras (JAX, PyTorch, pyarrow, Dask) for the tests"
	$(PY) -m pip install --progress-bar off -c constraints.txt -e ".[dev,jax,torch,parquet,examples,cluster]" | sed '/^Requirement already satisfied/d'
	@touch $(BACKENDS_STAMP)

# Graphviz draws figures/stacked_model.png. Installed with apt when we are root; otherwise
# step 5 still runs and says how to install it.
graphviz:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Graphviz with apt-get"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
		|| echo "could not install Graphviz; figures/stacked_model.png will be skipped"; \
	else \
		echo "Graphviz's 'dot' is missing: install it (sudo apt-get install graphviz) to get figures/stacked_model.png"; \
	fi

run: setup
	$(PY) -m stackgen run

test: setup backends
	STACKGEN_REQUIRE_BACKENDS=1 $(PY) -m pytest -n auto --dist loadgroup

bench: setup
	$(PY) benchmarks/bench.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	find data models figures results reports -mindepth 1 ! -name .gitkeep -delete
	rm -rf runs examples/data
	rm -f lineage.json .stackgen.lock

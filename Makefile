# Head360 Studio: `make studio` opens the studio, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install studio test lint system-deps bench clean

install: $(VENV)/.installed

# torch first: `torch==2.13.0` takes the CPU build where one lies on disk (no multi-GB CUDA download);
# on a machine with CUDA the same pin takes PyPI's CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	$(PIP) check
	touch $@

studio: install
	$(PY) main.py

system-deps:
	scripts/install-system-deps.sh

test: install system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# the product's own benchmark on the bundled demo model (camera moves, code changes, mesh export; JSON);
# bench/*.py measure the other figures the README quotes, each with its own options
bench: install
	$(PY) main.py bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

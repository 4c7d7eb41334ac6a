# asrkit: `make demo` runs the main job on the built-in corpus, `make test` the test suite.
# Everything is installed into .venv by `make install` (idempotent; fast when done).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.asrkit-installed
PYTEST_ARGS ?=

.PHONY: install test demo bench clean help

help:
	@echo "make demo     install, then run the synth recipe (recipes/synth/w2v2_tiny)"
	@echo "make test     install, then run the test suite"
	@echo "make bench    install (+bench extra), then write benchmark tables to bench/results/"
	@echo "make install  create $(VENV) and install asrkit with its dev extra"
	@echo "make clean    remove $(VENV), build files and recipe outputs"

install: $(STAMP)

# Re-installs only when the packaging files change.
$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: install
	cd recipes/synth/w2v2_tiny && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh

bench: install
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m asrkit.bench --out bench/results

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache bench/results
	rm -rf recipes/*/*/data recipes/*/*/exp
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

.PHONY: install demo test lint bench
install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/millwright demo

test: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(VENV)/bin/pytest -m slow

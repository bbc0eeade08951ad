# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,bench,edge]'
	rm -f $(VENV)/.installed-*
	touch $@

.PHONY: install demo test lint bench system-deps
install: $(STAMP)

# Browser tests need Debian's Chromium and ChromeDriver, deployment tests docker-compose
# (it validates the compose file without an engine). Installed here when missing, as root.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make test needs$$missing; run it as root or install them with apt-get" >&2; exit 2; \
	  fi; \
	  echo "installing$$missing with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	    || { echo "apt-get could not install$$missing" >&2; exit 2; }; \
	fi

demo: $(STAMP)
	$(VENV)/bin/millwright demo

test: $(STAMP) system-deps
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(VENV)/bin/pytest -m slow

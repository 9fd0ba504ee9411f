# exam-integrity: `make demo` and `make test` work on a fresh clone with nothing installed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-centre

INTEROP_VENV ?= .venv-interop
INTEROP_STAMP := $(INTEROP_VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean interop browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(VENV)/bin/examctl demo --dir $(DEMO_DIR)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The independent C2SP implementation the interop tests compare against (tests/interop/aics.py).
# It needs Python >= 3.12; without one (or without the network) the interop tests are skipped.
$(INTEROP_STAMP): tests/interop/aics-requirements.txt
	@for p in python3.13 python3.12 $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	    if $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	        $$p -m venv $(INTEROP_VENV) \
	        && $(INTEROP_VENV)/bin/pip install --quiet 'cryptography>=50.0.2' \
	        && $(INTEROP_VENV)/bin/pip install --quiet --no-deps --require-hashes \
	            -r tests/interop/aics-requirements.txt \
	        && touch $@ && exit 0; \
	    fi; \
	done; echo "interop: no Python >= 3.12 could install aics-witness; its tests will be skipped"

interop: $(INTEROP_STAMP)

# Chromium and its driver from the system's packages, for the dashboard's browser tests
# (tests/api/monitor/test_dashboard_browser.py). apt-get as root, else through sudo; without
# either (or without the network) the browser tests are skipped and say why.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver

browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	    echo "browser: no apt-get here; install chromium and chromedriver to run the browser tests"; exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "browser: not root and no sudo; the browser tests will be skipped"; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null \
	|| { echo "browser: apt-get could not install chromium; the browser tests will be skipped"; exit 1; }

unit: $(STAMP)
	-@$(MAKE) --no-print-directory interop
	-@$(MAKE) --no-print-directory browser
	$(VENV)/bin/pytest

test: lint typecheck unit

bench: $(STAMP)
	for script in $(filter-out bench/__init__.py,$(wildcard bench/*.py)); do $(PY) $$script --quick || exit 1; done

clean:
	rm -rf $(VENV) $(INTEROP_VENV) $(DEMO_DIR) .mypy_cache .pytest_cache .ruff_cache

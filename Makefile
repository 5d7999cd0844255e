# Two commands for a new user on a fresh machine (see README.md):
#   make serve   set up, build and serve the site on the bundled dataset at http://127.0.0.1:8001
#   make test    set up (Python packages, and Debian's Chromium for the browser tests) and run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint validate system-deps

# axe-core, the accessibility engine the browser tests inject into pages (npm, pinned in package.json).
AXE := node_modules/axe-core/axe.min.js

$(STAMP): pyproject.toml
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { echo "python3 cannot make a venv: install Debian's python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/broadsheet serve

validate: $(STAMP)
	$(BIN)/broadsheet validate

# Browser tests drive Debian's Chromium; a test tool never downloads a browser of its own.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check scripts tests

$(AXE): package.json
	@command -v npm >/dev/null 2>&1 || { echo "install Debian's npm (apt-get install npm) for the accessibility tests"; exit 1; }
	npm install --no-audit --no-fund --no-save --silent
	touch $(AXE)

test: $(STAMP) system-deps $(AXE)
	$(BIN)/ruff check scripts tests
	$(BIN)/python -m pytest

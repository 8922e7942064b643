# The two commands of the README:
#   make demo   — install, build the demo city on SQLite, serve it at http://127.0.0.1:8000
#   make test   — install, then lint, type-check and run the whole suite on SQLite and PostgreSQL
.PHONY: demo test install

PY ?= python3
VENV ?= .venv

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/xinyong demo --serve

test: install
	bash scripts/test

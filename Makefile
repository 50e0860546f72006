# Two commands on a fresh clone; each installs what it needs into .venv/ and nox's venvs.
PYTHON ?= python3
VENV := .venv
NOX := $(VENV)/bin/nox

.PHONY: demo test bench
demo: $(NOX)
	$(NOX) -s demo

test: $(NOX)
	$(NOX) -s lint typecheck docs audit tests tests_heavy tests_latest_aiobotocore

bench: $(NOX)
	$(NOX) -s bench

$(NOX):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip nox

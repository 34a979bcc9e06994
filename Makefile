# mailadmin — two commands: `make run` (console + private mail stack) and `make test` (everything, for CI).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export MAILADMIN_PORT ?= 8000

.PHONY: run stop test deps debs venv messages lint typecheck pytest bench clean-var

## run: install what is missing, start the private stack, migrate, create `admin`, serve on 127.0.0.1:$(MAILADMIN_PORT)
run: deps messages
	./scripts/run.sh

## stop: stop the console and the private stack (by PID files only)
stop:
	./scripts/stop.sh

## test: install what is missing, then ruff, mypy and the whole pytest suite against a fresh private stack
test: deps messages lint typecheck pytest

deps: debs venv

debs:
	./scripts/install-debs.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

messages: $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po
	msgfmt --check -o $@ $<

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

pytest:
	$(VENV)/bin/pytest

## bench: the benchmarks (not tests); each prints its figures
bench:
	for b in bench/*.py; do $(PY) $$b; done

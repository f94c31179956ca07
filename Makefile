# The two commands of the README:  make run  /  make test
VENV ?= .venv
export VENV

.PHONY: run test setup lint demo
setup:
	bash scripts/setup.sh

run: setup
	$(VENV)/bin/hearken $(ARGS)

test: setup
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/pytest -q -ra $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check app tests

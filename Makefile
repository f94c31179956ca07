# The two commands of the README:  make run  /  make test
# Installers:  make package (dist/: one-folder app, .deb, .tar.gz)  /  make package-test (+ clean-root proof)
VENV ?= .venv
export VENV

.PHONY: run test setup lint demo package package-test
setup:
	bash scripts/setup.sh

run: setup
	$(VENV)/bin/hearken $(ARGS)

test: setup
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/pytest -q -ra $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check app tests packaging scripts

package:
	bash packaging/build.sh

package-test: package
	bash packaging/test_clean_root.sh dist/hearken_*.deb
	bash packaging/check_portable.sh dist/hearken

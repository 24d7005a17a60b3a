# The two promises of the README:
#   make debian   build, test and export Debian 12 (the main job)
#   make test     lint, type-check and run the whole test suite
VENV := .venv
MI := $(VENV)/bin/metal-images
CHANNEL ?= stable

.PHONY: deps lint test debian ubuntu firewall nvidia clean

deps:
	@bash scripts/bootstrap.sh

lint: deps
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -v --junitxml=build/junit.xml

debian ubuntu firewall: deps
	$(MI) build $@
	$(MI) export $@ --channel $(CHANNEL)

clean:
	rm -rf build

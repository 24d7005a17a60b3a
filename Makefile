# The two promises of the README:
#   make debian   build, test and export Debian 12 (the main job)
#   make test     lint, type-check and run the whole test suite
# `make ubuntu` and `make firewall` do the same for those images (firewall builds on ubuntu).
VENV := .venv
MI := $(VENV)/bin/metal-images
CHANNEL ?= stable

.PHONY: deps lint test debian ubuntu firewall clean

deps:
	@bash scripts/bootstrap.sh

lint: deps
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

test: lint
	mkdir -p build
	$(VENV)/bin/pytest -v --junitxml=build/junit.xml

# build -> export a candidate -> test the candidate like metal-hammer -> promote the tested
# files (no second export), so a failing test never leaves an image in images/<channel>/.
define image_job
	$(MI) build $(1)
	$(MI) export $(1) --channel $(CHANNEL) --output build/$(1)/candidate
	$(MI) test $$(find build/$(1)/candidate -name img.tar.lz4 | head -n1) --role $(2) --out build/$(1)/test
	$(MI) export $(1) --channel $(CHANNEL) --from-candidate build/$(1)/candidate
endef

debian: deps
	$(call image_job,debian,machine)

ubuntu: deps
	$(call image_job,ubuntu,machine)

firewall: ubuntu
	$(call image_job,firewall,firewall)

clean:
	rm -rf build

# The two promises of the README:
#   make debian   build, test and export Debian 12 (the main job)
#   make test     lint, type-check and run the whole test suite
# `make ubuntu`, `make firewall` and `make nvidia` do the same for those images (firewall builds
# on ubuntu, nvidia on debian);
# `make debian13`, `make ubuntu2404` and `make ubuntu2604` for the releases of
# images/debian/13.yaml, images/ubuntu/24.04.yaml and images/ubuntu/26.04.yaml.
# `make almalinux` and `make centos` too, with their RPM mirrors set (docs/rpm.md): without
# one the build stops at once with one line naming the variable to set.
VENV := .venv
MI := $(VENV)/bin/metal-images
CHANNEL ?= stable

.PHONY: deps lint test debian ubuntu firewall nvidia debian13 ubuntu2404 ubuntu2604 almalinux centos clean

deps:
	@bash scripts/bootstrap.sh

lint: deps
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

test: lint
	mkdir -p build
	$(VENV)/bin/pytest -v --durations=30 --junitxml=build/junit.xml

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

# debian-nvidia/12 builds on the debian image's tree (its build is a cache hit after `make debian`)
nvidia: deps
	$(call image_job,debian-nvidia,machine)

debian13: deps
	$(call image_job,debian-13,machine)

ubuntu2404: deps
	$(call image_job,ubuntu-24.04,machine)

ubuntu2604: deps
	$(call image_job,ubuntu-26.04,machine)

almalinux: deps
	$(call image_job,almalinux,machine)

centos: deps
	$(call image_job,centos,machine)

clean:
	rm -rf build

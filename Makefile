# Entry points of the formula's tooling. `make test` is what CI runs.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/pytest

.PHONY: venv lint test test-render test-render-3006 converge kitchen deploy bench clean deps-converge

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt salt-requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

lint: venv
	$(BIN)/ruff check _modules _states glance/lib glance/files tests tools
	$(BIN)/yamllint --strict .
	$(BIN)/salt-lint $$(find glance tests/salt -name "*.sls")

test-render: venv
	$(PYTEST) -n 2 tests/unit

# The same unit and render tests under Salt 3006 LTS (salt-3006-requirements.txt),
# in a virtualenv of their own under .cache/.
VENV_3006 := .cache/salt3006-venv
$(VENV_3006)/.installed: salt-3006-requirements.txt
	python3 -m venv $(VENV_3006)
	$(VENV_3006)/bin/pip install --quiet --upgrade pip
	$(VENV_3006)/bin/pip install --quiet -r salt-3006-requirements.txt
	touch $@

test-render-3006: $(VENV_3006)/.installed
	$(VENV_3006)/bin/python -c 'import salt.version; print("Salt", salt.version.__version__)'
	$(VENV_3006)/bin/pytest -q -n 2 --disable-warnings tests/unit

# One run id for the whole of `make test`: each phase's time goes to the
# table the converges print at the end (tests/harness/report.py).
ifndef CONVERGE_RUN_ID
CONVERGE_RUN_ID := $(shell date +%Y%m%d-%H%M%S)-make-$(shell echo $$PPID)
endif
export CONVERGE_RUN_ID
TIMED = $(BIN)/python -m tests.harness.report time

# The unit and render tests run beside the converges, on the CPU the
# converge units leave idle while they wait on services, restarts and
# timeouts (tests/harness/idle.py: a session of its own at nice 19, since
# plain nice does not hold back a session against the containers). Their
# output follows the converges' (.cache/reports/unit-tests.log); each pytest
# writes a JUnit report, and the last line adds them all up.
REPORTS := .cache/reports
test: venv
	$(TIMED) lint -- $(MAKE) --no-print-directory lint
	@rm -rf $(REPORTS); mkdir -p $(REPORTS); \
	$(BIN)/python -m tests.harness.idle -- $(MAKE) --no-print-directory unit-tests-junit \
	  >$(REPORTS)/unit-tests.log 2>&1 & units=$$!; \
	trap 'kill -TERM -- -$$units 2>/dev/null' INT TERM; \
	PYTEST_ADDOPTS="--junitxml=$(REPORTS)/converge.xml" $(MAKE) --no-print-directory converge; \
	wait $$units; \
	echo "==== unit and render tests (run beside the converges) ===="; cat $(REPORTS)/unit-tests.log; \
	$(BIN)/python -m tests.harness.report totals $(REPORTS)/unit-salt3008.xml \
	  $(REPORTS)/unit-salt3006.xml $(REPORTS)/converge.xml

# Both unit test runs, each timed and with its JUnit report (for `make
# test`). The second runs even when the first fails; the JUnit totals at the
# end of `make test` count every failure, and a report not written as one.
.PHONY: unit-tests-junit
unit-tests-junit: venv
	-PYTEST_ADDOPTS="--junitxml=$(REPORTS)/unit-salt3008.xml" \
	  $(TIMED) "unit tests, Salt 3008" -- $(MAKE) --no-print-directory test-render
	-PYTEST_ADDOPTS="--junitxml=$(REPORTS)/unit-salt3006.xml" \
	  $(TIMED) "unit tests, Salt 3006" -- $(MAKE) --no-print-directory test-render-3006

# Applies the formula to this host, as root, with a Salt of its own
# (salt-requirements.txt, in .cache/deploy/venv; nothing of the development
# tools): `make deploy [PILLAR=path/to/pillar.sls | SCENARIO=single]`. No
# pillar: the standalone default. SCENARIO: a single-node suite of
# .kitchen.yml, its test services included. PYPI=<release>: that Glance
# release from PyPI instead of the distribution's. See tools/deploy.py.
deploy:
	@python3 tools/deploy.py $(if $(PILLAR),--pillar "$(PILLAR)") $(if $(SCENARIO),--scenario "$(SCENARIO)") \
	  $(if $(PYPI),--pypi "$(PYPI)")

# Benchmarks (print figures; not tests). First image seeding: converges the
# single suite on BENCH_PLATFORM in a container and runs
# tests/bench/bench_images.py inside it (BENCH_ARGS go to the script, see
# --help). The same into Ceph RBD on the single-ceph suite. BENCH_CONTAINER=
# <name>, with one BENCH: a converged container of that suite kept with
# KEEP_CONTAINERS=1, instead of a new one. Then the cost of a re-apply that changes nothing against an empty
# apply, median of REAPPLY_RUNS, for the standalone and single suites on both
# Debian releases (tests/harness/bench_reapply.py). Then the Glance node's
# first apply from PyPI against the distribution's packages, the pypi suite on
# BENCH_PLATFORM, and the virtualenv's size (tests/harness/bench_install.py).
# `make bench BENCH=images`, `BENCH=rbd`, `BENCH=reapply` or `BENCH=install`
# runs one of them.
BENCH_PLATFORM ?= debian-12
BENCH ?= images rbd reapply install
REAPPLY_RUNS ?= 7
bench: venv deps-converge
ifneq (,$(filter images,$(BENCH)))
	CONTAINERS_CONF="$(CURDIR)/.ci/containers.conf" $(BIN)/python -m tests.harness.bench \
	  --platform $(BENCH_PLATFORM) $(if $(BENCH_CONTAINER),--container $(BENCH_CONTAINER)) -- $(BENCH_ARGS)
endif
ifneq (,$(filter rbd,$(BENCH)))
	CONTAINERS_CONF="$(CURDIR)/.ci/containers.conf" $(BIN)/python -m tests.harness.bench --suite single-ceph \
	  --platform $(BENCH_PLATFORM) $(if $(BENCH_CONTAINER),--container $(BENCH_CONTAINER)) -- $(BENCH_ARGS)
endif
ifneq (,$(filter reapply,$(BENCH)))
	CONTAINERS_CONF="$(CURDIR)/.ci/containers.conf" $(BIN)/python -m tests.harness.bench_reapply \
	  --platforms debian-12,debian-13 --suites standalone,single --runs $(REAPPLY_RUNS)
endif
ifneq (,$(filter install,$(BENCH)))
	CONTAINERS_CONF="$(CURDIR)/.ci/containers.conf" $(BIN)/python -m tests.harness.bench_install \
	  --platform $(BENCH_PLATFORM)
endif

clean:
	rm -rf $(VENV) .pytest_cache

# Real converges in systemd containers (podman), suites from .kitchen.yml,
# and the newcomer check (`make deploy` in a fresh clone on a bare Debian,
# tests/integration/test_newcomer.py; SUITE=newcomer runs it alone).
# `make converge SUITE=standalone PLATFORM=debian-12` runs one suite on one
# platform; without them, every suite on every Debian platform. Each suite
# group on each platform (and the newcomer check on each) is a unit of work;
# CONVERGE_JOBS units run side by side, longest first
# (tests/harness/schedule.py). KEEP_CONTAINERS=1 keeps the containers for
# debugging.
SUITE ?=
PLATFORM ?=
CONVERGE_JOBS ?= 2
export CONVERGE_JOBS
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# iptables: netavark's firewall driver for the suites' bridge networks.
CONVERGE_PKGS := podman runc debootstrap uidmap netavark aardvark-dns iptables

.PHONY: deps-converge
deps-converge:
	@missing=$$(for p in $(CONVERGE_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

converge: venv deps-converge
	SUITE="$(SUITE)" PLATFORM="$(PLATFORM)" CONTAINERS_CONF="$(CURDIR)/.ci/containers.conf" \
	  $(BIN)/python -m pytest -v -rA --tb=short \
	  tests/integration/test_converge.py tests/integration/test_newcomer.py

# Test Kitchen (kitchen-docker, kitchen-salt): one platform at a time, since
# the cluster's nodes find each other by name on a shared network; every
# instance of the platform converges before any is verified (Kitchen drops
# the dots of platform names in instance names).
KITCHEN_PLATFORMS ?= ubuntu-22.04 ubuntu-24.04 rocky-9 debian-12 debian-13
kitchen:
	@for p in $(KITCHEN_PLATFORMS); do \
	  i=".*-$${p//./}\$$"; \
	  kitchen converge "$$i" && kitchen verify "$$i"; rc=$$?; \
	  kitchen destroy "$$i"; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	done

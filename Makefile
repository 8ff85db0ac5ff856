# Two commands on a fresh machine: `make demo` and `make test`. Both install what is
# missing first (idempotently): Debian packages, Toxiproxy into .bin/, a virtualenv.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HARNESS := $(VENV)/bin/harness
STAMP := $(VENV)/.installed

.PHONY: install system pint k8s demo test test-fast lint docs up down status bench clean

install: system $(STAMP)

# cheap when nothing is missing: it only looks for the programs
system:
	scripts/install-system.sh

# optional: pint (Cloudflare's rule linter) into .bin/; `harness alerts check` then runs it
pint:
	scripts/install-system.sh --pint

# the Kubernetes test bed (etcd, API server, controllers, kwok, Chaos Mesh) built into a user
# cache shared by every clone and linked into .bin/k8s/ (cold: about 15 min on 2 cores; then
# instant); `make test` builds it, so the Kubernetes runtime is tested on a real control plane
k8s:
	scripts/install-k8s.sh

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# the stack up, a few requests, then the experiment suite (each ending as designed)
demo: install
	$(HARNESS) up
	$(PY) scripts/demo.py
	$(HARNESS) run experiments --as-designed

# pint too, so its tests run rather than skip (users need it only for `alerts check`), and the
# Kubernetes test bed; the 25 slowest tests are listed at the end, to keep the suite's time in view
test: install pint k8s
	$(PY) -m pytest --durations=25

test-fast: install
	$(PY) -m pytest -m "not slow"

lint: install pint
	$(VENV)/bin/ruff check harness sample_app tests bench scripts
	$(VENV)/bin/mypy harness
	$(HARNESS) slo generate slo/shop.yaml --out alert_rules/slo --check
	$(HARNESS) alerts check alert_rules alert_rules/slo
	$(PY) scripts/gen_docs.py --check

# the reference parts of docs/ (field tables, command reference) from the code
docs: install
	$(PY) scripts/gen_docs.py

up: install
	$(HARNESS) up

down:
	$(HARNESS) down

status:
	$(HARNESS) status

bench: install
	scripts/install-system.sh --bench
	$(HARNESS) up
	$(PY) -m bench.run_all

clean: down
	rm -rf .run

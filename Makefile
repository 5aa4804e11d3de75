# Two commands for a fresh clone: `make synth` and `make test`. Every target installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
# One line per check after synth, read from cdk.out/validation-report.json: the plugins app.py registers.
SUMMARY := $(PY) -m constructs_lib.validation_summary cdk.out --plugin port-plan --plugin AwsSolutions
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false

.PHONY: install synth test deploy destroy clean bench

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@echo "== Python packages into $(VENV): aws-cdk-lib, cdk-nag, constructs_lib, pytest, cfn-lint, d2 (about a minute) =="
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json $(wildcard package-lock.json)
	@echo "== the CDK CLI pinned in package.json into node_modules (npx --no-install cdk runs it) =="
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
	touch $@

synth: install
	@rm -f cdk.out/validation-report.json  # a failed synth must not leave the last one to summarize
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) synth --quiet --no-notices || { $(SUMMARY) >&2; exit 1; }
	$(PY) -m constructs_lib plan cdk.out
	$(SUMMARY)

test: install
	$(PY) -m pytest

deploy: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) deploy --all --no-notices

destroy: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) destroy --all --force --no-notices

clean:
	rm -rf cdk.out .pytest_cache

bench: install
	$(PY) -m benchmarks.run_all

# The two commands: `make demo` and `make test`. Both install what they need themselves.

VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: the store the demo and tests write to, and the servers later drivers test against.
DEMO_PACKAGES := victoria-metrics mosquitto
# systemd: systemd-analyze, to verify the unit file offline (no running systemd needed).
# prometheus: promtool, to unit-test the central alert rules (vmalert runs the same format).
# libmodbus-dev, pkgconf: bench.ratio compiles a libmodbus server, so no Python server limits it.
# tinyproxy: a real HTTP proxy, for a school whose gateway reaches the city through one.
# chromium, chromium-driver: the console's tests drive a real browser (tests/console);
# fonts-wqy-microhei: a Chinese font, so its screenshots in Chinese show characters.
TEST_PACKAGES := victoria-metrics mosquitto mosquitto-clients snmpd snmp systemd prometheus libmodbus-dev pkgconf \
	tinyproxy chromium chromium-driver fonts-wqy-microhei
# The console's charting library comes from npm (campus_ops/console/package-lock.json).
NODE_PACKAGES := nodejs npm
CONSOLE := campus_ops/console

.PHONY: demo test lint typecheck faults bench venv clean charts

demo: venv charts
	@$(MAKE) --no-print-directory debs PACKAGES="$(DEMO_PACKAGES)"
	$(BIN)/edge-agent demo

test: venv charts
	@$(MAKE) --no-print-directory debs PACKAGES="$(TEST_PACKAGES)"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q -ra

# The long fault-injection runs alone.
faults: venv
	@$(MAKE) --no-print-directory debs PACKAGES="$(TEST_PACKAGES)"
	$(BIN)/pytest -q -ra -m faults

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The console's charting library, from the committed lockfile; `npm ci` runs again only when
# the lockfile is newer than what it installed (npm writes node_modules/.package-lock.json).
charts: $(CONSOLE)/node_modules/.package-lock.json

$(CONSOLE)/node_modules/.package-lock.json: $(CONSOLE)/package-lock.json $(CONSOLE)/package.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory debs PACKAGES="$(NODE_PACKAGES)"
	cd $(CONSOLE) && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# Installs only what is missing, after an apt-get update.
.PHONY: debs
debs:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

clean:
	rm -rf $(VENV) state build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache $(CONSOLE)/node_modules

bench: venv
	@$(MAKE) --no-print-directory debs PACKAGES="$(TEST_PACKAGES)"
	$(BIN)/python -m bench.run

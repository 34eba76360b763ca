# The README's two commands: `make demo` and `make test`. Each one sets up what it needs and is safe to rerun.
SHELL := /bin/bash
PY    := .venv/bin/python
PORT  ?= 8000

.PHONY: demo test setup setup-debian setup-python setup-npm build

demo: setup build
	$(PY) build.py serve --port $(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

build: setup
	@# cross-origin isolated: the CPU kernels may then run on every core (SharedArrayBuffer threads)
	$(PY) build.py build --cross-origin-isolated

setup: setup-debian setup-python setup-npm

# Headless Chromium + ChromeDriver from Debian (browser tests and `build.py bench`).
setup-debian:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "== installing Debian chromium + chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
	    || { echo "error: could not install chromium and chromium-driver with apt-get; install them, then rerun."; exit 1; }; \
	fi

# A venv with the package (editable) and the native/test tools; redone only when pyproject.toml changes.
setup-python: .venv/.setup-stamp
.venv/.setup-stamp: pyproject.toml
	@command -v python3 >/dev/null || { echo "error: python3 (>= 3.11) is needed: apt-get install python3 python3-venv"; exit 1; }
	@[ -x $(PY) ] || python3 -m venv .venv
	$(PY) -m pip install -q --disable-pip-version-check -e ".[native,test,dev]"
	@# tblib inside Pyodide gives browser tests readable tracebacks (pure Python; PyPI's wheel works there)
	$(PY) -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d .cache/pyodide-wheels tblib==3.2.2
	@touch $@

# Pyodide and the other browser packages, exactly as package-lock.json pins them.
setup-npm: node_modules/.setup-stamp
node_modules/.setup-stamp: package-lock.json
	@command -v npm >/dev/null || { echo "error: node and npm are needed: apt-get install nodejs npm (Node >= 18)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error || { echo "error: 'npm ci' failed; check that the npm registry is reachable and package-lock.json is intact."; exit 1; }
	@touch $@

# vggviz: every target makes its own .venv and installs what it needs (a fresh clone works).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8866
LAB_PORT ?= 8888
HUB_PROXY := deploy/jupyterhub/node_modules/.bin/configurable-http-proxy
# Kernels kept ready, each having run the notebook (about 160 MB each for the stem explorer):
# a class arriving at once, e.g. `make dashboard POOL=8`, finds its kernels waiting.
POOL ?= 1
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: dashboard dashboards lab hub hub-proxy weights test test-quick bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Runtime stack and the package itself (editable, so notebooks see your edits).
$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# JupyterHub, its culler, authenticator and spawner (make hub; the hub tests).
$(VENV)/.hub: requirements-hub.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-hub.txt
	touch $@

# JupyterHub's proxy, configurable-http-proxy from npm, pinned by the lock file next to it.
$(HUB_PROXY): deploy/jupyterhub/package.json deploy/jupyterhub/package-lock.json
	npm ci --prefix deploy/jupyterhub --no-audit --no-fund --loglevel=error
	touch $@

hub-proxy: $(HUB_PROXY)

# Test, benchmark and lint tools on top.
$(VENV)/.dev: requirements-dev.txt requirements-hub.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## make weights: VGG16's ImageNet weights into Keras' cache (progress bar, md5 checked; nothing
## to do when cached). Offline it says in one line which file to put where, and make goes on.
weights: $(VENV)/.runtime
	@$(BIN)/python -m vggviz.cli fetch-weights vgg16 || true

## make dashboard: `vggviz dashboard`: the stem explorer with Voilà on 127.0.0.1 (settings:
## vggviz/server/config/voila.json, shipped with the package)
dashboard: $(VENV)/.runtime weights
	$(BIN)/vggviz dashboard --port=$(PORT) --pool=$(POOL)

## make dashboards: `vggviz dashboard --all`: the three dashboards behind a landing page (the
## code tour is for `make lab`)
dashboards: $(VENV)/.runtime weights
	$(BIN)/vggviz dashboard --all --port=$(PORT) --pool=$(POOL)

## make lab: JupyterLab on the notebooks, with the package's settings (vggviz/server/config)
lab: $(VENV)/.runtime weights
	JUPYTER_CONFIG_PATH=$(CURDIR)/vggviz/server/config $(BIN)/jupyter lab --no-browser --ip=127.0.0.1 \
	  --port=$(LAB_PORT) --ServerApp.port_retries=0 --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root,)

## make hub: JupyterHub for a class on this machine (deploy/jupyterhub/jupyterhub_config.py;
## deploy/README.md: its settings, run as root with systemd). VGGVIZ_HUB_* variables configure it.
hub: $(VENV)/.hub $(HUB_PROXY)
	@export KERAS_HOME="$${VGGVIZ_HUB_KERAS_HOME:-$${VGGVIZ_HUB_DIR:-$(CURDIR)/.hub}/keras}"; \
	  $(BIN)/python -m vggviz.cli fetch-weights vgg16 || true
	@echo "vggviz hub: http://$${VGGVIZ_HUB_IP:-127.0.0.1}:$${VGGVIZ_HUB_PORT:-8000}/  (Ctrl-C stops it)"
	$(BIN)/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

# Both cores (pytest-xdist: each test file stays on one worker, so its servers and models are
# made once; files are handed out in the suite's order, heavy files first, see tests/conftest.py,
# not xdist's most-tests-first, which left the one-test browser files for the end), the 30
# slowest tests named, a JUnit report for whoever looks next; no retries.
WORKERS ?= 2
PYTEST_RUN = $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder --durations=30 \
	--junitxml=test-artifacts/junit.xml

## make test: the whole suite, then ruff (pytest's "no tests ran", exit code 5, is a failure too)
test: $(VENV)/.dev $(HUB_PROXY)
	@rc=0; $(PYTEST_RUN) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: failing"; rc=1; fi; \
	$(BIN)/ruff check . || rc=1; \
	exit $$rc

## make test-quick: the quick loop while editing: tests not marked slow or browser, with a tenth
## of the property tests' examples (tests/fuzz_profile.py), then ruff
test-quick: $(VENV)/.dev
	@rc=0; HYPOTHESIS_PROFILE=quick $(PYTEST_RUN) -m "not slow and not browser" $(PYTEST_ARGS) \
	  || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-quick: pytest collected no tests: failing"; rc=1; fi; \
	$(BIN)/ruff check . || rc=1; \
	exit $$rc

## make bench: the benchmarks in benchmarks/ (they report figures, they do not assert)
bench: $(VENV)/.dev
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## make lint: ruff
lint: $(VENV)/.dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info deploy/jupyterhub/node_modules

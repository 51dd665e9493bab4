# Two commands do all set-up: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The labelling page's browser test drives Debian's Chromium (Playwright's own download
# cannot run here); root installs it directly, anyone else through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser demo demo-full test lint check bench bench-devices clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of PyTorch first, so nothing pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# The beets extra: the beets plugin (beetsplug/tunetag.py), so .venv/bin/beet runs it.
	$(BIN)/pip install --quiet -e ".[dev,beets]"
	# musicnn's pretrained weights only: its own code needs TensorFlow 1 and old numpy.
	$(BIN)/pip install --quiet --no-deps musicnn==0.1.0
	touch $(STAMP)

install: $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || \
	  $(SUDO) apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update >/dev/null 2>&1 && \
	    $(SUDO) apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } || \
	  echo "note: Chromium could not be installed; the browser test will say it is skipped"

# The whole job on a synthesised library, the networks on a budget (a few minutes on 2 cores).
demo: $(STAMP)
	$(BIN)/python -m tunetag.demo.run demo

# The same, every model trained fully: shortchunk up to 40 epochs, seed 8 (12-15 minutes).
demo-full: $(STAMP)
	$(BIN)/python -m tunetag.demo.run demo --full

lint: $(STAMP)
	$(BIN)/ruff check tunetag beetsplug tests benchmarks
	$(BIN)/ruff format --check tunetag beetsplug tests benchmarks
	$(BIN)/lint-imports

# Tests run one process per core (pytest-xdist; the cores this process may use, at most 4, as
# each holds PyTorch and its own demo libraries), each file's tests in one process (its
# fixtures built once, the session's once a process): 5 minutes on 2 cores where one took 8.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -gt 4 ] && n=4; echo $$n)
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The quick loop: lint and every test not marked slow (about 2.5 minutes on 2 cores).
check: $(STAMP) lint
	$(PYTEST) -m "not slow" -q -p no:cacheprovider

test: lint browser
	$(PYTEST) -q

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/learning.py
	$(BIN)/python benchmarks/active.py
	$(BIN)/python benchmarks/similar.py

bench-devices: $(STAMP)
	$(BIN)/python benchmarks/devices.py

clean:
	rm -rf $(VENV) demo build *.egg-info

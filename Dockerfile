# syntax=docker/dockerfile:1
# Two images, both through the `watchkeeper` entrypoint:
# - the default (last) stage: the collector (`watchkeeper collect`), the review UI
#   (`watchkeeper up`) and every other command;
# - the `sidecar` stage: `watchkeeper sidecar` alone, from watchkeeper-ingest (no chDB,
#   no detectors, no review app), for the container next to each app.
#
#   docker build -t ghcr.io/watchkeeper/watchkeeper:0.1.0 .
#   docker build --target sidecar -t ghcr.io/watchkeeper/watchkeeper-sidecar:0.1.0 .
#
# The Helm chart (helm/watchkeeper) runs it as user 10001 with a read-only root file
# system and mounts the writable places: /tmp, and the sidecar's spool under
# /var/lib/watchkeeper. tests/helm/test_dockerfile.py keeps this file and the chart in
# step (user, port, entrypoint, paths), since no image is built in the test suite.

ARG PYTHON_IMAGE=python:3.11-slim
ARG RUST_IMAGE=rust:1-slim-bookworm

# The compiled core (native/: Rust, PyO3, one abi3 wheel for CPython >= 3.10). The image
# runs the same code without it, several times slower on the detectors and the OTLP
# decoding, so it is built here rather than left out.
FROM ${RUST_IMAGE} AS native
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY native/ native/
RUN python3 -m venv /venv \
    && /venv/bin/pip wheel --no-cache-dir --wheel-dir /wheels ./native

# The sidecar's wheels: watchkeeper-ingest and its dependencies only.
FROM ${PYTHON_IMAGE} AS build-ingest
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY ingest/ ingest/
RUN pip wheel --wheel-dir /wheels ./ingest

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY sdk/ sdk/
COPY detectors/ detectors/
COPY ingest/ ingest/
COPY collector/ collector/
# Wheels of the four distributions and of every dependency: the final stage installs
# from these alone, so it needs neither a compiler nor the network.
RUN pip wheel --wheel-dir /wheels ./sdk ./detectors ./ingest ./collector

# What both images share: the user the chart runs as, the writable places, the entrypoint.
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHKEEPER_SIDECAR_SPOOL_DIR=/var/lib/watchkeeper/spool
RUN groupadd --system --gid 10001 watchkeeper \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/watchkeeper \
        --no-create-home --shell /usr/sbin/nologin watchkeeper \
    && mkdir -p /var/lib/watchkeeper/data /var/lib/watchkeeper/spool \
    && chown -R 10001:10001 /var/lib/watchkeeper
WORKDIR /var/lib/watchkeeper
# OTLP/HTTP, review API and UI, /metrics and /healthz: one port for every command.
EXPOSE 4318
ENTRYPOINT ["watchkeeper"]

# The sidecar image: `docker build --target sidecar .`
FROM base AS sidecar
RUN --mount=type=bind,from=build-ingest,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels watchkeeper-ingest
USER 10001:10001
EXPOSE 4317
CMD ["sidecar"]

# The collector image (the last stage: the default target).
FROM base AS collector
ENV WATCHKEEPER_DATA_DIR=/var/lib/watchkeeper/data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,from=native,source=/wheels,target=/native-wheels \
    pip install --no-index --find-links=/wheels --find-links=/native-wheels \
        watchkeeper-collector watchkeeper-native
USER 10001:10001
CMD ["collect"]

# syntax=docker/dockerfile:1
# The watchkeeper image: collector (`watchkeeper collect`), review UI (`watchkeeper up`)
# and sidecar (`watchkeeper sidecar`), all through the `watchkeeper` entrypoint.
#
#   docker build -t ghcr.io/watchkeeper/watchkeeper:0.1.0 .
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

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY sdk/ sdk/
COPY detectors/ detectors/
COPY collector/ collector/
# Wheels of the three distributions and of every dependency: the final stage installs
# from these alone, so it needs neither a compiler nor the network.
RUN pip wheel --wheel-dir /wheels ./sdk ./detectors ./collector

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHKEEPER_DATA_DIR=/var/lib/watchkeeper/data \
    WATCHKEEPER_SIDECAR_SPOOL_DIR=/var/lib/watchkeeper/spool
RUN groupadd --system --gid 10001 watchkeeper \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/watchkeeper \
        --no-create-home --shell /usr/sbin/nologin watchkeeper \
    && mkdir -p /var/lib/watchkeeper/data /var/lib/watchkeeper/spool \
    && chown -R 10001:10001 /var/lib/watchkeeper
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,from=native,source=/wheels,target=/native-wheels \
    pip install --no-index --find-links=/wheels --find-links=/native-wheels \
        watchkeeper-collector watchkeeper-native
USER 10001:10001
WORKDIR /var/lib/watchkeeper
# OTLP/HTTP, review API and UI, /metrics and /healthz: one port for every command.
EXPOSE 4318
ENTRYPOINT ["watchkeeper"]
CMD ["collect"]

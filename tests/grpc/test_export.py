"""The shared OTLP/gRPC edge: refusals, retry hints and the limits of the server."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from watchkeeper.ingest.byte_budget import ByteBudget
from watchkeeper.ingest.grpc.export import EXPORT_METHOD, TRACE_SERVICE, export_handler
from watchkeeper.ingest.grpc.server import GrpcLimits, GrpcServer, GrpcServerError
from watchkeeper.ingest.otlp.decode import RejectedPayload


class HeldSink:
    """A sink that holds each request until ``release`` is set; remembers what it got."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.received: list[bytes] = []

    def __call__(self, payload: bytes) -> None:
        self.entered.set()
        assert self.release.wait(10)
        if payload == b"spool full":
            raise RejectedPayload("spool_full", "spool full, retry later")
        self.received.append(payload)


@pytest.fixture
def held() -> Iterator[tuple[GrpcServer, HeldSink, list[str]]]:
    """A server whose sink holds requests, with a 1 KiB in-flight budget."""
    sink, refused = HeldSink(), []
    handler = export_handler(sink, ByteBudget(1024), refused.append)
    server = GrpcServer([handler], "127.0.0.1", 0, GrpcLimits(max_message_bytes=64 * 1024))
    server.start()
    yield server, sink, refused
    sink.release.set()
    server.stop(1.0)


def _export(port: int, payload: bytes, *, gzipped: bool = False) -> grpc.RpcError | None:
    compression = grpc.Compression.Gzip if gzipped else grpc.Compression.NoCompression
    with grpc.insecure_channel(f"127.0.0.1:{port}", compression=compression) as channel:
        try:
            channel.unary_unary(f"/{TRACE_SERVICE}/{EXPORT_METHOD}")(payload, timeout=10)
        except grpc.RpcError as exc:
            return exc
    return None


def test_full_budget_is_resource_exhausted_with_retry_info(
    held: tuple[GrpcServer, HeldSink, list[str]],
) -> None:
    """While 800 bytes are held, 800 more pass the 1 KiB budget: RESOURCE_EXHAUSTED with
    RetryInfo in both places exporters read it, counted as throttled; the held request
    is then accepted."""
    server, sink, refused = held
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_export, server.port, b"a" * 800)
        assert sink.entered.wait(10)
        error = _export(server.port, b"b" * 800)
        sink.release.set()
        assert first.result() is None
    assert error is not None
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(error.trailing_metadata())
    assert RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]).retry_delay.seconds == 1
    status = Status.FromString(trailers["grpc-status-details-bin"])
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert status.details[0].Is(RetryInfo.DESCRIPTOR)
    assert refused == ["throttled"]
    assert sink.received == [b"a" * 800]


def test_spool_full_is_retried_after_five_seconds(
    held: tuple[GrpcServer, HeldSink, list[str]],
) -> None:
    """A sink's ``spool_full`` refusal is RESOURCE_EXHAUSTED with a 5 s RetryInfo."""
    server, sink, refused = held
    sink.release.set()
    error = _export(server.port, b"spool full")
    assert error is not None
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    info = RetryInfo.FromString(dict(error.trailing_metadata())["google.rpc.retryinfo-bin"])
    assert info.retry_delay.seconds == 5
    assert refused == ["spool_full"]


def test_gzip_is_undone_before_the_sink(held: tuple[GrpcServer, HeldSink, list[str]]) -> None:
    """A gzip-compressed request reaches the sink as the bytes the client sent."""
    server, sink, _ = held
    sink.release.set()
    assert _export(server.port, b"x" * 500, gzipped=True) is None
    assert sink.received == [b"x" * 500]


def test_message_bound_applies_after_decompression(
    held: tuple[GrpcServer, HeldSink, list[str]],
) -> None:
    """A message over the bound is refused by gRPC before the sink, gzip or not: a small
    gzip bomb (1 MiB of zeros, 1 KiB on the wire) cannot pass the 64 KiB bound."""
    server, sink, _ = held
    sink.release.set()
    assert len(gzip.compress(bytes(1024 * 1024))) < 2048
    for gzipped in (False, True):
        error = _export(server.port, bytes(1024 * 1024), gzipped=gzipped)
        assert error is not None
        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert sink.received == []


def test_port_in_use_is_one_line_error(held: tuple[GrpcServer, HeldSink, list[str]]) -> None:
    """A second server on a port in use fails at start with what to do (gRPC's
    SO_REUSEPORT would otherwise let it bind silently)."""
    server, _, _ = held
    with pytest.raises(GrpcServerError, match="--grpc-port"):
        GrpcServer([], "127.0.0.1", server.port)


def test_connections_past_the_cap_are_refused() -> None:
    """With a cap of 2 connections, a third client's connection is refused."""
    sink = HeldSink()
    sink.release.set()
    handler = export_handler(sink, ByteBudget(1 << 20))
    server = GrpcServer([handler], "127.0.0.1", 0, GrpcLimits(max_connections=2))
    server.start()
    # A subchannel pool of its own each: else one process's channels share a connection.
    own = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.insecure_channel(f"127.0.0.1:{server.port}", own) for _ in range(3)]
    try:
        calls = [c.unary_unary(f"/{TRACE_SERVICE}/{EXPORT_METHOD}") for c in channels]
        calls[0](b"1", timeout=5)
        calls[1](b"2", timeout=5)
        with pytest.raises(grpc.RpcError) as refused:
            calls[2](b"3", timeout=2)
        assert refused.value.code() in (
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
        )
        assert sink.received == [b"1", b"2"]
    finally:
        for channel in channels:
            channel.close()
        server.stop(1.0)

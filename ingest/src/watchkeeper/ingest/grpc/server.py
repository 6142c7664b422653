"""Run an OTLP/gRPC receiver on a background thread pool, bound up front, within limits.

gRPC's own server does the transport (HTTP/2, gzip, flow control); the limits below are
its channel options, chosen to match what the HTTP servers promise
(``watchkeeper.ingest.http.limits`` and ``protocol``): a bound on each message as
received and decompressed, a connection cap, a deadline for a new connection's
handshake, idle connections closed, and a bound on how long a stalled upload can hold a
connection.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc

from watchkeeper.ingest.http.server import ServerError
from watchkeeper.ingest.otlp.decode import MAX_PAYLOAD_BYTES
from watchkeeper.ingest.settings import HttpSettings


class GrpcServerError(ServerError):
    """The gRPC server could not start; the message says why and what to change."""


@dataclass(frozen=True)
class GrpcLimits:
    """Bounds on what clients of the gRPC receiver may hold."""

    #: A request as received and as decompressed; beyond it RESOURCE_EXHAUSTED.
    max_message_bytes: int = MAX_PAYLOAD_BYTES
    #: Connections served at once; more are refused as they open.
    max_connections: int = 1000
    #: Requests (HTTP/2 streams) open at once on one connection.
    max_concurrent_streams: int = 32
    #: Requests handled at once across connections; more are RESOURCE_EXHAUSTED.
    max_concurrent_rpcs: int = 256
    #: Threads running handlers (the sink's work: decoding, spooling, the pipeline).
    workers: int = 8
    #: Seconds a new connection has for its HTTP/2 handshake.
    handshake_timeout_s: float = 10.0
    #: Seconds a connection without requests stays open.
    idle_timeout_s: float = 300.0
    #: After this many seconds a connection is asked to go away (clients reconnect
    #: transparently), and after ``age_grace_s`` more it is closed with whatever it still
    #: carries: the bound on a stalled upload's life.
    max_age_s: float = 600.0
    age_grace_s: float = 60.0

    @classmethod
    def from_settings(cls, http: HttpSettings) -> GrpcLimits:
        """The limits that match the HTTP server's settings: its connection cap, its
        header deadline for the handshake, its body deadline as the grace of a stalled
        upload."""
        return cls(
            max_connections=http.max_connections,
            handshake_timeout_s=http.header_timeout_s,
            age_grace_s=http.body_timeout_s,
        )

    def channel_options(self) -> list[tuple[str, int]]:
        """gRPC server options for these limits."""
        return [
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.max_send_message_length", 1024 * 1024),
            ("grpc.max_allowed_incoming_connections", self.max_connections),
            ("grpc.max_concurrent_streams", self.max_concurrent_streams),
            ("grpc.server_handshake_timeout_ms", int(self.handshake_timeout_s * 1000)),
            ("grpc.max_connection_idle_ms", int(self.idle_timeout_s * 1000)),
            ("grpc.max_connection_age_ms", int(self.max_age_s * 1000)),
            ("grpc.max_connection_age_grace_ms", int(self.age_grace_s * 1000)),
            # Headers (metadata) as the HTTP servers allow them.
            ("grpc.max_metadata_size", 64 * 1024),
            # Find dead peers; accept clients' keepalive pings every 10 s or slower.
            ("grpc.keepalive_time_ms", 60_000),
            ("grpc.keepalive_timeout_ms", 20_000),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            # Without this a second server binds the same port silently (SO_REUSEPORT).
            ("grpc.so_reuseport", 0),
        ]


class GrpcServer:
    """A gRPC server for ``handlers``, bound to ``host:port`` at construction.

    Binding up front turns "address in use" into an error at start, and port 0 picks a
    free port that ``port`` then reports.
    """

    def __init__(
        self,
        handlers: list[grpc.GenericRpcHandler],
        host: str,
        port: int,
        limits: GrpcLimits | None = None,
    ) -> None:
        limits = limits or GrpcLimits()
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="watchkeeper-grpc"),
            handlers=handlers,
            options=limits.channel_options(),
            maximum_concurrent_rpcs=limits.max_concurrent_rpcs,
        )
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            bound = self._server.add_insecure_port(address)
        except RuntimeError:
            bound = 0
        if not bound:
            raise GrpcServerError(
                f"cannot listen for OTLP/gRPC on {address} (in use or not an address of this "
                "host); choose another with --grpc-port, or --grpc-port off to run without it"
            )
        self.host = host
        self.port = bound

    @property
    def endpoint(self) -> str:
        """Where exporters send, e.g. ``http://127.0.0.1:4317``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Start serving on gRPC's own threads."""
        self._server.start()

    def stop(self, grace_s: float = 5.0) -> None:
        """Refuse new requests, let running ones finish for up to ``grace_s``."""
        self._server.stop(grace_s).wait(grace_s + 1.0)

"""The pipeline's decode stage reads OTLP requests with the ingest package's decoder."""

from watchkeeper.ingest.otlp.decode import (
    MAX_PAYLOAD_BYTES,
    Encoding,
    RejectedPayload,
    decode_request,
    sniff_encoding,
)

__all__ = ["MAX_PAYLOAD_BYTES", "Encoding", "RejectedPayload", "decode_request", "sniff_encoding"]

"""Pipeline stages: decode -> normalize -> detect -> sample. Each is a plain function or
small class; a payload that cannot be used raises :class:`RejectedPayload`."""

from watchkeeper.collector.processors.decode import RejectedPayload

__all__ = ["RejectedPayload"]

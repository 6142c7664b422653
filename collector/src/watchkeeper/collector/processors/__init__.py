"""What the pipeline's stages (``pipeline.py``) run: ``decode_payloads``, ``normalize``,
``detect``, ``route_review``, ``review_reservoir`` and ``sample_bodies``, and
``detector_state`` for checkpoints. Each works on whole batches of records; a payload
that cannot be used raises :class:`RejectedPayload` and becomes a dead letter."""

from watchkeeper.collector.processors.decode import RejectedPayload

__all__ = ["RejectedPayload"]

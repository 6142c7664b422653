"""``watchkeeper sidecar``: OTLP/HTTP next to the app -> durable disk spool -> Kafka.

Light on purpose: no store, no detectors. ``receiver`` answers OTLP clients once their
spans are on disk, ``spool`` keeps them in order under a size bound, ``forwarder`` moves
them to the ``otlp_spans`` topic (one message per trace, keyed by trace id) and releases
them only when Kafka acknowledged them.
"""

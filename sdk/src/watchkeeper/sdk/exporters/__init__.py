"""Where the export thread sends spans: OTLP/HTTP, Kafka, memory, or any OTel exporter.

Each is a :class:`watchkeeper.sdk.export_worker.SpanSink`. Submodules are imported only
when configured, so their dependencies stay optional.
"""

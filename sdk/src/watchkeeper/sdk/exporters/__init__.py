"""Span exporters of our own (the OTLP/HTTP one is OpenTelemetry's).

Submodules are imported only when configured, so their dependencies stay optional.
"""

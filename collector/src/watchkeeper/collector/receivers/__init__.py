"""Receivers put payloads into the pipeline: OTLP/HTTP and Kafka."""

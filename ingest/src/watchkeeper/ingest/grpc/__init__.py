"""OTLP/gRPC: the trace service every watchkeeper receiver serves beside OTLP/HTTP."""

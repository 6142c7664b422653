"""Standard OpenTelemetry and OpenInference instrumentation through sidecar and collector."""

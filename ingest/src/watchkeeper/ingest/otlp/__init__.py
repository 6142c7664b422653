"""OTLP trace requests: decoding (protobuf or JSON), OTLP/HTTP answers, splitting by trace."""

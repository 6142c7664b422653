"""Integration tests: components against real services (Kafka broker, ...)."""

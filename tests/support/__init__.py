"""Test support code: helpers shared by the test suites (real Kafka broker, ...)."""

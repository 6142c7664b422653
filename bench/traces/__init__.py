"""Benchmarks of whole-trace signals."""

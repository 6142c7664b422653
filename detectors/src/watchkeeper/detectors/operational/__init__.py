"""Operational signals: latency, tokens, errors, refusals, empty or truncated answers."""

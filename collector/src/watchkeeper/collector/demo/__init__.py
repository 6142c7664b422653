"""``watchkeeper demo``: a sample LLM app, instrumented, sending live traffic to watchkeeper."""

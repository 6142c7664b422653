"""Quality of the per-call signals on development sets (``make bench-quality``)."""

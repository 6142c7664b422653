"""Calibrated change detection on streams of numbers, shared by every detector.

Nothing here knows about LLM calls: detectors turn calls into numbers (a descriptor, a
score, the gap between two events) and these classes say when the numbers changed.
"""

"""Whole traces: every kept span, its kind (``kinds``), its row (``span_record``), and a
trace assembled from its spans as a tree (``assemble``)."""

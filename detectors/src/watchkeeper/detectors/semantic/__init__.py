"""Semantic features: sentence embeddings from a model shipped in a package, run in numpy."""

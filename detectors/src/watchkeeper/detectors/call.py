"""A plain call record satisfying :class:`~watchkeeper.detectors.base.CallView`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Call:
    """One LLM call, for tests, docs, benchmarks and embedding detectors in other tools.

    The collector feeds its own record type; anything with these attributes works.

    >>> Call("What is RAG?", "Retrieval-augmented generation.").output_tokens
    0
    """

    input_text: str
    output_text: str = ""
    contexts: list[str] = field(default_factory=list)
    model: str = ""
    duration_s: float = 0.0
    is_error: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    finish_reasons: list[str] = field(default_factory=list)

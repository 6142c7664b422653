"""Prose paragraphs from text that ships in packages: the Python documentation.

Two sources, both under the PSF licence (docs/data-sources.md):

- the reStructuredText sources of the Python documentation in the Debian package
  ``python3.11-doc`` (``/usr/share/doc/python3.X/html/_sources``): tutorial, how-tos, FAQ,
  library reference and the "What's New" pages, rich in names, versions and dates;
- ``pydoc_data.topics``, the reference text ``help()`` shows, which ships with every
  Python: the fallback when the Debian package is not installed (tests use it).

A paragraph is kept when it reads as prose: at least three sentences and little markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

#: Where Debian's python3.X-doc puts the documentation's sources.
DEBIAN_DOC_GLOB = "/usr/share/doc/python3*/html/_sources"

_ROLE = re.compile(r":[a-z:]+:`~?!?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``([^`]*)``")
_LINK = re.compile(r"`([^`<]*?)\s*<[^>]*>`_+")
_EMPHASIS = re.compile(r"\*{1,2}([^*]+)\*{1,2}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_MARKUP = set("()[]{}=*<>|:`\\_#@$%^&~/")


def clean_rest(text: str) -> str:
    """Inline reST markup to plain words: roles, literals, links and emphasis.

    >>> clean_rest("See :pep:`572` and :func:`os.path.join` in ``posixpath``.")
    'See 572 and os.path.join in posixpath.'
    """
    text = _ROLE.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    return _EMPHASIS.sub(r"\1", text)


def prose_sentences(paragraph: str) -> list[str]:
    """The sentences of a plain paragraph (a cut before a capital after a sentence mark).

    >>> prose_sentences("It works. Really, it does. e.g. this stays. Yes!")
    ['It works.', 'Really, it does. e.g. this stays.', 'Yes!']
    """
    return [s.strip() for s in _SENTENCE.split(paragraph) if s.strip()]


def is_prose(paragraph: str) -> bool:
    """At least three sentences, mostly letters, little markup, no leftover directive."""
    if len(paragraph) < 200 or ".." in paragraph or "::" in paragraph:
        return False
    markup = sum(c in _MARKUP for c in paragraph)
    return markup / len(paragraph) < 0.01 and len(prose_sentences(paragraph)) >= 3


def _blocks(text: str) -> Iterator[str]:
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        # Indented blocks are code, quotes or directive bodies; underlined lines are titles.
        if not lines or lines[0][:1] in (" ", "\t", "."):
            continue
        if len(lines) > 1 and set(lines[-1].strip()) <= set("=-~^*#+\"'"):
            continue
        yield " ".join(" ".join(lines).split())


def paragraphs_of(text: str, *, rest: bool) -> list[str]:
    """The prose paragraphs of one document, in order."""
    found = []
    for block in _blocks(text):
        paragraph = clean_rest(block) if rest else block
        if is_prose(paragraph):
            found.append(paragraph)
    return found


def debian_documents() -> dict[str, list[str]]:
    """Paragraphs per document of the Debian python3.X-doc sources ({} when not installed)."""
    roots = sorted(Path("/").glob(DEBIAN_DOC_GLOB.lstrip("/")))
    if not roots:
        return {}
    root = roots[-1]
    documents = {}
    for path in sorted(root.rglob("*.rst.txt")):
        paragraphs = paragraphs_of(path.read_text(encoding="utf-8", errors="replace"), rest=True)
        if paragraphs:
            documents[str(path.relative_to(root))] = paragraphs
    return documents


def pydoc_documents() -> dict[str, list[str]]:
    """Paragraphs per topic of ``pydoc_data.topics`` (ships with Python)."""
    from pydoc_data.topics import topics

    documents = {}
    for name in sorted(topics):
        paragraphs = paragraphs_of(topics[name], rest=False)
        if paragraphs:
            documents[f"pydoc:{name}"] = paragraphs
    return documents


def documents(source: str = "auto") -> tuple[str, dict[str, list[str]]]:
    """``(name, paragraphs per document)``: ``debian``, ``pydoc``, or ``auto`` (Debian's when
    installed, else pydoc's)."""
    if source in ("auto", "debian"):
        found = debian_documents()
        if found or source == "debian":
            return "debian-python-doc", found
    return "pydoc-topics", pydoc_documents()

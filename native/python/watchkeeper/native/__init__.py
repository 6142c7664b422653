"""Compiled core of watchkeeper's text analysis and OTLP decoding (optional: the
detectors and the collector run without it, with the same results).

``watchkeeper-detectors`` uses these classes when this distribution is installed and
``WATCHKEEPER_NATIVE`` is not ``0``, through one module: ``watchkeeper.detectors.native_core``
(nothing else imports this package). Each returns exactly what the Python code returns, or
None where it does not handle the input (letters beyond ASCII, lone surrogates), and the
Python code then runs.

``decode_traces`` decodes OTLP trace requests for the collector's normaliser, or returns
None for anything but plain, well-formed protobuf, which protobuf then decodes (see
``watchkeeper.collector.processors.native_decode``); ``decode_calls`` does the same and
also normalises the common spans into their call records (and, given the row class, the
other spans into their ``spans`` rows); ``decode_run`` does that for a batch's payloads
in one call, for as long as they need no Python, and ``decode_trace_run`` with the rows.
"""

from watchkeeper.native._core import (
    Analysis,
    Answer,
    ClaimScorer,
    ConsistencyIndex,
    Groundedness,
    InjectionFeatures,
    InjectionScreen,
    NeedleScreen,
    PiiScreen,
    Question,
    TextAnalyser,
    TotalsScreen,
    WordTable,
    decode_calls,
    decode_run,
    decode_trace_run,
    decode_traces,
)

__all__ = [
    "Analysis",
    "Answer",
    "ClaimScorer",
    "ConsistencyIndex",
    "Groundedness",
    "InjectionFeatures",
    "InjectionScreen",
    "NeedleScreen",
    "PiiScreen",
    "Question",
    "TextAnalyser",
    "TotalsScreen",
    "WordTable",
    "decode_calls",
    "decode_run",
    "decode_trace_run",
    "decode_traces",
]

"""Evalsets: reviewed production calls exported for the evaluation tools teams already use.

:func:`build_evalset` turns reviewed items into deduplicated :class:`EvalRecord`; the
formats module writes them as JSON Lines, CSV or Parquet in one of several shapes
(watchkeeper/DeepEval field names, Ragas, OpenAI evals).
"""

from watchkeeper.collector.evalset.formats import FORMATS, SHAPES, write_evalset
from watchkeeper.collector.evalset.records import EvalRecord, build_evalset, parse_time

__all__ = ["FORMATS", "SHAPES", "EvalRecord", "build_evalset", "parse_time", "write_evalset"]

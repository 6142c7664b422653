"""Compiled core of watchkeeper's text analysis (optional: the detectors run without it).

``watchkeeper-detectors`` uses these classes when this distribution is installed and
``WATCHKEEPER_NATIVE`` is not ``0``. Each returns exactly what the Python code returns, or
None where it does not handle the input (letters beyond ASCII, lone surrogates), and the
Python code then runs. See ``watchkeeper.detectors.text.native_core``.
"""

from watchkeeper.native._core import InjectionScreen, NeedleScreen, PiiScreen, TextAnalyser

__all__ = ["InjectionScreen", "NeedleScreen", "PiiScreen", "TextAnalyser"]

"""Cheap text analysis shared by the detectors: words, numbers, entities, language, sketches.

The analysis reads the first ``tokens.MAX_CHARS`` characters of a text, so a 2 MB prompt
costs little more than a long one (the memo hashes it once). Results are memoised per
text (:mod:`.tokens`), because several detectors read the same call's input and output;
the compiled core, where it is in use, finds most of them in one call (see
:mod:`watchkeeper.detectors.native_core`).
"""

"""Cheap text analysis shared by the detectors: words, numbers, entities, language, sketches.

Everything here is pure Python on bounded prefixes of the text, so a 2 MB prompt costs
no more than a long one. Results are memoised on the identity of the last few strings
seen, because several detectors read the same call's input and output.
"""

"""Experiments: an evalset run through a candidate model or prompt, gated on regressions.

``watchkeeper experiment run`` reads cases (:mod:`.cases`), asks a target for each
(:mod:`.targets`, :mod:`.runner`), scores the answers against the reference
(:mod:`.reference`), with the detectors (:mod:`.scoring`) and a judge (:mod:`.judging`),
keeps the results as JSON Lines (:mod:`.results`) and compares them with a baseline's
(:mod:`.compare`).
"""

"""Change tests named in configuration: ``cusum`` (the default) or ``river:<detector>``."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from watchkeeper.detectors.change.river_test import RiverChangeTest

#: The calibrated rank CUSUM each detector builds for itself.
DEFAULT = "cusum"
#: Where river keeps its drift detectors (ADWIN, KSWIN, PageHinkley; DDM and the other
#: detectors of 0/1 streams).
_RIVER_MODULES = ("river.drift", "river.drift.binary")


class ParametersError(ValueError):
    """The river detector named does not take the parameters given."""


def change_test_by_name(
    name: str, params: Mapping[str, object] | None = None
) -> RiverChangeTest | None:
    """The change test ``name`` says, built with ``params``; None for ``cusum``.

    ``river:ADWIN`` is ``RiverChangeTest(river.drift.ADWIN(**params))``. Raises
    ValueError, saying what to write instead, for an unknown name, a river detector that
    river does not have, or river not installed; :class:`ParametersError` (a ValueError)
    for parameters the river detector does not take.

    >>> test = change_test_by_name("river:PageHinkley", {"alpha": 1.0, "threshold": 5})
    >>> type(test.detector).__name__, test.detector.threshold
    ('PageHinkley', 5)
    >>> change_test_by_name("cusum") is None
    True
    """
    params = dict(params or {})
    if name == DEFAULT:
        if params:
            raise ValueError("the default cusum takes no parameters here (see target_arl)")
        return None
    kind, _, detector = name.partition(":")
    if kind != "river" or not detector.isidentifier():
        raise ValueError(f"{name!r}: write cusum or river:<DriftDetector>, e.g. river:ADWIN")
    cls = _river_class(detector)
    try:
        return RiverChangeTest(cls(**params))
    except (TypeError, ValueError) as exc:
        raise ParametersError(f"river {detector}: {exc}") from None


def _river_class(detector: str) -> type:
    found = []
    for module_name in _RIVER_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise ValueError(
                "river is not installed: pip install 'watchkeeper-detectors[river]'"
            ) from None
        cls = getattr(module, detector, None)
        if isinstance(cls, type) and hasattr(cls, "drift_detected") and hasattr(cls, "clone"):
            return cls
        found += [n for n in dir(module) if n[:1].isupper() and n != "DriftRetrainingClassifier"]
    raise ValueError(f"river has no drift detector {detector!r}; it has " + ", ".join(found))

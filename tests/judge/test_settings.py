"""Judge settings: the table, its flat keys and environment, named judges, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.collector.settings import ConfigError, load_settings

CONFIG = """
[watchkeeper.judge]
base_url = "http://127.0.0.1:8000/v1"
model = "table-model"
sample_rate = 0.1

[watchkeeper.judges.strict]
provider = "anthropic"
base_url = "https://api.anthropic.com"
model = "claude-3-5-haiku-latest"
api_key_env = "ANTHROPIC_API_KEY"
dimensions = ["safety"]
rules = [{route = "support/*", flagged_by = "pii_leak", rate = 1.0}]
"""


def test_the_table_named_judges_and_environment_combine(tmp_path: Path) -> None:
    """The [watchkeeper.judge] table is the default judge, WATCHKEEPER_JUDGE_* win over
    it, and [watchkeeper.judges.<name>] adds judges with all their fields."""
    path = tmp_path / "watchkeeper.toml"
    path.write_text(CONFIG)
    settings = load_settings(path, environ={"WATCHKEEPER_JUDGE_MODEL": "env-model"})
    judges = settings.judge.configured()
    assert sorted(judges) == ["default", "strict"]
    assert judges["default"].model == "env-model"
    assert judges["default"].sample_rate == 0.1
    assert judges["strict"].provider == "anthropic"
    assert judges["strict"].dimensions == ("safety",)
    assert judges["strict"].rules[0].flagged_by == "pii_leak"


def test_no_judge_without_an_endpoint() -> None:
    """Nothing configured, nothing runs."""
    assert load_settings(environ={}).judge.configured() == {}


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"WATCHKEEPER_JUDGE_SAMPLE_RATE": "2"}, "judge.sample_rate"),
        (
            {"WATCHKEEPER_JUDGE_BASE_URL": "ftp://x", "WATCHKEEPER_JUDGE_MODEL": "m"},
            "judge.base_url",
        ),
        ({"WATCHKEEPER_JUDGE_BASE_URL": "http://127.0.0.1:1/v1"}, "needs model"),
        ({"WATCHKEEPER_JUDGE_PROVIDER": "callable"}, "callable = 'module:function'"),
        ({"WATCHKEEPER_JUDGES": '{"Bad Name": {}}'}, "judge name 'Bad Name'"),
        (
            {
                "WATCHKEEPER_JUDGES": '{"x": {"base_url": "http://a", "model": "m", '
                '"concurrency": 0}}'
            },
            "judges.x.concurrency",
        ),
    ],
)
def test_bad_judge_settings_name_the_key(environ: dict[str, str], names: str) -> None:
    """A bad judge key or value stops with one line that names it."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    message = str(caught.value)
    assert names in message
    assert "\n" not in message

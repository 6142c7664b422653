"""The calls search (API and page) names the model behind each listed score, as a call's
own page does: a change of model shows among the calls found."""

from __future__ import annotations

from tests.review.support import call_payload
from tests.ui.conftest import SeededApp
from watchkeeper.collector.overview.monitor import Monitor
from watchkeeper.collector.overview.pages import calls_page
from watchkeeper.collector.overview.ranges import TimeRange
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.review.workflow import ReviewWorkflow
from watchkeeper.collector.store.monitoring import CallSearch, KeyFilter, MonitoringStore
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import PromptInjectionDetector

SCORE = "prompt_injection.safety"
_FORM = {"content-type": "application/x-www-form-urlencoded"}


class RetrainedInjectionModel(PromptInjectionDetector):
    """The injection detector as it would run after its weights were retrained."""

    @property
    def scorer_version(self) -> str:
        return "injection-retrained"


def test_the_search_api_and_page_name_each_scores_model(seeded_app: SeededApp) -> None:
    """``GET /api/calls`` gives each call's ``scorer_versions``; the calls page, searched by
    a score, shows its model's version in a column beside it."""
    version = PromptInjectionDetector().scorer_version
    client = seeded_app.client
    found = client.get(
        f"/api/calls?range=6h&score={SCORE}&limit=50", headers=seeded_app.headers("vic")
    ).json()
    assert found
    assert all(call["scorer_versions"]["prompt_injection"] == version for call in found)
    token = f"token={seeded_app.tokens['vic']}".encode()
    assert client.post("/login", content=token, headers=_FORM).status_code in (200, 303)
    html = client.get(f"/ui/calls?range=6h&score={SCORE}").text
    assert "<th>model version</th>" in html
    rows = html.count("<tr class='call")
    assert rows >= len(found)
    assert html.count(f"<td class='muted version'>{version}</td>") == rows


def test_a_changed_model_shows_among_the_calls_found(store: Store) -> None:
    """Calls scored before and after a retrained model: the search lists both versions,
    each beside the score it produced."""
    questions = [f"How do I reset password {i}?" for i in range(6)]
    for detector, part in ((PromptInjectionDetector(), 0), (RetrainedInjectionModel(), 1)):
        payload, _ = call_payload(questions[part * 3 : part * 3 + 3])
        Pipeline(store, detectors=[detector], router=ReviewRouter({})).process(
            [Payload(payload, "test")]
        )
    monitor = Monitor(MonitoringStore(store), ReviewWorkflow(store))
    found = monitor.calls(TimeRange.parse("1h"), KeyFilter(), CallSearch(score=SCORE))
    versions = sorted(call["scorer_versions"]["prompt_injection"] for call in found)
    old = PromptInjectionDetector().scorer_version
    assert versions == sorted([old] * 3 + ["injection-retrained"] * 3)
    html = calls_page(
        {"search": _shown(), "filters": {}, "range": {"preset": "1h"}},
        found,
        {},
        Principal("t1", "vic", Role.VIEWER),
        "csrf",
    )
    assert html.count("<td class='muted version'>injection-retrained</td>") == 3
    assert html.count(f"<td class='muted version'>{old}</td>") == 3


def _shown() -> dict[str, object]:
    return {
        "score": SCORE,
        "score_min": "",
        "score_max": "",
        "text": "",
        "review": "",
        "errors": False,
    }

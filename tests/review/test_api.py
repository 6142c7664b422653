"""The review REST API: the workflow end to end, input validation, injection strings,
exports and metrics."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest

from tests.helm.promtool import check_metrics
from tests.review.conftest import ReviewApp

INJECTIONS = [
    "random' OR 1=1 --",
    "x'); DROP TABLE watchkeeper.review_items; --",
    "{db}",
    "{queue:String}",
    "\\",
    "%27%20OR%201%3D1",
    "../../etc/passwd",
    "random\nUNION SELECT 1",
]


def _counts(app: ReviewApp) -> tuple[int, int]:
    items = app.store.select("SELECT count() AS n FROM {db}.review_items FINAL")[0]["n"]
    labels = app.store.select("SELECT count() AS n FROM {db}.review_labels FINAL")[0]["n"]
    return int(items), int(labels)


def test_claim_label_and_leave_the_queue(review_app: ReviewApp) -> None:
    """Two reviewers claim different items; a label takes an item out of the queue; with
    nothing left to claim the API answers 204."""
    review_app.ingest(["first?", "second?"])
    client = review_app.client
    ana = client.post("/api/queues/random/claim", headers=review_app.headers("ana")).json()
    bo = client.post("/api/queues/random/claim", headers=review_app.headers("bo")).json()
    assert ana["span_id"] != bo["span_id"]
    assert ana["reviewer"] == "ana"
    assert ana["until_ms"] > ana["since_ms"]
    label = client.post(
        f"/api/queues/random/items/{ana['span_id']}/label",
        json={
            "verdict": "fail",
            "scores": {"factual_accuracy": 2, "helpfulness": 3, "tone": 5, "safety": "pass"},
            "comment": "wrong order number",
            "corrected_answer": "Your order 42 ships Monday.",
        },
        headers=review_app.headers("ana"),
    )
    assert label.status_code == 201
    assert label.json()["scores"]["safety"] == 1
    waiting = client.get("/api/queues/random/items", headers=review_app.headers("vic")).json()
    assert [(i["span_id"], i["claimed_by"]) for i in waiting] == [(bo["span_id"], ["bo"])]
    again = client.post("/api/queues/random/claim", headers=review_app.headers("ana"))
    assert again.status_code == 204
    queues = {
        q["name"]: q for q in client.get("/api/queues", headers=review_app.headers("vic")).json()
    }
    assert (queues["random"]["depth"], queues["random"]["claimed"], queues["random"]["done"]) == (
        1,
        1,
        1,
    )


def test_an_item_held_by_another_reviewer_is_a_409(review_app: ReviewApp) -> None:
    """Labelling or claiming an item someone else holds is refused with 409."""
    review_app.ingest(["only one?"])
    client = review_app.client
    span = client.post("/api/queues/random/claim", headers=review_app.headers("ana")).json()[
        "span_id"
    ]
    for action, body in (("label", {"verdict": "pass"}), ("claim", None)):
        response = client.post(
            f"/api/queues/random/items/{span}/{action}", json=body, headers=review_app.headers("bo")
        )
        assert response.status_code == 409
        assert "other reviewers" in response.json()["detail"]


def test_item_detail_shows_contexts_labels_and_claims(review_app: ReviewApp) -> None:
    """One item's view carries its contexts, its labels and who holds it."""
    calls = review_app.ingest(
        ["price of pro?"],
        contexts=["The Pro plan costs 12 dollars a month."],
        answers=["The Pro plan costs 12 dollars a month."],
    )
    span = calls[0].span_id
    client = review_app.client
    client.post(f"/api/queues/random/items/{span}/claim", headers=review_app.headers("ana"))
    view = client.get(f"/api/queues/random/items/{span}", headers=review_app.headers("ana")).json()
    assert view["item"]["Contexts"] == ["The Pro plan costs 12 dollars a month."]
    assert [c["Reviewer"] for c in view["claims"]] == ["ana"]
    assert view["my_claim_until_ms"] is not None
    assert view["needs"] == 1


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_strings_are_refused_or_inert(review_app: ReviewApp, evil: str) -> None:
    """SQL-looking text in paths, queries and bodies gives a 4xx or is stored verbatim;
    it never reaches SQL as code: every table keeps its rows."""
    calls = review_app.ingest(["innocent question?"])
    before = _counts(review_app)
    client = review_app.client
    reviewer, admin = review_app.headers("ana"), review_app.headers("root")
    quoted = quote(evil, safe="")
    attempts = [
        client.get(f"/api/queues/{quoted}/items", headers=reviewer),
        client.post(f"/api/queues/{quoted}/claim", headers=reviewer),
        client.post(
            f"/api/queues/random/items/{quoted}/label", json={"verdict": "pass"}, headers=reviewer
        ),
        client.get("/api/queues/random/labels", params={"since": evil}, headers=reviewer),
        client.get("/api/evalset", params={"queue": evil}, headers=reviewer),
        client.get("/api/calibration", params={"score": evil}, headers=reviewer),
        client.post("/api/tokens", json={"name": evil, "role": "viewer"}, headers=admin),
        client.post(
            f"/api/queues/random/items/{calls[0].span_id}/label",
            json={"verdict": "pass", "scores": {evil: 3}},
            headers=reviewer,
        ),
    ]
    for response in attempts:
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
    assert _counts(review_app) == before
    stored = client.post(
        f"/api/queues/random/items/{calls[0].span_id}/label",
        json={"verdict": "fail", "comment": evil, "corrected_answer": f"{evil}\n'\"\\n"},
        headers=reviewer,
    )
    assert stored.status_code == 201
    label = client.get("/api/queues/random/labels", headers=reviewer).json()[0]
    assert (label["Comment"], label["CorrectedAnswer"]) == (evil, f"{evil}\n'\"\\n")
    assert _counts(review_app) == (before[0], before[1] + 1)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("POST", "/api/queues/random/items/{span}/label", {"verdict": "meh"}, 422, "verdict"),
        ("POST", "/api/queues/random/items/{span}/label", {}, 422, "verdict"),
        (
            "POST",
            "/api/queues/random/items/{span}/label",
            {"verdict": "pass", "reviewer": "mallory"},
            422,
            "reviewer",
        ),
        (
            "POST",
            "/api/queues/random/items/{span}/label",
            {"verdict": "pass", "scores": {"tone": True}},
            422,
            "tone",
        ),
        (
            "POST",
            "/api/queues/random/items/{span}/label",
            {"verdict": "pass", "scores": {"tone": 9}},
            422,
            "between 1 and 5",
        ),
        (
            "POST",
            "/api/queues/random/items/{span}/label",
            {"verdict": "pass", "comment": "x" * 10_001},
            422,
            "comment",
        ),
        ("POST", "/api/queues/nope/items/{span}/label", {"verdict": "pass"}, 404, "queues:"),
        (
            "POST",
            "/api/queues/random/items/0123456789abcdef/label",
            {"verdict": "pass"},
            404,
            "no item",
        ),
        ("POST", "/api/queues/random/items/NOT-HEX/label", {"verdict": "pass"}, 422, "span_id"),
        ("GET", "/api/queues/random/items?limit=0", None, 422, "limit"),
        ("GET", "/api/queues/random/labels?since=yesterday", None, 422, "not a time"),
        ("GET", "/api/evalset?format=xml", None, 422, "format"),
        ("GET", "/api/evalset?queue=nope", None, 404, "no queue"),
        ("GET", "/api/calibration?score=a.b&dimension=speed", None, 422, "no dimension"),
        ("GET", "/api/calibration", None, 422, "score"),
        ("POST", "/api/tokens", {"name": "x", "role": "root"}, 422, "role"),
        ("DELETE", "/api/tokens/zzz", None, 422, "token_id"),
        ("DELETE", "/api/tokens/0123456789ab", None, 404, "no active token"),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    review_app: ReviewApp, *, method: str, path: str, body: object, status: int, says: str
) -> None:
    """Malformed or unknown input is answered with a 4xx whose detail names the problem."""
    calls = review_app.ingest(["anything?"])
    response = review_app.client.request(
        method,
        path.format(span=calls[0].span_id),
        json=body,
        headers=review_app.headers("root"),
    )
    assert response.status_code == status, response.text
    assert says in json.dumps(response.json()["detail"])


def _label_all(app: ReviewApp, verdict: str = "pass", **extra: object) -> list[str]:
    items = app.client.get("/api/queues/random/items", headers=app.headers("ana")).json()
    for item in items:
        app.client.post(
            f"/api/queues/random/items/{item['span_id']}/label",
            json={"verdict": verdict, "scores": {"helpfulness": 4}, **extra},
            headers=app.headers("ana"),
        )
    return [item["span_id"] for item in items]


def test_evalset_downloads_in_every_format(review_app: ReviewApp) -> None:
    """GET /api/evalset returns JSONL, CSV and Parquet with the same records."""
    review_app.ingest(
        ["refund window?"],
        contexts=["Refunds within 30 days."],
        answers=["Refunds within 30 days."],
    )
    spans = _label_all(review_app, corrected_answer="30 days from delivery.")
    client, headers = review_app.client, review_app.headers("vic")
    jsonl = client.get("/api/evalset", params={"queue": "random"}, headers=headers)
    assert jsonl.headers["content-type"].startswith("application/jsonl")
    assert jsonl.headers["x-evalset-records"] == "1"
    assert "attachment" in jsonl.headers["content-disposition"]
    row = json.loads(jsonl.text.splitlines()[0])
    assert (row["id"], row["expected_output"], row["retrieval_context"]) == (
        spans[0],
        "30 days from delivery.",
        ["Refunds within 30 days."],
    )
    assert row["metadata"]["reviewers"] == ["ana"]
    table = list(
        csv.DictReader(io.StringIO(client.get("/api/evalset?format=csv", headers=headers).text))
    )
    assert table[0]["input"] == "refund window?"
    assert json.loads(table[0]["retrieval_context"]) == ["Refunds within 30 days."]
    parquet = client.get("/api/evalset?format=parquet&shape=ragas", headers=headers)
    rows = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    assert rows == [
        {
            "user_input": "refund window?",
            "retrieved_contexts": ["Refunds within 30 days."],
            "response": "Refunds within 30 days.",
            "reference": "30 days from delivery.",
        }
    ]


def test_agreement_and_calibration_endpoints(review_app: ReviewApp) -> None:
    """Agreement lists every dimension plus the verdict; calibration answers for a score."""
    review_app.ingest(["a?"])
    _label_all(review_app)
    headers = review_app.headers("vic")
    agreement = review_app.client.get("/api/queues/random/agreement", headers=headers).json()
    assert [d["dimension"] for d in agreement["dimensions"]] == [
        "verdict",
        "factual_accuracy",
        "helpfulness",
        "tone",
        "safety",
        "trajectory_quality",
        "tool_use_accuracy",
    ]
    calibration = review_app.client.get(
        "/api/calibration", params={"score": "input_length_drift.input_drift"}, headers=headers
    ).json()
    assert set(calibration) >= {"pairs", "failures", "flag", "suggested", "points"}


def test_review_metrics_pass_promtool(review_app: ReviewApp) -> None:
    """After claims and labels, /metrics shows backlog, pass ratios and actions, and
    ``promtool check metrics`` accepts the whole exposition."""
    review_app.ingest(["one?", "two?"])
    review_app.client.post("/api/queues/random/claim", headers=review_app.headers("bo"))
    _label_all(review_app)  # labels the item bo does not hold
    text = review_app.client.get("/metrics").text
    assert 'watchkeeper_review_queue_depth{queue="random"} 1.0' in text
    assert 'watchkeeper_review_pass_ratio{dimension="verdict",queue="random"} 1.0' in text
    assert 'watchkeeper_review_pass_ratio{dimension="helpfulness",queue="random"} 1.0' in text
    assert 'watchkeeper_review_actions_total{action="claim",queue="random"} 1.0' in text
    result = check_metrics(text.encode())
    assert result.returncode == 0, result.stdout + result.stderr

"""The review UI answers odd and hostile form posts with a page and a 4xx, never a 500:
odd digits in a label, oversized forms, and a login posted from another site."""

from __future__ import annotations

from tests.review.conftest import ReviewApp
from watchkeeper.collector.review.auth import SESSION_COOKIE, csrf_token
from watchkeeper.collector.review.ui import MAX_FORM_BYTES

_FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_a_label_with_a_superscript_digit_is_refused_with_422(review_app: ReviewApp) -> None:
    """``helpfulness=²`` (a digit to str.isdigit, not to int) is a rubric error, not a 500."""
    (call,) = review_app.ingest(["How do I reset my password?"])
    client = review_app.client
    token = review_app.tokens["ana"]
    client.cookies.set(SESSION_COOKIE, token)
    path = f"/ui/queues/random/items/{call.span_id}/label"
    body = f"csrf={csrf_token(token)}&verdict=pass&helpfulness=%C2%B2".encode()
    response = client.post(path, content=body, headers=_FORM)
    assert response.status_code == 422
    assert "helpfulness" in response.text


def test_an_oversized_login_form_is_413(review_app: ReviewApp) -> None:
    """A login form beyond the bound is refused with 413 and the login page."""
    body = b"token=" + b"x" * (MAX_FORM_BYTES + 1)
    response = review_app.client.post("/login", content=body, headers=_FORM)
    assert response.status_code == 413
    assert "<form" in response.text


def test_a_login_posted_from_another_site_is_refused(review_app: ReviewApp) -> None:
    """A foreign ``Origin`` cannot log a browser in (login CSRF); this site's own can."""
    body = f"token={review_app.tokens['ana']}".encode()
    client = review_app.client
    foreign = client.post(
        "/login",
        content=body,
        headers={**_FORM, "origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers
    own = client.post(
        "/login",
        content=body,
        headers={**_FORM, "origin": "http://testserver"},
        follow_redirects=False,
    )
    assert own.status_code == 303
    for headers in ({"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}):
        refused = client.post("/login", content=body, headers={**_FORM, **headers})
        assert refused.status_code == 403
    # This site's pages send Origin: null (Referrer-Policy: no-referrer) and same-origin.
    same = {"sec-fetch-site": "same-origin", "origin": "null"}
    allowed = client.post("/login", content=body, headers={**_FORM, **same}, follow_redirects=False)
    assert allowed.status_code == 303

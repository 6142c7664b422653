"""The charting library is the pinned uPlot build from npm, served by the app itself."""

from __future__ import annotations

import hashlib
from importlib import resources

from tests.ui.conftest import SeededApp

#: sha256 of the files taken from the npm tarball uplot@1.6.32 (static/README.md).
PINNED = {
    "uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
}


def test_the_committed_library_is_the_pinned_version() -> None:
    """The files in the package are byte for byte those of uplot 1.6.32, licence beside."""
    static = resources.files("watchkeeper.collector.overview") / "static"
    for name, digest in PINNED.items():
        assert hashlib.sha256((static / name).read_bytes()).hexdigest() == digest, name
    assert (
        (static / "uPlot.iife.min.js")
        .read_text()
        .startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    )
    assert "MIT License" in (static / "LICENSE.uPlot").read_text()


def test_pages_load_scripts_from_the_app_only(seeded_app: SeededApp) -> None:
    """The overview's scripts are served by the app under the strict CSP; the page refers
    to no other host; unknown static names are 404."""
    client = seeded_app.client
    client.post(
        "/login",
        content=f"token={seeded_app.tokens['vic']}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    page = client.get("/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script src='/ui/static/uPlot.iife.min.js'></script>" in page.text
    assert "http://" not in page.text.replace(str(client.base_url), "")
    assert "https://" not in page.text
    script = client.get("/ui/static/uPlot.iife.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "script-src 'self'" in script.headers["content-security-policy"]
    assert client.get("/ui/static/overview.js").status_code == 200
    assert client.get("/ui/static/..%2Fpages.py").status_code == 404
    assert client.get("/ui/static/pages.py").status_code == 404

"""A stand-in for the few Grafana HTTP API endpoints `watchkeeper grafana push` uses.

No Grafana server installs here, so this keeps state in memory and answers like Grafana
does where it matters to an idempotent client: bearer-token auth (401), 404 for missing
objects, server-side fields added on save (ids, versions, provenance, secrets hidden),
409 for duplicates, 400 for a policy naming an unknown contact point or a rule in a
missing folder. Every request is logged so tests can count writes.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Handler = Callable[..., tuple[int, Any]]


class GrafanaStub:
    """In-memory Grafana: folders, data sources, dashboards, alerting provisioning."""

    def __init__(self, token: str = "glsa_test_token") -> None:
        self.token = token
        self.requests: list[tuple[str, str]] = []
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.contact_points: dict[str, dict[str, Any]] = {
            "default-email": {
                "uid": "default-email",
                "name": "grafana-default-email",
                "type": "email",
                "settings": {"addresses": "<example@email.com>"},
                "disableResolveMessage": False,
            }
        }
        self.rules: dict[str, dict[str, Any]] = {}
        self.policy: dict[str, Any] = {
            "receiver": "grafana-default-email",
            "group_by": ["grafana_folder", "alertname"],
        }
        self._ids = iter(range(1, 10_000))
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        for method, pattern, handler in (
            ("GET", r"/api/folders/(?P<uid>[^/]+)", self._get_folder),
            ("POST", r"/api/folders", self._create_folder),
            ("PUT", r"/api/folders/(?P<uid>[^/]+)", self._update_folder),
            ("GET", r"/api/datasources/uid/(?P<uid>[^/]+)", self._get_datasource),
            ("POST", r"/api/datasources", self._create_datasource),
            ("PUT", r"/api/datasources/uid/(?P<uid>[^/]+)", self._update_datasource),
            ("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)", self._get_dashboard),
            ("POST", r"/api/dashboards/db", self._save_dashboard),
            ("GET", r"/api/v1/provisioning/contact-points", self._list_contact_points),
            ("POST", r"/api/v1/provisioning/contact-points", self._create_contact_point),
            ("PUT", r"/api/v1/provisioning/contact-points/(?P<uid>[^/]+)", self._update_cp),
            ("GET", r"/api/v1/provisioning/alert-rules/(?P<uid>[^/]+)", self._get_rule),
            ("POST", r"/api/v1/provisioning/alert-rules", self._create_rule),
            ("PUT", r"/api/v1/provisioning/alert-rules/(?P<uid>[^/]+)", self._update_rule),
            ("GET", r"/api/v1/provisioning/policies", self._get_policy),
            ("PUT", r"/api/v1/provisioning/policies", self._set_policy),
        ):
            self._routes.append((method, re.compile(f"^{pattern}$"), handler))
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> str:
        """Serve on a free loopback port; returns the base URL."""
        stub = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub._handle(self, "GET")

            def do_POST(self) -> None:
                stub._handle(self, "POST")

            def do_PUT(self) -> None:
                stub._handle(self, "PUT")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def writes(self) -> list[tuple[str, str]]:
        """Requests that changed something (POST, PUT)."""
        return [r for r in self.requests if r[0] in ("POST", "PUT")]

    # --- dispatch ------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        self.requests.append((method, parts.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self._reply(request, 401, {"message": "Unauthorized"})
            return
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length)) if length else None
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        for route_method, pattern, handler in self._routes:
            match = pattern.match(parts.path)
            if route_method == method and match:
                status, payload = handler(body=body, query=query, **match.groupdict())
                self._reply(request, status, payload)
                return
        self._reply(request, 404, {"message": "Not found"})

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    # --- folders -------------------------------------------------------------------------
    def _get_folder(self, uid: str, **_: Any) -> tuple[int, Any]:
        if uid not in self.folders:
            return 404, {"message": "folder not found"}
        return 200, self.folders[uid]

    def _create_folder(self, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if body["uid"] in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        folder = {"id": next(self._ids), "uid": body["uid"], "title": body["title"], "version": 1}
        self.folders[body["uid"]] = folder
        return 200, folder

    def _update_folder(self, uid: str, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        self.folders[uid]["title"] = body["title"]
        self.folders[uid]["version"] += 1
        return 200, self.folders[uid]

    # --- data sources ------------------------------------------------------------------
    def _get_datasource(self, uid: str, **_: Any) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        stored = copy.deepcopy(self.datasources[uid])
        secrets = stored.pop("secureJsonData", {})
        stored["secureJsonFields"] = dict.fromkeys(secrets, True)
        return 200, stored

    def _create_datasource(self, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if body["uid"] in self.datasources:
            return 409, {"message": "data source with the same uid already exists"}
        self.datasources[body["uid"]] = {
            **body,
            "id": next(self._ids),
            "orgId": 1,
            "readOnly": False,
            "version": 1,
        }
        return 200, {"message": "Datasource added", "id": self.datasources[body["uid"]]["id"]}

    def _update_datasource(self, uid: str, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        stored = self.datasources[uid]
        self.datasources[uid] = {**body, "id": stored["id"], "orgId": 1, "readOnly": False}
        self.datasources[uid]["version"] = stored["version"] + 1
        return 200, {"message": "Datasource updated"}

    # --- dashboards --------------------------------------------------------------------
    def _get_dashboard(self, uid: str, **_: Any) -> tuple[int, Any]:
        if uid not in self.dashboards:
            return 404, {"message": "Dashboard not found"}
        stored = self.dashboards[uid]
        return 200, {
            "dashboard": copy.deepcopy(stored["dashboard"]),
            "meta": {"folderUid": stored["folderUid"], "slug": uid, "version": 1},
        }

    def _save_dashboard(self, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        model = copy.deepcopy(body["dashboard"])
        uid = model["uid"]
        if body.get("folderUid") not in self.folders:
            return 400, {"message": "folder not found"}
        if uid in self.dashboards and not body.get("overwrite"):
            return 412, {"message": "The dashboard has been changed by someone else"}
        previous = self.dashboards.get(uid, {}).get("dashboard", {})
        model["id"] = previous.get("id") or next(self._ids)
        model["version"] = previous.get("version", 0) + 1
        self.dashboards[uid] = {"dashboard": model, "folderUid": body["folderUid"]}
        return 200, {
            "id": model["id"],
            "uid": uid,
            "status": "success",
            "version": model["version"],
        }

    # --- contact points ----------------------------------------------------------------
    def _list_contact_points(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        points = [copy.deepcopy(p) for p in self.contact_points.values()]
        if "name" in query:
            points = [p for p in points if p["name"] == query["name"]]
        return 200, points

    def _create_contact_point(self, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if body["uid"] in self.contact_points:
            return 400, {"message": "contact point with this uid already exists"}
        self.contact_points[body["uid"]] = {**body, "provenance": "api"}
        return 202, self.contact_points[body["uid"]]

    def _update_cp(self, uid: str, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if uid not in self.contact_points:
            return 404, {"message": "contact point not found"}
        self.contact_points[uid] = {**body, "provenance": "api"}
        return 202, {"message": "contactpoint updated"}

    # --- alert rules -------------------------------------------------------------------
    def _get_rule(self, uid: str, **_: Any) -> tuple[int, Any]:
        if uid not in self.rules:
            return 404, None
        return 200, copy.deepcopy(self.rules[uid])

    def _create_rule(self, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if body["folderUID"] not in self.folders:
            return 400, {"message": "folder does not exist"}
        if body["uid"] in self.rules:
            return 409, {"message": "rule with this uid already exists"}
        missing = {q["datasourceUid"] for q in body["data"]} - set(self.datasources) - {"__expr__"}
        if missing:
            return 400, {"message": f"data source {sorted(missing)} not found"}
        self.rules[body["uid"]] = {
            **body,
            "id": next(self._ids),
            "updated": "2026-01-01T00:00:00Z",
            "provenance": "api",
        }
        return 201, self.rules[body["uid"]]

    def _update_rule(self, uid: str, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if uid not in self.rules:
            return 404, None
        self.rules[uid] = {**body, "id": self.rules[uid]["id"], "provenance": "api"}
        self.rules[uid]["updated"] = "2026-01-02T00:00:00Z"
        return 200, self.rules[uid]

    # --- notification policy -----------------------------------------------------------
    def _get_policy(self, **_: Any) -> tuple[int, Any]:
        return 200, copy.deepcopy(self.policy)

    def _set_policy(self, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        names = {p["name"] for p in self.contact_points.values()}
        receivers = [body["receiver"], *(r["receiver"] for r in body.get("routes", []))]
        unknown = [r for r in receivers if r not in names]
        if unknown:
            return 400, {"message": f"receiver {unknown[0]!r} does not exist"}
        self.policy = copy.deepcopy(body)
        return 202, {"message": "policies updated"}

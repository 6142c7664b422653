"""``watchkeeper grafana push``: upload dashboards and alerting through Grafana's HTTP API.

Idempotent: each object is read first and written only when missing or different (what
Grafana adds on its side, such as ids and versions, is ignored), so a second push changes
nothing. The notification policy is merged into the existing tree: watchkeeper's routes
are replaced, everything else stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import niquests
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaUnauthorizedError

from watchkeeper.collector.alerting import GrafanaError
from watchkeeper.collector.alerting.export import GrafanaObjects
from watchkeeper.collector.alerting.grafana_alerts import FOLDER_UID, merge_policy

Report = Callable[[str], None]


@dataclass
class PushResult:
    """What a push did, per object (``kind name`` -> created / updated / unchanged)."""

    actions: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when anything was created or updated."""
        return any(action != "unchanged" for action in self.actions.values())


def push(
    url: str,
    token: str,
    objects: GrafanaObjects,
    *,
    with_datasources: bool = True,
    page_receiver: str | None = None,
    report: Report | None = None,
    timeout_s: float = 10.0,
) -> PushResult:
    """Create or update every object in the Grafana at ``url``, authenticated by ``token``."""
    # grafana-client appends "api" to the URL's path: keep a trailing slash on sub-paths.
    base = url if url.endswith("/") else url + "/"
    api = GrafanaApi.from_url(base, credential=token, timeout=timeout_s)
    pusher = _Pusher(api, url, report or (lambda _line: None))
    try:
        pusher.folder(objects.folder)
        if with_datasources:
            for source in objects.datasources:
                pusher.datasource(source)
        for model in objects.dashboards.values():
            pusher.dashboard(model)
        pusher.contact_point(objects.contact_point)
        for rule in objects.alert_rules:
            pusher.alert_rule(rule)
        pusher.policy(page_receiver)
    except GrafanaUnauthorizedError:
        raise GrafanaError(
            f"Grafana at {url} refused the token (401): use a service account token with the "
            "Editor role and alerting write access"
        ) from None
    except GrafanaException as exc:
        if not exc.status_code:  # grafana-client's way of saying timeout / transport error
            raise GrafanaError(f"cannot reach Grafana at {url}: {exc.message}") from None
        raise GrafanaError(
            f"Grafana at {url} refused {pusher.current}: {exc.status_code} {exc.message}"
        ) from None
    except niquests.exceptions.RequestException as exc:
        raise GrafanaError(f"cannot reach Grafana at {url}: {type(exc).__name__}: {exc}") from None
    return pusher.result


class _Pusher:
    def __init__(self, api: GrafanaApi, url: str, report: Report) -> None:
        self.api = api
        self.url = url
        self.report = report
        self.result = PushResult()
        self.current = ""

    def _done(self, what: str, action: str) -> None:
        self.result.actions[what] = action
        self.report(f"{what}: {action}")

    def folder(self, folder: dict[str, str]) -> None:
        what = self.current = f"folder {folder['uid']}"
        current = _get_or_none(lambda: self.api.folder.get_folder(folder["uid"]))
        if current is None:
            self.api.folder.create_folder(folder["title"], uid=folder["uid"])
            self._done(what, "created")
        elif current.get("title") != folder["title"]:
            self.api.folder.update_folder(folder["uid"], title=folder["title"], overwrite=True)
            self._done(what, "updated")
        else:
            self._done(what, "unchanged")

    def datasource(self, source: dict[str, Any]) -> None:
        what = self.current = f"data source {source['uid']}"
        current = _get_or_none(lambda: self.api.datasource.get_datasource_by_uid(source["uid"]))
        # Grafana never returns secrets, only which exist: compare everything else.
        comparable = {k: v for k, v in source.items() if k != "secureJsonData"}
        secrets_known = set(source.get("secureJsonData", {})) <= {
            k for k, v in (current or {}).get("secureJsonFields", {}).items() if v
        }
        if current is None:
            self.api.datasource.create_datasource(source)
            self._done(what, "created")
        elif not (covers(current, comparable) and secrets_known):
            self.api.datasource.update_datasource_by_uid(source["uid"], source)
            self._done(what, "updated")
        else:
            self._done(what, "unchanged")

    def dashboard(self, model: dict[str, Any]) -> None:
        what = self.current = f"dashboard {model['uid']}"
        current = _get_or_none(lambda: self.api.dashboard.get_dashboard(model["uid"]))
        if current is not None:
            in_folder = current.get("meta", {}).get("folderUid") == FOLDER_UID
            if in_folder and covers(current.get("dashboard", {}), model):
                self._done(what, "unchanged")
                return
        body = {
            "dashboard": {k: v for k, v in model.items() if k not in ("id", "version")},
            "folderUid": FOLDER_UID,
            "overwrite": True,
            "message": "watchkeeper grafana push",
        }
        self.api.dashboard.update_dashboard(body)
        self._done(what, "created" if current is None else "updated")

    def contact_point(self, point: dict[str, Any]) -> None:
        what = self.current = f"contact point {point['name']}"
        existing = self.api.alertingprovisioning.get_contactpoints(name=point["name"])
        current = next((p for p in existing or [] if p.get("uid") == point["uid"]), None)
        if current is None:
            self.api.alertingprovisioning.create_contactpoint(point)
            self._done(what, "created")
        elif not covers(current, point):
            self.api.alertingprovisioning.update_contactpoint(point["uid"], point)
            self._done(what, "updated")
        else:
            self._done(what, "unchanged")

    def alert_rule(self, rule: dict[str, Any]) -> None:
        what = self.current = f"alert rule {rule['uid']}"
        current = _get_or_none(lambda: self.api.alertingprovisioning.get_alertrule(rule["uid"]))
        if current is None:
            self.api.alertingprovisioning.create_alertrule(rule)
            self._done(what, "created")
        elif not covers(current, rule):
            self.api.alertingprovisioning.update_alertrule(rule["uid"], rule)
            self._done(what, "updated")
        else:
            self._done(what, "unchanged")

    def policy(self, page_receiver: str | None) -> None:
        what = self.current = "notification policy"
        tree = self.api.alertingprovisioning.get_notification_policy_tree()
        merged = merge_policy(tree, page_receiver)
        if merged == tree:
            self._done(what, "unchanged")
        else:
            self.api.alertingprovisioning.set_notification_policy_tree(merged)
            self._done(what, "updated")


def covers(current: Any, desired: Any) -> bool:
    """True when ``current`` (what Grafana returned) holds everything ``desired`` says.

    Keys only Grafana sets (ids, versions, timestamps, provenance) are ignored; lists must
    match element by element.
    """
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(
            key in current and covers(current[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(current) == len(desired)
            and all(covers(c, d) for c, d in zip(current, desired, strict=True))
        )
    if isinstance(desired, bool) or isinstance(current, bool):
        return current is desired
    if isinstance(desired, int | float) and isinstance(current, int | float):
        return float(current) == float(desired)
    return bool(current == desired)


def _get_or_none(read: Callable[[], Any]) -> Any:
    """The object, or None when Grafana answers 404."""
    try:
        return read()
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise

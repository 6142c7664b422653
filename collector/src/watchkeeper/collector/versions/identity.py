"""A call's version identity beyond model and prompt: the app's release and its deploy.

OpenTelemetry puts both on the resource (``service.version``; ``deployment.id``), which the
call table does not keep; they are copied into each call's span attributes, where the
versions comparison reads them (``--by release``, ``--by deploy``). A span attribute of
the same name wins; ``watchkeeper.deploy.id`` is read as ``deployment.id``.

>>> from watchkeeper.collector.record import CallRecord
>>> call = CallRecord(trace_id="0" * 32, span_id="1" * 16, timestamp_ns=0, duration_ns=0)
>>> stamp_identity([call], {"service.version": "2.4.1", "watchkeeper.deploy.id": "d-17"})
>>> call.attributes
{'service.version': '2.4.1', 'deployment.id': 'd-17'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from watchkeeper.collector.record import CallRecord

#: What a version is: the request model, the prompt version, the app release, the deploy.
DIMENSIONS: Final = ("model", "prompt", "release", "deploy")
RELEASE_KEY: Final = "service.version"
DEPLOY_KEY: Final = "deployment.id"
#: Where a deploy id may come from, first found wins.
DEPLOY_SOURCES: Final = (DEPLOY_KEY, "watchkeeper.deploy.id")
_MAX_CHARS: Final = 128


def identity(values: Mapping[str, Any]) -> dict[str, str]:
    """The release and deploy id among resource or span attributes (absent ones left out)."""
    found = {}
    release = str(values.get(RELEASE_KEY) or "")[:_MAX_CHARS]
    if release:
        found[RELEASE_KEY] = release
    deploy = next((str(values[k]) for k in DEPLOY_SOURCES if values.get(k)), "")[:_MAX_CHARS]
    if deploy:
        found[DEPLOY_KEY] = deploy
    return found


def stamp_identity(calls: Sequence[CallRecord], resource: Mapping[str, Any]) -> None:
    """Give each call the resource's release and deploy id unless its span set them."""
    from_resource = identity(resource)
    for call in calls:
        own = identity(call.attributes)
        if from_resource or own:
            call.attributes.update(from_resource | own)
            call.attributes.pop("watchkeeper.deploy.id", None)

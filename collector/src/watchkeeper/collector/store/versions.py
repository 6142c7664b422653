"""The queries of the live version comparison (``collector/versions/``).

A call's version is its request model (``dimension = 'model'``), its prompt version
(``'prompt'``: the SDK's ``watchkeeper.prompt.version`` span attribute, else OpenInference's
prompt template version or a hash of its template), the app's release
(``'release'``: ``service.version``) or its deploy (``'deploy'``: ``deployment.id``; both
copied from the resource by ``versions/identity.py``). Everything from a
request is a bound parameter; ``{db}`` is the configured database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store

PROMPT_VERSION_KEY: Final = "watchkeeper.prompt.version"
#: OpenInference's prompt template attributes: its version, else a hash of its text.
TEMPLATE_VERSION_KEY: Final = "llm.prompt_template.version"
TEMPLATE_KEY: Final = "llm.prompt_template.template"

#: A call's prompt version: the SDK's, else OpenInference's template version, else
#: ``template:<8 hex>`` of the template text.
_PROMPT: Final = (
    f"multiIf(c.SpanAttributes['{PROMPT_VERSION_KEY}'] != '', "
    f"c.SpanAttributes['{PROMPT_VERSION_KEY}'], "
    f"c.SpanAttributes['{TEMPLATE_VERSION_KEY}'] != '', "
    f"c.SpanAttributes['{TEMPLATE_VERSION_KEY}'], "
    f"c.SpanAttributes['{TEMPLATE_KEY}'] != '', "
    "concat('template:', "
    f"lower(substring(hex(cityHash64(c.SpanAttributes['{TEMPLATE_KEY}'])), 1, 8))), "
    "'')"
)

_VERSION: Final = (
    "multiIf({dimension:String} = 'prompt', "
    f"{_PROMPT}, "
    "{dimension:String} = 'release', c.SpanAttributes['service.version'], "
    "{dimension:String} = 'deploy', c.SpanAttributes['deployment.id'], "
    "toString(c.RequestModel))"
)

#: One score of every call of a route by the two versions, oldest first (one row per call).
VERSION_SCORES: Final = f"""
SELECT toUnixTimestamp64Nano(c.Timestamp) AS TimestampNs,
       {_VERSION} AS Version,
       s.Scores[{{score:String}}] AS Value,
       c.SpanId AS SpanId,
       c.TraceId AS TraceId
FROM {{db}}.calls AS c
INNER JOIN {{db}}.call_scores AS s ON s.SpanId = c.SpanId AND s.TraceId = c.TraceId
WHERE c.Route = {{route:String}}
  AND c.Timestamp >= fromUnixTimestamp64Nano({{since_ns:Int64}})
  AND Version IN ({{baseline:String}}, {{candidate:String}})
  AND mapContains(s.Scores, {{score:String}})
ORDER BY TimestampNs, SpanId
LIMIT 1 BY SpanId
LIMIT {{limit:UInt32}}
"""

#: The versions seen on a route, with their calls and first and last call times.
ROUTE_VERSIONS: Final = f"""
SELECT {_VERSION} AS Version, uniqExact(c.SpanId) AS Calls,
       toUnixTimestamp64Nano(min(c.Timestamp)) AS FirstNs,
       toUnixTimestamp64Nano(max(c.Timestamp)) AS LastNs
FROM {{db}}.calls AS c
WHERE c.Route = {{route:String}} AND c.Timestamp >= fromUnixTimestamp64Nano({{since_ns:Int64}})
GROUP BY Version
ORDER BY FirstNs
"""


def version_scores(
    store: Store,
    *,
    route: str,
    baseline: str,
    candidate: str,
    score: str,
    dimension: str = "model",
    since_ns: int = 0,
    limit: int = 1_000_000,
) -> list[dict[str, Any]]:
    """Rows ``TimestampNs, Version, Value, SpanId, TraceId`` of both versions, in time order."""
    return store.select(
        VERSION_SCORES,
        route=route,
        baseline=baseline,
        candidate=candidate,
        score=score,
        dimension=dimension,
        since_ns=since_ns,
        limit=limit,
    )


def route_versions(
    store: Store, *, route: str, dimension: str = "model", since_ns: int = 0
) -> list[dict[str, Any]]:
    """Rows ``Version, Calls, FirstNs, LastNs`` of every version seen on ``route``."""
    return store.select(ROUTE_VERSIONS, route=route, dimension=dimension, since_ns=since_ns)


#: Routes where two versions or more served calls since a time (prompt: calls without a
#: prompt version are left out).
ACTIVE_ROUTES: Final = f"""
SELECT c.Route AS Route
FROM {{db}}.calls AS c
WHERE c.Timestamp >= fromUnixTimestamp64Nano({{since_ns:Int64}}) AND c.Route != ''
GROUP BY c.Route
HAVING uniqExactIf({_VERSION}, {_VERSION} != '') >= 2
ORDER BY c.Route
LIMIT {{limit:UInt32}}
"""


def active_routes(
    store: Store, *, dimension: str = "model", since_ns: int = 0, limit: int = 100
) -> list[str]:
    """Routes with two versions or more since ``since_ns``."""
    rows = store.select(ACTIVE_ROUTES, dimension=dimension, since_ns=since_ns, limit=limit)
    return [str(row["Route"]) for row in rows]


#: The dashboards' "Version changes" annotation (Grafana ClickHouse macros): the first call
#: of each model, prompt version, release and deploy of a route within the time range that
#: had not served in the day before it.
VERSION_CHANGES_ANNOTATION: Final = f"""
SELECT toUnixTimestamp64Milli(min(c.Timestamp)) AS time,
       concat(c.Route, ': ', v.1, ' ', v.2) AS text,
       ['version', v.1] AS tags
FROM {{db}}.calls AS c
ARRAY JOIN [('model', toString(c.RequestModel)),
            ('prompt', {_PROMPT}),
            ('release', c.SpanAttributes['service.version']),
            ('deploy', c.SpanAttributes['deployment.id'])] AS v
WHERE c.Timestamp >= $__fromTime - INTERVAL 1 DAY AND c.Timestamp <= $__toTime
  AND c.ServiceName IN (${{service:sqlstring}}) AND v.2 != ''
GROUP BY c.Route, v.1, v.2
HAVING min(c.Timestamp) >= $__fromTime
ORDER BY time
LIMIT 1000
"""

"""The query of evalset coverage (``collector/coverage/``): recent production inputs.

Inputs come from ``call_bodies`` (the calls whose texts were kept), with their sample rate
so a share can be re-weighted to all calls. Everything from a caller is a bound parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store

#: The newest inputs of each route (or of one), one row per call.
RECENT_INPUTS: Final = """
SELECT Route, ServiceName, TraceId, SpanId, TimestampNs, InputText, OutputText, Contexts,
       SampleRate, m.Model AS Model
FROM (
    SELECT Route, ServiceName, TraceId, SpanId, toUnixTimestamp64Nano(Timestamp) AS TimestampNs,
           InputText, OutputText, Contexts, SampleRate
    FROM (SELECT * FROM {db}.call_bodies
          WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64})
            AND InputText != '' AND ({route:String} = '' OR Route = {route:String})
          LIMIT 1 BY SpanId)
    ORDER BY TimestampNs DESC, SpanId
    LIMIT {per_route:UInt32} BY Route
) AS b
LEFT JOIN (SELECT SpanId, if(ResponseModel != '', ResponseModel, RequestModel) AS Model
           FROM {db}.calls
           WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64})
             AND ({route:String} = '' OR Route = {route:String})
           LIMIT 1 BY SpanId) AS m ON m.SpanId = b.SpanId
ORDER BY Route, TimestampNs DESC, SpanId
"""


def recent_inputs(
    store: Store, *, since_ns: int, route: str = "", per_route: int = 5000
) -> list[dict[str, Any]]:
    """Rows ``Route, ServiceName, TraceId, SpanId, TimestampNs, InputText, OutputText,
    Contexts, SampleRate, Model``: the newest ``per_route`` kept inputs of each route (of
    ``route`` only when given) since ``since_ns``."""
    return store.select(RECENT_INPUTS, since_ns=since_ns, route=route, per_route=per_route)

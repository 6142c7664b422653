"""Turn dashboard SQL into what ClickHouse receives from Grafana, to run it on chDB.

Two steps, as in Grafana: the frontend interpolates template variables (``${name}``,
``${name:sqlstring}``, ``${name:raw}``, ``${name:regex}``), then the ClickHouse data
source plugin expands its macros (``$__timeFilter(col)``, ``$__fromTime``,
``$__timeInterval(col)`` ...) the way its Go code does (pkg/macros/macros.go of
grafana/clickhouse-datasource v4). Anything left unexpanded is an error, so a typo in a
macro or a variable fails the test instead of reaching Grafana.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

Value = str | Sequence[str]

_VARIABLE = re.compile(r"\$\{(?!__)(\w+)(?::(\w+))?\}|\$(?!__)([A-Za-z]\w*)")
_MACRO = re.compile(r"\$__(\w+)(?:\(([^()]*)\))?")


@dataclass(frozen=True)
class TimeRange:
    """The dashboard time range and the panel interval Grafana picked for it."""

    start: datetime
    end: datetime
    interval_s: int = 60

    @property
    def start_s(self) -> int:
        """Start, seconds since the epoch."""
        return int(self.start.timestamp())

    @property
    def end_s(self) -> int:
        """End, seconds since the epoch."""
        return int(self.end.timestamp())


def interpolate(text: str, variables: Mapping[str, Value]) -> str:
    """Grafana's template variable interpolation (the formats the dashboards use)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        fmt = match.group(2) or ""
        if name not in variables:
            raise KeyError(f"variable ${name} has no value in {text[:80]!r}...")
        value = variables[name]
        values = [value] if isinstance(value, str) else list(value)
        if fmt == "sqlstring":
            return ",".join("'" + v.replace("'", "''") + "'" for v in values)
        if fmt == "regex":
            escaped = [re.escape(v) for v in values]
            return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        if fmt in ("", "raw"):
            return ",".join(values) if len(values) > 1 else values[0]
        raise ValueError(f"format {fmt!r} of ${name} is not one the tests know")

    return _VARIABLE.sub(replace, text)


def expand_macros(text: str, when: TimeRange) -> str:
    """The ClickHouse plugin's macros, expanded as its backend does."""

    def date_literal(moment: datetime) -> str:
        return f"toDate('{date.fromtimestamp(moment.timestamp(), tz=UTC).isoformat()}')"

    def replace(match: re.Match[str]) -> str:
        name, args = match.group(1), match.group(2)
        start, end = when.start_s, when.end_s
        start_ms, end_ms = int(when.start.timestamp() * 1000), int(when.end.timestamp() * 1000)
        interval = max(when.interval_s, 1)
        simple = {
            "fromTime": f"toDateTime({start})",
            "toTime": f"toDateTime({end})",
            "fromTime_ms": f"fromUnixTimestamp64Milli({start_ms})",
            "toTime_ms": f"fromUnixTimestamp64Milli({end_ms})",
            "interval_s": str(interval),
        }
        if name in simple:
            if args is not None:
                raise ValueError(f"$__{name} takes no arguments")
            return simple[name]
        if args is None:
            raise ValueError(f"macro $__{name} needs an argument (or is unknown)")
        column = args.strip()
        if name == "timeFilter":
            return f"{column} >= toDateTime({start}) AND {column} <= toDateTime({end})"
        if name == "timeFilter_ms":
            return (
                f"{column} >= fromUnixTimestamp64Milli({start_ms}) "
                f"AND {column} <= fromUnixTimestamp64Milli({end_ms})"
            )
        if name == "dateFilter":
            return (
                f"{column} >= {date_literal(when.start)} AND {column} <= {date_literal(when.end)}"
            )
        if name == "timeInterval":
            return f"toStartOfInterval(toDateTime({column}), INTERVAL {interval} second)"
        raise ValueError(f"unknown ClickHouse macro $__{name}")

    expanded = _MACRO.sub(replace, text)
    if "$" in expanded:
        raise ValueError(f"unexpanded '$' left in {expanded[:200]!r}")
    return expanded


def to_clickhouse(text: str, variables: Mapping[str, Value], when: TimeRange) -> str:
    """Dashboard SQL as the plugin sends it to ClickHouse."""
    return expand_macros(interpolate(text, variables), when)


def clickhouse_queries(model: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every ClickHouse SQL text in a dashboard JSON model, with where it was found."""
    if isinstance(model, dict):
        source = model.get("datasource") or {}
        if "rawSql" in model:
            yield path, model["rawSql"]
        elif model.get("type") == "query" and source.get("type") == "grafana-clickhouse-datasource":
            yield f"{path}/variable {model['name']}", model["query"]
        for key, value in model.items():
            yield from clickhouse_queries(value, f"{path}/{key}")
    elif isinstance(model, list):
        for index, value in enumerate(model):
            label = (
                value.get("title") or value.get("name") or index
                if isinstance(value, dict)
                else index
            )
            yield from clickhouse_queries(value, f"{path}/{label}")

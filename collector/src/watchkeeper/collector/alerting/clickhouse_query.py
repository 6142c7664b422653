"""ClickHouse queries for ``grafana-foundation-sdk``, which ships no type for that plugin.

The JSON matches what the ``grafana-clickhouse-datasource`` plugin (v4) saves for a query
written in its SQL editor: ``rawSql`` with Grafana macros, ``format`` as the backend reads
it (0 = time series, 1 = table) and ``queryType`` as the editor shows it.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models.common import DataSourceRef

#: Plugin id of Grafana's ClickHouse data source.
PLUGIN_ID = "grafana-clickhouse-datasource"

QueryShape = Literal["table", "timeseries"]
_FORMATS: dict[str, int] = {"timeseries": 0, "table": 1}


class ClickHouseQuery(cogvariants.Dataquery):
    """One SQL query of a ClickHouse panel, annotation or alert rule."""

    def __init__(
        self,
        raw_sql: str,
        *,
        shape: QueryShape = "table",
        ref_id: str | None = None,
        datasource: DataSourceRef | None = None,
        hide: bool | None = None,
    ) -> None:
        self.raw_sql = raw_sql
        self.shape: QueryShape = shape
        self.ref_id = ref_id
        self.datasource = datasource
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        """The query as the plugin stores it in dashboard JSON."""
        payload: dict[str, object] = {
            "editorType": "sql",
            "format": _FORMATS[self.shape],
            "queryType": self.shape,
            "rawSql": self.raw_sql,
        }
        if self.ref_id is not None:
            payload["refId"] = self.ref_id
        if self.datasource is not None:
            payload["datasource"] = self.datasource.to_json()
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Read a query back from dashboard JSON."""
        shape: QueryShape = "timeseries" if data.get("format") == 0 else "table"
        datasource = data.get("datasource")
        return cls(
            str(data.get("rawSql", "")),
            shape=shape,
            ref_id=data.get("refId"),
            datasource=DataSourceRef.from_json(datasource) if datasource else None,
            hide=data.get("hide"),
        )


def variant_config() -> cogruntime.DataqueryConfig:
    """Registers the query type so dashboards with ClickHouse panels unmarshal."""
    return cogruntime.DataqueryConfig(
        identifier=PLUGIN_ID, from_json_hook=ClickHouseQuery.from_json
    )


class ClickHouseQueryBuilder(cogbuilder.Builder[ClickHouseQuery]):
    """Builds a :class:`ClickHouseQuery` in the SDK's fluent style.

    >>> q = ClickHouseQueryBuilder("SELECT 1").ref_id("A").build().to_json()
    >>> q["rawSql"], q["format"], q["refId"]
    ('SELECT 1', 1, 'A')
    """

    def __init__(self, raw_sql: str) -> None:
        self._internal = ClickHouseQuery(raw_sql)

    def build(self) -> ClickHouseQuery:
        """The query."""
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        """Query id within its panel (``A``, ``B`` ...)."""
        self._internal.ref_id = ref_id
        return self

    def shape(self, shape: QueryShape) -> Self:
        """``timeseries`` (a time column, optional label columns) or ``table``."""
        self._internal.shape = shape
        return self

    def datasource(self, datasource: DataSourceRef) -> Self:
        """The ClickHouse data source to run on."""
        self._internal.datasource = datasource
        return self


class ClickHouseAnnotationTarget(dashboard_model.AnnotationTarget):
    """An annotation query run on ClickHouse: columns ``time``, ``timeEnd``, ``text``, ``tags``.

    The SDK's annotation target only knows Grafana's built-in tag queries; data source
    annotations keep their query there instead, which this subclass writes.
    """

    def __init__(self, query: ClickHouseQuery) -> None:
        super().__init__()
        self.query = query

    def to_json(self) -> dict[str, object]:
        """The query, as Grafana stores a data source annotation's target."""
        return self.query.to_json()


class ClickHouseAnnotationTargetBuilder(cogbuilder.Builder[dashboard_model.AnnotationTarget]):
    """Builder for :class:`ClickHouseAnnotationTarget` (``AnnotationQuery.target``)."""

    def __init__(self, raw_sql: str, ref_id: str = "Anno") -> None:
        self._internal = ClickHouseAnnotationTarget(ClickHouseQuery(raw_sql, ref_id=ref_id))

    def build(self) -> dashboard_model.AnnotationTarget:
        """The annotation target."""
        return self._internal

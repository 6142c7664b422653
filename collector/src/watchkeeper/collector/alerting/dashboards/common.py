"""What every watchkeeper dashboard shares: data sources, variables, query and link helpers.

Dashboards pick their data sources through variables (``${prometheus}``,
``${clickhouse}``), so they work with the data sources ``watchkeeper grafana export``
provisions and with any existing ones. SQL is written with ``{db}`` for the database, as
in :mod:`watchkeeper.collector.store.queries`, and rendered to the ``${database}``
variable; everything else in it is a Grafana macro or variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models.common import DataSourceRef
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    Panel,
    VariableHide,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from watchkeeper.collector.alerting.clickhouse_query import (
    PLUGIN_ID,
    ClickHouseAnnotationTargetBuilder,
    ClickHouseQueryBuilder,
    QueryShape,
)

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${prometheus}")
CLICKHOUSE = DataSourceRef(type_val=PLUGIN_ID, uid="${clickhouse}")

OVERVIEW_UID = "watchkeeper-overview"
DETECTOR_UID = "watchkeeper-detector"
REVIEW_UID = "watchkeeper-review"
TAGS = ["watchkeeper", "llm-quality"]

#: A panel as the dashboard builders take it (time series, stat, table ...).
PanelBuilder = Builder[Panel]

#: Weight of a stored call in counts: the SDK kept it with probability SampleRate.
CALL_WEIGHT = "if(SampleRate > 0, 1 / SampleRate, 1)"


@dataclass(frozen=True)
class DashboardOptions:
    """What differs between installations and shows in the dashboards' variables."""

    #: ClickHouse database watchkeeper writes to (``database`` setting).
    database: str = "watchkeeper"
    #: Base URL of the collector's review UI, for links from review items.
    collector_url: str = "http://watchkeeper-collector:4318"


def sql(text: str) -> str:
    """A query written with ``{db}`` as dashboards run it (``${database}``)."""
    return text.strip().replace("{db}", "${database}")


def ch_query(
    text: str, *, shape: QueryShape = "table", ref_id: str = "A"
) -> ClickHouseQueryBuilder:
    """A ClickHouse target (SQL with Grafana macros, ``{db}`` for the database)."""
    return ClickHouseQueryBuilder(sql(text)).shape(shape).ref_id(ref_id).datasource(CLICKHOUSE)


def prom_query(expr: str, legend: str = "", ref_id: str = "A") -> prometheus.Dataquery:
    """A Prometheus target; ``$namespace`` narrows it to the selected namespaces."""
    query = prometheus.Dataquery().expr(expr).ref_id(ref_id).datasource(PROMETHEUS)
    return query.legend_format(legend) if legend else query


def ch_annotation(name: str, text: str, color: str) -> dash.AnnotationQuery:
    """An annotation from ClickHouse: the SQL returns ``time``, ``timeEnd``, ``text``, ``tags``."""
    return (
        dash.AnnotationQuery()
        .name(name)
        .datasource(CLICKHOUSE)
        .enable(True)
        .icon_color(color)
        .target(ClickHouseAnnotationTargetBuilder(sql(text)))
    )


def new_dashboard(uid: str, title: str, description: str) -> dash.Dashboard:
    """A dashboard with watchkeeper's defaults: tags, time range, shared crosshair."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .editable()
        .link(
            dash.DashboardLink("watchkeeper")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["watchkeeper"])
            .as_dropdown(True)
            .include_vars(False)
            .keep_time(True)
        )
    )


def with_panels(
    board: dash.Dashboard, panels: list[PanelBuilder], row: dash.Row | None = None
) -> dash.Dashboard:
    """``board`` with ``row`` (when given) and then ``panels`` added, in order."""
    if row is not None:
        board = board.with_row(row)
    for panel in panels:
        board = board.with_panel(panel)
    return board


def datasource_variables(
    options: DashboardOptions,
) -> list[dash.DatasourceVariable | dash.TextBoxVariable]:
    """``prometheus`` and ``clickhouse`` data source pickers and the ``database`` name."""
    return [
        dash.DatasourceVariable("prometheus").label("Prometheus").type("prometheus"),
        dash.DatasourceVariable("clickhouse").label("ClickHouse").type(PLUGIN_ID),
        dash.TextBoxVariable("database")
        .label("Database")
        .default_value(options.database)
        .description("ClickHouse database watchkeeper writes to (setting `database`)."),
    ]


def namespace_variable() -> dash.QueryVariable:
    """Kubernetes namespaces reporting watchkeeper metrics (all of them by default).

    ``.*`` as the all-value also matches series without the label, outside Kubernetes.
    """
    return (
        dash.QueryVariable("namespace")
        .label("Namespace")
        .datasource(PROMETHEUS)
        .query("label_values(watchkeeper_calls_ingested_total, namespace)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(selected=True, text="All", value="$__all"))
    )


def clickhouse_variable(name: str, label: str, query: str, *, multi: bool) -> dash.QueryVariable:
    """A variable whose options come from a ClickHouse query (one column)."""
    variable = (
        dash.QueryVariable(name)
        .label(label)
        .datasource(CLICKHOUSE)
        .query(sql(query))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable = (
            variable.multi(True)
            .include_all(True)
            .current(VariableOption(selected=True, text="All", value="$__all"))
        )
    return variable


def custom_variable(
    name: str, label: str, values: list[str], *, multi: bool
) -> dash.CustomVariable:
    """A variable with fixed options (detector names, queues)."""
    variable = (
        dash.CustomVariable(name)
        .label(label)
        .values(",".join(values))
        .current(VariableOption(selected=True, text=values[0], value=values[0]))
    )
    if multi:
        variable = (
            variable.multi(True)
            .include_all(True)
            .current(VariableOption(selected=True, text="All", value="$__all"))
        )
    return variable


def hidden_textbox(name: str, value: str, description: str) -> dash.TextBoxVariable:
    """A textbox variable set by links from other panels (empty until then)."""
    return (
        dash.TextBoxVariable(name)
        .label(name)
        .default_value(value)
        .description(description)
        .hide(VariableHide.DONT_HIDE)
    )


def link(title: str, url: str) -> dash.DashboardLink:
    """A data link (``${__data.fields.X}`` refers to a column of the clicked row)."""
    return dash.DashboardLink(title).url(url)


def dashboard_url(uid: str, **params: str) -> str:
    """Path of a dashboard with URL parameters; values may hold Grafana ``${...}`` syntax."""
    query = "&".join(
        f"{key.replace('_', '-', 1)}={quote(value, safe='${}._:-')}"
        for key, value in params.items()
    )
    return f"/d/{uid}/{uid}" + (f"?{query}" if query else "")

"""The judges' panels on the review dashboard: agreement with reviewers against the floor,
calibration and length bias, what the judges do, and the calibration of the app's own
confidence (Prometheus)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import timeseries

from watchkeeper.collector.alerting.dashboards.common import PanelBuilder, prom_query

NS = 'namespace=~"$namespace"'


def judge_panels(first_id: int) -> list[PanelBuilder]:
    """Four panels, ids from ``first_id``: three on the judges, one on the app's own
    confidence."""
    return [*_judge_panels(first_id), app_confidence_panel(first_id + 3)]


def app_confidence_panel(panel_id: int) -> PanelBuilder:
    """The calibration error of the app's own confidence per app model."""
    return (
        timeseries.Panel()
        .id(panel_id)
        .title("App confidence calibration error (ECE) by model")
        .description(
            "Expected calibration error of the app's own confidence (token log-probabilities "
            "recorded by the SDK, or confidence phrases in the answer) against reviewers' "
            "pass/fail verdicts over the last 30 days, by app model (0 = the confidence it "
            "expresses matches how often reviewers pass it)."
        )
        .min(0)
        .max(1)
        .span(8)
        .with_target(
            prom_query(
                f"max by (model) (watchkeeper_app_confidence_calibration_error{{{NS}}})",
                "{{model}}",
            )
        )
    )


def _judge_panels(first_id: int) -> list[PanelBuilder]:
    return [
        timeseries.Panel()
        .id(first_id)
        .title("Judges against reviewers (Cohen's kappa)")
        .description(
            "Kappa of each LLM judge against human reviewers over the last 30 days' labels, "
            "by dimension, beside the judge's agreement floor (the alert fires below it)."
        )
        .min(-1)
        .max(1)
        .span(8)
        .with_target(
            prom_query(
                f"max by (judge, dimension) (watchkeeper_judge_agreement_kappa{{{NS}}})",
                "{{judge}} {{dimension}}",
            )
        )
        .with_target(
            prom_query(
                f"max by (judge) (watchkeeper_judge_agreement_floor{{{NS}}})",
                "{{judge}} floor",
                ref_id="B",
            )
        ),
        timeseries.Panel()
        .id(first_id + 1)
        .title("Judge calibration error, length and order bias")
        .description(
            "Expected calibration error of judge scores against reviewers' verdicts (0 = "
            "calibrated), Spearman's rho of judge score and answer length among calls "
            "reviewers scored the same (0 = no length bias), and the share of pairwise "
            "comparisons whose winner changed with the order (0 = no order bias)."
        )
        .span(8)
        .with_target(
            prom_query(
                f"max by (judge, dimension) (watchkeeper_judge_calibration_error{{{NS}}})",
                "{{judge}} {{dimension}} ECE",
            )
        )
        .with_target(
            prom_query(
                f"max by (judge, dimension) (watchkeeper_judge_length_bias{{{NS}}})",
                "{{judge}} {{dimension}} length bias",
                ref_id="B",
            )
        )
        .with_target(
            prom_query(
                f"max by (judge, dimension) (watchkeeper_judge_order_flip_rate{{{NS}}})",
                "{{judge}} {{dimension}} order flip rate",
                ref_id="C",
            )
        ),
        timeseries.Panel()
        .id(first_id + 2)
        .title("Judge calls and failures per hour")
        .description(
            "Calls judged (by request or from the cache), failed requests by reason, and "
            "calls skipped by the budget or a full queue."
        )
        .span(8)
        .with_target(
            prom_query(
                "sum by (judge, source) (rate(watchkeeper_judge_calls_judged_total"
                f"{{{NS}}}[$__rate_interval])) * 3600",
                "{{judge}} judged ({{source}})",
            )
        )
        .with_target(
            prom_query(
                "sum by (judge, reason) (rate(watchkeeper_judge_failures_total"
                f"{{{NS}}}[$__rate_interval])) * 3600",
                "{{judge}} failed: {{reason}}",
                ref_id="B",
            )
        )
        .with_target(
            prom_query(
                "sum by (judge, reason) (rate(watchkeeper_judge_skipped_total"
                f"{{{NS}}}[$__rate_interval])) * 3600",
                "{{judge}} skipped: {{reason}}",
                ref_id="C",
            )
        ),
    ]

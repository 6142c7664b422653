"""Alerting around the collector: alert history and Grafana dashboards and alerts as code.

- :mod:`~watchkeeper.collector.alerting.webhook`: an Alertmanager-compatible webhook
  receiver (``POST /api/alerts/webhook``) that records fired and resolved alerts in the
  ``alert_history`` table, which the dashboards show as annotations.
- :mod:`~watchkeeper.collector.alerting.dashboards`: the Grafana dashboards, built in code
  with ``grafana-foundation-sdk`` (committed as JSON under ``dashboards/grafana/``).
- :mod:`~watchkeeper.collector.alerting.grafana_alerts`: Grafana-managed alert rules, the
  contact point and the notification policy.
- :mod:`~watchkeeper.collector.alerting.export` and
  :mod:`~watchkeeper.collector.alerting.push`: ``watchkeeper grafana export DIR`` (files
  for Grafana's provisioning) and ``watchkeeper grafana push`` (the same through Grafana's
  HTTP API with ``grafana-client``, idempotently).
"""

from __future__ import annotations


class GrafanaError(RuntimeError):
    """Exporting or pushing to Grafana failed; the message says why and what to change."""

"""The web UI's overview, alarms and calls pages and their API (``/api/overview``,
``/api/alarms``, ``/api/calls``): quality at a glance without Grafana, and from an alarm to
the calls behind it in one click."""

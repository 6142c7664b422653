"""Incidents: the alarms of several detectors on one service and route, grouped.

- :mod:`~watchkeeper.collector.incidents.grouping`: what an incident is and how alarms join
  one (same service and route, within a window of the last alarm).
- :mod:`~watchkeeper.collector.incidents.tracker`: the pipeline stage that groups stored
  alarms, and acknowledging or accepting an incident's new regime as the baseline.
- :mod:`~watchkeeper.collector.incidents.baseline`: resets the detectors of the keys
  whose new regime was accepted.
- :mod:`~watchkeeper.collector.incidents.api` and ``ui``: ``/api/incidents`` and
  ``/ui/incidents``.
"""

from __future__ import annotations


class IncidentNotFoundError(LookupError):
    """No incident with that id."""


class IncidentClosedError(ValueError):
    """The incident is resolved or its regime was accepted: nothing more to do."""

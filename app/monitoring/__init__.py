"""The enhanced monitoring window after containment: a period of N days with its own clock (`monitor start`),
runs that take in what is new since the last run and raise alerts (`monitor run`, safe from cron or a timer),
and a summary of the period (`monitor status`, the report).

Layout: `window` (the period, its journal entries, projector and typed reader), `checks` (one function per alert
type over the inventory snapshots and the incident's containment), `run` (one run: pull, compare, re-hunt,
alert, journal).
"""

from __future__ import annotations

from app.monitoring.checks import ALERT_TYPES, Alert
from app.monitoring.run import MonitorRun, run_monitor
from app.monitoring.window import (
    ALERT_KIND,
    RUN_KIND,
    WINDOW_KIND,
    MonitorStatus,
    close_window,
    monitor_status,
    project,
    start_window,
)

__all__ = [
    "ALERT_KIND",
    "ALERT_TYPES",
    "RUN_KIND",
    "WINDOW_KIND",
    "Alert",
    "MonitorRun",
    "MonitorStatus",
    "close_window",
    "monitor_status",
    "project",
    "run_monitor",
    "start_window",
]

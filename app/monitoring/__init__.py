"""The enhanced monitoring window after containment: a period of N days with its own clock (`monitor start`),
runs that take in what is new since the last run and raise alerts (`monitor run`, safe from cron or a timer),
and a summary of the period (`monitor status`, the report).

Layout: `window` (the period, its journal entries, projector and typed reader), `checks` (one function per alert
type over the inventory snapshots and the incident's containment), `run` (one run: pull, compare, re-hunt,
alert, journal), `alerts` (the alerts as a responder works them: pending, acknowledged).
"""

from __future__ import annotations

from app.monitoring.alerts import (
    MonitorAlert,
    acknowledge_alert,
    alert_entry,
    monitor_alerts,
    pending_monitor_alerts,
)
from app.monitoring.checks import ALERT_TYPES, Alert
from app.monitoring.run import MonitorRun, run_monitor
from app.monitoring.window import (
    ACK_KIND,
    ALERT_KIND,
    RUN_KIND,
    WINDOW_KIND,
    MonitorStatus,
    close_window,
    monitor_status,
    next_run_due,
    project,
    start_window,
)

__all__ = [
    "ACK_KIND",
    "ALERT_KIND",
    "ALERT_TYPES",
    "RUN_KIND",
    "WINDOW_KIND",
    "Alert",
    "MonitorAlert",
    "MonitorRun",
    "MonitorStatus",
    "acknowledge_alert",
    "alert_entry",
    "close_window",
    "monitor_alerts",
    "monitor_status",
    "next_run_due",
    "pending_monitor_alerts",
    "project",
    "run_monitor",
    "start_window",
]

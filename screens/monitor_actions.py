"""The enhanced monitoring window from the console: open it, run now, read the status with every alert, and
acknowledge an alert. Each calls `app.monitoring`, the functions `warroom monitor start|run|status` use; a run
goes through the console's schedule (screens/monitor_schedule.py) so two never overlap in one console."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from app.monitoring import (
    ALERT_TYPES,
    MonitorAlert,
    MonitorStatus,
    acknowledge_alert,
    alert_entry,
    monitor_alerts,
    monitor_status,
    pending_monitor_alerts,
    start_window,
)
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal
from screens.monitor_schedule import BY_HAND

if TYPE_CHECKING:
    from app.incident.core import Incident
    from screens.app import WarroomApp


class MonitorActions:
    """Mixed into MainScreen next to ConsoleActions; `self` is the screen."""

    app: WarroomApp

    if TYPE_CHECKING:

        def fail(self, exc: BaseException | str) -> None: ...

    def action_monitor_start(self) -> None:
        app = self.app

        def check(values: dict[str, str]) -> str | None:
            try:
                days = int(values["days"])
            except ValueError:
                return f"days: {values['days']!r} is not a whole number"
            entry = start_window(app.incident, days, values["org"], app.ctx.actor)
            d = entry.data
            app.notify(
                f"monitoring window of {d['days']} day(s) on {d['org_alias']} until {d['end_utc']} (entry {entry.seq})",
                timeout=8,
                markup=False,
            )
            return None

        current = monitor_status(app.incident)
        again = (
            f"A window is open ({current.start_utc} to {current.end_utc}): starting again replaces it from now."
            if current is not None and not current.ended
            else ""
        )
        every = app.settings.monitor_every_minutes
        app.push_screen(
            FormModal(
                "Open the enhanced monitoring window",
                [
                    FormField("days", "Days", value="28", required=True),
                    FormField("org", "Org alias it watches", value=app.settings.org_alias, required=True),
                ],
                help_text=escape(
                    f"While the console is open it runs the monitoring every {every} minute(s) "
                    "([console] monitor_every_minutes); cron or a systemd timer running `warroom monitor run` keeps "
                    f"watching when it is closed. {again}"
                ),
                ok_label="Start",
                check=check,
            )
        )

    def action_monitor_run(self) -> None:
        schedule = self.app.monitor_schedule
        if monitor_status(self.app.incident) is None:
            self.fail("no monitoring window: monitor: start first")
            return
        problem = schedule.cannot_run()
        if problem:
            self.fail(problem)
            return
        if not schedule.start(BY_HAND):
            self.app.notify("a monitoring run is already under way in this console", timeout=4)

    def action_monitor_status(self) -> None:
        incident = self.app.incident
        self.app.push_screen(TableModal(status_table(incident, monitor_status(incident), monitor_alerts(incident))))

    def action_monitor_ack(self) -> None:
        pending = pending_monitor_alerts(self.app.incident)
        if not pending:
            self.app.notify("no unacknowledged monitoring alerts", timeout=4)
            return
        alert = pending[0]
        app = self.app

        def check(values: dict[str, str]) -> str | None:
            acknowledge_alert(app.incident, alert.key, app.ctx.actor, values.get("note") or None)
            return None

        app.push_screen(
            FormModal(
                f"Acknowledge the monitoring alert {alert.key}",
                [FormField("note", "Note (optional): who looks into it, what happens next")],
                help_text=escape(alert_text(incident=app.incident, alert=alert)),
                ok_label="Acknowledge",
                check=check,
            )
        )


def alert_text(incident: Incident, alert: MonitorAlert) -> str:
    entry = alert_entry(incident, alert)
    d = entry.data if entry is not None else {}
    lines = [f"[{alert.type}] {alert.title}", ALERT_TYPES.get(alert.type, "")]
    if d.get("detail"):
        lines.append(str(d["detail"]))
    if d.get("at"):
        lines.append(f"in the org at {d['at']}")
    if d.get("records"):
        lines.append("records: " + ", ".join(str(r) for r in d["records"]))
    where = f"run {alert.run}, day {d.get('day')}" if alert.run else "a run"
    lines.append(f"raised by {where} (entry {alert.seq})")
    if alert.acknowledged:
        lines.append(f"acknowledged by {alert.ack_by} at {alert.ack_utc}")
    return "\n".join(line for line in lines if line)


def status_table(incident: Incident, status: MonitorStatus | None, alerts: list[MonitorAlert]) -> ResultTable:
    notes: list[str] = []
    if status is None:
        notes.append("No monitoring window: monitor: start opens one (`warroom monitor start --days 28`).")
    else:
        state = "ended" if status.ended else f"day {status.day} of {status.days}, {status.days_left} day(s) left"
        if status.closed_utc:
            state = f"closed {status.closed_utc} by {status.closed_by}: {status.decision}"
        notes.append(f"Monitoring {status.org_alias}: {status.start_utc} to {status.end_utc} ({state}).")
        last = f", last {status.last_run_utc} ({status.last_status})" if status.last_run_utc else ""
        gaps = [d for d in range(1, status.day + 1) if not status.runs_by_day.get(d)]
        notes.append(
            f"Runs: {status.runs}{last}. Days with a run: {status.day - len(gaps)} of {status.day}"
            + (f"; none on day(s) {', '.join(map(str, gaps))}." if gaps else ".")
        )
    pending = sum(1 for a in alerts if not a.acknowledged)
    notes.append(f"Alerts: {len(alerts)}, {pending} not acknowledged (monitor: acknowledge alert).")
    rows = [
        ResultRow(
            (
                "" if a.acknowledged else "!!",
                str(a.run or ""),
                a.type,
                a.title,
                a.ack_by or "",
            ),
            detail=alert_text(incident, a),
            key=a.key,
        )
        for a in alerts
    ]
    return ResultTable(
        "Enhanced monitoring",
        ("", "run", "type", "alert", "acknowledged by"),
        rows,
        notes=notes,
        empty="no alert raised",
    )

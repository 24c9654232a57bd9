"""The monitoring alerts as a responder works them: every alert raised by a run, which of them nobody has
acknowledged yet (what the console's alert bar shows), and acknowledging one (`monitoring.ack`, journaled with
who and an optional note). An acknowledged alert is not closed or resolved: it only says someone has read it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base.errors import NotFoundError, UsageError
from app.monitoring.window import ACK_KIND, ALERTS

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Entry


class MonitorAlert(BaseModel):
    key: str
    type: str
    title: str
    seq: int  # the monitoring.alert entry
    run: int | None = None
    ack_by: str | None = None
    ack_utc: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.ack_by is not None


def monitor_alerts(incident: Incident) -> list[MonitorAlert]:
    """Every alert raised by a monitoring run, oldest first."""
    rows = [MonitorAlert(key=key, **_known(value)) for key, value in incident.journal.state(ALERTS).items()]
    return sorted(rows, key=lambda a: a.seq)


def _known(value: dict[str, Any]) -> dict[str, Any]:
    return {k: value.get(k) for k in ("type", "title", "seq", "run", "ack_by", "ack_utc")}


def pending_monitor_alerts(incident: Incident) -> list[MonitorAlert]:
    """Alerts nobody has acknowledged yet, oldest first."""
    return [a for a in monitor_alerts(incident) if not a.acknowledged]


def alert_entry(incident: Incident, alert: MonitorAlert) -> Entry | None:
    """The monitoring.alert entry itself (its detail, the records it names, when it happened in the org)."""
    return incident.journal.entry(alert.seq)


def acknowledge_alert(incident: Incident, key: str, actor: str, note: str | None = None) -> Entry:
    """Journal that `actor` has read the alert `key` (`monitoring.ack`); an alert is acknowledged once."""
    current = incident.journal.get_state(ALERTS, key)
    if current is None:
        raise NotFoundError(f"no monitoring alert {key!r} in {incident.id}")
    if current.get("ack_by"):
        raise UsageError(f"monitoring alert {key} was already acknowledged by {current['ack_by']}")
    data: dict[str, Any] = {"key": key, "type": current["type"]}
    if note and note.strip():
        data["note"] = note.strip()
    return incident.journal.append(ACK_KIND, data, actor)

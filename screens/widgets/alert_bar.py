"""Alerts not yet acknowledged, exercise injects and monitoring alerts: one bar under the header that cannot be
missed (hidden when none)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from screens.modals.alerts import offset_text


class AlertBar(Static):
    DEFAULT_CSS = """
    AlertBar { height: 1; display: none; background: $warning; color: $background; text-style: bold;
               padding: 0 1; }
    AlertBar.-alerts { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.pending: list[Any] = []
        self.monitoring: list[Any] = []
        self.keys = ("l", "y")

    def set_alerts(self, pending: Sequence[Any], show_key: str, ack_key: str, monitoring: Sequence[Any] = ()) -> None:
        """`pending`: app.exercise.Alert, oldest first; the keys as currently mapped; `monitoring`:
        app.monitoring.MonitorAlert not yet acknowledged, oldest first (exercise injects are shown first)."""
        self.pending = list(pending)
        self.monitoring = list(monitoring)
        self.keys = (show_key, ack_key)
        self.set_class(bool(self.pending or self.monitoring), "-alerts")
        self.update(self.text())

    def text(self) -> Text:
        n = len(self.pending) + len(self.monitoring)
        if not n:
            return Text("")
        out = Text(f"!! {n} ALERT{'S' if n > 1 else ''}")
        if self.pending:
            oldest = self.pending[0]
            out.append(f" ({self.keys[0]} read, {self.keys[1]} acknowledge)  ", style="not bold")
            out.append(f"{offset_text(oldest.offset)} [{oldest.kind}] ")
            if oldest.sender:
                out.append(f"{oldest.sender}: ")
            out.append(oldest.title)
        else:
            alert = self.monitoring[0]
            out.append(" (click or ctrl+p monitor: status)  ", style="not bold")
            out.append(f"MONITORING [{alert.type}] {alert.title}")
        out.no_wrap, out.overflow = True, "ellipsis"
        return out

    def on_click(self) -> None:
        screen = self.screen
        name = "action_exercise_alerts" if self.pending else "action_monitor_status"
        action = getattr(screen, name, None)
        if action is not None:
            action()

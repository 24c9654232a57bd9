"""Every exercise inject received so far, oldest first, with the full message of the one under the cursor;
acknowledging one opens the note dialog (the caller journals it, and this list re-reads the journal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from app.checklist import format_duration, parse_duration


def offset_text(offset: str) -> str:
    """`T+PT1H30M` as the console writes durations elsewhere: `T+1h 30m`."""
    try:
        return "T+" + format_duration(parse_duration(offset.removeprefix("T+")))
    except ValueError:
        return offset


def alert_text(alert: Any) -> str:
    lines = [f"{offset_text(alert.offset)}  [{alert.kind}]  {alert.title}"]
    if alert.sender:
        lines.append(f"from: {alert.sender}")
    lines += ["", " ".join(alert.message.split())]
    if alert.prompts:
        lines += ["", "checklist items this calls for: " + ", ".join(alert.prompts)]
    if alert.acknowledged:
        lines += ["", f"acknowledged by {alert.acknowledged_by} at {alert.acknowledged_utc}"]
    return "\n".join(lines)


class AlertsModal(ModalScreen[None]):
    DEFAULT_CSS = """
    AlertsModal { align: center middle; }
    AlertsModal > Vertical {
        width: 110; max-width: 100%; height: 90%; border: thick $warning; background: $surface; padding: 0 1;
    }
    AlertsModal .title { text-style: bold; height: auto; }
    AlertsModal DataTable { height: auto; max-height: 50%; }
    AlertsModal VerticalScroll { height: 1fr; border-top: solid $panel; }
    AlertsModal .hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("escape,q,l", "close", "Close", id="alerts.close"),
        Binding("y", "ack", "Acknowledge", id="alerts.ack"),
    ]

    def __init__(self, load: Callable[[], list[Any]], acknowledge: Callable[[Any], None]) -> None:
        """`load()` returns every alert (app.exercise.alerts); `acknowledge(alert)` asks and journals."""
        super().__init__()
        self.load = load
        self.acknowledge = acknowledge
        self.alerts: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", classes="title", id="alerts-title")
            yield DataTable(cursor_type="row", id="alerts-table")
            with VerticalScroll():
                yield Static("", markup=False, id="alert-body")
            yield Static("y or enter: acknowledge the selected alert   esc: close", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("", key="mark", width=3)
        table.add_column("T+", key="offset", width=10)
        table.add_column("kind", key="kind", width=10)
        table.add_column("from", key="sender", width=22)
        table.add_column("title", key="title")
        self.reload()
        first = next((i for i, a in enumerate(self.alerts) if not a.acknowledged), None)
        if first is not None:
            table.move_cursor(row=first)
        table.focus()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        keep = self.selected()
        self.alerts = self.load()
        table.clear()
        for a in self.alerts:
            mark = Text("✓", style="green") if a.acknowledged else Text("!!", style="bold red")
            cells = (offset_text(a.offset), a.kind, a.sender or "", a.title)
            table.add_row(mark, *(Text(c) for c in cells), key=a.inject)  # inject text is not markup
        if keep is not None and keep.inject in {a.inject for a in self.alerts}:
            table.move_cursor(row=table.get_row_index(keep.inject))
        pending = sum(1 for a in self.alerts if not a.acknowledged)
        self.query_one("#alerts-title", Static).update(
            f"Exercise alerts: {len(self.alerts)} received, {pending} not acknowledged"
        )
        self._show()

    def selected(self) -> Any | None:
        table = self.query_one(DataTable)
        if table.row_count == 0 or not self.alerts:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((a for a in self.alerts if a.inject == key), None)

    def _show(self) -> None:
        alert = self.selected()
        self.query_one("#alert-body", Static).update(alert_text(alert) if alert else "no inject has arrived yet")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_ack()

    def action_ack(self) -> None:
        alert = self.selected()
        if alert is None:
            return
        if alert.acknowledged:
            self.notify(f"{alert.inject} was already acknowledged by {alert.acknowledged_by}", severity="warning")
            return
        self.acknowledge(alert)

    def action_close(self) -> None:
        self.dismiss(None)

"""One row per applicable jurisdiction clock; remaining time re-drawn on the app's single one-second tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from screens import fmt
from screens.widgets.row_list import Col, Row, RowList

EMPTY = "no clocks yet: set the facts (f) — awareness time and where affected people live"


@dataclass(frozen=True)
class CountdownRow:
    key: str
    jurisdiction: str
    obligation: str
    due: datetime | None
    notified: bool = False
    notified_when: str | None = None
    rule: str = ""
    note: str = ""  # e.g. "no fixed deadline", "awaiting fact: residents"


def urgency(row: CountdownRow, now: datetime) -> tuple[str, str]:
    """(text mark, style): the mark carries the meaning when there is no colour."""
    if row.notified:
        return "✓", "green"
    if row.due is None:
        return "·", "dim"
    left = row.due - now
    if left <= timedelta(0):
        return "!!!", "bold reverse red"
    if left <= timedelta(hours=6):
        return "!!", "bold red"
    if left <= timedelta(hours=24):
        return "!", "bold yellow"
    return "", "green"


class CountdownPane(Vertical):
    """Countdowns, most urgent first; `m` marks the selected notice sent."""

    COLUMNS = [
        Col("mark", "", 3),
        Col("jur", "jurisdiction · notify"),
        Col("due", "due (UTC)", 12, min_total=84),
        Col("left", "remaining", 13),
    ]

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[CountdownRow] = []
        self.border_title = "2 Countdowns"
        self._now: datetime | None = None
        self.query_text = ""  # `/` filter on jurisdiction, obligation and rule
        self._visible: list[CountdownRow] = []

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, classes="empty")
        yield RowList(self.COLUMNS, id="countdown-rows")

    def on_mount(self) -> None:
        if self._now is not None:
            self.set_rows(self.rows, self._now)

    @property
    def table(self) -> RowList:
        return self.query_one(RowList)

    @property
    def cursor_widget(self) -> RowList:
        """The widget that holds the pane's cursor (focus, j/k)."""
        return self.table

    def selected(self) -> CountdownRow | None:
        key = self.table.cursor_key if self.is_mounted else None
        return next((r for r in self.rows if r.key == key), None) if key else None

    def set_filter(self, query: str) -> None:
        self.query_text = query.strip()
        if self._now is not None:
            self.set_rows(self.rows, self._now)

    def select(self, key: str) -> None:
        self.table.select(key)

    def set_rows(self, rows: list[CountdownRow], now: datetime, keep: str | None = None) -> None:
        self.rows, self._now = list(rows), now
        if not self.is_mounted:  # on_mount draws them
            return
        needle = self.query_text.lower()
        self._visible = [
            r for r in self.rows if not needle or needle in f"{r.jurisdiction} {r.obligation} {r.rule}".lower()
        ]
        table = self.table
        table.set_rows([self._row(r, now) for r in self._visible], keep=keep)
        self.query_one(".empty", Static).display = not self.rows
        table.display = bool(self.rows)

    def _row(self, row: CountdownRow, now: datetime) -> Row:
        mark, style = urgency(row, now)
        who = Text.assemble((row.jurisdiction, "dim" if row.notified else "bold"), ("  " + row.obligation, "dim"))
        return Row(
            row.key,
            {
                "mark": Text(mark, style=style),
                "jur": who,
                "due": fmt.short_when(row.due.isoformat()) if row.due else "",
                "left": self._left(row, now),
            },
        )

    def _left(self, row: CountdownRow, now: datetime) -> Text:
        _mark, style = urgency(row, now)
        if row.notified:
            return Text("✓ sent " + fmt.short_when(row.notified_when)[:5], style="green")
        if row.due is None:
            return Text(row.note or "—", style="dim")
        left = row.due - now
        if left <= timedelta(0):
            text = "OVERDUE " + fmt.compact(left)
        else:
            # Seconds matter on the last day; further out they only add motion (and a redraw a second).
            text = fmt.duration(left, seconds=left < timedelta(days=1))
        return Text(text, style=style)

    def tick(self, now: datetime) -> None:
        """Re-draw only the rows whose mark or remaining time moved: one line each, the others stay cached."""
        if not self.is_mounted:
            return
        self._now = now
        table = self.table
        for row in self._visible:
            table.update_row(self._row(row, now))

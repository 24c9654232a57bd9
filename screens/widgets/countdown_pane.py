"""One row per applicable jurisdiction clock; remaining time re-drawn on the app's single one-second tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from screens import fmt
from screens.widgets.fit import Col, fit_columns

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

    DEFAULT_CSS = """
    CountdownPane > DataTable { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[CountdownRow] = []
        self.border_title = "2 Countdowns"
        self._width = 0
        self._shown: list[str] = []
        self._drawn: dict[str, tuple[str, str, str, str]] = {}  # row key -> what its moving cells show
        self._now: datetime | None = None
        self.query_text = ""  # `/` filter on jurisdiction, obligation and rule
        self._visible: list[CountdownRow] = []

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, classes="empty")
        table: DataTable = DataTable(cursor_type="row", zebra_stripes=False, id="countdown-table")
        yield table

    COLUMNS = [
        Col("mark", "", 3),
        Col("jur", "jurisdiction · notify"),
        Col("due", "due (UTC)", 11, min_total=64),
        Col("left", "remaining", 13),
    ]

    def on_mount(self) -> None:
        self._shown = fit_columns(self.table, self.COLUMNS, 80)
        if self._now is not None:
            self.set_rows(self.rows, self._now)

    def on_resize(self) -> None:
        width = self.table.size.width or self.size.width
        if width and width != self._width:
            self._width = width
            keep = self.selected()
            self._shown = fit_columns(self.table, self.COLUMNS, width)
            if self._now is not None:
                self.set_rows(self.rows, self._now, keep=keep.key if keep else None)

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def selected(self) -> CountdownRow | None:
        table = self.table
        if not self.rows or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if r.key == key), None)

    def set_filter(self, query: str) -> None:
        self.query_text = query.strip()
        if self._now is not None:
            self.set_rows(self.rows, self._now)

    def select(self, key: str) -> None:
        if any(r.key == key for r in self._visible):
            self.table.move_cursor(row=self.table.get_row_index(key))

    def set_rows(self, rows: list[CountdownRow], now: datetime, keep: str | None = None) -> None:
        if not self._shown:  # not mounted yet: on_mount draws them
            self.rows, self._now = list(rows), now
            return
        table = self.table
        if keep is None:
            current = self.selected()
            keep = current.key if current else None
        self.rows = list(rows)
        self._now = now
        self._drawn.clear()
        table.clear()
        needle = self.query_text.lower()
        self._visible = [
            r for r in self.rows if not needle or needle in f"{r.jurisdiction} {r.obligation} {r.rule}".lower()
        ]
        for row in self._visible:
            mark, style = urgency(row, now)
            who = Text.assemble((row.jurisdiction, "dim" if row.notified else "bold"), ("  " + row.obligation, "dim"))
            cells = {
                "mark": Text(mark, style=style),
                "jur": who,
                "due": fmt.short_when(row.due.isoformat()) if row.due else "",
                "left": self._left(row, now),
            }
            table.add_row(*[cells[k] for k in self._shown], key=row.key)
        self.query_one(".empty", Static).display = not self.rows
        table.display = bool(self.rows)
        if keep:
            self.select(keep)

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
        """Re-draw only the cells that move: the mark and the remaining time."""
        if not self._shown:
            return
        table = self.table
        self._now = now
        drawn = self._drawn
        for row in self._visible:
            mark, style = urgency(row, now)
            left = self._left(row, now)
            if drawn.get(row.key) == (mark, style, left.plain, str(left.style)):
                continue  # unchanged cells are not redrawn: idle CPU stays flat however many clocks run
            drawn[row.key] = (mark, style, left.plain, str(left.style))
            table.update_cell(row.key, "mark", Text(mark, style=style))
            table.update_cell(row.key, "left", left)

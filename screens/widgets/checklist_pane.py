"""Phases with progress bars, items with state, owner and due; overdue and the next due item stand out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from screens import fmt
from screens.widgets.fit import Col, fit_columns

EMPTY = "no checklist loaded"
DONE_STATES = frozenset({"done", "not_applicable"})
STATE_MARKS = {
    "done": "[x]",
    "in_progress": "[~]",
    "blocked": "[!]",
    "not_applicable": "[-]",
}


@dataclass(frozen=True)
class ItemRow:
    id: str
    title: str
    state: str = "todo"
    owner: str = ""
    due: datetime | None = None
    overdue: bool = False
    is_next: bool = False
    evidence: int = 0
    waiting_on: tuple[str, ...] = ()

    @property
    def closed(self) -> bool:
        return self.state in DONE_STATES


@dataclass(frozen=True)
class PhaseRow:
    id: str
    title: str
    items: list[ItemRow] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.closed)


class ChecklistPane(Vertical):
    DEFAULT_CSS = """
    ChecklistPane > DataTable { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.phases: list[PhaseRow] = []
        self.items: dict[str, ItemRow] = {}
        self.border_title = "1 Checklist"
        self._width = 0
        self._shown: list[str] = []  # column keys, set once the table exists (on_mount)
        self._drawn: dict[str, list[Text | str]] = {}  # row key -> the cells on screen, in display order
        self.query_text = ""  # `/` filter: items whose id, title or owner hold it (phases without any are hidden)
        self._last_row = 0  # the cursor's previous row: which way it moved when it lands on a phase heading

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, classes="empty")
        yield DataTable(cursor_type="row", id="checklist-table")

    COLUMNS = [
        Col("mark", "", 4),
        Col("item", "item"),
        Col("owner", "owner", 12, min_total=72),
        Col("due", "due (UTC)", 12),
    ]

    def on_mount(self) -> None:
        self._shown = fit_columns(self.table, self.COLUMNS, 80)
        self._drawn = {}
        self.set_phases(self.phases)

    def on_resize(self) -> None:
        width = self.table.size.width or self.size.width
        if width and width != self._width:
            self._width = width
            keep = self.selected_key()
            self._shown = fit_columns(self.table, self.COLUMNS, width)
            self._drawn = {}
            self.set_phases(self.phases, keep=keep)

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor never rests on a phase heading: it steps on to the next item in the direction it moved
        (so Down from the next item then `x` ticks an item, not "select a checklist item first")."""
        table = event.data_table
        row = event.cursor_row
        if row != table.cursor_row:  # stale: the cursor has moved on since (a redraw selects the next item)
            return
        key = event.row_key.value or ""
        if key.startswith("phase:") and table.row_count > 1:
            step = 1 if row >= self._last_row else -1
            target = row + step
            if not 0 <= target < table.row_count:
                target = row - step
            self._last_row = target
            table.move_cursor(row=target)
            return
        self._last_row = row

    def selected(self) -> ItemRow | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.items.get(key or "")

    def selected_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def select(self, key: str) -> None:
        try:
            self.table.move_cursor(row=self.table.get_row_index(key))
        except Exception:
            return

    def set_phases(self, phases: list[PhaseRow], keep: str | None = None) -> None:
        if not self._shown:  # not mounted yet: on_mount draws them
            self.phases = list(phases)
            return
        table = self.table
        rows: list[tuple[str, list[Text | str]]] = []
        needle = self.query_text.lower()
        for phase in phases:
            items = [i for i in phase.items if not needle or needle in f"{i.id} {i.title} {i.owner}".lower()]
            if not items:
                continue
            progress = Text(fmt.bar(phase.done, len(phase.items), 6), style="cyan")
            head = Text(phase.title, style="bold underline")
            rows.append((f"phase:{phase.id}", self._pick({"item": head, "due": progress})))
            rows.extend((item.id, self._pick(self._cells(item))) for item in items)
        self.phases = list(phases)
        self.items = {i.id: i for p in phases for i in p.items}
        if keep is None and [k for k, _ in rows] == list(self._drawn) and table.row_count == len(rows):
            # Same rows in the same order: rewrite only the cells that changed, so one tick redraws one line
            # instead of the whole pane (a full rebuild re-renders every visible cell).
            for key, cells in rows:
                if self._drawn[key] != cells:
                    for column, cell in zip(self._shown, cells, strict=True):
                        table.update_cell(key, column, cell)
                    self._drawn[key] = cells
            return
        keep = keep or self.selected_key()
        scroll = table.scroll_y
        table.clear()
        self._drawn = {}
        for key, cells in rows:
            table.add_row(*cells, key=key)
            self._drawn[key] = cells
        self.query_one(".empty", Static).display = not self.phases
        table.display = bool(self.phases)
        if keep and keep in self.items and keep in self._drawn:
            self.select(keep)
            table.scroll_y = scroll
        elif self.items:
            first = next((i for i in self.items.values() if i.is_next), next(iter(self.items.values())))
            self.select(first.id)

    def set_filter(self, query: str) -> None:
        self.query_text = query.strip()
        self._drawn = {}
        self.set_phases(self.phases, keep=self.selected_key())

    def _pick(self, cells: dict[str, Text | str]) -> list[Text | str]:
        return [cells.get(key, "") for key in self._shown]

    def _cells(self, item: ItemRow) -> dict[str, Text | str]:
        mark = STATE_MARKS.get(item.state, "[ ]")
        title_style = "dim" if item.closed else ("bold" if item.is_next else "")
        extras = []
        if item.evidence:
            extras.append(f"ev:{item.evidence}")
        title = Text.assemble((item.title, title_style), ("  " + " ".join(extras), "dim") if extras else "")
        when = fmt.short_when(item.due.isoformat()) if item.due else ""
        if item.overdue:
            due = Text("OVERDUE", style="bold reverse red")
        elif item.is_next:
            due = Text("▶" + when, style="bold yellow")
        else:
            due = Text(when if not item.closed else "", style="dim")
        state_text = Text(mark + ("▶" if item.is_next else ""), style="bold yellow" if item.is_next else "")
        if item.state == "blocked":
            state_text.stylize("bold red")
        return {"mark": state_text, "item": title, "owner": Text(item.owner, style="dim"), "due": due}

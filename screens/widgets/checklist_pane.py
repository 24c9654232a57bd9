"""Phases with progress bars, items with state, owner and due; overdue and the next due item stand out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from screens import fmt
from screens.widgets.row_list import Col, Row, RowList

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
    COLUMNS = [
        Col("mark", "", 4),
        Col("item", "item"),
        Col("owner", "owner", 12, min_total=100),
        Col("due", "due (UTC)", 13),
    ]

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.phases: list[PhaseRow] = []
        self.items: dict[str, ItemRow] = {}
        self.border_title = "1 Checklist"
        self.query_text = ""  # `/` filter: items whose id, title or owner hold it (phases without any are hidden)

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, classes="empty")
        yield RowList(self.COLUMNS, id="checklist-rows")

    def on_mount(self) -> None:
        self.set_phases(self.phases)

    @property
    def table(self) -> RowList:
        return self.query_one(RowList)

    @property
    def cursor_widget(self) -> RowList:
        """The widget that holds the pane's cursor (focus, j/k); it never rests on a phase heading."""
        return self.table

    @property
    def shown_keys(self) -> list[str]:
        """The rows on screen, phase headings ("phase:<id>") and items, in order."""
        return self.table.keys

    def selected(self) -> ItemRow | None:
        return self.items.get(self.table.cursor_key or "")

    def selected_key(self) -> str | None:
        return self.table.cursor_key

    def select(self, key: str) -> None:
        self.table.select(key)

    def set_phases(self, phases: list[PhaseRow], keep: str | None = None) -> None:
        """Show `phases`; when only some items changed, only their lines are repainted."""
        self.phases = list(phases)
        self.items = {i.id: i for p in phases for i in p.items}
        if not self.is_mounted:  # on_mount draws them
            return
        rows: list[Row] = []
        needle = self.query_text.lower()
        for phase in phases:
            items = [i for i in phase.items if not needle or needle in f"{i.id} {i.title} {i.owner}".lower()]
            if not items:
                continue
            progress = Text(fmt.bar(phase.done, len(phase.items), 6), style="cyan")
            head = Text(phase.title, style="bold underline")
            rows.append(Row(f"phase:{phase.id}", {"item": head, "due": progress}, heading=True))
            rows.extend(Row(item.id, self._cells(item)) for item in items)
        table = self.table
        first = next((i.id for i in self.items.values() if i.is_next), next(iter(self.items), None))
        table.set_rows(rows, keep=keep, default=first)
        self.query_one(".empty", Static).display = not self.phases
        table.display = bool(self.phases)

    def set_filter(self, query: str) -> None:
        self.query_text = query.strip()
        self.set_phases(self.phases, keep=self.selected_key())

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

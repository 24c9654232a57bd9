"""Connected apps, tokens and integration users with their findings and containment status; filter and search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from screens.widgets.fit import Col, fit_columns

EMPTY = "no inventory yet: pull (p) or import (i)"
KIND_FILTERS = ("all", "app", "token", "user", "findings")
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SEVERITY_MARK = {"critical": "!!!", "high": "!!", "medium": "!", "low": "·", "info": "·"}
SEVERITY_STYLE = {"critical": "bold reverse red", "high": "bold red", "medium": "yellow", "low": "dim", "info": "dim"}


@dataclass(frozen=True)
class InventoryRow:
    key: str
    kind: str  # app | token | user | other
    name: str
    detail: str = ""
    findings: tuple[tuple[str, str], ...] = ()  # (severity, title)
    containment: str = ""
    record: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def worst(self) -> str | None:
        if not self.findings:
            return None
        return min((s for s, _ in self.findings), key=lambda s: SEVERITY_RANK.get(s, 9))


def matches(row: InventoryRow, kind: str, query: str) -> bool:
    if kind == "findings" and not row.findings:
        return False
    if kind not in ("all", "findings") and row.kind != kind:
        return False
    if not query:
        return True
    hay = " ".join([row.name, row.detail, row.kind, row.containment, *(t for _, t in row.findings)]).lower()
    return all(word in hay for word in query.lower().split())


class InventoryPane(Vertical):
    DEFAULT_CSS = """
    InventoryPane > #inventory-bar { height: 1; }
    InventoryPane #inventory-filter { width: auto; padding: 0 1; }
    InventoryPane #inventory-search { height: 1; border: none; width: 1fr; padding: 0 1; }
    InventoryPane > DataTable { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[InventoryRow] = []
        self.kind_filter = "all"
        self.query_text = ""
        self.summary = ""
        self.border_title = "3 Inventory"
        self._width = 0
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="inventory-bar"):
            yield Static("", id="inventory-filter")
            yield Input(placeholder="/ search", id="inventory-search")
        yield Static(EMPTY, classes="empty")
        yield DataTable(cursor_type="row", id="inventory-table")

    COLUMNS = [
        Col("kind", "kind", 5),
        Col("risk", "risk", 5),
        Col("name", "name"),
        Col("findings", "worst finding", 24, min_total=96),
        Col("containment", "containment", 16),
    ]

    def on_mount(self) -> None:
        self._shown = fit_columns(self.table, self.COLUMNS, 80)
        self._show()

    def on_resize(self) -> None:
        width = self.table.size.width or self.size.width
        if width and width != self._width:
            self._width = width
            keep = self.selected()
            self._shown = fit_columns(self.table, self.COLUMNS, width)
            self._show(keep=keep.key if keep else None)

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def visible_rows(self) -> list[InventoryRow]:
        return [r for r in self.rows if matches(r, self.kind_filter, self.query_text)]

    def selected(self) -> InventoryRow | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if r.key == key), None)

    def select(self, key: str) -> None:
        try:
            self.table.move_cursor(row=self.table.get_row_index(key))
        except Exception:
            return

    def set_rows(self, rows: list[InventoryRow], summary: str = "") -> None:
        self.rows = sorted(rows, key=lambda r: (SEVERITY_RANK.get(r.worst or "", 9), r.kind, r.name.lower()))
        self.summary = summary
        self._show()

    def set_filter(self, kind: str | None = None, query: str | None = None) -> None:
        if kind is not None:
            self.kind_filter = kind
        if query is not None:
            self.query_text = query
            search = self.query_one("#inventory-search", Input)
            if search.value != query:
                search.value = query
        self._show()

    def cycle_kind(self) -> str:
        i = KIND_FILTERS.index(self.kind_filter) if self.kind_filter in KIND_FILTERS else 0
        self.set_filter(kind=KIND_FILTERS[(i + 1) % len(KIND_FILTERS)])
        return self.kind_filter

    def _show(self, keep: str | None = None) -> None:
        if not self._shown:  # not mounted yet: on_mount draws them
            return
        table = self.table
        if keep is None:
            current = self.selected()
            keep = current.key if current else None
        table.clear()
        shown = self.visible_rows()
        for row in shown:
            cells = self._cells(row)
            table.add_row(*[cells[k] for k in self._shown], key=row.key)
        label = f"[{self.kind_filter}] {len(shown)}/{len(self.rows)}"
        self.query_one("#inventory-filter", Static).update(Text(label))
        self.query_one(".empty", Static).display = not self.rows
        table.display = bool(self.rows)
        if self.summary:
            self.border_subtitle = self.summary
        if keep:
            self.select(keep)

    def _cells(self, row: InventoryRow) -> dict[str, Text]:
        worst = row.worst
        if worst:
            mark = SEVERITY_MARK.get(worst, "!")
            style = SEVERITY_STYLE.get(worst, "")
            risk = Text(f"{mark}{len(row.findings)}", style=style)
            title = next(t for sev, t in row.findings if sev == worst)
            findings = Text(f"{worst}: {title}", style=style)
        else:
            risk = Text("—", style="dim")
            findings = Text("—", style="dim")
        contained = row.containment or "—"
        cstyle = "green" if contained.startswith(("✓", "revoked", "blocked", "frozen", "contained")) else "dim"
        name = Text(row.name, style="bold" if worst in ("critical", "high") else "")
        if row.detail:
            name.append("  " + row.detail, style="dim")
        return {
            "kind": Text(row.kind),
            "risk": risk,
            "name": name,
            "findings": findings,
            "containment": Text(contained, style=cstyle),
        }

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "inventory-search":
            event.stop()
            self.query_text = event.value
            self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "inventory-search":
            event.stop()
            self.table.focus()

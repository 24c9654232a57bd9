"""A read-only table of results (hunt hits, what was taken, containment status, facts) with the selected row's
full text below it, so a long value is read whole instead of cut at the column's edge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


@dataclass(frozen=True)
class ResultRow:
    cells: tuple[str, ...]
    detail: str = ""  # shown below the table when the row is selected (the evidence line, the whole value)
    key: str = ""


@dataclass(frozen=True)
class ResultTable:
    title: str
    columns: tuple[str, ...]
    rows: list[ResultRow]
    notes: list[str] = field(default_factory=list)  # sentences above the table: totals, what is unknown
    empty: str = "nothing to show"


class TableModal(ModalScreen[None]):
    DEFAULT_CSS = """
    TableModal { align: center middle; }
    TableModal > Vertical {
        width: 100%; height: 100%; border: thick $primary; background: $surface; padding: 0 1;
    }
    TableModal .title { text-style: bold; height: auto; }
    TableModal .notes { color: $text-muted; height: auto; max-height: 8; }
    TableModal DataTable { height: 1fr; }
    TableModal #result-detail { height: auto; max-height: 8; border-top: solid $panel; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="modal.close"),
        Binding("j", "cursor(1)", "Down", show=False, id="modal.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="modal.up"),
    ]

    def __init__(self, result: ResultTable) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.result.title, classes="title", markup=False)
            if self.result.notes:
                with VerticalScroll(classes="notes"):
                    yield Static("\n".join(self.result.notes), markup=False, id="result-notes")
            if self.result.rows:
                yield DataTable(cursor_type="row", zebra_stripes=True, id="result-table")
            else:
                yield Static(self.result.empty, markup=False, classes="notes", id="result-empty")
            yield Static("", markup=False, id="result-detail")

    def on_mount(self) -> None:
        if not self.result.rows:
            return
        table = self.query_one(DataTable)
        table.add_columns(*self.result.columns)
        for i, row in enumerate(self.result.rows):
            table.add_row(*row.cells, key=row.key or str(i))
        table.focus()
        self._show(0)

    def _show(self, index: int) -> None:
        rows: Sequence[ResultRow] = self.result.rows
        if 0 <= index < len(rows):
            self.query_one("#result-detail", Static).update(rows[index].detail)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def action_cursor(self, step: int) -> None:
        if not self.result.rows:
            return
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, min(table.cursor_row + step, table.row_count - 1)))

    def action_close(self) -> None:
        self.dismiss(None)

"""Forensic collection as it happens: one line per source (what it is doing, how many items preserved, the last
problem), and a Cancel that stops at the next item boundary; what was preserved before stays preserved and a
later run resumes from it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from app.forensics.results import ProgressEvent

COLUMNS = ("Source", "Now", "Preserved", "Unchanged", "Problems", "Last")


@dataclass
class SourceLine:
    now: str = "waiting"
    preserved: int = 0
    unchanged: int = 0
    problems: int = 0
    last: str = ""

    def cells(self, source: str) -> tuple[str, ...]:
        return (source, self.now, str(self.preserved), str(self.unchanged), str(self.problems), self.last)


class CollectModal(ModalScreen[None]):
    DEFAULT_CSS = """
    CollectModal { align: center middle; }
    CollectModal > Vertical {
        width: 100%; height: 100%; border: thick $primary; background: $surface; padding: 0 1;
    }
    CollectModal .title { text-style: bold; height: auto; }
    CollectModal DataTable { height: auto; max-height: 1fr; }
    CollectModal #collect-summary { height: 1fr; }
    CollectModal .buttons { height: auto; align-horizontal: right; }
    CollectModal .buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "leave", "Cancel / close", id="modal.cancel")]

    def __init__(self, title: str, sources: list[str]) -> None:
        super().__init__()
        self.collect_title = title
        self.sources = sources
        self.lines = {s: SourceLine() for s in sources}
        self.cancel = threading.Event()
        self.finished = False
        self.summary: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.collect_title, classes="title", markup=False)
            yield DataTable(cursor_type="none", id="collect-table")
            yield Static("collecting: the console keeps working; Cancel stops at the next item", id="collect-summary")
            with Horizontal(classes="buttons"):
                yield Button("Cancel collection", variant="warning", id="collect-cancel")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        for source in self.sources:
            table.add_row(*self.lines[source].cells(source), key=source)

    def event(self, ev: ProgressEvent) -> None:
        """One progress event from the collection worker (called on the UI thread)."""
        line = self.lines.get(ev.source)
        if line is None:
            line = self.lines[ev.source] = SourceLine()
            self.query_one(DataTable).add_row(*line.cells(ev.source), key=ev.source)
        if ev.status == "bytes":
            line.now = f"downloading {ev.item}" + (f" {ev.done * 100 // ev.total}%" if ev.total else "")
        elif ev.status == "started":
            line.now = f"reading {ev.item}"
        else:
            line.now = ev.status
            if ev.status == "preserved":
                line.preserved += 1
            elif ev.status == "unchanged":
                line.unchanged += 1
            elif ev.status in ("failed", "unavailable"):
                line.problems += 1
            line.last = f"{ev.item}: {ev.detail}" if ev.detail else ev.item
        table = self.query_one(DataTable)
        for column, value in zip(COLUMNS, line.cells(ev.source), strict=True):
            table.update_cell(ev.source, column, value)

    def done(self, summary: list[str]) -> None:
        self.finished = True
        self.summary = summary
        self.query_one("#collect-summary", Static).update("\n".join(summary))
        button = self.query_one("#collect-cancel", Button)
        button.label = "Close"
        button.variant = "primary"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_leave()

    def action_leave(self) -> None:
        if self.finished:
            self.dismiss(None)
            return
        self.cancel.set()
        self.query_one("#collect-summary", Static).update("cancelling: stopping at the next item boundary...")

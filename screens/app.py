"""The war-room console application."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from app.context import Context
from app.incident import Incident


class WarroomApp(App[int]):
    CSS_PATH = Path(__file__).with_name("warroom.tcss")
    TITLE = "warroom"

    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, ctx: Context, incident: Incident) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident = incident

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="journal-head")
        yield DataTable(id="timeline", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.incident.id}  {self.incident.title}"
        table = self.query_one("#timeline", DataTable)
        table.add_columns("seq", "when (UTC)", "actor", "kind")
        for entry in self.incident.journal.entries():
            table.add_row(str(entry.seq), entry.recorded_utc, entry.actor, entry.kind)
        head = self.incident.journal.head()
        self.query_one("#journal-head", Static).update(f"journal #{head.size}  root {head.short}")

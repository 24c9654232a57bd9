"""The journal as a timeline, newest first, with its verification; Enter shows one entry in full."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from app.journal.chain import Entry, Journal
from app.journal.merkle import short_root
from app.journal.verify import VerifyReport
from app.report.contents import short_text, summarise
from app.team.merged import TeamJournal
from screens import fmt
from screens.modals.detail import DetailModal, words

if TYPE_CHECKING:
    from screens.app import WarroomApp

PAGE = 2000  # newest entries shown; the full journal is in `warroom journal show`


def summary(entry: Entry, width: int = 160) -> str:
    """The entry in words, as the report's timeline writes it, with the value a fact or state changed to."""
    what, before, after = summarise(entry)
    if what == f"{entry.kind}: {short_text(entry.data)}":  # no sentence for this kind: its fields, not JSON
        what = f"{entry.kind}: {words(entry.data)}"
    if after is not None:
        what += f": {after}" + (f" (was {before})" if before is not None else "")
    return what if len(what) <= width else what[: width - 1] + "…"


class TimelineScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,t", "app.pop_screen", "Back", id="timeline.close"),
        Binding("v", "verify", "Verify", id="timeline.verify"),
    ]
    DEFAULT_CSS = """
    TimelineScreen #timeline-status { height: auto; padding: 0 1; background: $panel; }
    TimelineScreen DataTable { height: 1fr; }
    """

    app: WarroomApp

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self._merged_status = ""  # a team incident: the merged view's size, root and conflicts

    def compose(self) -> ComposeResult:
        yield Static("", id="timeline-status")
        yield DataTable(cursor_type="row", id="timeline-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("#", key="seq", width=6)
        table.add_column("recorded", key="when", width=23)
        if isinstance(self.journal, TeamJournal):  # a team incident: whose laptop each entry comes from
            table.add_column("origin", key="origin", width=10)
        table.add_column("actor", key="actor", width=12)
        table.add_column("kind", key="kind", width=20)
        table.add_column("what", key="what")
        self.reload()
        table.focus()
        report = getattr(self.app, "last_verify", None)
        if report is not None:
            self.on_verified(report)

    def reload(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        journal = self.journal
        team = journal if isinstance(journal, TeamJournal) else None
        head = journal.head()
        size = team.merged_head()[0] if team else head.size
        for entry in reversed(list(journal.entries(since=max(0, size - PAGE)))):
            origin = [team.origin_name(entry.seq)] if team else []
            table.add_row(
                str(entry.seq),
                fmt.stamp(entry.recorded_utc),
                *origin,
                entry.actor,
                entry.kind,
                summary(entry),
                key=str(entry.seq),
            )
        status = f"journal #{head.size}  root {head.short}"
        self._merged_status = ""
        if team:
            merged_size, root = team.merged_head()
            conflicts = len(team.conflicts())
            self._merged_status = (
                f" · merged view of {len(team.origin_names())} responder(s) #{merged_size} root {short_root(root)}"
                + (f" · {conflicts} conflicting change(s), later kept (`warroom team conflicts`)" if conflicts else "")
            )
            status = f"this laptop #{head.size} root {head.short}"
        self.query_one("#timeline-status", Static).update(
            f"{status}{self._merged_status}   (v verify, Enter entry detail, Esc back)"
        )

    def on_verified(self, report: VerifyReport) -> None:
        if report.ok:
            text = Text(f"✓ verified: {report.message}", style="green")
        else:
            text = Text(f"!! VERIFY FAILED: {report.message}", style="bold red")
        text.append(self._merged_status)
        self.query_one("#timeline-status", Static).update(text)

    def action_verify(self) -> None:
        self.query_one("#timeline-status", Static).update("… verifying the hash chain")
        self.app.action_verify()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        entry = self.journal.entry(int(str(event.row_key.value)))
        if entry is not None:
            team = self.journal if isinstance(self.journal, TeamJournal) else None
            where = team.placed(entry.seq) if team else None
            origin = {"origin": team.origin_name(entry.seq), "origin_seq": where.origin_seq} if team and where else {}
            self.app.push_screen(
                DetailModal(
                    f"journal entry #{entry.seq} {entry.kind}",
                    {
                        **origin,
                        "seq": entry.seq,
                        "kind": entry.kind,
                        "actor": entry.actor,
                        "recorded_utc": entry.recorded_utc,
                        "entry_hash": entry.entry_hash,
                        "prev_hash": entry.prev_hash,
                        "data": entry.data,
                    },
                )
            )

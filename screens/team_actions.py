"""Syncing a team incident from the console: the same `app.team.sync.sync` that `warroom sync` runs, in a worker,
with the remote this laptop uses for the incident (or one typed in, then remembered). What arrives shows at the
console's next look at the journal; tampering is shown as an error and journaled as `warroom sync` does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from app.base.errors import WarroomError
from app.journal.chain import Journal
from app.team.checking import conflict_rows
from app.team.roster import remote_url
from screens import fmt
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal

if TYPE_CHECKING:
    from screens.app import WarroomApp


def conflicts_table(journal: Journal) -> ResultTable:
    """Every concurrent change to the same thing: what the merged view kept, from whom, and what it set aside."""
    rows = []
    for c in conflict_rows(journal):
        won, lost = c["winner"], c["loser"]
        rows.append(
            ResultRow(
                (
                    f"{c['ns']} {c['key']}",
                    f"{won['value']} ({won['responder']})",
                    f"{lost['value']} ({lost['responder']})",
                ),
                f"{c['ns']} {c['key']}: {won['responder']} set {won['value']!r} at {fmt.stamp(won['recorded_utc'])}, "
                f"kept over {lost['responder']}'s {lost['value']!r} at {fmt.stamp(lost['recorded_utc'])}, which "
                f"{won['responder']}'s laptop had not received then",
                f"{c['ns']}:{c['key']}:{won['pos']}",
            )
        )
    return ResultTable(
        "conflicting changes (the later recorded one is kept)",
        ("What", "Kept", "Set aside"),
        rows,
        ["Change it again to settle it: a change made after seeing both is no conflict."],
        empty="no conflicting changes",
    )


class TeamActions:
    """Mixed into MainScreen next to ConsoleActions; `self` is the screen."""

    app: WarroomApp

    def action_team_conflicts(self) -> None:
        self.app.push_screen(TableModal(conflicts_table(self.app.incident.journal)))

    def action_team_sync(self) -> None:
        incident = self.app.incident

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._team_sync_worker(values["remote"].strip())

        self.app.push_screen(
            FormModal(
                "Sync with the team",
                [
                    FormField(
                        "remote",
                        "The team's git remote (a bare repository path or a git URL); remembered on this laptop",
                        value=remote_url(incident.journal) or "",
                        placeholder="/media/usb/war.git",
                        required=True,
                    )
                ],
                ok_label="Sync",
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="team", exit_on_error=False, description="syncing with the team")
    def _team_sync_worker(self, remote: str) -> None:
        from app.team.sync import sync

        app = self.app
        try:
            report = sync(app.incident, app.ctx.actor, remote=remote)
        except WarroomError as exc:
            app.call_from_thread(app.notify, str(exc), severity="error", timeout=12)
            return
        sent = f"sent seq {report.exported[0]}..{report.exported[1]}" if report.exported else "nothing new to send"
        got = sum(report.received.values())
        app.call_from_thread(app.notify, f"sync: {sent}; received {got} entries from {len(report.received)} origin(s)")
        problems = [r.line() for r in report.rejected] + ([report.push_error] if report.push_error else [])
        if problems:
            app.call_from_thread(app.notify, "\n".join(problems), severity="error", timeout=20)

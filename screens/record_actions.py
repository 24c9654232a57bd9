"""Records a responder produces or keeps from the console: the audit report written to a chosen path, a notice
draft previewed with its gaps highlighted, custody events on evidence, and the incident's facts with their
current values. Each calls the same `app/` functions as `warroom report`, `notify draft`, `evidence custody` and
`facts show`; the dialogs check what they can before closing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from app import deadlines as dl
from app import notify
from app import report as rp
from app.base.errors import UsageError, WarroomError
from app.deadlines import actions as dla
from app.incident.core import CUSTODY_ACTIONS
from screens import fmt
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal
from screens.modals.text import TextModal
from screens.widgets.countdown_pane import CountdownPane

if TYPE_CHECKING:
    from screens.app import WarroomApp

REPORT_FORMATS = (("Markdown (.md)", "md"), ("HTML (.html)", "html"), ("JSON (.json)", "json"))


def report_path(text: str, fmt_name: str) -> Path:
    """Where the report goes: the path typed, refused before anything is journaled when it cannot be written."""
    if not text.strip():
        raise UsageError("give the file to write the report to")
    path = Path(text.strip()).expanduser()
    if path.is_dir():
        raise UsageError(f"{path} is a directory: give a file name, e.g. {path / ('report.' + fmt_name)}")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such directory")
    return path


def facts_table(journal: Any) -> ResultTable:
    rows = [
        ResultRow(
            (line.key, fmt.stamp(line.value) + ("  (unusable)" if line.unusable else ""), line.note),
            f"{line.key}: {line.value}"
            + (f". {line.note}" if line.note else "")
            + f". {dl.FACT_KEYS.get(line.key, '')}",
            line.key,
        )
        for line in dla.current_facts(journal)
    ]
    return ResultTable(
        "incident facts (what decides which clocks run)",
        ("Fact", "Current value", "Note"),
        rows,
        ["Set or correct one with `facts: set` (f)."],
    )


class RecordActions:
    """Mixed into MainScreen; `self` is the screen."""

    app: WarroomApp

    if TYPE_CHECKING:

        def fail(self, exc: BaseException | str) -> None: ...
        def _fail_from_thread(self, exc: BaseException | str) -> None: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...

    # -- report -----------------------------------------------------------------------------------------------

    def action_report(self) -> None:
        default = Path.cwd() / f"{self.app.display_id}-report.md"

        def check(values: dict[str, str]) -> str | None:
            report_path(values["path"], values["format"])
            return None

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._report_worker(values["format"], report_path(values["path"], values["format"]))

        self.app.push_screen(
            FormModal(
                "Write the audit report (timeline, controls, clocks, containment, evidence, journal root)",
                [
                    FormField("format", "Format", value="md", choices=REPORT_FORMATS, required=True),
                    FormField("path", "Write to", value=str(default), required=True),
                ],
                help_text="The report's SHA-256 is journaled; it carries the journal's size and root, freshly "
                "verified.",
                ok_label="Write",
                check=check,
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="report", exit_on_error=False, description="writing the report")
    def _report_worker(self, fmt_name: str, path: Path) -> None:
        try:
            rep, data, entry = rp.generate(self.incident, self.app.ctx.actor, fmt_name)  # type: ignore[attr-defined]
            rp.write_output(path, data)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        verified = "verified" if rep.journal.verified else "VERIFICATION FAILED"
        self.app.call_from_thread(
            self.app.notify,
            f"report written to {path} ({len(data):,} bytes, sha256 {entry.data['sha256'][:16]}…); journal "
            f"{rep.journal.size} entries, {verified}",
            severity="information" if rep.journal.verified else "error",
            timeout=12,
            markup=False,
        )

    # -- notice drafts ------------------------------------------------------------------------------------------

    def action_notice_draft(self) -> None:
        row = self.query_one(CountdownPane).selected()
        names = {r.id: f"{r.jurisdiction}: {r.recipient.replace('_', ' ')} ({r.id})" for r in self.app.rules}
        choices = tuple((text, rule_id) for rule_id, text in sorted(names.items(), key=lambda kv: kv[1]))

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._draft_worker(values["rule"])

        self.app.push_screen(
            FormModal(
                "Draft a notice from what the journal knows (gaps are marked, never guessed)",
                [FormField("rule", "Notice for", value=row.rule if row else "", choices=choices, required=True)],
                help_text="The draft is stored as evidence and journaled with its open gaps.",
                ok_label="Draft",
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="notify", exit_on_error=False, description="drafting a notice")
    def _draft_worker(self, rule_id: str) -> None:
        incident = self.incident  # type: ignore[attr-defined]
        try:
            defaults = notify.workspace_defaults(self.app.ctx.home)
            draft = notify.draft_notice(incident, rule_id, rules=self.app.rules, defaults=defaults)
            draft = notify.record_draft(incident, draft, self.app.ctx.actor)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        gaps = (
            f"{len(draft.gaps)} gap(s) to fill before sending: " + ", ".join(g.field for g in draft.gaps)
            if draft.gaps
            else "No gaps: every required element is filled. Review the wording before sending."
        )
        due = f"; due {fmt.stamp(draft.due_utc)}" if draft.due_utc else ""
        title = f"{draft.title} ({draft.rule}{due}); stored as evidence {draft.evidence_id}"
        self.app.call_from_thread(self.app.push_screen, TextModal(title, draft.text, gaps))

    # -- evidence custody -------------------------------------------------------------------------------------

    def action_custody(self) -> None:
        items = self.app.incident.journal.state("evidence")
        if not items:
            self.fail("no evidence in this incident yet: add a file first (e)")
            return
        choices = tuple(
            (f"{key}  {value.get('name') or ''}", key)
            for key, value in sorted(items.items(), key=lambda kv: -int(kv[1].get("seq", 0)))
        )

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._custody_worker(values)

        self.app.push_screen(
            FormModal(
                "Record a custody event (verified, accessed, copied and transferred re-hash the file)",
                [
                    FormField("evidence", "Evidence", value=choices[0][1], choices=choices, required=True),
                    FormField("action", "Event", value="verified", choices=tuple((a, a) for a in CUSTODY_ACTIONS)),
                    FormField("to_party", "To (who received it; for transferred and copied)"),
                    FormField("purpose", "Purpose"),
                    FormField("note", "Note"),
                ],
                ok_label="Record",
            ),
            done,
        )

    @work(thread=True, group="evidence", exit_on_error=False, description="recording custody")
    def _custody_worker(self, values: dict[str, str]) -> None:
        try:
            entry = self.incident.custody(  # type: ignore[attr-defined]
                values["evidence"],
                values["action"] or "verified",
                self.app.ctx.actor,
                to_party=values.get("to_party") or None,
                purpose=values.get("purpose") or None,
                note=values.get("note") or None,
            )
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        match = entry.data.get("match")
        said = "" if match is None else ("; the stored file still matches its hash" if match else "")
        if match is False:
            self.app.call_from_thread(
                self.app.notify,
                f"{values['evidence']}: the stored file NO LONGER MATCHES its hash (recorded as entry {entry.seq})",
                severity="error",
                timeout=30,
            )
            return
        self.app.call_from_thread(
            self.app.notify, f"custody {values['action']} of {values['evidence']} recorded{said}", timeout=5
        )

    # -- facts ------------------------------------------------------------------------------------------------

    def action_show_facts(self) -> None:
        self.app.push_screen(TableModal(facts_table(self.app.incident.journal)))

"""Forensic work from the console: collect the org's logs (per-source progress, cancel), hunt indicators in what
was preserved, and say what was taken. Each collects input in a dialog (checked before it closes), runs the same
`app.forensics` / `app.hunt` functions `warroom collect`, `hunt` and `exfil` run, in a worker, and shows the
result as a table whose selected row is read whole below it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import work

from app import hunt
from app.base.clock import format_instant, parse_instant
from app.base.errors import UsageError, WarroomError
from app.forensics import collect as forensics
from app.forensics.results import CollectResult, ProgressEvent, sources_progress
from app.hunt.exfil import rows_text
from screens import fmt
from screens.modals.collect import CollectModal
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal
from screens.widgets.activity_bar import ActivityBar, BarProgress

if TYPE_CHECKING:
    from screens.app import WarroomApp

OWN_FILE = "own file"
RECORDED = "recorded hunts"
EVERY_READ = "every API read"
YES_NO = (("yes", "yes"), ("no", "no"))


def instant_or_none(text: str, what: str) -> datetime | None:
    """An optional ISO 8601 field of a dialog; the error names the field."""
    if not text.strip():
        return None
    try:
        return parse_instant(text.strip())
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


def sources_of(text: str) -> list[str]:
    chosen = [w.strip() for w in text.replace(" ", ",").split(",") if w.strip()] or list(forensics.SOURCES)
    unknown = [w for w in chosen if w not in forensics.SOURCES]
    if unknown:
        raise UsageError(f"unknown source {', '.join(unknown)}; choose from {', '.join(forensics.SOURCES)}")
    return chosen


def indicator_choices(*extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    shipped = tuple((f"shipped: {p.stem}", p.stem) for p in hunt.shipped_indicator_files())
    return (*extra, *shipped, (OWN_FILE + " (the path below)", OWN_FILE))


def load_sets(choice: str, path: str) -> list[hunt.IndicatorSet]:
    """The indicator sets a dialog names: a shipped set, or the responder's own file."""
    if choice == OWN_FILE or (path.strip() and not choice):
        if not path.strip():
            raise UsageError("give the path of your indicator file (TOML), or pick a shipped set")
        return [hunt.load_indicators(hunt.find_indicator_file(path.strip()))]
    return [hunt.load_indicators(hunt.find_indicator_file(choice))]


class ForensicActions:
    """Mixed into MainScreen; `self` is the screen."""

    app: WarroomApp

    if TYPE_CHECKING:

        def fail(self, exc: BaseException | str) -> None: ...
        def _fail_from_thread(self, exc: BaseException | str) -> None: ...
        def _org_session(self) -> Any: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...

    # -- collect ----------------------------------------------------------------------------------------------

    def action_collect(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: collect from the CLI (`warroom collect --org ALIAS`)")
            return

        def check(values: dict[str, str]) -> str | None:
            sources_of(values["what"])
            instant_or_none(values["since"], "oldest record")
            return None

        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            what = sources_of(values["what"])
            since = instant_or_none(values["since"], "oldest record")
            modal = CollectModal(f"collect from {self.app.settings.org_alias}", what)
            self.app.push_screen(modal)
            self._collect_worker(modal, what, since)

        self.app.push_screen(
            FormModal(
                f"Collect the org's logs into the evidence store ({self.app.settings.org_alias})",
                [
                    FormField("what", "Sources (comma list; empty: all)", placeholder=",".join(forensics.SOURCES)),
                    FormField("since", "Oldest record (ISO 8601; empty: all the org keeps)"),
                ],
                help_text="Each file is hashed on intake and journaled; a second run resumes and skips what is "
                "already preserved.",
                ok_label="Collect",
                check=check,
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="collect", exit_on_error=False, description="collecting logs")
    def _collect_worker(self, modal: CollectModal, what: list[str], since: datetime | None) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        alias = self.app.settings.org_alias
        bar.start(f"collect: logging in to {alias}", len(what), "sources")
        sources = sources_progress(bar, what)

        def progress(event: ProgressEvent) -> None:
            self.app.call_from_thread(modal.event, event)
            if event.status != "bytes":
                sources(event)

        command = f"console: collect --org {alias}" + (f" --since {format_instant(since)}" if since else "")
        command += f" --what {','.join(what)}"
        result: CollectResult | None = None
        try:
            with self._org_session() as org:
                result = forensics.collect(
                    self.incident,  # type: ignore[attr-defined]
                    org,
                    self.app.ctx.actor,
                    since=since,
                    what=what,
                    progress=progress,
                    cancel=modal.cancel,
                    command=command,
                )
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            self.app.call_from_thread(modal.done, [f"collection failed: {exc}"])
            return
        finally:
            bar.stop()
        lines = forensics.render_collect(result, self.app.clock.now())
        self.app.call_from_thread(modal.done, lines)
        self.app.call_from_thread(
            self.app.notify,
            f"collect {result.status}: {result.count('preserved')} preserved, {result.count('unchanged')} unchanged",
            severity="information" if result.status == "complete" else "warning",
        )

    # -- hunt -------------------------------------------------------------------------------------------------

    def action_hunt(self) -> None:
        def check(values: dict[str, str]) -> str | None:
            load_sets(values["set"], values["path"])
            return None

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._hunt_worker(load_sets(values["set"], values["path"]), values["record"] != "no")

        self.app.push_screen(
            FormModal(
                "Hunt indicators in the preserved evidence (offline)",
                [
                    FormField("set", "Indicators", value="", choices=indicator_choices(), required=True),
                    FormField("path", "Your own indicator file (TOML), with 'own file' above"),
                    FormField("record", "Journal the hits on the timeline", value="yes", choices=YES_NO),
                ],
                ok_label="Hunt",
                check=check,
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="hunt", exit_on_error=False, description="hunting")
    def _hunt_worker(self, sets: list[hunt.IndicatorSet], record: bool) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        bar.start(f"hunt: {', '.join(s.name for s in sets)}", None, "records")
        incident = self.incident  # type: ignore[attr-defined]
        try:
            result = hunt.hunt(incident, sets, progress=bar.progress)
            if record:
                hunt.record_hunt(incident, result, sets, self.app.ctx.actor)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        self.app.call_from_thread(self.app.push_screen, TableModal(self.hunt_table(result)))

    def hunt_table(self, result: hunt.HuntResult) -> ResultTable:
        zone = self.app.zone
        notes = [
            f"Searched {result.files_searched} preserved files ({result.rows_searched:,} rows) in the window "
            f"{result.window}: {len(result.hits)} hits"
            + (f", {result.recorded} newly journaled." if result.recorded is not None else " (not journaled).")
        ]
        if result.files_searched == 0:
            notes.append("Nothing is preserved in this incident yet: collect first, or add exported logs as evidence.")
        rows = [
            ResultRow(
                (
                    fmt.stamp(h.at),
                    h.source,
                    h.username or h.app or "-",
                    h.ip or "-",
                    h.action,
                ),
                f"{h.title()}\nAt {fmt.stamp(h.at)} ({fmt.stamp(h.at, zone)}). Evidence {h.evidence_id} ({h.file}) "
                f"line {h.line}"
                + (f", record {h.record_id}" if h.record_id else "")
                + ". Matched: "
                + "; ".join(h.indicators + h.context),
                h.key,
            )
            for h in result.hits
        ]
        return ResultTable(
            f"hunt {', '.join(result.indicator_sets)}",
            ("When", "Source", "User or app", "IP", "What"),
            rows,
            notes,
            empty="No hits.",
        )

    # -- what was taken ----------------------------------------------------------------------------------------

    def action_exfil(self) -> None:
        def sets_for(values: dict[str, str]) -> list[hunt.IndicatorSet] | None:
            if values["set"] in (RECORDED, EVERY_READ):
                return None
            return load_sets(values["set"], values["path"])

        def check(values: dict[str, str]) -> str | None:
            sets_for(values)
            return None

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._exfil_worker(sets_for(values), values["set"] == EVERY_READ)

        self.app.push_screen(
            FormModal(
                "What was taken: rows read per user (app) and object, from the preserved API logs",
                [
                    FormField(
                        "set",
                        "Whose reads",
                        value=RECORDED,
                        choices=indicator_choices(
                            ("the indicators of the recorded hunts", RECORDED), ("every API read", EVERY_READ)
                        ),
                        required=True,
                    ),
                    FormField("path", "Your own indicator file (TOML), with 'own file' above"),
                ],
                ok_label="Count",
                check=check,
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="hunt", exit_on_error=False, description="counting what was taken")
    def _exfil_worker(self, sets: list[hunt.IndicatorSet] | None, every: bool) -> None:
        try:
            taken = hunt.what_was_taken(self.incident, sets, all_activity=every)  # type: ignore[attr-defined]
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        self.app.call_from_thread(self.app.push_screen, TableModal(exfil_table(taken)))


def exfil_table(taken: hunt.Taken) -> ResultTable:
    rows = [
        ResultRow(
            (r.actor, r.object, rows_text(r.rows, r.rows_unknown), str(r.queries), fmt.stamp(r.last_seen)),
            f"{r.actor} read {rows_text(r.rows, r.rows_unknown)} {r.object} rows in {r.queries} "
            f"queries or jobs, first {fmt.stamp(r.first_seen)}, last {fmt.stamp(r.last_seen)}, from "
            f"{', '.join(r.source_ips) or 'no recorded address'}. Sources: {', '.join(r.sources)}; evidence "
            f"{', '.join(r.evidence)}." + "".join(f"\nRows unknown: {u}" for u in r.rows_unknown),
            f"{r.actor}/{r.object}",
        )
        for r in taken.rows
    ]
    counted = sum(r.rows or 0 for r in taken.rows)
    notes = [f"{counted:,} rows counted (COUNT() queries take none; a bulk job counts once)."] if rows else []
    if not taken.have_logs:
        empty = (
            "Unknown: no API logs are preserved (ApiEvent, BulkApiResultEventStore, or the API, RestApi, BulkApi, "
            "BulkApi2 event log files), so what was read cannot be known from the evidence. It needs Event "
            "Monitoring: ask Salesforce for the Historical Event Logs Process, or collect if the org has them."
        )
    else:
        empty = "No API reads attributed in the preserved logs."
    return ResultTable(
        "what was taken", ("User (app)", "Object", "Rows", "Queries", "Last seen"), rows, notes, empty=empty
    )

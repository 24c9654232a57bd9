"""What a responder can do from the main screen. Each action collects input in a dialog, then calls `app/`,
which journals first; the screen changes only when the journal's listener reports the committed entry.
Slow parts (hashing, the org) run in thread workers so the clocks keep ticking."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.widgets import Input

from app import checklist as cl
from app import deadlines as dl
from app import notify
from app.base.clock import format_instant, parse_instant
from app.base.errors import UsageError, WarroomError
from app.base.progress import hashing, messages
from app.base.redaction import redact
from app.deadlines import actions as dla
from app.findings.intake import Intake, import_and_record, pull_and_record
from screens.modals.anchor import AnchorModal
from screens.modals.detail import DetailModal
from screens.modals.form import FormField, FormModal
from screens.widgets.activity_bar import ActivityBar, BarProgress
from screens.widgets.checklist_pane import ChecklistPane
from screens.widgets.countdown_pane import CountdownPane
from screens.widgets.inventory_pane import InventoryPane

if TYPE_CHECKING:
    from textual.screen import Screen

    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient
    from screens.app import WarroomApp

STATE_CHOICES = tuple((s.value.replace("_", " "), s.value) for s in cl.ItemState)
PANE_ORDER = ("checklist", "countdowns", "inventory")


def file_problem(text: str, *, directory: bool = False) -> str | None:
    """What is wrong with a path typed in a dialog, in words (checked before the dialog closes)."""
    path = Path(text.strip()).expanduser()
    if not path.exists():
        return f"{path}: no such file; check the path (a leading ~ is your home directory)"
    if path.is_dir() and not directory:
        return f"{path} is a directory: give one file"
    if not path.is_dir() and not path.is_file():
        return f"{path} is not a regular file"
    return None


if TYPE_CHECKING:
    _Screen = Screen[None]
else:
    _Screen = object


class ConsoleActions(_Screen):
    """Mixed into MainScreen; `self` is the screen (a Screen for the type checker, which also needs the pane
    switching MainScreen provides)."""

    app: WarroomApp
    active_pane: str

    if TYPE_CHECKING:

        def show_pane(self, name: str, focus: bool = True) -> None: ...

    # -- helpers ------------------------------------------------------------------------------------------------

    @property
    def incident(self) -> Incident:
        return self.app.incident

    @property
    def actor(self) -> str:
        return self.app.ctx.actor

    def fail(self, exc: BaseException | str) -> None:
        self.app.notify(redact(str(exc)), severity="error", timeout=12)

    def _fail_from_thread(self, exc: BaseException | str) -> None:
        self.app.call_from_thread(self.fail, exc)

    def _login(self) -> OrgClient:
        """The console's org, logged in now (worker thread only; the actions check first that there is one)."""
        factory = self.app.org_factory
        if factory is None:
            raise UsageError("no org connected to this console")
        return factory()

    @contextmanager
    def _org_session(self) -> Iterator[OrgClient]:
        """The console's org for one piece of work in a worker thread, logged out after it."""
        org = self._login()
        try:
            yield org
        finally:
            close = getattr(org, "close", None)
            if close:
                close()

    def _evidence_ref(self, text: str, note: str | None, label: str) -> str | None:
        """Turn the dialog's evidence field into an evidence id: a file is hashed in (worker thread only)."""
        text = text.strip()
        if not text:
            return None
        path = Path(text).expanduser()
        if path.is_file():
            return self._ingest(path, note, label).evidence_id
        return self.incident.resolve_evidence(text)["evidence_id"]

    def _ingest(self, path: Path, note: str | None, label: str) -> Any:
        """Hash a file into the store with a progress bar; runs in a worker thread."""
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        bar.start(f"{label} {path.name}", max(path.stat().st_size, 1), "bytes")
        try:
            return self.incident.add_evidence(path, self.actor, note=note, progress=hashing(bar))
        finally:
            bar.stop()

    # -- panes ----------------------------------------------------------------------------------------------

    def action_focus_pane(self, name: str) -> None:
        self.show_pane(name)

    def action_next_pane(self) -> None:
        current = self.active_pane
        self.show_pane(PANE_ORDER[(PANE_ORDER.index(current) + 1) % len(PANE_ORDER)])

    # -- checklist ------------------------------------------------------------------------------------------

    def _selected_item(self) -> Any:
        pane = self.query_one(ChecklistPane)
        item = pane.selected()
        if item is None:
            self.app.notify("select a checklist item first (1, then the arrows)", severity="warning")
        return item

    def action_tick_item(self) -> None:
        item = self._selected_item()
        if item is None or self.app.checklist_source.checklist is None:
            return
        new = cl.ItemState.TODO if item.state == cl.ItemState.DONE else cl.ItemState.DONE
        note = "reopened from the console" if new is cl.ItemState.TODO else None
        try:
            cl.set_item_state(self.incident, item.id, new, self.actor, note=note)
        except WarroomError as exc:
            self.fail(exc)
            return
        self.app.notify(f"{item.id}: {new.value}", timeout=3)

    def action_set_state(self) -> None:
        item = self._selected_item()
        if item is None:
            return
        fields = [
            FormField("state", "State", value=item.state, choices=STATE_CHOICES, required=True),
            FormField("note", "Note (needed for not applicable and blocked)", placeholder="what happened, who"),
            FormField("evidence", "Evidence: a file path (hashed in) or an evidence id", placeholder="optional"),
        ]

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._set_state_worker(item.id, values)

        self.app.push_screen(FormModal(f"{item.id}: {item.title}", fields, ok_label="Record"), done)

    @work(thread=True, group="checklist", exit_on_error=False, description="recording a state change")
    def _set_state_worker(self, item_id: str, values: dict[str, str]) -> None:
        if self.app.checklist_source.checklist is None:
            return
        try:
            evidence = self._evidence_ref(values.get("evidence", ""), f"evidence for {item_id}", "hashing")
            cl.set_item_state(
                self.incident,
                item_id,
                values["state"],
                self.actor,
                note=values.get("note") or None,
                evidence=[evidence] if evidence else [],
            )
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)

    # -- notes and evidence -----------------------------------------------------------------------------------

    def action_add_note(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            try:
                self.incident.note(values["text"], self.actor)
            except WarroomError as exc:
                self.fail(exc)

        self.app.push_screen(
            FormModal(
                "Add a note to the journal",
                [
                    FormField("text", "Note", placeholder="what happened, who decided, what was seen", required=True),
                ],
                ok_label="Add",
            ),
            done,
        )

    def action_add_evidence(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._evidence_worker(values["path"], values.get("note") or None)

        self.app.push_screen(
            FormModal(
                "Add evidence (copied, hashed, made read-only)",
                [
                    FormField("path", "File path", placeholder="/path/to/export.csv", required=True),
                    FormField("note", "Note", placeholder="where it came from"),
                ],
                ok_label="Add",
                check=lambda values: file_problem(values["path"]),
            ),
            done,
        )

    @work(thread=True, group="evidence", exit_on_error=False, description="hashing evidence")
    def _evidence_worker(self, path_text: str, note: str | None) -> None:
        try:
            record = self._ingest(Path(path_text).expanduser(), note, "hashing")
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        self.app.call_from_thread(
            self.app.notify, f"evidence {record.evidence_id}: {record.size:,} bytes, sha256 {record.sha256[:16]}…"
        )

    # -- facts and notices --------------------------------------------------------------------------------------

    def action_set_fact(self) -> None:
        keys = ", ".join(dl.FACT_KEYS)
        current = "; ".join(f"{f.key} {f.value}" for f in dla.current_facts(self.incident.journal) if f.value != "-")

        def record(values: dict[str, str]) -> None:
            self._record_fact(values["key"], values["value"])

        self.app.push_screen(
            FormModal(
                "Set an incident fact",
                [
                    FormField("key", "Fact", placeholder="aware, residents.US-CA, categories ...", required=True),
                    FormField(
                        "value", "Value (empty or 'none' clears it)", placeholder="2026-11-27T07:00:00Z, 1200, ..."
                    ),
                ],
                help_text=f"Now: {current or 'no facts recorded'}.\nFacts: {keys}",
                ok_label="Record",
                check=record,
            )
        )

    def _record_fact(self, key_text: str, value_text: str) -> None:
        """Record a fact; a refusal propagates (the dialog shows it and stays open)."""
        fact = dla.record_fact(
            self.incident, key_text, value_text, self.actor, now=self.app.clock.now(), rules=self.app.rules
        )
        value = dla.fact_text(fact.key, fact.value)
        if fact.seq is None:
            self.app.notify(f"{fact.key} is already {value}; nothing recorded", severity="warning")
        else:
            self.app.notify(f"{fact.key} = {value}" + "".join(f"; note: {w}" for w in fact.warnings), timeout=4)

    def action_mark_sent(self) -> None:
        row = self.query_one(CountdownPane).selected()
        if row is None:
            self.app.notify("select a countdown first (2, then the arrows)", severity="warning")
            return
        if not row.rule:
            self.app.notify("a grant's expiry has no notice to mark sent", severity="warning")
            return
        now = format_instant(self.app.clock.now().replace(microsecond=0))

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._mark_sent_worker(row.rule, values)

        self.app.push_screen(
            FormModal(
                f"Notice sent: {row.jurisdiction} — {row.obligation}",
                [
                    FormField("at", "Sent at (ISO 8601)", value=now, required=True),
                    FormField(
                        "evidence",
                        "Proof: a file path (hashed in) or an evidence id",
                        required=True,
                        placeholder="the notice as sent, the submission receipt ...",
                    ),
                ],
                ok_label="Record",
            ),
            done,
        )

    @work(thread=True, group="notify", exit_on_error=False, description="recording a notice")
    def _mark_sent_worker(self, rule_id: str, values: dict[str, str]) -> None:
        try:
            try:
                at = parse_instant(values["at"])
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            now = self.app.clock.now()
            dla.not_in_future(at, now, "sent at")  # before a file is hashed in for it
            evidence_id = self._evidence_ref(values["evidence"], f"notice sent for {rule_id}", "hashing")
            if evidence_id is None:
                raise UsageError("a notice needs its proof: a file path or an evidence id")
            notify.notice_sent(self.incident, rule_id, at, evidence_id, self.actor, now=now, rules=self.app.rules)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)

    # -- inventory ------------------------------------------------------------------------------------------

    def action_search_inventory(self) -> None:
        self.show_pane("inventory", focus=False)
        self.query_one("#inventory-search", Input).focus()

    def action_cycle_kind(self) -> None:
        kind = self.query_one(InventoryPane).cycle_kind()
        self.app.save_view(inventory_kind=kind)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "inventory-search":
            self.app.save_view(inventory_query=event.value)

    def action_detail(self) -> None:
        if self.active_pane == "countdowns":
            self._countdown_detail()
            return
        row = self.query_one(InventoryPane).selected()
        if row is None:
            self.app.notify("no inventory record selected", severity="warning")
            return
        record = dict(row.record) or {"kind": row.kind, "name": row.name}
        record["findings"] = [f"{sev}: {title}" for sev, title in row.findings]
        record["containment"] = row.containment or "none"
        self.app.push_screen(DetailModal(f"{row.kind}: {row.name}", record))

    def _countdown_detail(self) -> None:
        row = self.query_one(CountdownPane).selected()
        if row is None:
            return
        timer = next((t for t in self.app.timers(self.app.clock.now()) if t.rule == row.rule), None)
        if timer is not None:
            self.app.push_screen(DetailModal(f"{timer.jurisdiction}: {timer.recipient}", timer.model_dump()))

    def action_pull_inventory(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: import a snapshot instead (i), or run `warroom demo`")
            return
        self.show_pane("inventory", focus=False)
        self._pull_worker()

    @work(thread=True, exclusive=True, group="inventory", exit_on_error=False, description="pulling inventory")
    def _pull_worker(self) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        alias = self.app.settings.org_alias
        bar.start(f"inventory: logging in to {alias}")
        try:
            intake = pull_and_record(
                self.incident,
                self._login,
                self.actor,
                alias=alias,
                now=self.app.clock.now(),
                say=messages(bar, "inventory: "),
            )
            self._said_intake(intake)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
        finally:
            bar.stop()

    def _said_intake(self, intake: Intake) -> None:
        """Tell what a pull or an import recorded (worker thread)."""
        counts = intake.counts
        evidence_id = intake.saved.evidence_id if intake.saved else "-"
        self.app.call_from_thread(
            self.app.notify,
            f"inventory {evidence_id}: {counts['connected_apps']} apps, "
            f"{intake.snapshot.count_text('oauth_tokens', 'tokens', 'OauthToken')}, "
            f"{counts['users']} users; {len(intake.findings)} findings",
        )

    def action_import_inventory(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._import_worker(values["path"])

        self.app.push_screen(
            FormModal(
                "Import an inventory",
                [
                    FormField(
                        "path",
                        "Snapshot file (inventory pull --out) or a directory of Data Loader CSV exports",
                        placeholder="/path/to/snapshot.json",
                        required=True,
                    ),
                ],
                ok_label="Import",
                check=lambda values: file_problem(values["path"], directory=True),
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="inventory", exit_on_error=False, description="importing inventory")
    def _import_worker(self, path_text: str) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        path = Path(path_text).expanduser()
        bar.start(f"inventory: importing {path.name}")
        try:
            self._said_intake(import_and_record(self.incident, path, self.actor))
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
        finally:
            bar.stop()

    # -- journal -----------------------------------------------------------------------------------------------

    def action_timeline(self) -> None:
        from screens.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.incident.journal))

    def action_verify(self) -> None:
        self.app.action_verify()

    def action_anchor(self) -> None:
        try:
            head, entry = self.incident.anchor(self.actor, "read aloud from the console")
        except WarroomError as exc:
            self.fail(exc)
            return
        self.app.push_screen(
            AnchorModal(self.app.display_id, head.size, self.app.short_root(head), head.anchor, entry.seq)
        )

"""The war-room main screen: header, three panes (from 120 columns the checklist on the left and the countdowns
over the inventory on the right; tabbed below), the selected row read whole, activity, footer.

Everything shown is re-read from the journal after each append (the journal's listener), and time-only changes
(remaining time, overdue marks, T+) come from the app's single one-second tick reading the injected clock.
"""

from __future__ import annotations

import gc
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Tab, Tabs, Tree
from textual.worker import Worker

from app.grants import expiring_grants, list_grants, next_expiring_change
from app.incident.record import declared_utc
from screens import details, fmt, sources
from screens.actions import ConsoleActions
from screens.bindings import EXERCISE_BINDINGS, MAIN_BINDINGS
from screens.containment_actions import ContainmentActions
from screens.cost_actions import CostActions
from screens.deadline_actions import DeadlineActions
from screens.exercise_actions import ExerciseActions
from screens.forensic_actions import ForensicActions
from screens.grant_actions import GrantActions
from screens.harden_actions import HardenActions
from screens.monitor_actions import MonitorActions
from screens.reconnect_actions import ReconnectActions
from screens.record_actions import RecordActions
from screens.team_actions import TeamActions
from screens.widgets.activity_bar import ActivityBar
from screens.widgets.alert_bar import AlertBar
from screens.widgets.checklist_pane import ChecklistPane
from screens.widgets.countdown_pane import CountdownPane, urgency
from screens.widgets.detail_strip import DetailStrip, NextClock
from screens.widgets.header_bar import HeaderBar
from screens.widgets.inventory_pane import InventoryPane, InventoryRow
from screens.widgets.row_list import RowList

if TYPE_CHECKING:
    from screens.app import WarroomApp

PANES = ("checklist", "countdowns", "inventory")
WIDE = 120


class MainScreen(
    ConsoleActions,
    ContainmentActions,
    GrantActions,
    HardenActions,
    ReconnectActions,
    DeadlineActions,
    ForensicActions,
    RecordActions,
    ExerciseActions,
    MonitorActions,
    CostActions,
    TeamActions,
    Screen[None],
):
    BINDINGS = [*MAIN_BINDINGS, *EXERCISE_BINDINGS]
    AUTO_FOCUS = None  # the restored pane takes focus, not the first widget

    app: WarroomApp

    def __init__(self) -> None:
        super().__init__(id="main")
        self.active_pane = "checklist"
        self._marks: tuple[Any, ...] = ()
        self.timers: dict[str, Any] = {}  # rule -> app.deadlines Timer, as last computed for the countdowns
        self._items: dict[str, Any] = {}  # item id -> the checklist's Item (its why, steps, evidence, controls)
        self.ready = False  # set at the end of on_mount: ticks and journal refreshes wait for it
        self._grants_change: datetime | None = None  # when a grant comes within a day of expiry, or expires

    def compose(self) -> ComposeResult:
        yield HeaderBar(zone=self.app.zone, exercise=self.app.exercise, id="header")
        yield AlertBar(id="alerts")
        yield Tabs(
            Tab("1 Checklist", id="tab-checklist"),
            Tab("2 Countdowns", id="tab-countdowns"),
            Tab("3 Inventory", id="tab-inventory"),
            active=f"tab-{self._restored_pane()}",
            id="pane-tabs",
        )
        yield NextClock(id="next-clock")
        with Horizontal(id="panes"):
            yield ChecklistPane(id="checklist")
            yield CountdownPane(id="countdowns")
            yield InventoryPane(id="inventory")
        yield DetailStrip(id="detail")
        yield Input(placeholder="filter the rows of this pane (Enter: back to the rows, Esc: clear)", id="pane-filter")
        yield ActivityBar(id="activity")
        yield Footer()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.app.worker_failed(event)  # the actions' workers report here, not to the app

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Exercise keys exist only while an exercise runs here (hidden from the footer otherwise)."""
        if action.startswith("exercise_"):
            return self.app.runner is not None
        return True

    def _restored_pane(self) -> str:
        pane = self.app.view.get("pane")
        return pane if pane in PANES else "checklist"

    def on_mount(self) -> None:
        view = self.app.view
        self.refresh_all()
        self.query_one(InventoryPane).set_filter(
            kind=view.get("inventory_kind", "all"), query=view.get("inventory_query", "")
        )
        for pane, key in (
            ("checklist", "checklist_row"),
            ("countdowns", "countdown_row"),
            ("inventory", "inventory_row"),
        ):
            if view.get(key):
                self.pane(pane).select(view[key])
        self.show_pane(self._restored_pane())
        self._layout(self.app.size.width)
        self.ready = True
        gc.freeze()  # the widgets, the rules and the checklist live as long as the console: never scan them

    # -- layout -------------------------------------------------------------------------------------------

    def on_resize(self, event: Any) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.set_class(width < WIDE, "-narrow")
        self.query_one(Footer).compact = width < WIDE

    def pane(self, name: str) -> ChecklistPane | CountdownPane | InventoryPane:
        pane = self.query_one(f"#{name}")
        assert isinstance(pane, ChecklistPane | CountdownPane | InventoryPane)
        return pane

    def show_pane(self, name: str, focus: bool = True) -> None:
        self.active_pane = name
        for other in PANES:
            self.pane(other).set_class(other == name, "-active")
        tabs = self.query_one("#pane-tabs", Tabs)
        if tabs.active != f"tab-{name}":
            tabs.active = f"tab-{name}"
        if focus:
            self.pane(name).cursor_widget.focus()
        self.app.save_view(pane=name)
        self.update_detail()

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        name = str(event.tab.id).removeprefix("tab-")
        if name != self.active_pane:
            self.show_pane(name)

    def on_descendant_focus(self, event: Any) -> None:
        for name in PANES:
            pane = self.pane(name)
            if event.widget is pane or pane in event.widget.ancestors:
                if name != self.active_pane:
                    self.active_pane = name
                    for other in PANES:
                        self.pane(other).set_class(other == name, "-active")
                    self.app.save_view(pane=name)
                    self.update_detail()
                return

    @on(RowList.Highlighted)
    def _highlighted(self, event: RowList.Highlighted) -> None:
        """Remember the cursor of each pane; the detail strip follows the focused pane's."""
        field = {"checklist-rows": "checklist_row", "countdown-rows": "countdown_row"}.get(event.row_list.id or "")
        if field is None:
            return
        self.app.save_view(**{field: event.key})
        if field.startswith(self.active_pane[:5]):
            self.update_detail()

    @on(Tree.NodeHighlighted, "#inventory-tree")
    def _record_highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        data = event.node.data
        if isinstance(data, InventoryRow):
            self.app.save_view(inventory_row=data.key)
        if self.active_pane == "inventory":
            self.update_detail()

    @on(Tree.NodeSelected, "#inventory-tree")
    def _record_selected(self, event: Tree.NodeSelected[Any]) -> None:
        if isinstance(event.node.data, InventoryRow) and not event.node.children:
            self.action_detail()

    @on(RowList.Selected)
    def _selected(self, event: RowList.Selected) -> None:
        list_id = event.row_list.id or ""
        if list_id == "checklist-rows":
            self.action_set_state()
        elif list_id == "countdown-rows":
            self.action_detail()

    # -- data -----------------------------------------------------------------------------------------------

    def refresh_all(self) -> None:
        self.refresh_header()
        self.refresh_alerts()
        self.refresh_checklist()
        self.refresh_countdowns()
        self.refresh_inventory()

    def refresh_for(self, kinds: set[str]) -> None:
        """Re-read only what the new entries can have changed."""
        if not self.ready:
            return
        try:
            self._refresh_for(kinds)
        except NoMatches:  # closing
            self.ready = False

    def _refresh_for(self, kinds: set[str]) -> None:
        self.refresh_header()
        if any(k.startswith(("exercise.", "monitoring.")) for k in kinds):
            self.refresh_alerts()
        if any(k.startswith(("checklist.", "incident.", "evidence.", "action.", "contain")) for k in kinds):
            self.refresh_checklist()
        if any(
            k.startswith(("facts.", "notification.", "deadline.", "incident.", "evidence.", "action.", "grant."))
            for k in kinds
        ):
            self.refresh_countdowns()
        if any(k.startswith(("inventory.", "action.", "finding")) for k in kinds):
            self.refresh_inventory()

    def refresh_header(self) -> None:
        app = self.app
        journal = app.incident.journal
        header = self.query_one(HeaderBar)
        header.set_incident(app.display_id, app.incident.title, declared_utc(journal))
        head = journal.head()
        header.set_journal(head.size, app.short_root(head))
        header.set_exercise(app.exercise_mark())
        header.now = app.clock.now()

    def refresh_checklist(self) -> None:
        source = self.app.checklist_source
        source.reload()
        now = self.app.clock.now()
        status = source.status(now)
        pane = self.query_one(ChecklistPane)
        pane.set_phases(sources.checklist_rows(status))
        if source.error:
            pane.border_subtitle = "!! checklist: " + source.error.splitlines()[0]
        elif status is not None:  # in the header line: one line repainted, not the whole pane's border
            pane.set_progress(f"{status.done}/{status.total - status.not_applicable} done  {status.percent}%")
        self._marks = source.marks(now)
        if source.checklist is not None and not self._items:
            self._items = {i.id: i for i in source.checklist.items}
        if self.active_pane == "checklist":
            self.update_detail()

    def refresh_countdowns(self) -> None:
        now = self.app.clock.now()
        timers = self.app.timers(now)
        self.timers = {t.rule: t for t in timers}
        every = list_grants(self.app.incident)
        grants = sources.grant_rows(expiring_grants(self.app.incident, now, grants=every))
        self._grants_change = next_expiring_change(every, now)
        self.query_one(CountdownPane).set_rows(sources.countdown_rows(timers) + grants, now)
        self.update_next_clock(now)
        if self.active_pane == "countdowns":
            self.update_detail()

    def refresh_inventory(self) -> None:
        self.app.reload_inventory()

    def tick(self, now: datetime) -> None:
        if not self.ready:
            return
        try:
            self._tick(now)
        except NoMatches:  # the app is closing and the panes are already gone
            self.ready = False

    def _tick(self, now: datetime) -> None:
        self.query_one(HeaderBar).now = now
        self.query_one(CountdownPane).tick(now)
        self.update_next_clock(now)
        if self.app.checklist_source.marks(now) != self._marks:
            self.refresh_checklist()
            self.refresh_countdowns()
        elif self._grants_change is not None and now >= self._grants_change:
            self.refresh_countdowns()

    # -- the selected row, read whole -------------------------------------------------------------------------

    def update_detail(self) -> None:
        """The detail strip follows the cursor of the focused pane."""
        clocks = self.active_pane == "countdowns"
        if self.has_class("-clocks") != clocks:  # a class change restyles every widget: only when it changes
            self.set_class(clocks, "-clocks")
        try:
            strip = self.query_one(DetailStrip)
        except NoMatches:
            return
        zone = self.app.zone
        if self.active_pane == "checklist":
            pane = self.query_one(ChecklistPane)
            row = pane.selected()
            if row is None:
                strip.show("Select a checklist item (arrows or j/k) to read its why, steps, evidence and controls.")
                return
            state = self.app.checklist_source.states.get(row.id)
            strip.show(details.item_detail(row, self._items.get(row.id), state, zone))
        elif self.active_pane == "countdowns":
            clock = self.query_one(CountdownPane).selected()
            timer = self.timers.get(clock.rule) if clock else None
            strip.show(details.clock_detail(timer, zone) if timer else "No clock selected.")
        else:
            inventory = self.query_one(InventoryPane)
            record = inventory.selected()
            if record is None:
                node = inventory.records.cursor_node if inventory.rows else None
                if node is not None and isinstance(node.data, list):
                    worst = sum(1 for r in node.data if r.findings)
                    strip.show(f"{node.label}: {worst} of them with findings. Enter opens or closes the branch.")
                else:
                    strip.show("No inventory record selected: pull (p) or import (i) the inventory.")
                return
            strip.show(details.inventory_detail(record, self.app.inventory_view.findings))

    def update_next_clock(self, now: datetime) -> None:
        """On a narrow screen the countdowns are often off screen: the most urgent one stays in a line."""
        line = self.query_one(NextClock)
        rows = [r for r in self.query_one(CountdownPane).rows if r.due is not None and not r.notified]
        if not rows:
            line.show("no clock running: set the facts (f)")
            return
        row = min(rows, key=lambda r: r.due or now)
        mark, style = urgency(row, now)
        assert row.due is not None
        left = row.due - now
        when = ("OVERDUE by " + fmt.compact(left)) if left.total_seconds() <= 0 else fmt.duration(left)
        text = Text.assemble(
            ("next due ", "dim"),
            (f"{mark} " if mark else "", style),
            (f"{row.jurisdiction} {row.obligation}", "bold"),
            f"  {when}  ",
            (f"due {fmt.stamp(row.due)}", "dim"),
        )
        line.show(text)

    # -- moving and filtering -------------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        widget = self.pane(self.active_pane).cursor_widget
        if not widget.has_focus:  # focus() repaints the whole widget even when it already has focus
            widget.focus()
        widget.action_cursor_down() if step > 0 else widget.action_cursor_up()

    def action_filter(self) -> None:
        if self.active_pane == "inventory":
            self.action_search_inventory()
            return
        box = self.query_one("#pane-filter", Input)
        box.value = self.pane(self.active_pane).query_text
        box.add_class("-open")
        box.focus()

    @on(Input.Changed, "#pane-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        pane = self.pane(self.active_pane)
        if isinstance(pane, ChecklistPane | CountdownPane):
            pane.set_filter(event.value)
            self.update_detail()

    @on(Input.Submitted, "#pane-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.pane(self.active_pane).cursor_widget.focus()
        if not event.value.strip():
            event.input.remove_class("-open")

    def key_escape(self) -> None:
        box = self.query_one("#pane-filter", Input)
        if box.has_class("-open"):
            box.value = ""
            box.remove_class("-open")
            self.pane(self.active_pane).cursor_widget.focus()

"""Pictures of the incident in the terminal: the attacker's activity by event time (hits per hour, per indicator
set), the notification clocks on one time axis with now and each due time, rows taken per object and per user,
containment over time, checklist items done per phase over time and token use (API calls per source address per
hour, per app). The data is the report's (`app.report.series`), computed in a worker; this screen only draws it
(screens/charts.py), redrawn to the width it has."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from app.report.series import Series
from screens import charts


class PicturesScreen(Screen[None]):
    DEFAULT_CSS = """
    PicturesScreen VerticalScroll { padding: 0 1; }
    PicturesScreen .heading { text-style: bold; margin-top: 1; }
    PicturesScreen .chart { height: auto; }
    """
    BINDINGS = [
        Binding("escape,q,g", "app.pop_screen", "Back", id="pictures.close"),
        Binding("j", "scroll(1)", "Down", show=False, id="pictures.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="pictures.up"),
    ]

    def __init__(self, series: Series, now: datetime) -> None:
        super().__init__()
        self.series = series
        self.now = now
        self._width = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="pictures"):
            yield Static("Attacker activity: recorded hunt hits per hour of event time", classes="heading")
            yield Static(id="chart-attack", classes="chart")
            yield Static("Notification clocks: now | and each due time ▲ (✓ sent, ! sent late)", classes="heading")
            yield Static(id="chart-clocks", classes="chart")
            yield Static("Rows taken per object", classes="heading")
            yield Static(id="chart-objects", classes="chart")
            yield Static("Rows taken per user", classes="heading")
            yield Static(id="chart-users", classes="chart")
            yield Static("Containment over time", classes="heading")
            yield Static(id="chart-containment", classes="chart")
            yield Static("Checklist: items done per phase over time", classes="heading")
            yield Static(id="chart-checklist", classes="chart")
            yield Static(
                "Token use: API calls per source address per hour, by each app's token holders", classes="heading"
            )
            yield Static(id="chart-token-use", classes="chart")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.draw(self.size.width)

    def on_resize(self, event: object) -> None:
        if self.size.width != self._width:
            self.draw(self.size.width)

    def draw(self, width: int) -> None:
        self._width = width
        width = max(40, width - 4)
        s = self.series
        none_taken = "no rows attributed: hunt first, and preserve the API logs (collect)"
        self.query_one("#chart-attack", Static).update(charts.attack_columns(s.attack, width))
        self.query_one("#chart-clocks", Static).update(charts.clock_axis(s.clocks, self.now, width))
        self.query_one("#chart-objects", Static).update(charts.bars(s.rows.by_object, width, none_taken))
        self.query_one("#chart-users", Static).update(charts.bars(s.rows.by_user, width, none_taken))
        self.query_one("#chart-containment", Static).update(charts.containment_lines(s.containment))
        self.query_one("#chart-checklist", Static).update(charts.checklist_steps(s.checklist, width))
        self.query_one("#chart-token-use", Static).update(charts.token_use_rows(s.token_use, width))

    def action_scroll(self, lines: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=lines, animate=False)

"""Slow work in progress (hashing evidence, pulling inventory): what, how far, without blocking anything.

`BarProgress` is the console's side of app.base.progress.Progress (the command line draws the same reports on
stderr): workers report through it, and it hands each report to the bar on the UI thread."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static


class ActivityBar(Horizontal):
    DEFAULT_CSS = """
    ActivityBar { height: 1; display: none; background: $boost; padding: 0 1; }
    ActivityBar.-busy { display: block; }
    ActivityBar > #activity-label { width: auto; max-width: 60%; padding-right: 1; }
    ActivityBar > ProgressBar { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="activity-label")
        # A bar with no total animates at 15 frames a second, even hidden: idle, it has a total (and stays still).
        yield ProgressBar(total=1, show_eta=False, id="activity-progress")

    def start(self, label: str, total: float | None = None) -> None:
        self.query_one("#activity-label", Static).update(label)
        self.query_one(ProgressBar).update(total=total, progress=0)
        self.add_class("-busy")

    def progress(self, done: float, total: float | None = None, label: str | None = None) -> None:
        if label is not None:
            self.query_one("#activity-label", Static).update(label)
        bar = self.query_one(ProgressBar)
        if total is not None:
            bar.update(total=total)
        bar.update(progress=done)

    def say(self, label: str) -> None:
        self.query_one("#activity-label", Static).update(label)

    def stop(self) -> None:
        self.remove_class("-busy")
        self.query_one(ProgressBar).update(total=1, progress=0)  # stops an indeterminate bar's animation timer


class BarProgress:
    """app.base.progress.Progress drawn in the activity bar, for work running in a worker thread."""

    def __init__(self, app: Any, bar: ActivityBar) -> None:
        self.app, self.bar = app, bar

    def start(self, label: str, total: float | None = None, unit: str = "steps") -> None:
        self.app.call_from_thread(self.bar.start, label, total)

    def progress(self, done: float, total: float | None = None, label: str | None = None) -> None:
        self.app.call_from_thread(self.bar.progress, done, total, label)

    def note(self, text: str) -> None:
        self.app.call_from_thread(self.bar.say, text)

    def stop(self) -> None:
        self.app.call_from_thread(self.bar.stop)

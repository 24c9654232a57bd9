"""Slow work in progress (hashing evidence, pulling inventory): what, how far, without blocking anything."""

from __future__ import annotations

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
        yield ProgressBar(show_eta=False, id="activity-progress")

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

    def stop(self) -> None:
        self.remove_class("-busy")

"""The selected row of the focused pane, read whole: a strip under the panes that wraps long titles and text
instead of cutting them at a column's edge; and, on a narrow screen, the next due clock kept in view."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class DetailStrip(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    DetailStrip { height: 8; border-top: solid $panel-lighten-2; padding: 0 1; }
    DetailStrip > Static { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="detail-text")

    def show(self, text: Text | str) -> None:
        self.query_one("#detail-text", Static).update(text)
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        content = self.query_one("#detail-text", Static).content
        return content.plain if isinstance(content, Text) else str(content)


class NextClock(Static):
    """One line: the most urgent clock, for when the countdowns pane is not on screen."""

    DEFAULT_CSS = """
    NextClock { height: 1; padding: 0 1; background: $boost; display: none; }
    """

"""The selected row of the focused pane, read whole: a strip under the panes that wraps long titles and text
instead of cutting them at a column's edge; and, on a narrow screen, the next due clock kept in view.

Both have a fixed height and are updated without a layout pass: following the cursor must cost one widget's
repaint, not the whole screen's (a layout at 160x48 costs more than the rest of a key press).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class DetailStrip(Static, can_focus=False):
    DEFAULT_CSS = """
    DetailStrip { height: 8; border-top: solid $panel-lighten-2; padding: 0 1; overflow: hidden; }
    """

    def show(self, text: Text | str) -> None:
        if text != self.content:
            self.update(text, layout=False)

    @property
    def text(self) -> str:
        content = self.content
        return content.plain if isinstance(content, Text) else str(content)


class NextClock(Static):
    """One line: the most urgent clock, for when the countdowns pane is not on screen."""

    DEFAULT_CSS = """
    NextClock { height: 1; padding: 0 1; background: $boost; display: none; overflow: hidden; }
    """

    def show(self, text: Text | str) -> None:
        if text != self.content:
            self.update(text, layout=False)

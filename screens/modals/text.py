"""A long text to read before acting on it (a notice draft): scrollable, with the gaps a responder must fill
highlighted and listed, so a draft can never look complete when it is not."""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from app.notify import GAP_OPEN

GAP = re.compile(re.escape(GAP_OPEN) + r"[^\]]*\]\]")


def highlighted(text: str, pattern: re.Pattern[str] = GAP) -> Text:
    """`text` with every match of `pattern` in reverse warning colours (readable in monochrome too)."""
    out = Text(text)
    for m in pattern.finditer(text):
        out.stylize("bold reverse yellow", m.start(), m.end())
    return out


class TextModal(ModalScreen[None]):
    DEFAULT_CSS = """
    TextModal { align: center middle; }
    TextModal > Vertical {
        width: 100%; height: 100%; border: thick $primary; background: $surface; padding: 0 1;
    }
    TextModal .title { text-style: bold; height: auto; }
    TextModal .summary { height: auto; color: $warning; }
    TextModal VerticalScroll { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="modal.close"),
        Binding("j", "scroll(1)", "Down", show=False, id="modal.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="modal.up"),
    ]

    def __init__(self, title: str, text: str, summary: str = "") -> None:
        super().__init__()
        self.text_title = title
        self.text = text
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text_title, classes="title", markup=False)
            if self.summary:
                yield Static(self.summary, classes="summary", markup=False, id="text-summary")
            with VerticalScroll(id="text-scroll"):
                yield Static(highlighted(self.text), id="text-body")

    def on_mount(self) -> None:
        self.query_one("#text-scroll").focus()

    def action_scroll(self, lines: int) -> None:
        scroll = self.query_one("#text-scroll", VerticalScroll)
        scroll.scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)

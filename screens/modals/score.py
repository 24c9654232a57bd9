"""The end of an exercise: the score, and the after-action report (already stored as evidence) to read now."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ScoreModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ScoreModal { align: center middle; }
    ScoreModal > Vertical {
        width: 110; max-width: 100%; height: 90%; border: thick $success; background: $surface; padding: 0 1;
    }
    ScoreModal .title { text-style: bold; height: auto; }
    ScoreModal #score-summary { height: auto; margin-bottom: 1; }
    ScoreModal VerticalScroll { height: 1fr; border-top: solid $panel; }
    """
    BINDINGS = [Binding("escape,q,enter", "close", "Close", id="score.close")]

    def __init__(self, total: int, summary: list[str], evidence_id: str, after_action: str) -> None:
        super().__init__()
        self.total = total
        self.summary = summary
        self.evidence_id = evidence_id
        self.after_action = after_action

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Exercise ended: score {self.total}/100", classes="title", id="score-title")
            yield Static(
                "\n".join([*self.summary, f"after-action report stored as evidence {self.evidence_id} (below)"]),
                markup=False,
                id="score-summary",
            )
            with VerticalScroll():
                yield Static(self.after_action, markup=False, id="after-action")

    def action_close(self) -> None:
        self.dismiss(None)

"""The anchor, large enough to read aloud to the commander or write in the paper log."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class AnchorModal(ModalScreen[None]):
    DEFAULT_CSS = """
    AnchorModal { align: center middle; }
    AnchorModal > Vertical {
        width: 90; max-width: 100%; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    AnchorModal .big { text-style: bold; content-align: center middle; width: 100%; margin: 1 0; }
    AnchorModal .full { color: $text-muted; }
    """
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="modal.close")]

    def __init__(self, incident_id: str, size: int, short: str, full: str, recorded_seq: int) -> None:
        super().__init__()
        self.incident_id, self.tree_size, self.short, self.full, self.recorded_seq = (
            incident_id,
            size,
            short,
            full,
            recorded_seq,
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Anchor for {self.incident_id}: read this aloud and write it down")
            yield Static(f"size {self.tree_size}   root {self.short}", classes="big", id="anchor-big")
            yield Static(
                f"full anchor (for `warroom journal verify --anchor`):\n{self.full}", classes="full", markup=False
            )
            yield Static(f"recorded in the journal as entry #{self.recorded_seq}")

    def action_close(self) -> None:
        self.dismiss(None)

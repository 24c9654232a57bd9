"""Read-only view of one record (inventory row, countdown rule, journal entry): every field, nothing hidden."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def render_record(record: dict[str, Any]) -> str:
    lines: list[str] = []
    for key, value in record.items():
        if isinstance(value, dict | list):
            text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
            lines.append(f"{key}:")
            lines.extend("  " + line for line in text.splitlines())
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


class DetailModal(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailModal { align: center middle; }
    DetailModal > Vertical {
        width: 100; max-width: 100%; height: 80%; border: thick $primary; background: $surface; padding: 0 1;
    }
    DetailModal .title { text-style: bold; height: auto; }
    DetailModal VerticalScroll { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q,enter", "close", "Close", id="modal.close")]

    def __init__(self, title: str, record: dict[str, Any]) -> None:
        super().__init__()
        self.detail_title = title
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.detail_title, classes="title")
            with VerticalScroll():
                yield Static(render_record(self.record), markup=False, id="detail-body")

    def action_close(self) -> None:
        self.dismiss(None)

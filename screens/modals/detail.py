"""Read-only view of one record (inventory row, countdown rule, journal entry): every field, nothing hidden."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def words(value: Any) -> str:
    """A value on one line for a person: `key value, key value`; lists joined; no braces or quotes."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {words(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(words(v) for v in value) or "none"
    return "-" if value is None or value == "" else str(value)


def _lines(key: str, value: Any, indent: str) -> list[str]:
    if isinstance(value, dict) and value:
        out = [f"{indent}{key}:"]
        for k, v in value.items():
            out += _lines(str(k), v, indent + "  ")
        return out
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        out = [f"{indent}{key}:"]
        for i, v in enumerate(value, 1):
            out += _lines(f"{i}.", v, indent + "  ")
        return out
    return [f"{indent}{key}: {words(value)}"]


def render_record(record: dict[str, Any]) -> str:
    """Every field of a record, nested ones indented under their name (read, not parsed: no JSON)."""
    lines: list[str] = []
    for key, value in record.items():
        lines += _lines(str(key), value, "")
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

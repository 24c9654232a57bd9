"""Every key (as remapped by the keymap) and every palette command, on one screen."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_label(keys: str) -> str:
    names = {"question_mark": "?", "slash": "/", "space": "space", "plus": "+", "minus": "-", "equals_sign": "="}
    return ", ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 110; max-width: 100%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen VerticalScroll { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="modal.close")]

    def __init__(
        self, bindings: Iterable[Binding], keymap: dict[str, str], commands: Iterable[tuple[str, str]], config_path: str
    ) -> None:
        super().__init__()
        self.bindings_list = list(bindings)
        self.keymap = keymap
        self.commands = list(commands)
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        keys = Table(title="Keys", expand=True, show_edge=False)
        keys.add_column("key", no_wrap=True)
        keys.add_column("does")
        keys.add_column("id (remap in config)", style="dim", no_wrap=True)
        for b in self.bindings_list:
            bound = self.keymap.get(b.id or "", b.key)
            keys.add_row(key_label(bound), b.tooltip or b.description, b.id or "")
        keys.add_row("ctrl+p", "Command palette: every action by name", "")
        cmds = Table(title="Command palette (ctrl+p)", expand=True, show_edge=False)
        cmds.add_column("command", no_wrap=True)
        cmds.add_column("does")
        for name, text in self.commands:
            cmds.add_row(name, text)
        with Vertical(), VerticalScroll():
            yield Static(keys)
            yield Static(cmds)
            yield Static(
                f'Remap keys in {self.config_path}:\n  [console.keymap]\n  checklist.tick = "space,x"',
                markup=False,
            )

    def action_close(self) -> None:
        self.dismiss(None)

"""The one dialog that changes the org: it shows the plan step by step and applies nothing until the org alias
is typed exactly (a second, deliberate act, so a stray Enter at 3 a.m. cannot revoke anything)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ContainmentModal(ModalScreen[str | None]):
    DEFAULT_CSS = """
    ContainmentModal { align: center middle; }
    ContainmentModal > Vertical {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    ContainmentModal .title { text-style: bold; color: $error; }
    ContainmentModal VerticalScroll { height: auto; max-height: 40vh; border: round $panel; }
    ContainmentModal .warn { color: $warning; }
    ContainmentModal .refused { color: $error; text-style: bold; height: auto; }
    ContainmentModal .buttons { height: auto; align-horizontal: right; }
    ContainmentModal .buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]

    def __init__(self, title: str, steps: list[str], alias: str, warnings: list[str] | None = None) -> None:
        super().__init__()
        self.plan_title = title
        self.steps = steps
        self.alias = alias
        self.warnings = warnings or []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"!! CONTAINMENT: {self.plan_title}", classes="title")
            with VerticalScroll(id="plan-steps"):
                for i, step in enumerate(self.steps, 1):
                    yield Static(f"{i:>2}. {step}")
            for w in self.warnings:
                yield Static(f"! {w}", classes="warn")
            yield Label(f"Type the org alias [b]{self.alias}[/b] to apply (Esc cancels):")
            yield Input(placeholder="org alias", id="alias")
            yield Static("", classes="refused", id="refused")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Apply", variant="error", id="apply")

    def on_mount(self) -> None:
        self.query_one("#alias", Input).focus()

    def _try_apply(self) -> None:
        typed = self.query_one("#alias", Input).value.strip()
        if typed != self.alias:
            self.query_one("#refused", Static).update(
                f"!! '{typed}' is not '{self.alias}': nothing applied" if typed else "type the org alias to apply"
            )
            return
        self.dismiss(typed)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._try_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self._try_apply()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

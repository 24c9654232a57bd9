"""One dialog shape for every small action: a title, a few labelled fields, OK / Cancel.

Dismisses with a dict of field values (strings), or None when cancelled. A caller that can check the values
before any slow work (a fact key, a file that must exist, an indicator file that must parse) passes `check`:
it runs on OK, and what it refuses (a message, or the WarroomError it raises) is shown inside the dialog, which
stays open with everything typed so the responder fixes the one field instead of starting again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from app.base.errors import WarroomError
from app.base.redaction import redact

# Checks the values on OK: None accepts them, a message is shown in the dialog (which stays open).
Check = Callable[[dict[str, str]], str | None]


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    choices: tuple[tuple[str, str], ...] = field(default=())  # (label, value): a Select instead of an Input
    required: bool = False


class FormModal(ModalScreen[dict[str, str] | None]):
    DEFAULT_CSS = """
    FormModal { align: center middle; }
    FormModal > Vertical {
        width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    FormModal .form-title { text-style: bold; margin-bottom: 1; }
    FormModal .form-help { color: $text-muted; margin-bottom: 1; }
    FormModal Label { margin-top: 1; }
    FormModal .form-error { color: $error; text-style: bold; height: auto; margin-top: 1; }
    FormModal .form-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    FormModal .form-buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]

    def __init__(
        self,
        title: str,
        fields: list[FormField],
        help_text: str = "",
        ok_label: str = "OK",
        check: Check | None = None,
        error: str = "",
    ) -> None:
        """`error`: a refusal to show from the start (the dialog opened again after slow work refused its values)."""
        super().__init__()
        self.form_title = title
        self.fields = fields
        self.help_text = help_text
        self.ok_label = ok_label
        self.check = check
        self.error = redact(error)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.form_title, classes="form-title")
            if self.help_text:
                yield Static(self.help_text, classes="form-help")
            for f in self.fields:
                yield Label(f.label + (" *" if f.required else ""))
                if f.choices:
                    initial = f.value if any(v == f.value for _, v in f.choices) else Select.NULL
                    yield Select(
                        list(f.choices),
                        value=initial,
                        allow_blank=not f.required or initial is Select.NULL,
                        id=f"field-{f.name}",
                    )
                else:
                    yield Input(value=f.value, placeholder=f.placeholder, id=f"field-{f.name}")
            yield Static(f"!! {self.error}" if self.error else "", classes="form-error", id="form-error", markup=False)
            with Horizontal(classes="form-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.ok_label, variant="primary", id="ok")

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in self.fields:
            widget = self.query_one(f"#field-{f.name}")
            if isinstance(widget, Select):
                out[f.name] = "" if widget.value is Select.NULL else str(widget.value)
            else:
                assert isinstance(widget, Input)
                out[f.name] = widget.value.strip()
        return out

    def _submit(self) -> None:
        values = self.values()
        missing = [f.label for f in self.fields if f.required and not values[f.name]]
        if missing:
            self.show_error(f"needed: {', '.join(missing)}")
            return
        if self.check is not None:
            try:
                problem = self.check(values)
            except (WarroomError, OSError) as exc:
                problem = str(exc)
            if problem:
                self.show_error(problem)
                return
        self.dismiss(values)

    def show_error(self, message: str) -> None:
        """Say what to fix, in the dialog; nothing typed is lost."""
        self.error = redact(message)
        self.query_one("#form-error", Static).update(f"!! {self.error}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self._submit()
        else:
            self.focus_next()

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Console settings: the keymap and the local time zone, read from the workspace's `config.toml`.

A responder on an odd keyboard or over SSH remaps keys by binding id, e.g.

    [console.keymap]
    checklist.tick = "space,x"
    journal.anchor = "ctrl+a"

The theme picked in the palette ("Change theme") is saved as `[console] theme = "..."` and used at the next
start. `[console] monitor_every_minutes` (default 60) is how often the console runs the monitoring while a
monitoring window is open.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError

from app.base.config import CONFIG_FILE, config_path, load_config, save_config
from app.base.errors import UsageError

__all__ = ["CONFIG_FILE", "ConsoleSettings"]


class ConsoleSettings(BaseModel):
    keymap: dict[str, str] = Field(default_factory=dict)
    local_tz: str | None = None  # IANA name; None = the machine's zone
    org_alias: str = "sim"
    save_view: bool = True  # restore pane, filter and cursor on restart
    theme: str | None = None  # a Textual theme name; None = the default
    monitor_every_minutes: int = Field(default=60, ge=1, le=24 * 60)  # a scheduled monitoring run while open

    def zone(self) -> ZoneInfo | None:
        if not self.local_tz:
            return None
        try:
            return ZoneInfo(self.local_tz)
        except ZoneInfoNotFoundError:
            raise UsageError(f"console.local_tz: unknown time zone {self.local_tz!r}") from None

    @classmethod
    def load(cls, home: Path) -> ConsoleSettings:
        """The `[console]` table of the workspace config (app/base/config.py reads and validates the file)."""
        config = load_config(home)
        console = dict((config.model_extra or {}).get("console") or {})
        console["keymap"] = _flatten(console.get("keymap") or {})
        try:
            return cls.model_validate(console)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UsageError(f"{config_path(home)}: console.{where}: {first['msg']}") from None


def save_theme(home: Path, theme: str) -> Path:
    """Record the console's theme in config.toml (its other settings and tables kept as they are)."""
    config = load_config(home)
    extra = config.model_extra if config.model_extra is not None else {}
    console = dict(extra.get("console") or {})
    if console.get("theme") == theme:
        return config_path(home)
    console["theme"] = theme
    extra["console"] = console
    return save_config(home, config)


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    """`checklist.tick = "x"` unquoted is a nested TOML table; binding ids are flat dotted names."""
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out

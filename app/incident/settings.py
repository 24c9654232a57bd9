"""Incident settings that change how controls work (e.g. "the approver must not be the executor").

They are journaled (`settings.set`) rather than kept in the workspace config: an auditor sampling an action
must be able to see which rule applied at that moment, who switched it and when, from the journal alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError
from app.journal.entries import Entry
from app.journal.registry import Lookup

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Journal

KIND = "settings.set"
NAMESPACE = "settings"
REQUIRE_DISTINCT_APPROVER = "containment.require_distinct_approver"

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    REQUIRE_DISTINCT_APPROVER: Setting(
        REQUIRE_DISTINCT_APPROVER,
        bool,
        False,
        "containment actions run only after `warroom contain approve` by someone other than the executor",
    ),
}


def parse_value(key: str, raw: Any) -> Any:
    setting = SETTINGS.get(key)
    if setting is None:
        raise UsageError(f"unknown setting {key!r}; known: {', '.join(sorted(SETTINGS))}")
    if setting.type is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise UsageError(f"{key} takes on/off (true/false), not {raw!r}")
    return setting.type(raw)


def get_setting(journal: Journal, key: str) -> Any:
    if key not in SETTINGS:
        raise UsageError(f"unknown setting {key!r}")
    current = journal.get_state(NAMESPACE, key)
    return SETTINGS[key].default if current is None else current["value"]


def all_settings(journal: Journal) -> dict[str, dict[str, Any]]:
    """Every known setting with its value and who set it (None for defaults)."""
    state = journal.state(NAMESPACE)
    out: dict[str, dict[str, Any]] = {}
    for key, setting in sorted(SETTINGS.items()):
        cur = state.get(key)
        out[key] = {
            "value": setting.default if cur is None else cur["value"],
            "default": setting.default,
            "set_by": cur["by"] if cur else None,
            "seq": cur["seq"] if cur else None,
            "help": setting.help,
        }
    return out


def set_setting(incident: Incident, key: str, raw: Any, actor: str) -> Entry:
    value = parse_value(key, raw)
    previous = get_setting(incident.journal, key)
    return incident.journal.append(KIND, {"key": key, "value": value, "previous": previous}, actor)


def project(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield (
        NAMESPACE,
        entry.data["key"],
        {"value": entry.data["value"], "by": entry.actor, "seq": entry.seq, "utc": entry.recorded_utc},
    )

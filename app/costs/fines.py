"""Fine ranges per applicable regime, as context for management review: the regimes come from the rules that
apply to the incident (app/deadlines), the figures only from a cited source, never estimated.

A regime's figure comes from app/data/fines.toml (a primary text, its citation and the day it took effect), or
else from the rule table's own notes where a note names a fine or penalty (quoted with that rule's citation and
source). A regime with neither says "no figure in the rule table".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.base.errors import WarroomError
from app.base.tomlfile import load_as

FINES_PATH = Path(__file__).resolve().parent.parent / "data" / "fines.toml"
NO_FIGURE = "no figure in the rule table"
_MENTIONS_FINE = re.compile(r"\b(fines?|penalt(y|ies))\b", re.IGNORECASE)


class FineFileError(WarroomError):
    """The fine table cannot be read or is not valid."""


class FineSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    regime: str
    citation: str
    source: str = Field(pattern=r"^https?://")
    effective_from: date
    covers: str
    maximum: str


class FineFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[1]
    fine: list[FineSource] = []


class FineRange(BaseModel):
    regime: str
    jurisdictions: list[str]
    rules: list[str]  # the applicable rules of the regime
    figure: str  # the range as the source states it, or NO_FIGURE
    citation: str | None = None
    source: str | None = None
    basis: Literal["fine table", "rule table notes", "none"]


def load_fines(path: Path | None = None) -> list[FineSource]:
    _, doc = load_as(path or FINES_PATH, FineFile, FineFileError)
    return doc.fine


def _note_figures(notes: str) -> list[str]:
    """Sentences of a rule's notes that name a fine or penalty with a figure."""
    sentences = re.split(r"(?<=[.;])\s+", notes)
    return [s.strip().rstrip(".;") for s in sentences if _MENTIONS_FINE.search(s) and re.search(r"\d", s)]


def fine_ranges(journal: Any, now: datetime, rules: list[Any] | None = None) -> list[FineRange]:
    """One row per regime with at least one applicable rule, in the rule table's order."""
    from app import deadlines as dl

    rules = rules if rules is not None else dl.load_rules()
    applicable = dl.applicable_rules(
        dl.incident_facts(journal),
        rules,
        dl.incident_overrides(journal),
        dl.incident_notifications(journal),
        now,
    )
    table = {f.regime: f for f in load_fines() if f.effective_from <= now.date()}
    by_regime: dict[str, list[Any]] = {}
    for rule, _reason in applicable:
        by_regime.setdefault(rule.regime, []).append(rule)
    out: list[FineRange] = []
    for regime, members in by_regime.items():
        jurisdictions = list(dict.fromkeys(r.jurisdiction for r in members))
        ids = [r.id for r in members]
        known = table.get(regime)
        if known is not None:
            out.append(
                FineRange(
                    regime=regime,
                    jurisdictions=jurisdictions,
                    rules=ids,
                    figure=f"{known.maximum} ({known.covers})",
                    citation=known.citation,
                    source=known.source,
                    basis="fine table",
                )
            )
            continue
        quoted = next(((r, fig) for r in members for fig in _note_figures(r.notes)), None)
        if quoted is not None:
            rule, figure = quoted
            out.append(
                FineRange(
                    regime=regime,
                    jurisdictions=jurisdictions,
                    rules=ids,
                    figure=figure,
                    citation=rule.citation,
                    source=rule.source,
                    basis="rule table notes",
                )
            )
        else:
            out.append(FineRange(regime=regime, jurisdictions=jurisdictions, rules=ids, figure=NO_FIGURE, basis="none"))
    return out

"""What a responder changes about an incident's clocks, as one function each for every front end: validated,
journaled, and followed by the record of the clocks it started or moved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.base.errors import UsageError
from app.deadlines.engine import record_clocks
from app.deadlines.facts import parse_fact
from app.deadlines.rules import Rule
from app.incident.record import incident_fields


def set_fact(journal: Any, key: str, value: str, actor: str, rules: Sequence[Rule] | None = None) -> Any | None:
    """Validate and journal one `facts.set` (with its previous value); None when the value is unchanged.

    What `warroom facts set KEY VALUE` and exercise injects record. A `detected` or `aware` time taken from the
    incident record is corrected, never cleared. The clocks the change starts or moves are journaled after it
    (`deadline.clock`, see app/deadlines/recorded.py).
    """
    state_key, parsed = parse_fact(key, value, rules)
    previous = journal.get_state("facts", state_key)
    if previous is None and state_key in ("detected", "aware"):
        previous = incident_fields(journal).get(state_key)  # set when the incident was declared
        if parsed is None and previous is not None:
            raise UsageError(
                f"{state_key} comes from the incident record ({previous}); set a corrected time instead of clearing it"
            )
    if previous == parsed:
        return None
    entry = journal.append("facts.set", {"key": state_key, "value": parsed, "previous": previous}, actor)
    record_clocks(journal, actor, rules)
    return entry

"""The response checklist: a TOML runbook validated into pydantic models, with per-incident state in the journal.

The runbook is data (`checklist.toml` at the repo top, shipped as `app/data/checklist.toml`); this module
loads it, says exactly where a broken file is broken (FILE:LINE:COL), and projects `checklist.state`
journal entries into each item's current state, so progress survives restarts and is re-derivable by
`journal verify`.

An organisation's own checklist either stands alone (a complete file) or layers onto another one:

    extends = "builtin"          # or a path relative to this file
    [[items]]                    # a new id adds an item (appended to its phase);
    ...                          # an existing id replaces that item wholesale
    [[overrides]]                # changes only the keys given (controls, if given, is replaced whole)
    id = "contain.block-apps"
    owner = "integration_owner"

`[roles]` and `[[phases]]` merge by key and id the same way (same id replaces, new id appends). The merged
result is validated as one checklist: a dependency may point into the base, and a cycle may span files.

An incident remembers the checklist it follows: the first use records `checklist.source` (path, SHA-256
of every layer) and keeps a copy of each file in the incident directory; a later change of file or
content is recorded again, so the journal always says which runbook each state change referred to.

Layout: `model` (states, durations, the schema and the merged checklist), `loading` (files, layers, problems),
`progress` (an incident's runbook and item states) and `status` (each item against its due time, built whole
or brought up to date). Everything is importable from `app.checklist`.
"""

from __future__ import annotations

from app.checklist.loading import (
    builtin_checklist_path,
    check_checklist,
    load_checklist,
)
from app.checklist.model import (
    BUILTIN,
    CONTAINMENT_ACTIONS,
    EVIDENCE_KINDS,
    NAMESPACE,
    OPEN_STATES,
    SCHEMA_VERSION,
    SOURCE_KIND,
    SOURCE_NAMESPACE,
    STATE_KIND,
    ActionName,
    Checklist,
    ChecklistFile,
    ChecklistInvalid,
    ChecklistProblem,
    ChecklistSource,
    Controls,
    CsfId,
    Duration,
    EvidenceSpec,
    Id,
    Iso2013Id,
    Iso2022Id,
    Item,
    ItemOverride,
    ItemState,
    Phase,
    Soc2Id,
    Text,
    format_duration,
    parse_duration,
    parse_state,
)
from app.checklist.progress import (
    StateChange,
    checklist_status,
    declared_at,
    incident_checklist,
    project_source,
    project_state,
    record_source,
    set_item_state,
    set_state,
    source_record,
    use_checklist,
)
from app.checklist.status import (
    ChecklistStatus,
    ItemStatus,
    PhaseStatus,
    build_status,
    due_marks,
    update_status,
)

__all__ = [
    "BUILTIN",
    "CONTAINMENT_ACTIONS",
    "EVIDENCE_KINDS",
    "NAMESPACE",
    "OPEN_STATES",
    "SCHEMA_VERSION",
    "SOURCE_KIND",
    "SOURCE_NAMESPACE",
    "STATE_KIND",
    "ActionName",
    "Checklist",
    "ChecklistFile",
    "ChecklistInvalid",
    "ChecklistProblem",
    "ChecklistSource",
    "ChecklistStatus",
    "Controls",
    "CsfId",
    "Duration",
    "EvidenceSpec",
    "Id",
    "Iso2013Id",
    "Iso2022Id",
    "Item",
    "ItemOverride",
    "ItemState",
    "ItemStatus",
    "Phase",
    "PhaseStatus",
    "Soc2Id",
    "StateChange",
    "Text",
    "build_status",
    "builtin_checklist_path",
    "check_checklist",
    "checklist_status",
    "declared_at",
    "due_marks",
    "format_duration",
    "incident_checklist",
    "load_checklist",
    "parse_duration",
    "parse_state",
    "project_source",
    "project_state",
    "record_source",
    "set_item_state",
    "set_state",
    "source_record",
    "update_status",
    "use_checklist",
]

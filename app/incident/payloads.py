"""The payload models of the incident's own entries (evidence, custody, checkpoints, anchors).

The journal checks an entry's data against its kind's model before writing it, and `verify` on replay;
registered in app/composition/projections.py.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Payload(BaseModel):
    """Entries may carry more than a model names (older and newer versions); the named fields must hold."""

    model_config = ConfigDict(extra="allow")


class EvidencePayload(_Payload):
    evidence_id: str
    sha256: str
    size: int
    name: str | None = None
    note: str | None = None


class CustodyPayload(_Payload):
    evidence_id: str
    action: str


class CheckpointPayload(_Payload):
    tree_size: int
    root: str
    note: str


class AnchorPayload(_Payload):
    tree_size: int
    root: str

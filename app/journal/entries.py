"""What one journal entry is: its hashed body (`build_body`), the `Entry` every reader gets and the `Head`.

The entry format is shared by the chain that writes it, the verifier that re-derives it and the team merge that
copies it; it lives here so none of them has to import the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.journal.canonical import canonical, jcs
from app.journal.merkle import short_root

__all__ = ["FORMAT_VERSION", "HASH_ALG", "ZERO_HASH", "Entry", "Head", "build_body"]

FORMAT_VERSION = 1
HASH_ALG = "sha256"
ZERO_HASH = bytes(32)


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    entry_id: str
    kind: str
    actor: str
    recorded_utc: str
    data: dict[str, Any]
    entry_hash: str
    prev_hash: str

    @classmethod
    def from_body(cls, body: bytes, entry_hash: bytes) -> Entry:
        return cls.from_doc(json.loads(body), entry_hash)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], entry_hash: bytes) -> Entry:
        return cls(
            seq=doc["seq"],
            entry_id=doc["entry_id"],
            kind=doc["kind"],
            actor=doc["actor"],
            recorded_utc=doc["recorded_utc"],
            data=doc["data"],
            entry_hash=entry_hash.hex(),
            prev_hash=doc["prev"],
        )


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    root: bytes
    head_hash: str

    @property
    def root_hex(self) -> str:
        return self.root.hex()

    @property
    def short(self) -> str:
        return short_root(self.root)

    @property
    def anchor(self) -> str:
        return f"{self.size}:{self.root.hex()}"


def build_body(
    *,
    journal_id: str,
    incident_id: str,
    seq: int,
    prev: bytes,
    entry_id: str,
    kind: str,
    actor: str,
    recorded_utc: str,
    mono_ns: int,
    boot_id: str,
    host: str,
    data: dict[str, Any],
    checked: bool = False,
) -> bytes:
    """The canonical bytes of one entry; `checked` when `data` already passed the float/integer check."""
    return (jcs if checked else canonical)(
        {
            "v": FORMAT_VERSION,
            "journal_id": journal_id,
            "incident_id": incident_id,
            "seq": seq,
            "prev": prev.hex(),
            "entry_id": entry_id,
            "kind": kind,
            "actor": actor,
            "recorded_utc": recorded_utc,
            "mono_ns": str(mono_ns),
            "boot_id": boot_id,
            "host": host,
            "data": data,
        }
    )

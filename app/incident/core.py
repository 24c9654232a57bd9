"""One incident: its journal, its evidence store, and the journaled operations every area shares."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.base.clock import Clock
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.evidence.store import ID_LEN, EvidenceStore, Progress
from app.incident import record
from app.journal.chain import Journal
from app.journal.entries import Entry, Head

CUSTODY_ACTIONS = ("sealed", "transferred", "accessed", "verified", "copied", "returned", "destroyed")


@dataclass
class EvidenceRecord:
    evidence_id: str
    sha256: str
    size: int
    name: str | None
    note: str | None
    seq: int


class EvidenceObserver(Protocol):
    """Told of each evidence file once its acquisition is journaled (derived data, such as the hunt's analysis
    database, follows the evidence this way; the incident knows no area). It must not raise: the evidence is
    already recorded."""

    def evidence_recorded(self, incident: Incident, record: EvidenceRecord) -> None: ...


class Incident:
    def __init__(
        self,
        incident_dir: Path,
        journal: Journal,
        keyring: Any = None,
        *,
        keyring_factory: Callable[[], Any] | None = None,
        observers: Sequence[EvidenceObserver] = (),
    ) -> None:
        self.dir = incident_dir
        self.journal = journal
        self.observers = list(observers)
        self.evidence = EvidenceStore(incident_dir / "evidence")
        self._keyring = keyring
        self._keyring_factory = keyring_factory

    @property
    def keyring(self) -> Any:
        """The keyring backend, resolved on first use (writing a note never needs it)."""
        if self._keyring is None and self._keyring_factory is not None:
            self._keyring = self._keyring_factory()
        return self._keyring

    @keyring.setter
    def keyring(self, value: Any) -> None:
        self._keyring = value

    @property
    def id(self) -> str:
        return self.journal.incident_id

    @property
    def title(self) -> str:
        return record.incident_fields(self.journal).get("title") or self.journal.genesis.get("title", "")

    @property
    def clock(self) -> Clock:
        return self.journal.clock

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> Incident:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- notes and evidence ----------------------------------------------------------------------------

    def note(self, text: str, actor: str) -> Entry:
        if not text.strip():
            raise UsageError("a note needs some text")
        return self.journal.append("note", {"text": text}, actor)

    def add_evidence(
        self,
        path: Path,
        actor: str,
        note: str | None = None,
        progress: Progress | None = None,
        source: dict[str, Any] | None = None,
    ) -> EvidenceRecord:
        """Stream a file into the store, then journal its acquisition (hash, size, source, who, when)."""
        intake = self.evidence.ingest(path, progress)
        origin: dict[str, Any] = {"path": str(path.resolve())} | (source or {})
        if intake.change is not None:
            origin["changed_during_intake"] = intake.change
        try:
            return self._record_evidence(intake.sha256, intake.size, path.name, actor, note, origin)
        except BaseException:
            if intake.fresh:  # nothing refers to the copy: it goes (a failed add leaves the store as it was)
                self.evidence.discard(intake.sha256)
            raise

    def add_evidence_bytes(
        self, data: bytes, name: str, actor: str, note: str | None = None, source: dict[str, Any] | None = None
    ) -> EvidenceRecord:
        sha, size = self.evidence.ingest_bytes(data)
        return self._record_evidence(sha, size, name, actor, note, source or {})

    def _record_evidence(
        self, sha: str, size: int, name: str, actor: str, note: str | None, source: dict[str, Any]
    ) -> EvidenceRecord:
        evidence_id = sha[:ID_LEN]
        data: dict[str, Any] = {
            "evidence_id": evidence_id,
            "sha256": sha,
            "size": size,
            "name": name,
            "source": source,
            "storage_ref": str(self.evidence.path_for(sha).relative_to(self.dir)),
        }
        if note:
            data["note"] = note
        entry = self.journal.append("evidence.acquired", data, actor)
        recorded = EvidenceRecord(evidence_id, sha, size, name, note, entry.seq)
        for observer in self.observers:
            observer.evidence_recorded(self, recorded)
        return recorded

    def clean_leftovers(self, actor: str) -> Entry | None:
        """Remove what killed or failed intakes left in the evidence store, and journal what went."""
        referenced = {v["sha256"] for v in self.journal.state("evidence").values() if v.get("sha256")}
        removed = self.evidence.clean_leftovers(referenced, time.time())  # file ages are wall-clock ages
        if not removed:
            return None
        return self.journal.append(
            "evidence.cleaned",
            {
                "removed": [{"file": name, "size": size} for name, size in removed[:200]],
                "count": len(removed),
                "bytes": sum(size for _, size in removed),
                "reason": "left by an intake that was killed or failed; no journal entry refers to them",
            },
            actor,
        )

    def resolve_evidence(self, ref: str) -> dict[str, Any]:
        """An evidence id or any unique prefix of its SHA-256 (8+ hex digits)."""
        ref = ref.strip().lower()
        items = record.evidence_raw(self.journal)
        if ref in items:
            return {"evidence_id": ref, **items[ref]}
        matches = [k for k, v in items.items() if len(ref) >= 8 and v["sha256"].startswith(ref)]
        if len(matches) == 1:
            return {"evidence_id": matches[0], **items[matches[0]]}
        if matches:
            raise UsageError(f"evidence id {ref!r} is ambiguous")
        raise NotFoundError(f"no evidence {ref!r} in incident {self.id}")

    def custody(
        self,
        evidence_ref: str,
        action: str,
        actor: str,
        *,
        to_party: str | None = None,
        purpose: str | None = None,
        note: str | None = None,
        progress: Progress | None = None,
    ) -> Entry:
        """A custody event; 'verified' and 'accessed' re-hash the stored file (reporting to `progress`) and record
        the result."""
        if action not in CUSTODY_ACTIONS:
            raise UsageError(f"custody action must be one of {', '.join(CUSTODY_ACTIONS)}")
        item = self.resolve_evidence(evidence_ref)
        data: dict[str, Any] = {"evidence_id": item["evidence_id"], "action": action}
        if action in ("verified", "accessed", "copied", "transferred"):
            rehash = self.evidence.rehash(item["sha256"], progress)
            data["rehash_sha256"] = rehash
            data["match"] = rehash == item["sha256"]
        for key, value in (("to_party", to_party), ("purpose", purpose), ("note", note)):
            if value:
                data[key] = value
        return self.journal.append("custody.event", data, actor)

    # -- checkpoints and anchors -------------------------------------------------------------------------

    def checkpoint(self, actor: str, reason: str = "on demand") -> Entry:
        """Sign the current Merkle root (C2SP note) and journal it."""
        from app.journal import signing

        head = self.journal.head()
        named = self.journal.genesis.get("public_key")
        held = signing.held_public_keys(self.journal.journal_id, self.dir, self.keyring)
        key = None if any(public != named for _, public in held) else self._signing_key()
        public = signing.public_hex(key) if key is not None else None
        if key is None or public is None or public != named:
            raise WarroomError(
                f"the key held for {self.dir.name} is not the key its journal's genesis names: the journal may "
                "have been replaced; nothing was signed (`warroom journal verify` examines it)",
                exit_code=1,
            )
        origin = f"warroom/{self.journal.journal_id}"
        note = signing.sign_note(signing.checkpoint_text(origin, head.size, head.root), origin, key)
        data = {"tree_size": head.size, "root": head.root_hex, "note": note, "reason": reason}
        data["key_fingerprint"] = signing.fingerprint(public)
        return self.journal.append("checkpoint", data, actor)

    def _signing_key(self) -> Any:
        from app.journal import signing

        return signing.load_key(self.journal.journal_id, self.dir, self.journal.genesis["key_store"], self.keyring)

    def anchor(self, actor: str, method: str = "read aloud / written down") -> tuple[Head, Entry]:
        """Record that the current size and root were taken somewhere else."""
        head = self.journal.head()
        entry = self.journal.append(
            "anchor.made", {"tree_size": head.size, "root": head.root_hex, "method": method}, actor
        )
        return head, entry

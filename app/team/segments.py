"""Segment files: a run of one origin's journal entries, signed by that origin's key, that only ever extends it.

A segment carries the exact entry bodies (seq `first` to `last`), the entry hash it follows, the chain head
after it (size, RFC 6962 root, head hash) also as a C2SP signed checkpoint note, what the origin had received
from the others by then (`seen`), and an Ed25519 signature by the origin's key over all of that (RFC 8785
bytes of the document without its `signature`). Importing one checks, in order: the incident, the origin, the
key (the origin's genesis key, listed by the commander), the signature, that it starts right after what arrived
before (a gap, or an overlap that differs, is refused), every hash link, and the head. A refusal names the origin
and the first seq concerned; nothing already imported is ever changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.journal import signing
from app.journal.chain import ZERO_HASH, Journal, jcs
from app.journal.merkle import Frontier, leaf_hash
from app.team.store import Stored

FORMAT = "warroom-segment/1"
SEGMENT_DIR = "segments"
BLOB_DIR = "blobs"
MAX_SEGMENT_BYTES = 256 * 1024 * 1024
MAX_BLOB_BYTES = 4 * 1024 * 1024  # evidence files up to this size travel with their segment (plans, results)


class SegmentRejected(Exception):
    """A segment that does not extend its origin's chain: tampering (or a copy gone wrong), never imported."""

    def __init__(self, origin: str, seq: int, reason: str, detail: str) -> None:
        super().__init__(f"origin {origin} seq {seq}: {reason}: {detail}")
        self.origin, self.seq, self.reason, self.detail = origin, seq, reason, detail


@dataclass
class Segment:
    name: str
    raw: bytes
    first: int
    last: int
    blobs: list[str] = field(default_factory=list)  # evidence SHA-256s its entries refer to, small enough to carry


@dataclass
class Checked:
    """What a checked segment adds: the new entries (an identical overlap is dropped) and its `seen` list."""

    first: int
    last: int
    entries: list[Stored]
    seen: list[tuple[int, dict[str, int]]]
    public_key: str
    blobs: list[str]


def segment_name(first: int, last: int) -> str:
    return f"{SEGMENT_DIR}/{first:010d}-{last:010d}.json"


def origin_label(origin: str) -> str:
    return f"warroom/{origin}"


def _unsigned(doc: dict[str, Any]) -> bytes:
    return jcs({k: v for k, v in doc.items() if k != "signature"})


def build_segment(
    journal: Journal,
    key: Ed25519PrivateKey,
    since: int,
    seen: list[tuple[int, dict[str, int]]],
) -> Segment | None:
    """The segment of this laptop's entries after seq `since` (None when there are none), signed with `key`."""
    conn = journal.connection
    head = Journal.head(journal)
    if head.size <= since:
        return None
    prev = ZERO_HASH
    if since:
        prev = conn.execute("SELECT entry_hash FROM entries WHERE seq = ?", (since,)).fetchone()[0]
    rows = conn.execute(
        "SELECT body, kind FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq", (since, head.size)
    ).fetchall()
    blobs: list[str] = []
    for body, kind in rows:
        if kind == "evidence.acquired":
            data = json.loads(body)["data"]
            if int(data.get("size", MAX_BLOB_BYTES + 1)) <= MAX_BLOB_BYTES:
                blobs.append(str(data["sha256"]))
    first, last = since + 1, head.size
    origin = journal.journal_id
    public = signing.public_hex(key)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "incident_id": journal.incident_id,
        "origin": origin,
        "public_key": public,
        "first": first,
        "last": last,
        "prev": prev.hex(),
        "entries": [bytes(body).decode("utf-8") for body, _ in rows],
        "head": {"size": head.size, "root": head.root_hex, "head_hash": head.head_hash},
        "seen": [{"at": at, "heads": heads} for at, heads in seen if first - 1 <= at < last],
        "note": signing.sign_note(
            signing.checkpoint_text(origin_label(origin), head.size, head.root), origin_label(origin), key
        ),
    }
    doc["signature"] = base64.b64encode(key.sign(_unsigned(doc))).decode()
    return Segment(segment_name(first, last), jcs(doc), first, last, blobs)


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse(raw: bytes, origin: str, name: str) -> dict[str, Any]:
    """The segment document, or a refusal naming the origin and the seq its file name claims."""
    claimed = _claimed_first(name)
    if len(raw) > MAX_SEGMENT_BYTES:
        raise SegmentRejected(origin, claimed, "unreadable", f"{name} is larger than {MAX_SEGMENT_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SegmentRejected(origin, claimed, "unreadable", f"{name} is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SegmentRejected(origin, claimed, "unreadable", f"{name} is not a {FORMAT} segment")
    for key, kind in (("first", int), ("last", int), ("entries", list), ("head", dict), ("public_key", str)):
        if not isinstance(doc.get(key), kind):
            raise SegmentRejected(origin, claimed, "unreadable", f"{name}: {key} is missing or not a {kind.__name__}")
    return doc


def _claimed_first(name: str) -> int:
    stem = name.rsplit("/", 1)[-1].split("-", 1)[0]
    return int(stem) if stem.isdigit() else 0


def check_segment(
    doc: dict[str, Any],
    *,
    origin: str,
    name: str,
    incident_id: str,
    known: list[bytes],
    genesis_key: str | None,
    listed: Callable[[str], bool],
) -> Checked:
    """Check a parsed segment against the `known` entry hashes of its origin (seq 1..len(known)).

    `genesis_key` is the key the origin's genesis names (None while nothing of it arrived); `listed` says whether
    the commander lists a key. Raises SegmentRejected naming the origin and the first seq concerned.
    """
    first, last = int(doc["first"]), int(doc["last"])

    def refuse(seq: int, reason: str, detail: str) -> SegmentRejected:
        return SegmentRejected(origin, seq, reason, f"{name}: {detail}")

    if doc.get("incident_id") != incident_id:
        raise refuse(first, "foreign incident", f"it belongs to incident {doc.get('incident_id')!r}")
    if doc.get("origin") != origin:
        raise refuse(first, "wrong origin", f"it names origin {doc.get('origin')!r} but sits in {origin}'s branch")
    public = str(doc["public_key"])
    if genesis_key is not None and public != genesis_key:
        raise refuse(
            first,
            "key changed",
            f"signed by {signing.fingerprint(public)}, the origin's genesis names {signing.fingerprint(genesis_key)}",
        )
    if not listed(public):
        raise refuse(
            first, "unknown key", f"key {signing.fingerprint(public)} is not in the commander's responder list"
        )
    try:
        verifier = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
        verifier.verify(base64.b64decode(str(doc.get("signature", ""))), _unsigned(doc))
    except (InvalidSignature, ValueError):
        raise refuse(first, "bad signature", "the segment's signature does not verify with the origin's key") from None
    bodies = [str(b).encode("utf-8") for b in doc["entries"]]
    if first < 1 or last != first + len(bodies) - 1:
        raise refuse(first, "unreadable", f"claims seq {first}..{last} but carries {len(bodies)} entries")
    have = len(known)
    if first > have + 1:
        raise refuse(
            have + 1,
            "gap",
            f"starts at seq {first}, but seq {have + 1}..{first - 1} never arrived (a segment was removed or withheld)",
        )
    for i, body in enumerate(bodies):  # an overlap with what arrived before must be identical
        seq = first + i
        if seq <= have and leaf_hash(body) != known[seq - 1]:
            raise refuse(seq, "changed entry", f"seq {seq} differs from the entry imported before (a fork)")
    prev = known[first - 2] if first > 1 else ZERO_HASH
    if str(doc.get("prev")) != prev.hex():
        raise refuse(first, "broken chain", "its prev hash is not the hash of the entry before it")
    frontier = Frontier()
    for h in known[: first - 1]:
        frontier.append(h)
    new: list[Stored] = []
    for i, body in enumerate(bodies):
        seq = first + i
        try:
            entry_doc = json.loads(body)
        except json.JSONDecodeError:
            raise refuse(seq, "broken chain", "an entry body is not JSON") from None
        if jcs(entry_doc) != body:
            raise refuse(seq, "broken chain", "an entry body is not in canonical form")
        if entry_doc.get("seq") != seq or entry_doc.get("prev") != prev.hex():
            raise refuse(seq, "broken chain", "the entry does not link to the one before it")
        if entry_doc.get("journal_id") != origin or entry_doc.get("incident_id") != incident_id:
            raise refuse(seq, "broken chain", "the entry belongs to another journal or incident")
        if seq == 1 and (entry_doc.get("kind") != "genesis" or entry_doc["data"].get("public_key") != public):
            raise refuse(seq, "key changed", "the origin's genesis does not name the key that signed the segment")
        prev = leaf_hash(body)
        frontier.append(prev)
        if seq > have:
            new.append(Stored(origin, seq, body, prev))
    head = doc["head"]
    root = frontier.root()
    if (head.get("size"), head.get("root"), head.get("head_hash")) != (last, root.hex(), prev.hex()):
        raise refuse(last, "head mismatch", "the signed head is not the head its entries make")
    label = origin_label(origin)
    note = str(doc.get("note", ""))
    if not note.startswith(signing.checkpoint_text(label, last, root)) or not signing.verify_note(note, label, public):
        raise refuse(last, "bad signature", "the checkpoint note does not verify for the head")
    seen = [(int(s["at"]), {str(k): int(v) for k, v in s["heads"].items()}) for s in doc.get("seen", [])]
    blobs = []
    for stored in new:
        entry_doc = json.loads(stored.body)
        if entry_doc.get("kind") == "evidence.acquired":
            blobs.append(str(entry_doc["data"].get("sha256")))
    return Checked(first, last, new, seen, public, blobs)

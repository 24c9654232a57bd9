"""The merged view of a team incident: every origin's entries in one time order, replayed into derived state.

Order: by recorded time (parsed, to the microsecond), ties by the origin's public key, each origin's own entries
always in their seq order (a k-way merge), so every laptop holding the same chains derives the same order,
state and Merkle root. In the view an entry's `seq` is its position in that order; `placed(seq)` names its
origin, the responder and the origin's own seq.

Concurrent changes: for the kinds that set a value (a checklist item's state, a fact, an incident field, a
setting) the later recorded change wins, as the order makes it; when the loser's origin had not yet received
the winner's (or the reverse: what each origin had received is in its segments' `seen` lists), the two are
kept as a conflict, shown beside the state. Entries about a chain itself (genesis, checkpoint, anchor) are
replayed only from the origin they belong to; responders only from the commander's chain.

`TeamJournal` is the journal the workspace opens for a team incident: it writes to this laptop's chain as
before and reads through the merged view.
"""

from __future__ import annotations

import heapq
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.base.clock import parse_instant
from app.journal.chain import Entry, Journal, jcs
from app.journal.merkle import Frontier
from app.team import roster
from app.team.store import STORE_FILE, open_store

# The kinds that set a value, and the field of the entry that says what it was set to (None: the value itself, as
# projected: a fact, an incident field). Two concurrent changes saying the same thing are no conflict.
CONFLICT_KINDS: dict[str, str | None] = {
    "checklist.state": "state",
    "facts.set": None,
    "incident.update": None,
    "settings.set": "value",
    "deadline.override": "action",
}
COMMANDER_ONLY = frozenset({roster.RESPONDER, "genesis"})
OWN_CHAIN_ONLY = frozenset({"checkpoint", "anchor.made"})
INCIDENT_FACTS = ("title", "demo")  # what a joined laptop's genesis takes from the commander's


@dataclass(frozen=True, slots=True)
class Placed:
    """Where an entry of the merged view comes from."""

    pos: int
    origin: str
    origin_seq: int
    public_key: str
    local: bool


@dataclass
class Side:
    origin: str
    responder: str | None
    seq: int
    pos: int
    recorded_utc: str
    value: Any


@dataclass
class Conflict:
    """Two origins set the same thing without either having seen the other's change: the later one won."""

    ns: str
    key: str
    winner: Side
    loser: Side


@dataclass
class _Source:
    origin: str
    public_key: str
    local: bool
    rows: list[tuple[int, bytes, bytes]]  # (origin seq, body, entry hash)
    seen: list[tuple[int, dict[str, int]]]


def order_key(recorded_utc: str) -> str:
    """A recorded time as a sortable string to the microsecond (RFC 3339 text alone does not sort)."""
    try:
        return parse_instant(recorded_utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:
        return recorded_utc


@dataclass
class MergedView:
    entries: list[Entry] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)
    state: dict[str, dict[str, str]] = field(default_factory=dict)  # ns -> key -> canonical JSON
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    frontier: Frontier = field(default_factory=Frontier)
    last_key: tuple[str, str, int] = ("", "", 0)
    names: dict[str, str] = field(default_factory=dict)  # public key -> responder name


class _Replay:
    """Feeds entries in merged order into the projector registry, tracking writers for conflicts."""

    def __init__(self, journal: Journal, view: MergedView, sources: list[_Source], commander: str) -> None:
        self.journal = journal
        self.view = view
        self.commander = commander
        self.seen = {s.origin: s.seen for s in sources}
        self.key_of = {s.origin: s.public_key for s in sources}
        self.writers: dict[tuple[str, str], tuple[str, int, int, str, Any]] = {}

    def knows(self, origin: str, seq: int, other: str) -> int:
        """Up to which seq `origin` had received `other` when it wrote its entry `seq`."""
        return max((int(heads.get(other, 0)) for at, heads in self.seen.get(origin, ()) if at < seq), default=0)

    def feed(self, source: _Source, oseq: int, body: bytes, entry_hash: bytes) -> None:
        view = self.view
        doc = json.loads(body)
        pos = len(view.entries) + 1
        entry = Entry(
            seq=pos,
            entry_id=doc["entry_id"],
            kind=doc["kind"],
            actor=doc["actor"],
            recorded_utc=doc["recorded_utc"],
            data=doc["data"],
            entry_hash=entry_hash.hex(),
            prev_hash=doc["prev"],
        )
        view.entries.append(entry)
        view.placed.append(Placed(pos, source.origin, oseq, source.public_key, source.local))
        view.frontier.append(entry_hash)
        view.last_key = (order_key(entry.recorded_utc), source.public_key, oseq)
        if entry.kind in COMMANDER_ONLY and source.public_key != self.commander:
            if entry.kind != "genesis":
                view.problems.append(
                    f"origin {source.origin[:8]} seq {oseq}: {entry.kind} from a responder other than the "
                    "commander; ignored"
                )
            return
        if entry.kind in OWN_CHAIN_ONLY and not source.local:
            return
        try:
            self.journal.registry.check_payload(entry)
            changes = list(self.journal.registry.project(entry, self.get))
        except Exception as exc:  # an entry another origin signed but this software cannot replay
            view.problems.append(f"origin {source.origin[:8]} seq {oseq}: {entry.kind} not replayed ({exc})")
            return
        for ns, key, value in changes:
            self.put(ns, key, value, entry, source, oseq)
        if entry.kind == roster.RESPONDER:
            view.names[str(entry.data["public_key"])] = str(entry.data["name"])

    def get(self, ns: str, key: str) -> Any:
        raw = self.view.state.get(ns, {}).get(key)
        return json.loads(raw) if raw is not None else None

    def put(self, ns: str, key: str, value: Any, entry: Entry, source: _Source, oseq: int) -> None:
        bucket = self.view.state.setdefault(ns, {})
        text = jcs(value).decode() if value is not None else None
        if entry.kind in CONFLICT_KINDS:
            field_ = CONFLICT_KINDS[entry.kind]
            said = entry.data.get(field_) if field_ else value
            previous = self.writers.get((ns, key))
            if previous is not None:
                p_origin, p_seq, p_pos, p_time, p_said = previous
                if p_origin != source.origin and p_said != said and p_seq > self.knows(source.origin, oseq, p_origin):
                    self.view.conflicts.append(
                        Conflict(
                            ns,
                            key,
                            Side(source.origin, None, oseq, entry.seq, entry.recorded_utc, said),
                            Side(p_origin, None, p_seq, p_pos, p_time, p_said),
                        )
                    )
            self.writers[(ns, key)] = (source.origin, oseq, entry.seq, entry.recorded_utc, said)
        if text is None:
            bucket.pop(key, None)
        else:
            bucket[key] = text


def _sources(journal: Journal) -> list[_Source]:
    conn = journal.connection
    local_rows = [
        (seq, bytes(body), bytes(h))
        for seq, body, h in conn.execute("SELECT seq, body, entry_hash FROM entries ORDER BY seq")
    ]
    with open_store(journal.path.parent / roster.TEAM_DIR) as store:
        me = journal.journal_id
        sources = [_Source(me, roster.own_key(journal), True, local_rows, store.seen(me))]
        for origin in store.origins():
            rows = [(s.seq, s.body, s.entry_hash) for s in store.entries(origin)]
            key = str(json.loads(rows[0][1])["data"].get("public_key", "")) if rows else ""
            sources.append(_Source(origin, key, False, rows, store.seen(origin)))
    return sources


def build_view(journal: Journal) -> MergedView:
    sources = _sources(journal)
    view = MergedView()
    replay = _Replay(journal, view, sources, roster.commander_key(journal))

    def keyed(source: _Source) -> Iterator[tuple[str, str, int, int, _Source, bytes, bytes]]:
        for oseq, body, h in source.rows:
            recorded = json.loads(body)["recorded_utc"]
            yield order_key(recorded), source.public_key, oseq, id(source), source, body, h

    for _t, _k, oseq, _i, source, body, h in heapq.merge(*(keyed(s) for s in sources), key=lambda t: t[:3]):
        replay.feed(source, oseq, body, h)
    for conflict in view.conflicts:
        for side in (conflict.winner, conflict.loser):
            side.responder = view.names.get(replay.key_of.get(side.origin, ""))
    return view


class TeamJournal(Journal):
    """This laptop's journal for a team incident: appends go to its own chain, reads see the merged view."""

    _own_genesis: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._view: MergedView | None = None
        self._view_lock = threading.RLock()
        self._view_stamp: tuple[int, int, int] = (0, 0, 0)
        self._commander_genesis: dict[str, Any] | None = None
        super().__init__(*args, **kwargs)

    @property
    def genesis(self) -> dict[str, Any]:
        """This chain's genesis, with what describes the incident itself (title, demo) from the commander's:
        the keys (public key, key store, team) stay this laptop's own."""
        own = self._own_genesis
        commander = (own.get("team") or {}).get("commander_key")
        if not commander:
            return own
        if self._commander_genesis is None:
            with open_store(self.path.parent / roster.TEAM_DIR) as store:
                for origin in store.origins():
                    data = json.loads(store.entries(origin)[0].body)["data"]
                    if data.get("public_key") == commander:
                        self._commander_genesis = data
                        break
        found = self._commander_genesis or {}
        return {**own, **{k: found[k] for k in INCIDENT_FACTS if k in found}}

    @genesis.setter
    def genesis(self, value: dict[str, Any]) -> None:
        self._own_genesis = value

    def _merged(self) -> MergedView:
        with self._view_lock:
            stamp = self._stamp()
            if self._view is None or stamp != self._view_stamp:
                self._view = build_view(self)
                self._view_stamp = stamp
            return self._view

    def _stamp(self) -> tuple[int, int, int]:
        """What the view was built from: this chain's size and the team store's files (another process, a
        `warroom sync` in another terminal, changes them; the next read then replays again)."""
        store = self.path.parent / roster.TEAM_DIR / STORE_FILE
        times = []
        for suffix in ("", "-wal"):
            try:
                times.append(os.stat(f"{store}{suffix}").st_mtime_ns)
            except OSError:
                times.append(0)
        with self._lock:
            size = self.connection.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0]
        return int(size), times[0], times[1]

    def invalidate(self) -> None:
        """Forget the merged view (after an import); the next read replays the union again."""
        self._view = None

    # -- writing: this laptop's chain, then the view ---------------------------------------------------------

    def append_many(self, items: Iterable[tuple[str, dict[str, Any], str]]) -> list[Entry]:
        written = super().append_many(items)
        with self._view_lock:
            view = self._view
            if view is None:
                return written
            own = roster.own_key(self)
            current = self._view_stamp == (written[0].seq - 1, *self._stamp()[1:])  # nothing else moved since
            if current and all((order_key(e.recorded_utc), own, e.seq) > view.last_key for e in written):
                # the common case: this laptop's new entries come last in the merged order; apply them on top
                source = _Source(self.journal_id, own, True, [], [])
                replay = _Replay(self, view, [source], roster.commander_key(self))
                for e in written:
                    with self._lock:
                        row = self.connection.execute("SELECT body, entry_hash FROM entries WHERE seq = ?", (e.seq,))
                        body, h = row.fetchone()
                    replay.feed(source, e.seq, bytes(body), bytes(h))
                self._view_stamp = self._stamp()
                return view.entries[-len(written) :]
            self._view = None
            view = self._merged()
            at = {p.origin_seq: p.pos for p in view.placed if p.local}
            return [view.entries[at[e.seq] - 1] for e in written]

    # -- reading: the merged view ----------------------------------------------------------------------------

    def state(self, ns: str) -> dict[str, Any]:
        bucket = self._merged().state.get(ns, {})
        return {key: json.loads(bucket[key]) for key in sorted(bucket)}

    def get_state(self, ns: str, key: str) -> Any:
        raw = self._merged().state.get(ns, {}).get(key)
        return json.loads(raw) if raw is not None else None

    def entries(self, kind: str | None = None, prefix: str | None = None, since: int = 0) -> Iterator[Entry]:
        for entry in self._merged().entries[since:]:
            if kind and entry.kind != kind:
                continue
            if not kind and prefix and not entry.kind.startswith(prefix):
                continue
            yield entry

    def entry(self, seq: int) -> Entry | None:
        entries = self._merged().entries
        return entries[seq - 1] if 0 < seq <= len(entries) else None

    def last(self, kind: str) -> Entry | None:
        return next((e for e in reversed(self._merged().entries) if e.kind == kind), None)

    # -- what only the merged view has -----------------------------------------------------------------------

    def placed(self, seq: int) -> Placed | None:
        placed = self._merged().placed
        return placed[seq - 1] if 0 < seq <= len(placed) else None

    def origin_name(self, seq: int) -> str:
        """The responder an entry of the view comes from (their origin id's start when not listed)."""
        where = self.placed(seq)
        if where is None:
            return ""
        return self._merged().names.get(where.public_key) or f"?{where.origin[:8]}"

    def origin_names(self) -> list[str]:
        """The responders whose entries the view holds (an unlisted origin by its id's start)."""
        view = self._merged()
        keys = dict.fromkeys(p.public_key for p in view.placed)
        return [view.names.get(k) or f"?{k[:8]}" for k in keys]

    def conflicts(self) -> list[Conflict]:
        return list(self._merged().conflicts)

    def problems(self) -> list[str]:
        return list(self._merged().problems)

    def merged_head(self) -> tuple[int, bytes]:
        """Size and RFC 6962 root of the merged order: equal on every laptop holding the same chains."""
        view = self._merged()
        return len(view.entries), view.frontier.root()


def origin_of(journal: Journal, seq: int) -> tuple[str, Placed] | None:
    """(responder name, placement) of entry `seq` in a team incident's merged view; None for a single journal."""
    if not isinstance(journal, TeamJournal):
        return None
    where = journal.placed(seq)
    return (journal.origin_name(seq), where) if where is not None else None


def view_size(journal: Journal) -> int:
    """How many entries a reader of `journal` sees: the merged view's size in a team incident, else the chain's."""
    return journal.merged_head()[0] if isinstance(journal, TeamJournal) else journal.head().size

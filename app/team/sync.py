"""`warroom sync`: this laptop's new entries out as a signed segment, the others' in, through git or a bundle.

One run: fetch every origin branch from the bundle and/or the remote into an incoming area; import each new
segment that extends its origin's chain (the commander's first, so the responder list is known); journal every
refusal once as tampering (`team.rejected`, naming origin and seq); then write this laptop's entries since its
last segment as a new segment on its own branch, push that branch (never forced) and, if asked, write a bundle
of every branch held here for an offline hand-over. What arrived is never changed afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError
from app.journal import signing
from app.journal.chain import Journal
from app.team import roster
from app.team.gitrepo import BRANCHES, GitError, TeamRepo
from app.team.segments import BLOB_DIR, SEGMENT_DIR, SegmentRejected, build_segment, check_segment, digest, parse
from app.team.store import OriginStore, open_store

if TYPE_CHECKING:
    from app.incident.core import Incident

GIT_DIR = "git"


@dataclass
class Rejection:
    origin: str
    seq: int
    reason: str
    detail: str
    responder: str | None = None

    def line(self) -> str:
        who = f"{self.responder} " if self.responder else ""
        return f"TAMPERING: origin {who}({self.origin[:8]}) seq {self.seq}: {self.reason}: {self.detail}"


@dataclass
class SyncReport:
    incident: str
    origin: str
    exported: tuple[int, int] | None = None
    received: dict[str, int] = field(default_factory=dict)  # origin -> new entries imported
    rejected: list[Rejection] = field(default_factory=list)
    pushed_to: str | None = None
    bundle_out: str | None = None
    sources: list[str] = field(default_factory=list)

    def model_dump(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "origin": self.origin,
            "exported": list(self.exported) if self.exported else None,
            "received": self.received,
            "rejected": [r.__dict__ for r in self.rejected],
            "pushed_to": self.pushed_to,
            "bundle_out": self.bundle_out,
            "sources": self.sources,
        }


def team_repo(incident_dir: Path) -> TeamRepo:
    return TeamRepo(incident_dir / roster.TEAM_DIR / GIT_DIR).ensure()


def sync(
    incident: Incident,
    actor: str,
    *,
    remote: str | None = None,
    bundle_in: Path | None = None,
    bundle_out: Path | None = None,
) -> SyncReport:
    """Exchange segments with `remote` (or the incident's configured remote) and/or bundle files."""
    journal = incident.journal
    url = remote.strip() if remote else roster.remote_url(journal)
    if not url and bundle_in is None and bundle_out is None:
        raise UsageError(
            "no remote for this incident: give one (`warroom sync /media/usb/war.git`, a path to a bare "
            "repository or a git URL), or hand over with --bundle-out FILE / --bundle-in FILE"
        )
    if bundle_in is not None and not bundle_in.is_file():
        raise UsageError(f"{bundle_in}: no such bundle file")
    roster.enable_team(incident.dir)
    repo = team_repo(incident.dir)
    me = journal.journal_id
    report = SyncReport(incident=incident.id, origin=me)
    if remote and url != roster.remote_url(journal):
        journal.append(roster.REMOTE, {"url": url}, actor)
    with open_store(incident.dir / roster.TEAM_DIR) as store:
        for source, label in ((bundle_in, "bundle"), (url, "remote")):
            if source is None:
                continue
            if label == "bundle":
                repo.bundle_verify(Path(source))
            incoming = repo.fetch(str(source))
            report.sources.append(str(source))
            _import_all(incident, repo, store, incoming, report)
        _journal_rejections(incident, store, report, actor)
        if report.received:
            heads = {origin: store.last(origin)[0] for origin in store.origins()}
            store.note_seen(me, journal.head().size, heads)
        report.exported = _export(incident, repo, store, actor)
    if url:
        try:
            repo.push(url, me)
        except GitError as exc:
            raise GitError(
                f"{exc}. The remote refused this laptop's branch: it holds something this laptop never wrote "
                f"there (a rewrite of origins/{me[:8]}…); `warroom journal verify` checks this journal"
            ) from None
        report.pushed_to = url
    if bundle_out is not None:
        repo.bundle_create(bundle_out)
        report.bundle_out = str(bundle_out)
    refresh = getattr(journal, "invalidate", None)
    if refresh is not None:
        refresh()
    return report


# -- export -------------------------------------------------------------------------------------------------------


def _export(incident: Incident, repo: TeamRepo, store: OriginStore, actor: str) -> tuple[int, int] | None:
    journal = incident.journal
    me = journal.journal_id
    mine = repo.refs(BRANCHES).get(me)
    since = 0
    if mine:
        lasts = [int(p.rsplit("-", 1)[1].split(".")[0]) for p in repo.files(mine) if p.startswith(SEGMENT_DIR + "/")]
        since = max(lasts, default=0)
    key = signing.load_key(me, incident.dir, journal.genesis["key_store"], incident.keyring)
    if signing.public_hex(key) != roster.own_key(journal):
        raise UsageError("the key held for this incident is not the key its journal's genesis names; nothing sent")
    segment = build_segment(journal, key, since, store.seen(me))
    if segment is None:
        return None
    files = {segment.name: segment.raw}
    for sha in segment.blobs:
        path = incident.evidence.path_for(sha)
        if path.is_file():
            files[f"{BLOB_DIR}/{sha}"] = path.read_bytes()
    existing = repo.files(mine) if mine else {}
    files = {p: data for p, data in files.items() if p not in existing}  # a blob already carried stays as it is
    who = roster.responder_name(journal, roster.own_key(journal)) or actor
    repo.add_files(me, files, f"{journal.incident_id} origin {me} seq {segment.first}..{segment.last}", who)
    return segment.first, segment.last


# -- import -------------------------------------------------------------------------------------------------------


def _listed(incident: Incident, store: OriginStore) -> set[str]:
    """The keys the commander lists (and the commander's own), from the commander's chain as it stands here."""
    journal = incident.journal
    commander = roster.commander_key(journal)
    keys = {commander}
    if roster.is_commander(journal):
        bodies = [
            row[0] for row in journal.connection.execute("SELECT body FROM entries WHERE kind = ?", (roster.RESPONDER,))
        ]
    else:
        bodies = []
        for origin in store.origins():
            stored = store.entries(origin)
            if stored and json.loads(stored[0].body)["data"].get("public_key") == commander:
                bodies = [s.body for s in stored]
                break
    for body in bodies:
        doc = json.loads(body)
        if doc["kind"] == roster.RESPONDER:
            keys.add(str(doc["data"]["public_key"]))
    return keys


def genesis_key(store: OriginStore, origin: str) -> str | None:
    first = store.entries(origin)[:1]
    return str(json.loads(first[0].body)["data"].get("public_key")) if first else None


def _import_all(
    incident: Incident, repo: TeamRepo, store: OriginStore, incoming: dict[str, str], report: SyncReport
) -> None:
    me = incident.journal.journal_id
    pending = {o: c for o, c in incoming.items() if o != me}
    if me in incoming:
        _check_own(repo, me, incoming[me], report)
    while pending:  # again while something arrives: the commander's list may name a key refused a round before
        unlisted: dict[str, Rejection] = {}
        progressed = False
        listed = _listed(incident, store)
        for origin, commit in sorted(pending.items()):
            got, problem = _import_origin(incident, repo, store, origin, commit, listed)
            if got:
                report.received[origin] = report.received.get(origin, 0) + got
                progressed = True
            if problem is not None and problem.reason == "unknown key":
                unlisted[origin] = problem
            elif problem is not None:
                report.rejected.append(problem)
        pending = {o: c for o, c in pending.items() if o in unlisted}
        if not progressed:
            report.rejected.extend(unlisted.values())
            break


def _check_own(repo: TeamRepo, me: str, commit: str, report: SyncReport) -> None:
    """This laptop's branch as the source holds it must be what this laptop wrote, or an earlier state of it."""
    mine = repo.refs(BRANCHES).get(me)
    if commit == mine or (mine and repo.is_ancestor(commit, mine)):
        return
    ours = repo.files(mine) if mine else {}
    for path, oid in sorted(repo.files(commit).items()):
        if ours.get(path) != oid:
            report.rejected.append(
                Rejection(me, _first_of(path), "rewritten", f"{path} on the source is not what this laptop wrote")
            )
            return


def _first_of(path: str) -> int:
    stem = path.rsplit("/", 1)[-1].split("-", 1)[0]
    return int(stem) if stem.isdigit() else 0


def _import_origin(
    incident: Incident, repo: TeamRepo, store: OriginStore, origin: str, commit: str, listed: set[str]
) -> tuple[int, Rejection | None]:
    accepted = repo.refs(BRANCHES).get(origin)
    if commit == accepted or (accepted and repo.is_ancestor(commit, accepted)):
        return 0, None  # nothing new (or an older copy of what was accepted)
    files = repo.files(commit)
    segs = {p: oid for p, oid in files.items() if p.startswith(SEGMENT_DIR + "/")}
    known = store.segments(origin)
    for name, (first, _last, sha) in sorted(known.items(), key=lambda kv: kv[1][0]):
        if name not in segs:
            return 0, Rejection(origin, first, "removed segment", f"{name}, imported before, is gone from the source")
        raw = repo.blob(segs[name])
        if digest(raw) != sha:
            return 0, Rejection(
                origin,
                _changed_seq(raw, store, origin, first),
                "changed segment",
                f"{name} differs from the copy imported before",
            )
    got = 0
    for name in sorted((p for p in segs if p not in known), key=_first_of):
        raw = repo.blob(segs[name])
        try:
            doc = parse(raw, origin, name)
            checked = check_segment(
                doc,
                origin=origin,
                name=name,
                incident_id=incident.id,
                known=store.hashes(origin),
                genesis_key=genesis_key(store, origin),
                listed=listed.__contains__,
            )
        except SegmentRejected as exc:
            return got, Rejection(exc.origin, exc.seq, exc.reason, exc.detail)
        for sha in checked.blobs:
            data = repo.blob(files[f"{BLOB_DIR}/{sha}"]) if f"{BLOB_DIR}/{sha}" in files else None
            if data is not None and digest(data) == sha:
                incident.evidence.ingest_bytes(data)
        store.add_segment(origin, name, checked.first, checked.last, digest(raw), checked.entries, checked.seen)
        got += len(checked.entries)
    if accepted is None or repo.is_ancestor(accepted, commit):
        repo.accept(origin, commit, accepted)
    return got, None


def _changed_seq(raw: bytes, store: OriginStore, origin: str, first: int) -> int:
    """The first seq whose entry differs from the one imported (the segment's first when none does)."""
    from app.journal.merkle import leaf_hash

    try:
        bodies = [str(b).encode("utf-8") for b in json.loads(raw)["entries"]]
    except (ValueError, KeyError, TypeError):
        return first
    hashes = store.hashes(origin)
    for i, body in enumerate(bodies):
        seq = first + i
        if seq > len(hashes) or leaf_hash(body) != hashes[seq - 1]:
            return seq
    return first


def _journal_rejections(incident: Incident, store: OriginStore, report: SyncReport, actor: str) -> None:
    """Each refusal once in this laptop's journal (the same tampering seen again is reported, not re-journaled)."""
    journal = incident.journal
    names = {r.public_key: r.name for r in roster.responders(journal)}
    for r in report.rejected:
        key = genesis_key(store, r.origin) if r.origin != journal.journal_id else roster.own_key(journal)
        r.responder = names.get(key or "")
    seen = Journal.state(journal, roster.REJECTED)  # what this laptop itself has journaled (not the merged view)
    for r in report.rejected:
        if f"{r.origin}:{r.seq}:{r.reason}" in seen:
            continue
        data: dict[str, Any] = {"origin": r.origin, "seq": r.seq, "reason": r.reason, "detail": r.detail}
        if r.responder:
            data["responder"] = r.responder
        journal.append(roster.REJECTED, data, actor)

"""Write-ahead for containment results: what a run changed in the org is durable before anything else can fail.

A run that has sent changes must never lose their record, whatever happens next (a full disk, a locked journal,
a killed process). So, beside the journal, in `<incident>/unjournaled/`:

1. before the intent is journaled, space for the result is reserved (a preallocated file, released only when
   the result is written), so a disk that fills during the run cannot take the room the result needs;
2. every record's result is appended to the run's log (`<action>-run<N>.log`, one JSON line, fsynced) before
   the next record is sent, so a killed run leaves each change it made on disk;
3. the complete result is written to `<action>-run<N>.json` atomically (temporary file, fsync, rename; never
   empty), then journaled (`action.result`); only then are the files removed.

At the next open of the incident (and before any `contain` command) `recover_unjournaled` folds whatever is
left back into the journal: a complete result as it was, a log without its result as an interrupted run (every
record without a line is "not_run", outcome unknown, and the next run re-reads it). A result already journaled
(killed after the commit, before the clean-up) is not journaled twice. A file that cannot be read is stored as
evidence, reported (`action.recovery_failed`) and set aside: it never blocks a command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import WarroomError
from app.base.files import atomic_write, fsync_dir
from app.containment.models import (
    FAILED_IN_STATE,
    INLINE_RECORDS,
    UNJOURNALED_DIR,
    ContainmentError,
    RecordResult,
    Stop,
    digest,
)
from app.journal.canonical import canonical
from app.journal.entries import Entry

if TYPE_CHECKING:
    from app.incident.core import Incident

LOG_FORMAT = "warroom-containment-run-log/1"
RECORD_BYTES_FLOOR = 512  # a record's result (ids, status, code) without its before/after rows
RESERVE_MARGIN = 1024 * 1024  # the journal entry and the SQLite write-ahead log around it
STEP_HEADROOM = 2 * 1024 * 1024  # free space below this stops a run before the next record is sent
_SAFE_STEM = re.compile(r"[A-Za-z0-9-]{1,40}")
_NAME = re.compile(r"(?P<stem>[A-Za-z0-9-]{1,52})-run(?P<run>[0-9]{1,9})\.(?P<ext>json|log)")

Report = Callable[[str], None]


def _stem(action_id: str) -> str:
    """A file-name-safe stem for an action id (ids come from plan files too, so they are never trusted as paths)."""
    if _SAFE_STEM.fullmatch(action_id):
        return action_id
    return "plan-" + hashlib.sha256(action_id.encode("utf-8")).hexdigest()[:12]


def estimate_result_bytes(before_rows: list[dict[str, Any]]) -> int:
    """Room for one copy of the per-record results: each record's state before, once more after, and its status."""
    return sum(2 * len(canonical(b)) + RECORD_BYTES_FLOOR for b in before_rows)


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


# --------------------------------------------------------------------------------------------------
# Writing ahead (during a run)
# --------------------------------------------------------------------------------------------------


class WriteAhead:
    """The reservation, the run log and the result file of one run of one action."""

    def __init__(self, incident: Incident, action_id: str, run: int) -> None:
        self.folder = incident.dir / UNJOURNALED_DIR
        stem = f"{_stem(action_id)}-run{run}"
        self.result_path = self.folder / f"{stem}.json"
        self.log_path = self.folder / f"{stem}.log"
        self.reserve_path = self.folder / f".reserve-{stem}"
        self._log: Any = None

    def reserve(self, nbytes: int) -> None:
        """Preallocate room for the result (two copies: the result file and its evidence copy); else nothing runs."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, max(1, nbytes))
                else:  # pragma: no cover - platforms without fallocate: write the room out
                    os.ftruncate(fd, 0)
                    block = b"\0" * (1 << 20)
                    left = nbytes
                    while left > 0:
                        left -= os.write(fd, block[: min(left, len(block))])
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self.release()
            raise ContainmentError(
                f"cannot reserve {nbytes // 1024 + 1} KiB for the result on the journal's disk "
                f"({exc.strerror or exc}); free some space first; nothing was sent"
            ) from None

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.reserve_path.unlink()

    def begin(self, header: dict[str, Any]) -> None:
        """Open the run log with what recovery needs to rebuild the result of a killed run. OSError propagates."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fh = self.log_path.open("ab")
        try:
            fh.write(json.dumps({"format": LOG_FORMAT, **header}, separators=(",", ":")).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        except BaseException:
            fh.close()
            raise
        fsync_dir(self.folder)
        self._log = fh

    def record(self, result: RecordResult) -> None:
        """One record's result, durable before the next record is sent. OSError propagates (the run stops)."""
        if self._log is None:
            return
        line = json.dumps(result.model_dump(exclude_none=True), separators=(",", ":"), ensure_ascii=True)
        self._log.write(line.encode() + b"\n")
        self._log.flush()
        os.fsync(self._log.fileno())

    def close_log(self) -> None:
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def save(self, doc: dict[str, Any]) -> Path | None:
        """The complete result, atomically; None when even that cannot be written (the log still holds it)."""
        self.close_log()
        self.release()  # the reserved room is what the result file and its evidence copy are written into
        try:
            return atomic_write(self.result_path, json.dumps(doc, indent=1).encode("utf-8"), mode=0o600)
        except WarroomError:
            return None

    def finish(self) -> None:
        """The result is in the journal: the files that stood in for it go."""
        self.close_log()
        self.release()
        for path in (self.result_path, self.log_path):
            with contextlib.suppress(OSError):
                path.unlink()
        fsync_dir(self.folder)


def result_data(
    base: dict[str, Any],
    intent_seq: int,
    approver: str,
    records: list[RecordResult],
    stop: Stop | None,
    verification: dict[str, Any],
    open_tasks: list[str],
    warnings: list[str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `action.result` entry (without its records) and the records, as a run or a recovery journals them."""
    counts = {k: sum(1 for r in records if r.status == k) for k in ("ok", "already", "failed", "not_run")}
    unverified = sum(1 for r in records if r.status == "unverified")
    if unverified:
        counts["unverified"] = unverified
    finished = counts["ok"] + counts["already"]
    status = "done" if finished == len(records) else ("partial" if finished or unverified else "failed")
    if unverified and finished + unverified == len(records):
        status = "unverified"
    if not records:
        status = "done"
    dumped = [r.model_dump(exclude_none=True) for r in records]
    failed = [{"n": r.n, "record": r.record, "code": r.code, "error": r.error} for r in records if r.status == "failed"]
    data: dict[str, Any] = {
        **base,
        "intent_seq": intent_seq,
        "approver": approver,
        "status": status,
        "counts": counts,
        "failed": failed[:FAILED_IN_STATE],
        "failed_count": len(failed),
        "not_run": [r.n for r in records if r.status == "not_run"][:FAILED_IN_STATE],
        "stopped": stop.model_dump() if stop else None,
        "before_sha256": digest([r.before for r in records]),
        "after_sha256": digest([r.after for r in records]),
        "records_sha256": hashlib.sha256(canonical(dumped)).hexdigest(),
        "verification": verification,
        "open_tasks": open_tasks,
    }
    if warnings:
        data["warnings"] = warnings
    return data, dumped


def journal_result(
    incident: Incident, data: dict[str, Any], records: list[dict[str, Any]], name: str, actor: str, note: str
) -> Entry:
    """Append `action.result`; records beyond INLINE_RECORDS go to the evidence store, or inline when it fails."""
    data = dict(data)
    data.pop("records", None)
    data.pop("records_evidence_id", None)
    if len(records) <= INLINE_RECORDS:
        data["records"] = records
    else:
        try:
            rec = incident.add_evidence_bytes(
                canonical(records),
                name,
                actor,
                note=note,
                source={"kind": "containment.result", "action_id": data["action_id"]},
            )
            data["records_evidence_id"] = rec.evidence_id
        except (OSError, WarroomError):  # the store refused (full disk): the entry carries them itself
            data["records"] = records
    return incident.journal.append("action.result", data, actor)


# --------------------------------------------------------------------------------------------------
# Recovery (at the next open)
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def run_lock(incident: Incident, action_id: str, *, wait_message: str | None = None) -> Iterator[bool]:
    """Hold the run lock of an action (one run at a time; the OS drops it when a run dies).

    Yields False when another process holds it: with `wait_message` that is an error instead.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on this platform
        yield True
        return
    path = incident.dir / f".contain-{_stem(action_id)}.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message:
                raise ContainmentError(wait_message) from None
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _journaled(incident: Incident, action_id: str, run: int) -> bool:
    return any(
        e.data.get("action_id") == action_id and e.data.get("run") == run
        for e in incident.journal.entries(kind="action.result")
    )


def _intent(incident: Incident, action_id: str, run: int) -> Entry | None:
    for e in incident.journal.entries(kind="action.intent"):
        if e.data.get("action_id") == action_id and e.data.get("run") == run:
            return e
    return None


class _Corrupt(Exception):
    pass


def _from_result_file(raw: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not raw.strip():
        raise _Corrupt("the file is empty")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _Corrupt(f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _Corrupt("not a result object")
    records = doc.pop("records", None)
    missing = [k for k in ("action_id", "run", "counts", "intent_seq") if k not in doc]
    if missing or not isinstance(records, list) or not isinstance(doc.get("counts"), dict):
        raise _Corrupt(f"not a containment result (missing {', '.join(missing) or 'records'})")
    try:
        [RecordResult.model_validate(r) for r in records]
    except ValueError as exc:
        raise _Corrupt(f"a record does not read back ({str(exc).splitlines()[0]})") from None
    return doc, records


def _from_log(raw: bytes) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """A killed run's log rebuilt into a result; also how many torn lines were dropped."""
    lines = raw.split(b"\n")
    try:
        header = json.loads(lines[0])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, IndexError):
        raise _Corrupt("the run log's header does not read back") from None
    if not isinstance(header, dict) or header.get("format") != LOG_FORMAT:
        raise _Corrupt(f"not a run log (format {LOG_FORMAT!r} expected)")
    try:
        base = dict(header["base"])
        steps = [(int(n), str(op), str(rec), str(label)) for n, op, rec, label in header["steps"]]
        intent_seq, approver = int(header["intent_seq"]), str(header["approver"])
        open_tasks = [str(t) for t in header.get("open_tasks", [])]
    except (KeyError, TypeError, ValueError):
        raise _Corrupt("the run log's header lacks the run it belongs to") from None
    done: dict[int, RecordResult] = {}
    torn = 0
    for line in lines[1:]:
        if not line.strip():
            continue
        try:
            res = RecordResult.model_validate_json(line)
        except ValueError:
            torn += 1  # the line being written when the run was killed
            continue
        if res.status == "ok":  # sent and accepted, but the run died before reading the state after
            res.status, res.code = "unverified", "AFTER_STATE_UNREAD"
            res.error = "the run ended before the state after was read back; the next run re-reads the record"
        done[res.n] = res
    records: list[RecordResult] = []
    for n, op, rec, label in steps:
        records.append(
            done.get(n)
            or RecordResult(
                n=n,
                op=op,
                record=rec,
                label=label,
                status="not_run",
                code="INTERRUPTED",
                error="the run ended before this record's result was written (outcome unknown: the next run "
                "re-reads the record)",
            )
        )
    stop = Stop(
        reason="interrupted",
        message="the run ended without journaling its result (process killed or machine stopped); "
        "rebuilt from its run log",
    )
    data, dumped = result_data(base, intent_seq, approver, records, stop, {}, open_tasks, [])
    return data, dumped, torn


def _set_aside(incident: Incident, path: Path, why: str, actor: str, report: Report | None) -> Entry | None:
    """Keep an unreadable file as evidence and journal the problem; it stays where it is if that fails."""
    try:
        size = path.stat().st_size
        record = incident.add_evidence(
            path, actor, note=f"unreadable containment recovery file ({why})", source={"kind": "containment.recovery"}
        )
        entry = incident.journal.append(
            "action.recovery_failed",
            {"file": path.name, "reason": why, "size": size, "evidence_id": record.evidence_id},
            actor,
        )
    except (OSError, WarroomError) as exc:
        if report:
            report(f"{path}: cannot be recovered ({why}) and could not be set aside yet ({exc}); it is kept")
        return None
    corrupt = path.parent / "corrupt"
    with contextlib.suppress(OSError):
        corrupt.mkdir(exist_ok=True)
        os.replace(path, corrupt / path.name)
    if report:
        report(
            f"{path.name}: cannot be recovered ({why}); kept as evidence {record.evidence_id} "
            f"(entry {entry.seq}) and moved to {corrupt}"
        )
    return entry


def recover_unjournaled(incident: Incident, actor: str, report: Report | None = None) -> list[Entry]:
    """Journal every result kept aside by an earlier run; report (never raise for) what cannot be recovered."""
    folder = incident.dir / UNJOURNALED_DIR
    if not folder.is_dir():
        return []
    out: list[Entry] = []
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError as exc:
        if report:
            report(f"{folder}: cannot be read ({exc.strerror or exc}); results kept there are not recovered")
        return out
    for name in names:
        path = folder / name
        if name.startswith(".reserve-") or (name.startswith(".") and name.endswith(".tmp")):
            _drop_stale(incident, path)
            continue
        m = _NAME.fullmatch(name)
        if m is None or not path.is_file():
            continue
        if m["ext"] == "log" and (folder / f"{m['stem']}-run{m['run']}.json").exists():
            continue  # the complete result is next to it
        try:
            entry = _recover_one(incident, path, m["ext"], actor, report)
        except _Corrupt as exc:
            entry = _set_aside(incident, path, str(exc), actor, report)
        except (OSError, WarroomError) as exc:
            if report:
                report(f"{path}: not journaled yet ({exc}); it is kept and tried again at the next open")
            continue
        if entry is not None:
            out.append(entry)
    return out


def _drop_stale(incident: Incident, path: Path) -> None:
    """A reservation or temporary file of a run that is no longer running."""
    stem = path.name.removeprefix(".reserve-").split(".json.")[0].lstrip(".")
    action = stem.rsplit("-run", 1)[0]
    with run_lock(incident, action) as free:
        if free:
            with contextlib.suppress(OSError):
                path.unlink()


def _recover_one(incident: Incident, path: Path, ext: str, actor: str, report: Report | None) -> Entry | None:
    raw = path.read_bytes()
    torn = 0
    if ext == "json":
        data, records = _from_result_file(raw)
    else:
        data, records, torn = _from_log(raw)
    action_id, run = str(data["action_id"]), int(data["run"])
    with run_lock(incident, action_id) as free:
        if not free:  # that run is still going: its files are not left over
            return None
        if _intent(incident, action_id, run) is None:
            raise _Corrupt(f"no intent for {action_id} run {run} in this journal")
        sibling = path.with_suffix(".log" if ext == "json" else ".json")
        if _journaled(incident, action_id, run):
            for p in (path, sibling):
                with contextlib.suppress(OSError):
                    p.unlink()
            return None
        data["recovered_from"] = path.name
        if torn:
            data["torn_lines"] = torn
        entry = journal_result(
            incident, data, records, path.name, actor, note=f"recovered per-record results of {action_id} run {run}"
        )
        for p in (path, sibling):
            with contextlib.suppress(OSError):
                p.unlink()
    if report:
        counts = data["counts"]
        report(
            f"recovered the result of {action_id} run {run} from {path.name}: {counts.get('ok', 0)} ok, "
            f"{counts.get('already', 0)} already, {counts.get('failed', 0)} failed, "
            f"{counts.get('not_run', 0)} not run (entry {entry.seq})"
        )
    return entry

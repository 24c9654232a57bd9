"""The content-addressed evidence store beside each journal.

Files are streamed in (never read whole), hashed while copied, fsynced, renamed into place by their SHA-256 and
made read-only: what the journal says was acquired is what the store holds, byte for byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.base.errors import NotFoundError, WarroomError
from app.base.files import check_input_file, fsync_dir

CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
ID_LEN = 12

Progress = Callable[[int, int], None]


class EvidenceError(WarroomError):
    pass


STALE_AFTER_S = 600  # a stored file nothing refers to after this long was left by a killed intake


@dataclass(frozen=True)
class Intake:
    sha256: str
    size: int
    change: dict[str, Any] | None  # how the source moved during the copy; None when it did not
    fresh: bool  # this intake put the file in the store (it was not there already)


def _lock(fd: int) -> None:
    with contextlib.suppress(ImportError, OSError):
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlocked(path: Path) -> bool:
    """No intake holds `path` (its process ended); on platforms without flock, always True."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return True
    try:
        with path.open("rb") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def hash_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    """SHA-256 and size of a file, streamed."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
            done += n
            if progress:
                progress(done, total)
    return digest.hexdigest(), done


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """The stored file of `sha256`; anything but 64 hex digits (a tampered journal) is refused, not a path."""
        if not _SHA256.fullmatch(sha256 or ""):
            raise EvidenceError(f"{str(sha256)[:80]!r} is not a SHA-256; the journal entry naming it was altered")
        return self.root / "sha256" / sha256[:2] / sha256

    def ingest(self, src: Path, progress: Progress | None = None) -> Intake:
        """Copy `src` into the store. The source is only read.

        `change` is None when the source stayed as it was; when its size or modification time moved during
        the copy, it says how, with a re-hash of the source as it is now (the stored copy is what was read).
        """
        st = check_input_file(src, "file")
        tmp_dir = self.root / "incoming"
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
        except OSError as exc:
            raise EvidenceError(f"could not store {src}: {exc.strerror or exc}; nothing was recorded") from None
        tmp = Path(tmp_name)
        try:
            with src.open("rb", buffering=0) as fin, os.fdopen(fd, "wb", buffering=0) as fout:
                _lock(fout.fileno())  # an intake in progress: the clean-up at open leaves it alone
                before = os.fstat(fin.fileno())
                if not stat.S_ISREG(before.st_mode):
                    raise EvidenceError(f"{src}: not a regular file; nothing was recorded")
                sha, done = _copy_hashing(fin, fout, before.st_size, progress)
                os.fsync(fout.fileno())
            change = _changed(src, st, done, sha)
            dest = self.path_for(sha)
            dest.parent.mkdir(parents=True, exist_ok=True)
            fresh = not dest.exists()
            if fresh:
                os.chmod(tmp, 0o444)
                os.replace(tmp, dest)
                fsync_dir(dest.parent)
            else:
                tmp.unlink()
            return Intake(sha, done, change, fresh)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise EvidenceError(f"could not store {src}: {exc.strerror or exc}; nothing was recorded") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def discard(self, sha256: str) -> None:
        """Remove a stored copy this intake made when its acquisition could not be journaled."""
        path = self.path_for(sha256)
        with contextlib.suppress(OSError):
            os.chmod(path, 0o644)
            path.unlink()

    def clean_leftovers(self, referenced: set[str], now: float) -> list[tuple[str, int]]:
        """Remove what killed or failed intakes left: temporary copies in incoming/ no intake holds, and stored
        files no journal entry refers to (older than STALE_AFTER_S, so an intake finishing right now is kept)."""
        removed: list[tuple[str, int]] = []
        incoming = self.root / "incoming"
        for path in sorted(incoming.iterdir()) if incoming.is_dir() else []:
            if path.is_file() and _unlocked(path):
                removed += _remove(path, f"incoming/{path.name}")
        store = self.root / "sha256"
        for path in sorted(store.glob("*/*")) if store.is_dir() else []:
            if path.name in referenced or not path.is_file():
                continue
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > STALE_AFTER_S:
                    removed += _remove(path, f"sha256/{path.parent.name}/{path.name}")
        return removed

    def ingest_bytes(self, data: bytes) -> tuple[str, int]:
        """Store generated content (snapshots, collected logs) the same way as a file."""
        sha = hashlib.sha256(data).hexdigest()
        dest = self.path_for(sha)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".tmp")
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
            fsync_dir(dest.parent)
        return sha, len(data)

    def rehash(self, sha256: str, progress: Progress | None = None) -> str:
        path = self.path_for(sha256)
        if not path.exists():
            raise NotFoundError(f"evidence {sha256[:ID_LEN]} is missing from the store ({path})")
        return hash_file(path, progress)[0]


def _changed(src: Path, before: os.stat_result, copied: int, sha: str) -> dict[str, Any] | None:
    """How the source moved while it was copied (size, mtime), with a re-hash of it now; None when it did not."""
    try:
        after = src.stat()
    except OSError as exc:
        return {"before": _st(before), "after": None, "error": exc.strerror or str(exc)}
    if after.st_size == before.st_size == copied and after.st_mtime_ns == before.st_mtime_ns:
        return None
    try:
        rehash = hash_file(src)[0]
    except OSError as exc:
        rehash = f"unreadable: {exc.strerror or exc}"
    return {
        "before": _st(before),
        "after": _st(after),
        "copied_bytes": copied,
        "rehash_sha256": rehash,
        "rehash_matches": rehash == sha,
    }


def _st(st: os.stat_result) -> dict[str, Any]:
    return {"size": st.st_size, "mtime_ns": str(st.st_mtime_ns)}


def _remove(path: Path, name: str) -> list[tuple[str, int]]:
    try:
        size = path.stat().st_size
        path.unlink()
    except OSError:
        return []
    return [(name, size)]


def _copy_hashing(fin: Any, fout: Any, total: int, progress: Progress | None) -> tuple[str, int]:
    """Copy while hashing, the hash of one chunk overlapping the write of the same chunk.

    hashlib releases the GIL for large buffers, so a second thread makes intake cost about max(hash, write)
    rather than their sum. Two buffers alternate: a buffer is refilled only after its hash has finished.
    """
    digest = hashlib.sha256()
    buffers = [bytearray(CHUNK), bytearray(CHUNK)]
    pending: Future[None] | None = None
    done = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-hash") as pool:
        i = 0
        while True:
            buf = buffers[i % 2]
            n = fin.readinto(buf)
            if not n:
                break
            view = memoryview(buf)[:n]
            if pending is not None:
                pending.result()
            pending = pool.submit(digest.update, view)
            _write_all(fout, view)
            done += n
            if progress:
                progress(done, total)
            # The other buffer is reused next; its hash finished when `pending` was awaited above.
            i += 1
        if pending is not None:
            pending.result()
    return digest.hexdigest(), done


def _write_all(fout: Any, view: memoryview) -> None:
    while view:
        written = fout.write(view)
        view = view[written:]

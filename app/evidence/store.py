"""The content-addressed evidence store beside each journal.

Files are streamed in (never read whole), hashed while copied, fsynced, renamed into place by their SHA-256 and
made read-only: what the journal says was acquired is what the store holds, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.base.errors import NotFoundError, WarroomError

CHUNK = 1 << 20
ID_LEN = 12

Progress = Callable[[int, int], None]


class EvidenceError(WarroomError):
    pass


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
        return self.root / "sha256" / sha256[:2] / sha256

    def ingest(self, src: Path, progress: Progress | None = None) -> tuple[str, int]:
        """Copy `src` into the store; returns (sha256, size). The source is only read."""
        if not src.is_file():
            raise NotFoundError(f"{src}: no such file")
        tmp_dir = self.root / "incoming"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
        tmp = Path(tmp_name)
        try:
            with src.open("rb", buffering=0) as fin, os.fdopen(fd, "wb", buffering=0) as fout:
                sha, done = _copy_hashing(fin, fout, src.stat().st_size, progress)
                os.fsync(fout.fileno())
            dest = self.path_for(sha)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                tmp.unlink()
            else:
                os.chmod(tmp, 0o444)
                os.replace(tmp, dest)
                _fsync_dir(dest.parent)
            return sha, done
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise EvidenceError(f"could not store {src}: {exc.strerror or exc}; nothing was recorded") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

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
            _fsync_dir(dest.parent)
        return sha, len(data)

    def rehash(self, sha256: str, progress: Progress | None = None) -> str:
        path = self.path_for(sha256)
        if not path.exists():
            raise NotFoundError(f"evidence {sha256[:ID_LEN]} is missing from the store ({path})")
        return hash_file(path, progress)[0]


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


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

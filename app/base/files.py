"""Files the responder names and files warroom writes, handled one safe way.

Inputs must be regular files (a FIFO would block forever, a device such as /dev/zero never ends) and are read
with a size limit. Outputs (`--out`) refuse devices, FIFOs, sockets and directories, and replace a regular
file only atomically (temporary file beside it, fsync, rename), so a crash or a full disk leaves the old file
or the new one, never half of it, and a device node is never turned into a file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from app.base.errors import NotFoundError, UsageError, WarroomError

DEFAULT_READ_LIMIT = 64 * 1024 * 1024  # structured inputs (TOML, JSON, CSV, plan files)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def user_path(text: str | Path) -> Path:
    """A path as the responder typed it, `~` expanded when it can be (an unknown `~user` stays as typed)."""
    path = Path(text)
    try:
        return path.expanduser()
    except RuntimeError:
        return path


def present(path: Path, *, file: bool = False) -> bool:
    """Whether `path` names something that exists (a regular file or a link to one, with `file`). A name that
    cannot exist here (too long, an unreadable parent) is simply absent, so a lookup falls back to reading the
    text as an id or a shipped name instead of failing on the file system's error."""
    try:
        return path.is_file() if file else path.exists()
    except OSError:
        return False


def check_input_file(path: Path, what: str = "file") -> os.stat_result:
    """The stat of `path` when it is a regular file (symlinks followed); a clear error otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such {what}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: {_kind(st.st_mode)}, not a regular {what}; give a {what}")
    return st


def read_limited(path: Path, limit: int = DEFAULT_READ_LIMIT, what: str = "file") -> bytes:
    """The bytes of a regular file no larger than `limit` (read through one descriptor, checked again)."""
    check_input_file(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):  # swapped between the check and the open
            raise UsageError(f"{path}: {_kind(st.st_mode)}, not a regular {what}")
        if st.st_size > limit:
            raise UsageError(f"{path}: {st.st_size} bytes, larger than the {limit} bytes a {what} may have")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{path}: larger than the {limit} bytes a {what} may have")
    return data


def read_text_limited(path: Path, limit: int = DEFAULT_READ_LIMIT, what: str = "file") -> str:
    raw = read_limited(path, limit, what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def check_output_path(path: Path) -> Path:
    """`path` as an output: empty names, devices, FIFOs, sockets, directories and symlinks are refused."""
    if not str(path).strip():
        raise UsageError("--out needs a file name")
    path = path.expanduser()
    try:
        st = path.lstat()
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path}: a symbolic link; name the file itself (warroom does not write through links)")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: {_kind(st.st_mode)}; warroom writes only regular files")
    return path


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> Path:
    """Write `data` to `path` atomically; the directory is fsynced so the rename survives a power cut."""
    path = check_output_path(path)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise WarroomError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise WarroomError(f"cannot write {path}: {exc.strerror or exc}; the previous file is unchanged") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(parent)
    return path


def fsync_dir(path: Path) -> None:
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

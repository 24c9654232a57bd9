"""How far slow work has got, reported one way by every front end.

An action that takes a while (hashing evidence, pulling records, applying containment, collecting sources) takes
the callback it always took; the front end builds that callback from a `Progress` with the adapters below, so the
command line and the console count, throttle and label the same way and differ only in how they draw: the
console in its activity bar (screens/widgets/activity_bar.py), the command line on stderr (`TerminalProgress`)
when stderr is a terminal and not at all otherwise (`for_stream`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, TextIO

from app.base.redaction import redact

Unit = Literal["bytes", "records", "sources", "steps"]
HASH_STEP = 1 << 22  # hashing reports at most every 4 MiB (and at the end)


class Progress(Protocol):
    """Slow work in progress: what, how far of how much (None: unknown), in which unit."""

    def start(self, label: str, total: float | None = None, unit: Unit = "steps") -> None: ...

    def progress(self, done: float, total: float | None = None, label: str | None = None) -> None: ...

    def note(self, text: str) -> None:
        """A line that stays (a record's result): above the bar on a terminal, as the label in the console."""
        ...

    def stop(self) -> None: ...


class NullProgress:
    """Reports nothing: stderr is not a terminal, or the caller asked for quiet."""

    def start(self, label: str, total: float | None = None, unit: Unit = "steps") -> None:
        pass

    def progress(self, done: float, total: float | None = None, label: str | None = None) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def stop(self) -> None:
        pass


class LogProgress(NullProgress):
    """No bar, but the notes, one a line: what the command line prints when stderr is a file or a pipe."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def note(self, text: str) -> None:
        self.stream.write(redact(text) + "\n")
        self.stream.flush()


def _amount(value: float, unit: Unit) -> str:
    if unit != "bytes":
        return f"{value:,.0f}"
    for size, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= size:
            return f"{value / size:.1f} {name}"
    return f"{value:.0f} B"


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class TerminalProgress:
    """One line on a terminal, redrawn in place: `hashing x.csv  120.0 MiB / 500.0 MiB  24%  85.3 MiB/s  ETA 4s`.
    The rate and the ETA come from the work done since `start`; no ETA while the total is unknown."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic, every: float = 0.2) -> None:
        self.stream, self.clock, self.every = stream, clock, every
        self.label, self.total, self.unit = "", None, "steps"  # type: tuple[str, float | None, Unit]
        self.done, self.began, self.drawn_at = 0.0, 0.0, float("-inf")
        self.shown = False
        self._lock = threading.Lock()  # containment and collection report from worker threads

    def start(self, label: str, total: float | None = None, unit: Unit = "steps") -> None:
        with self._lock:
            self.label, self.total, self.unit, self.done = label, total, unit, 0.0
            self.began = self.clock()
            self._draw(force=True)

    def progress(self, done: float, total: float | None = None, label: str | None = None) -> None:
        with self._lock:
            self.done = done
            self.total = total if total is not None else self.total
            self.label = label if label is not None else self.label
            self._draw(force=self.total is not None and done >= self.total)

    def note(self, text: str) -> None:
        with self._lock:
            self._clear()
            self.stream.write(redact(text) + "\n")
            self._draw(force=True)

    def stop(self) -> None:
        with self._lock:
            self._clear()
            self.stream.flush()

    def line(self) -> str:
        """What the bar says now."""
        parts = [self.label, _amount(self.done, self.unit)]
        if self.total:
            parts[1] += f" / {_amount(self.total, self.unit)} {'' if self.unit == 'bytes' else self.unit}".rstrip()
            parts.append(f"{min(100, int(100 * self.done / self.total))}%")
        else:
            parts[1] += "" if self.unit == "bytes" else f" {self.unit}"
        elapsed = self.clock() - self.began
        if elapsed > 0 and self.done > 0:
            rate = self.done / elapsed
            parts.append(f"{_amount(rate, self.unit)}{'' if self.unit == 'bytes' else ' ' + self.unit}/s")
            if self.total and self.done < self.total:
                parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        return "  ".join(p for p in parts if p)

    def _draw(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.drawn_at < self.every:
            return
        self.drawn_at = now
        self.stream.write("\r\x1b[K" + redact(self.line()))
        self.stream.flush()
        self.shown = True

    def _clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.shown = False


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (a closed or stand-in stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def for_stream(stream: TextIO, *, quiet: bool = False) -> Progress:
    """The command line's progress on `stream`: a bar on a terminal; otherwise notes only (none if `quiet`)."""
    if is_terminal(stream):
        return TerminalProgress(stream)
    return NullProgress() if quiet else LogProgress(stream)


# -- adapters: the callbacks the actions take, fed from one Progress -------------------------------------------


def hashing(progress: Progress, label: str | None = None, step: int = HASH_STEP) -> Callable[[int, int], None]:
    """For EvidenceStore.ingest / Incident.add_evidence / custody re-hashes: (bytes done, size), at most every `step`
    bytes; with a `label`, the bar starts at the first report (so work that hashes nothing shows nothing), and it
    stops by itself at the end."""
    last = [0]
    started = [label is None]

    def report(done: int, size: int) -> None:
        if not started[0]:
            started[0] = True
            progress.start(str(label), size, "bytes")
        if done - last[0] >= step or done == size:
            last[0] = done
            progress.progress(done, size)
        if done >= size:
            progress.stop()

    return report


def records(progress: Progress, describe: Callable[[int, int, Any], str | None] | None = None) -> Callable[..., None]:
    """For containment's apply: (i, total, record result); `describe(i, total, result)` makes a result's note
    (None: no note). The bar stops by itself when the last record is done."""

    def report(i: int, total: int, *result: Any) -> None:
        if describe is not None and result:
            text = describe(i, total, result[0])
            if text:
                progress.note(text)
        progress.progress(i, total)
        if i >= total:
            progress.stop()

    return report


def messages(progress: Progress, prefix: str = "") -> Callable[[str], None]:
    """For pulls that say what they are doing (inventory): each message is a note, and the steps are counted
    (a pull does not know its total in advance, so there is no ETA)."""
    count = [0]

    def report(message: str) -> None:
        count[0] += 1
        progress.note(f"{prefix}{message}")
        progress.progress(count[0])

    return report

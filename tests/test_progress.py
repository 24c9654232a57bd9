"""Progress for slow work: one interface (app.base.progress) that the command line draws on stderr when it is a
terminal (amount, rate, ETA; notes above the bar) and not otherwise, and the console draws in its activity bar;
the adapters turn it into the callbacks the actions take. The clock is injected: nothing here is timed."""

from __future__ import annotations

import io
from pathlib import Path

from app import cli as cli_module
from app.base.progress import (
    HASH_STEP,
    LogProgress,
    NullProgress,
    TerminalProgress,
    for_stream,
    hashing,
    messages,
    records,
)
from app.composition.context import Context

MIB = 1 << 20


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _bar(clock: Clock) -> tuple[Tty, TerminalProgress]:
    stream = Tty()
    return stream, TerminalProgress(stream, clock=clock, every=0.0)


def test_hashing_shows_bytes_percent_rate_and_eta():
    clock = Clock()
    _, bar = _bar(clock)
    bar.start("hashing leak.csv", 100 * MIB, "bytes")
    clock.t += 2
    bar.progress(50 * MIB)
    assert bar.line() == "hashing leak.csv  50.0 MiB / 100.0 MiB  50%  25.0 MiB/s  ETA 2s"


def test_records_and_sources_count_in_their_unit_and_unknown_totals_have_no_eta():
    clock = Clock()
    _, bar = _bar(clock)
    bar.start("containment", 200, "records")
    clock.t += 10
    bar.progress(50)
    assert bar.line() == "containment  50 / 200 records  25%  5 records/s  ETA 30s"
    bar.start("inventory")
    clock.t += 1
    bar.progress(3, None, "users")
    assert bar.line() == "users  3 steps  3 steps/s"


def test_a_note_lands_above_the_bar_and_stop_leaves_a_clean_line():
    clock = Clock()
    stream, bar = _bar(clock)
    bar.start("containment", 2, "records")
    bar.note("  [1/2] done    revoke token of alice")
    bar.progress(1)
    bar.stop()
    text = stream.getvalue()
    assert "\r\x1b[K  [1/2] done    revoke token of alice\n" in text
    assert text.endswith("\r\x1b[K")  # the bar is erased, nothing is left on its line


def test_without_a_terminal_only_notes_are_written_and_quiet_writes_nothing():
    plain = io.StringIO()
    progress = for_stream(plain)
    assert isinstance(progress, LogProgress)
    progress.start("x", 10, "records")
    progress.progress(5)
    progress.note("a line")
    assert plain.getvalue() == "a line\n"
    assert isinstance(for_stream(io.StringIO(), quiet=True), NullProgress)
    assert isinstance(for_stream(Tty()), TerminalProgress)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, label, total=None, unit="steps"):
        self.calls.append(("start", label, total, unit))

    def progress(self, done, total=None, label=None):
        self.calls.append(("progress", done, total, label))

    def note(self, text):
        self.calls.append(("note", text))

    def stop(self):
        self.calls.append(("stop",))


def test_the_adapters_throttle_hashing_and_stop_at_the_end():
    rec = Recorder()
    report = hashing(rec)
    size = 3 * HASH_STEP + 5
    for done in range(0, size, 1 << 20):
        report(done, size)
    report(size, size)
    dones = [c[1] for c in rec.calls if c[0] == "progress"]
    assert dones == [HASH_STEP, 2 * HASH_STEP, 3 * HASH_STEP, size]
    assert rec.calls[-1] == ("stop",)

    rec = Recorder()
    show = records(rec, lambda i, n, r: f"[{i}/{n}] {r}")
    show(1, 2, "a")
    show(2, 2, "b")
    assert rec.calls == [
        ("note", "[1/2] a"),
        ("progress", 1, 2, None),
        ("note", "[2/2] b"),
        ("progress", 2, 2, None),
        ("stop",),
    ]

    rec = Recorder()
    say = messages(rec, "inventory: ")
    say("users")
    assert rec.calls == [("note", "inventory: users"), ("progress", 1, None, None)]


def _run(cli, stderr: io.StringIO, *argv: str) -> tuple[int, str]:
    args = cli_module.build_parser().parse_args(["--home", str(cli.home), *argv])
    out = io.StringIO()
    ctx = Context.from_args(args, clock=cli.clock, keyring=cli.keyring, stdout=out, stderr=stderr)
    ctx.actor = "tester"
    return cli_module.dispatch(ctx, args), out.getvalue()


def test_evidence_add_shows_hashing_on_a_terminal_and_nothing_otherwise(cli, tmp_path: Path):
    cli.new()
    big = tmp_path / "dump.bin"
    big.write_bytes(b"x" * (2 * HASH_STEP + 1))
    tty = Tty()
    code, out = _run(cli, tty, "evidence", "add", str(big))
    assert code == 0
    assert "hashing dump.bin" in tty.getvalue() and "8.0 MiB / 8.0 MiB" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[K") and "sha256:" in out

    plain = io.StringIO()
    big.write_bytes(b"y" * 10)
    code, _ = _run(cli, plain, "evidence", "add", str(big))
    assert code == 0 and plain.getvalue() == ""


def test_custody_rehash_shows_progress_only_for_events_that_rehash(cli, tmp_path: Path):
    cli.new()
    f = tmp_path / "export.csv"
    f.write_bytes(b"z" * (HASH_STEP + 3))
    evidence_id = cli("evidence", "add", str(f), "--json").json()["evidence_id"]
    tty = Tty()
    code, out = _run(cli, tty, "evidence", "custody", evidence_id, "verified")
    assert code == 0 and "re-hash matches" in out
    assert f"re-hashing {evidence_id}" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")
    sealed = Tty()
    code, _ = _run(cli, sealed, "evidence", "custody", evidence_id, "sealed")
    assert code == 0 and sealed.getvalue() == ""
    every = Tty()
    code, out = _run(cli, every, "evidence", "verify")
    assert code == 0 and "re-hashing" in every.getvalue() and f"{evidence_id}  ok" in out

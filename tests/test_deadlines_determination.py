"""`determination` (the SEC materiality determination) and `breach_determined` (a breach was concluded) are two
facts; a clock that starts at a breach determination and falls back to awareness is said out loud."""

from __future__ import annotations

from typing import Any

NOTE = "start when the breach is determined (us-al-individuals), but breach_determined is not recorded"


def test_a_determination_clock_counted_from_awareness_is_warned(cli: Any) -> None:
    cli.new()
    assert cli("facts", "set", "residents.US-AL", "500").code == 0
    r = cli("facts", "set", "aware", "2025-08-20T09:00:00Z")
    assert r.code == 0, r.err
    assert NOTE in r.out and "count from aware 2025-08-20T09:00:00Z" in r.out
    r = cli("facts", "set", "determination", "2025-08-20T10:00:00Z")
    assert NOTE in r.out and "`determination` is the SEC materiality determination" in r.out
    r = cli("facts", "set", "breach_determined", "2025-08-20T10:00:00Z")
    assert r.code == 0 and "breach_determined is not recorded" not in r.out


def test_no_warning_without_a_determination_clock(cli: Any) -> None:
    cli.new()
    assert cli("facts", "set", "residents.DE", "500").code == 0
    r = cli("facts", "set", "aware", "2025-08-20T09:00:00Z")
    assert r.code == 0 and "breach_determined" not in r.out

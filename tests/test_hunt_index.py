"""The analysis database: filled as evidence is recorded, rebuildable, and a hunt over it gives exactly the plain
scan's result (same hits, leads, counts and order) for the shipped indicator sets and for indicators of every
kind and match mode, on collected Event Log Files plus files added by hand, including a record preserved twice."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import hunt
from app.base.clock import FrozenClock
from app.composition.workspace import Workspace
from app.hunt.index import INDEX_FILE
from app.simorg import SimOrg
from tests.simorg_helpers import sim_args

ORG_NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)

# Documented API Event Log File columns (app/data/salesforce/event_log_files.toml), a subset in header order.
_HAND_ELF = (
    '"EVENT_TYPE","TIMESTAMP","REQUEST_ID","ORGANIZATION_ID","USER_ID","URI","API_TYPE","CLIENT_NAME",'
    '"METHOD_NAME","ENTITY_NAME","ROWS_PROCESSED","TIMESTAMP_DERIVED","USER_ID_DERIVED","CLIENT_IP"\n'
    '"API","20250814100300.000","req-h1","00D000000000001","005000000000001","/services/Soap/u/58.0","E",'
    '"Ünïcode Loader/1.0","query","Contact","250","2025-08-14T10:03:00.000Z","005000000000001AAA","10.20.30.40"\n'
    '"API","20250814100400.000","req-h2","00D000000000001","005000000000002","/services/Soap/u/58.0","E",'
    '"python-requests/2.31","query","Account","12","2025-08-14T10:04:00.000Z","005000000000002AAA",'
    '"2001:db8::17"\n'
)

_MIXED = """\
format = 1
name = "mixed"
[[indicator]]
kind = "ip"
id = "ranges"
values = ["10.20.0.0/16", "2001:db8::/64", "185.220.101.143"]
[[indicator]]
kind = "ip_list"
id = "listed"
file = "addrs.txt"
[[indicator]]
kind = "user_agent"
id = "ua-contains"
match = "contains"
values = ["PYTHON-requests", "ünïcode"]
[[indicator]]
kind = "user_agent"
id = "ua-regex"
match = "regex"
values = ["Salesforce.*Loader"]
[[indicator]]
kind = "username"
id = "users"
match = "contains"
values = ["@", "005000000000002"]
[[indicator]]
kind = "connected_app"
id = "apps"
match = "regex"
values = ["(?i)chat"]
role = "context"
[[indicator]]
kind = "soql"
id = "contacts"
objects = ["Contact", "Account"]
[[indicator]]
kind = "soql"
id = "bulk"
api = ["bulk"]
values = ["(?i)select"]
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimOrg]:
    org = SimOrg.start("chat-vendor-theft", clock=FrozenClock(ORG_NOW), cert_dir=tmp_path_factory.mktemp("sim-cert"))
    yield org
    org.stop()


@pytest.fixture
def collected(cli: Any, sim: SimOrg, tmp_path: Path) -> Any:
    cli.new()
    assert cli("collect", *sim_args(sim)).code == 0
    hand = tmp_path / "api-export.csv"
    hand.write_text(_HAND_ELF, encoding="utf-8")
    assert cli("evidence", "add", str(hand)).code == 0
    again = tmp_path / "api-export-again.csv"  # the same two records in a second export: found once
    again.write_text(_HAND_ELF + _HAND_ELF.splitlines(keepends=True)[1], encoding="utf-8")
    assert cli("evidence", "add", str(again)).code == 0
    return cli


def _sets(tmp_path: Path) -> list[hunt.IndicatorSet]:
    """The shipped sets, the mixed set, and each mixed indicator alone (so no other one makes its rows
    candidates)."""
    (tmp_path / "addrs.txt").write_text("# published\n44.215.108.109\n34.0.0.0/8\n", encoding="utf-8")
    (tmp_path / "mixed.toml").write_text(_MIXED, encoding="utf-8")
    shipped = [hunt.load_indicators(p) for p in hunt.shipped_indicator_files()]
    head, *blocks = _MIXED.split("[[indicator]]")
    alone = []
    for n, block in enumerate(blocks):
        path = tmp_path / f"alone-{n}.toml"
        path.write_text(head.replace('"mixed"', f'"alone-{n}"') + "[[indicator]]" + block, encoding="utf-8")
        alone.append(hunt.load_indicators(path))
    return [*shipped, hunt.load_indicators(tmp_path / "mixed.toml"), *alone]


def _both(incident: Any, sets: list[hunt.IndicatorSet], **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    indexed = hunt.hunt(incident, sets, leads=True, **kw).model_dump()
    plain = hunt.hunt(incident, sets, leads=True, use_index=False, **kw).model_dump()
    return indexed, plain


def test_index_follows_each_recorded_file(collected: Any) -> None:
    """Collect and `evidence add` fill the database as they record, before any hunt."""
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        acquired = [e.data["evidence_id"] for e in incident.journal.entries(kind="evidence.acquired")]
        db = sqlite3.connect(incident.dir / INDEX_FILE)
        indexed = [r[0] for r in db.execute("SELECT evidence_id FROM files ORDER BY position")]
        rows = db.execute("SELECT COUNT(*) FROM rows WHERE event_type LIKE 'EventLogFile/%'").fetchone()[0]
        db.close()
    assert indexed == acquired
    assert rows > 0


def test_hunt_over_the_index_equals_the_plain_scan(collected: Any, tmp_path: Path) -> None:
    sets = _sets(tmp_path)
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        for chosen in [sets, *([s] for s in sets)]:
            indexed, plain = _both(incident, chosen)
            assert indexed == plain
        indexed, plain = _both(incident, sets, since=datetime(2025, 8, 14, tzinfo=UTC))
        assert indexed == plain
        everything, _ = _both(incident, sets)
    found = {h["key"] for h in everything["hits"]}
    files = {h["file"] for h in everything["hits"]}
    # the hand-added rows are hit (range, address list, user agents), and the copy in the second export is not
    assert "api-export.csv" in files and "api-export-again.csv" not in files
    assert len(found) == len(everything["hits"])
    assert any(h["context"] for h in everything["hits"] + everything["leads"]), "context indicators are applied"


def test_exfil_over_the_index_equals_the_plain_scan(collected: Any, tmp_path: Path) -> None:
    sets = _sets(tmp_path)
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        for kw in ({"indicator_sets": sets}, {"all_activity": True}):
            indexed = [r.model_dump() for r in hunt.exfiltration_table(incident, **kw)]
            plain = [r.model_dump() for r in hunt.exfiltration_table(incident, use_index=False, **kw)]
            assert indexed == plain and indexed


def test_rebuild_from_the_evidence_store(collected: Any, tmp_path: Path) -> None:
    """Deleted, or taken from another incident, the database is made again from the evidence; the results do
    not change."""
    sets = _sets(tmp_path)
    before = collected("hunt-index", "--json").json()
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        first = hunt.hunt(incident, sets).model_dump()
        (incident.dir / INDEX_FILE).unlink()
    rebuilt = collected("hunt-index", "--rebuild", "--json")
    assert rebuilt.code == 0, rebuilt.err
    status = rebuilt.json()
    assert status["rebuilt"] and (status["files"], status["rows"]) == (before["files"], before["rows"])
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        db = sqlite3.connect(incident.dir / INDEX_FILE)
        db.execute("UPDATE meta SET value = 'another journal' WHERE key = 'journal_id'")  # a copied database
        db.execute("DELETE FROM rows WHERE id IN (SELECT id FROM rows LIMIT 50)")
        db.commit()
        db.close()
        assert hunt.hunt(incident, sets).model_dump() == first
    text = collected("hunt-index")
    assert text.code == 0 and "0 new files indexed" in text.out


def test_fts_and_columns_for_an_analyst(collected: Any) -> None:
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        db = sqlite3.connect(incident.dir / INDEX_FILE)
        found = db.execute(
            "SELECT rows.uri FROM rows_fts JOIN rows ON rows.id = rows_fts.rowid WHERE rows_fts MATCH ?",
            ["Soap"],
        ).fetchall()
        fields = json.loads(db.execute("SELECT fields FROM rows WHERE file = 'api-export.csv'").fetchone()[0])
        db.close()
    assert found and all("Soap" in u for (u,) in found)
    assert "CLIENT_IP" in fields


@pytest.mark.parametrize(
    "text",
    ["10.20.30.40", " 10.20.30.40\n", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3", "256.1.1.1", "1..2.3",
     "1.2.3.4.5", "0x1.2.3.4", "+1.2.3.4", "1.2.3.4/24", "2001:db8::17", "2001:DB8:0::17", "::ffff:1.2.3.4",
     "Salesforce.com IP", ""],
)  # fmt: skip
def test_address_numbers_agree_with_ipaddress(text: str) -> None:
    """The dotted-quad fast path gives exactly what the ipaddress module gives (or refuses what it refuses)."""
    import ipaddress

    from app.hunt.index import ip_number

    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        assert ip_number(text) == (None, None)
        return
    width = 8 if ip.version == 4 else 32
    assert ip_number(text) == (str(ip), f"{ip.version}:{int(ip):0{width}x}")

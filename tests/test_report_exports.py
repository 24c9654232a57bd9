"""Exports other tools read, from the demo tabletop's recorded hunts: a STIX 2.1 bundle that the `stix2` library
parses back strictly, a MISP event in the MISP core format, each preserved as evidence with its hash and
journaled as report.exported; ids stay the same when exported twice; an incident without hunts exports an empty
but valid bundle."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from app.report import stix as stix_mod
from tests.report_helpers import PlayedDemo, play_demo


def _pymisp_data(name: str) -> Any:
    """A file PyMISP (MISP's own Python library) ships: MISP's type table (describeTypes.json) and the event
    JSON schemas from MISP's format/2.4 directory."""
    pymisp = pytest.importorskip("pymisp", reason="pymisp (test extra) is not installed")
    return json.loads((Path(pymisp.__file__).parent / "data" / name).read_text("utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> PlayedDemo:
    return play_demo(tmp_path_factory.mktemp("exports"))


def _export(demo: PlayedDemo, fmt: str, name: str) -> tuple[bytes, str]:
    out = demo.home / name
    code, text, err = demo.run("report", "--format", fmt, "--out", str(out))
    assert code == 0, err
    return out.read_bytes(), text


def _preserved(demo: PlayedDemo, data: bytes, fmt: str) -> None:
    sha = hashlib.sha256(data).hexdigest()
    with demo.incident() as incident:
        acquired = [e for e in incident.journal.entries(kind="evidence.acquired") if e.data["sha256"] == sha]
        exported = incident.journal.last("report.exported")
        stored = incident.evidence.path_for(sha).read_bytes()
    assert acquired and stored == data
    assert exported is not None and exported.data["format"] == fmt and exported.data["sha256"] == sha
    assert exported.data["evidence_id"] == acquired[-1].data["evidence_id"]


def test_stix_bundle_parses_strictly_and_ties_sightings_to_indicators(demo: PlayedDemo) -> None:
    import stix2

    from app.report.observed import observed as observed_records
    from app.report.stix import pattern

    data, _ = _export(demo, "stix", "bundle.json")
    bundle = stix2.parse(data.decode("utf-8"), allow_custom=False, version="2.1")
    by_id = {o.id: o for o in bundle.objects}
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    sightings = [o for o in bundle.objects if o.type == "sighting"]
    observed = [o for o in bundle.objects if o.type == "observed-data"]
    with demo.incident() as incident:
        hits = list(incident.journal.entries(kind="hunt.hit"))
    placeable = [h for h in hits if h.data.get("at") and (h.data.get("ip") or h.data.get("username"))]
    assert indicators and len(observed) == len(placeable)
    assert len(sightings) >= len(observed)
    for s in sightings:
        assert by_id[s.sighting_of_ref].type == "indicator"
        assert all(by_id[ref].type == "observed-data" for ref in s.observed_data_refs)
    ips = {o.value for o in bundle.objects if o.type == "ipv4-addr"}
    assert ips == {h.data["ip"] for h in placeable if h.data.get("ip")}
    # Context indicators (they also describe normal traffic) are not exported as STIX indicators; hit indicators
    # are (a connected app too, when the set says its name alone is the attacker's).
    with demo.incident() as incident:
        records = observed_records(incident).indicators
    names = {i.name for i in indicators}
    context = [r for r in records if r.role != "hit"]
    assert context and not any(f"{r.set_name}: {r.label}" in names for r in context)
    assert all(f"{r.set_name}: {r.label}" in names for r in records if r.role == "hit" and pattern(r) is not None)
    _preserved(demo, data, "stix")


def test_stix_ids_are_stable_across_exports(demo: PlayedDemo) -> None:
    first, _ = _export(demo, "stix", "a.json")
    second, _ = _export(demo, "stix", "b.json")

    def ids(data: bytes) -> set[str]:
        return {o["id"] for o in json.loads(data)["objects"] if o["type"] in ("indicator", "sighting", "observed-data")}

    assert ids(first) == ids(second)


def test_a_broken_bundle_does_not_validate() -> None:
    good = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "created": "2025-08-20T09:00:00Z",
                "modified": "2025-08-20T09:00:00Z",
                "pattern": "[ipv4-addr:value = '192.0.2.1']",
                "pattern_type": "stix",
                "valid_from": "2025-08-20T09:00:00Z",
            }
        ],
    }
    stix_mod.validate(json.dumps(good))
    bad = json.loads(json.dumps(good))
    bad["objects"][0]["valid_from"] = "yesterday"
    with pytest.raises(Exception):  # noqa: B017 - whichever error stix2 raises for the bad timestamp
        stix_mod.validate(json.dumps(bad))


def test_misp_event_loads_in_pymisp_and_fits_misp_types_and_schema(demo: PlayedDemo) -> None:
    from datetime import UTC, datetime

    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (test extra) is not installed")
    pymisp = pytest.importorskip("pymisp", reason="pymisp (test extra) is not installed")

    from app.base.clock import format_instant, parse_instant

    data, _ = _export(demo, "misp", "event.json")
    doc = json.loads(data)
    # MISP's lax event schema (format/2.4/schema-lax.json). The strict schema beside it predates attribute
    # sightings and first_seen/last_seen, which MISP's own event exports carry.
    jsonschema.Draft4Validator(_pymisp_data("schema-lax.json")).validate(doc)
    mappings = _pymisp_data("describeTypes.json")["result"]["category_type_mappings"]
    event = pymisp.MISPEvent()
    event.load(data.decode("utf-8"))
    assert event.info.startswith(demo.incident_id) and event.published is False and event.distribution == 0
    assert event.attributes
    with demo.incident() as incident:
        hit_times = {
            format_instant(parse_instant(h.data["at"]))
            for h in incident.journal.entries(kind="hunt.hit")
            if h.data.get("at")
        }
    for a in event.attributes:
        assert a.type in mappings[a.category], (a.category, a.type)
        for s in a.sightings:
            assert str(s.type) == "0"
            assert format_instant(datetime.fromtimestamp(int(s.date_sighting), UTC)) in hit_times
    attrs: list[dict[str, Any]] = doc["Event"]["Attribute"]
    context = [a for a in attrs if "[context" in a["comment"] or "[low confidence" in a["comment"]]
    assert context and not any(a["to_ids"] for a in context)
    assert any(a["to_ids"] for a in attrs if a not in context)
    assert any(a["Sighting"] for a in attrs if a["type"] == "ip-src")
    _preserved(demo, data, "misp")


def test_an_incident_without_hunts_exports_an_empty_valid_bundle(cli: Any, tmp_path: Path) -> None:
    cli.new("no hunts yet")
    out = tmp_path / "b.json"
    result = cli("report", "--format", "stix", "--out", str(out))
    assert result.code == 0, result.err
    bundle = stix_mod.validate(out.read_text("utf-8"))
    assert [o.type for o in bundle.objects] == ["identity"]
    assert "0 indicator(s), 0 recorded hit(s)" in result.out

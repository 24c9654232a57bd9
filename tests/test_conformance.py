"""Conformance with Salesforce as documented (app/data/salesforce), not with the simulated org.

The queries are collected from the code paths: every SOQL the simulated org receives while the shipped
tabletop plays end to end (pull, collect, hunt, plan, apply). Each must name only documented fields; every row
the org then holds and every Event Log File it serves must match the documented schema; and the column names
the evidence readers, hunt and exfiltration code look for must be documented columns or fields.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from app.base.sfschema import salesforce_schema
from app.simorg.schema import OPTIONAL_PERMISSIONS, Schema, build_schema
from app.simorg.soql_compiler import compile_query
from app.simorg.soql_lexer import SoqlError
from app.simorg.soql_parser import parse
from app.simorg.store import Store

ROOT = Path(__file__).resolve().parent.parent


def documented_schema(custom: dict[str, dict[str, str]] | None = None) -> Schema:
    """Every documented object and field (optional ones included), plus a seed's custom fields."""
    return build_schema(permissions=OPTIONAL_PERMISSIONS, custom_fields=custom)


def undocumented_in(query: str, api: str, schema: Schema) -> str | None:
    """Why a query names something Salesforce does not document, or None."""
    parsed = parse(query)
    obj = schema.get(parsed.sobject)
    if obj is None or api not in obj.apis:
        return f"{parsed.sobject} is not a documented {api} object"
    try:
        compile_query(parsed, schema, obj, _NOW, lambda _o, _i: None)
    except SoqlError as exc:
        return exc.message
    return None


_NOW = __import__("datetime").datetime(2025, 8, 20, tzinfo=__import__("datetime").UTC)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Play the shipped tabletop once, recording every query and keeping the org's store."""
    from tests.conftest import CLI, MemoryKeyring, isolated

    home = tmp_path_factory.mktemp("conformance-home")
    queries: list[tuple[str, str]] = []
    stores: list[Store] = []
    original = Store.query

    def recording(self: Store, text: str, **kw: Any) -> dict[str, Any]:
        queries.append((kw.get("api", "rest"), text))
        if self not in stores:
            stores.append(self)
        return original(self, text, **kw)

    from app.base.clock import FrozenClock

    with pytest.MonkeyPatch.context() as mp, isolated(home):
        mp.setattr(Store, "query", recording)
        cli = CLI(home, FrozenClock(_NOW), MemoryKeyring())
        result = cli("exercise", "run", "chat-vendor-theft", "--script", "chat-vendor-theft", "--quiet")
    return {"queries": queries, "stores": stores, "result": result}


def test_the_tabletop_plays_end_to_end(played: dict[str, Any]) -> None:
    result = played["result"]
    assert result.code == 0, result.err + result.out[:2000]


def test_every_query_the_client_builds_names_only_documented_fields(played: dict[str, Any]) -> None:
    queries = played["queries"]
    assert len({q for _a, q in queries}) > 20  # the whole flow ran: inventory, collection, containment
    store: Store = played["stores"][0]
    custom = {
        o: {n: fd.type for n, fd in obj.fields.items() if n.endswith("__c")} for o, obj in store.schema.objects.items()
    }
    schema = documented_schema({o: f for o, f in custom.items() if f})
    problems = sorted({f"{q}\n    -> {why}" for api, q in queries if (why := undocumented_in(q, api, schema))})
    assert not problems, "queries naming undocumented fields:\n" + "\n".join(problems)


def test_every_row_the_simulated_org_holds_matches_the_documented_schema(played: dict[str, Any]) -> None:
    sf = salesforce_schema()
    for store in played["stores"]:
        for name, table in store.tables.items():
            spec = sf.objects.get(name)
            if spec is None:  # the Shield stores and Health Check: described with sources in schema_security.py
                continue
            custom = {n for n in store.schema.objects[name].fields if n.endswith("__c")}
            for row in [*table.rows.values(), *table.deleted]:
                extra = {k for k in row if not k.startswith("_")} - set(spec.fields) - custom
                assert not extra, f"{name} row holds undocumented fields {sorted(extra)}"


def test_every_event_log_file_has_its_types_documented_header(played: dict[str, Any]) -> None:
    sf = salesforce_schema()
    seen = set()
    for store in played["stores"]:
        for row in store.rows("EventLogFile"):
            spec = sf.log_type(row["EventType"])
            assert spec is not None, row["EventType"]
            body = store.blobs[("EventLogFile", row["Id"], "LogFile")].decode()
            header = next(csv.reader(io.StringIO(body)))
            assert header == spec.columns == row["LogFileFieldNames"].split(","), row["EventType"]
            seen.add(row["EventType"])
    assert {"RestApi", "BulkApi2", "Login", "ApiTotalUsage"} <= seen


# Modules that read preserved logs by column or field name.
READERS = ("app/evidence/rows.py", "app/hunt/hunting.py", "app/hunt/exfil.py")
_UPPER = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")


def names_read(path: Path) -> set[str]:
    """Upper-snake string constants: event-log column names the module looks for."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and _UPPER.match(n.value)
    }


def test_exfil_hunt_and_timeline_read_documented_event_log_columns() -> None:
    sf = salesforce_schema()
    documented = {c for t in sf.log_types.values() for c in t.columns} | set(sf.log_types)
    documented |= {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}  # values of RestApi METHOD (the HTTP method)
    for rel in READERS:
        unknown = names_read(ROOT / rel) - documented
        assert not unknown, f"{rel} reads columns no documented event log type has: {sorted(unknown)}"


def test_the_field_spellings_evidence_rows_look_through_are_documented() -> None:
    """The accessor tuples of app/evidence/rows.py (`_IP = ("SourceIp", "CLIENT_IP", ...)`): each camel-case
    name is a documented field (a dotted one, its relationship's field), each upper-snake one a column."""
    sf = salesforce_schema()
    columns = {c for t in sf.log_types.values() for c in t.columns}
    fields = {f for o in sf.objects.values() for f in o.fields} | {"CreatedBy.Username", "LogUser.Username"}
    tree = ast.parse((ROOT / "app/evidence/rows.py").read_text(encoding="utf-8"))
    checked = 0
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            for elt in node.value.elts:
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    checked += 1
                    assert elt.value in columns | fields, f"rows.py looks for undocumented {elt.value!r}"
    assert checked > 30

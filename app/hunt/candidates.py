"""Which indexed rows an indicator set could match: look-ups on the analysis database's indexed columns.

Each indicator becomes a query that returns every row its matcher could accept, and possibly more (a regular
expression takes every row that has the field; a literal with letters outside ASCII takes every value); the
hunt then runs the same matchers as the plain scan on those rows alone, so the hits are the plain scan's hits.
Free-text rows (debug-log lines) are always candidates, since every text matcher also searches the line.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from typing import Any

from app.evidence.rows import Row, id_key
from app.hunt.index import HuntIndex, at_us, row_from
from app.hunt.indicators import DEFAULT_MATCH, Compiled, IndicatorSet, Window

_ID_SHAPE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_KIND_FIELD = {"user_agent": "ua", "username": "user", "connected_app": "app"}
_ID_FIELD = {"username": ("user_id", "Username"), "connected_app": ("app_id", "Application")}

Fragment = tuple[str, list[Any]]


def _values_query(kind: str, literals: list[str], mode: str) -> list[Fragment]:
    """Rows whose `kind` value the patterns could match (see `indicators._pattern` and `_text_test`)."""
    if mode == "exact":
        wanted = sorted({v.strip().lower() for v in literals})
        sql = "SELECT row_id FROM row_values WHERE kind = ? AND exact IN (SELECT value FROM json_each(?))"
        return [(sql, [kind, json.dumps(wanted)])]
    if mode == "contains" and all(v.strip().isascii() for v in literals):
        out: list[Fragment] = []
        for v in literals:  # ASCII literal, case-insensitive: a substring of the lowered value, unless not ASCII
            sql = "SELECT row_id FROM row_values WHERE kind = ? AND (instr(low, ?) > 0 OR nonascii = 1)"
            out.append((sql, [kind, v.strip().lower()]))
        return out
    return [("SELECT row_id FROM row_values WHERE kind = ?", [kind])]


def _ids_query(kind: str, ids: set[str]) -> Fragment:
    sql = "SELECT row_id FROM row_values WHERE kind = ? AND exact IN (SELECT value FROM json_each(?))"
    return sql, [kind, json.dumps(sorted(i.strip().lower() for i in ids))]


def _ip_query(nets: list[Any]) -> list[Fragment]:
    exact = sorted({str(n.network_address) for n in nets if n.num_addresses == 1})
    ranges = [n for n in nets if n.num_addresses > 1]
    out: list[Fragment] = [
        ("SELECT row_id FROM row_ips WHERE ip IN (SELECT value FROM json_each(?))", [json.dumps(exact)])
    ]
    if ranges:
        out.append(("SELECT row_id FROM row_ips WHERE canon IN (SELECT value FROM json_each(?))", [json.dumps(exact)]))
        bounds = []
        for net in ranges:
            width = 8 if net.version == 4 else 32
            lo = f"{net.version}:{int(net.network_address):0{width}x}"
            hi = f"{net.version}:{int(net.broadcast_address):0{width}x}"
            bounds.append([lo, hi])
        sql = (
            "SELECT row_id FROM json_each(?) AS r JOIN row_ips "
            "ON num BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]')"
        )
        out.append((sql, [json.dumps(bounds)]))
    return out


def _nets(c: Compiled, owner: IndicatorSet) -> list[Any]:
    ind = c.indicator
    if ind.kind == "ip_list":
        n = next(i for i, x in enumerate(owner.indicator) if x is ind)
        return owner.ip_list(n)
    return [ipaddress.ip_network(v.strip(), strict=False) for v in ind.values]


def _fragments(c: Compiled, owner: IndicatorSet, users: dict[str, str], apps: dict[str, str]) -> list[Fragment]:
    ind = c.indicator
    if ind.kind in ("ip", "ip_list"):
        return _ip_query(_nets(c, owner))
    if ind.kind in _KIND_FIELD:
        out = _values_query(_KIND_FIELD[ind.kind], ind.values, ind.match or DEFAULT_MATCH[ind.kind])
        if ind.kind in _ID_FIELD:
            id_kind, field = _ID_FIELD[ind.kind]
            ids = {id_key(v) for v in ind.values if _ID_SHAPE.fullmatch(v.strip())}
            names = users if ind.kind == "username" else apps
            ids.update(k for k, name in names.items() if c.test(Row("", "", 0, "", {field: name})))
            out.append(_ids_query(id_kind, ids))
        return out
    # SOQL: every condition the matcher checks first narrows the rows (API family, objects, a query at all).
    where: list[str] = []
    params: list[Any] = []
    if ind.api:
        where.append("api IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(ind.api)))
    if ind.objects:
        where.append(
            "id IN (SELECT row_id FROM row_values WHERE kind = 'entity' AND exact IN (SELECT value FROM json_each(?)))"
        )
        params.append(json.dumps(sorted({o.lower() for o in ind.objects})))
    if ind.values:
        where.append("has_query = 1")
    return [(f"SELECT id FROM rows WHERE {' AND '.join(where) or '1'}", params)]


def candidate_rows(
    index: HuntIndex,
    sets: list[IndicatorSet],
    window: Window,
    users: dict[str, str],
    apps: dict[str, str],
    sources: tuple[str, ...] | None = None,
) -> Iterator[Row]:
    """Rows in the window that some indicator of `sets` could match (or, with `sources`, every row of those
    event types), in the order the plain scan reads them."""
    if sources is not None:
        fragments: list[Fragment] = [
            ("SELECT id FROM rows WHERE event_type IN (SELECT value FROM json_each(?))", [json.dumps(list(sources))])
        ]
    else:
        fragments = [("SELECT id FROM rows WHERE text IS NOT NULL", [])]
        for s in sets:
            for c in s.compiled:
                fragments.extend(_fragments(c, s, users, apps))
    union = " UNION ".join(sql for sql, _ in fragments)
    params = [p for _, ps in fragments for p in ps]
    start, end = at_us(window.start), at_us(window.end)
    sql = (
        f"SELECT * FROM rows WHERE id IN ({union}) AND (at_us IS NULL OR "
        "((? IS NULL OR at_us >= ?) AND (? IS NULL OR at_us < ?))) ORDER BY id"
    )
    for record in index.db.execute(sql, [*params, start, start, end, end]):
        yield row_from(record)

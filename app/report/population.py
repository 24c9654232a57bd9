"""The population an auditor samples from: the matching journal entries as CSV, with the SQL that selects them."""

from __future__ import annotations

import csv
import io
import sqlite3
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from app.incident.core import Incident


# -- population export --------------------------------------------------------------------------------------------

POPULATION_COLUMNS = ("seq", "recorded_utc", "kind", "actor", "entry_id", "entry_hash", "data")


class Population(BaseModel):
    sql: str
    params: list[Any]
    count: int
    tree_size: int
    root: str
    verified: bool
    verify_message: str


def population_query(
    kind: str | None = None, prefix: str | None = None, since: str | None = None, until: str | None = None
) -> tuple[str, list[Any]]:
    """The SQL (and parameters) an auditor re-runs to check the population is complete."""
    where, params = ["1 = 1"], []
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if prefix:
        where.append("kind >= ? AND kind < ?")
        params += [prefix, prefix + "\uffff"]
    if since:
        where.append("recorded_utc >= ?")
        params.append(since)
    if until:
        where.append("recorded_utc < ?")
        params.append(until)
    sql = (
        "SELECT seq, recorded_utc, kind, actor, entry_id, lower(hex(entry_hash)) AS entry_hash, "
        "json_extract(CAST(body AS TEXT), '$.data') AS data FROM entries WHERE " + " AND ".join(where) + " ORDER BY seq"
    )
    return sql, params


def export_population(
    incident: Incident,
    out: io.TextIOBase | Any,
    *,
    kind: str | None = None,
    prefix: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Population:
    """Write the matching entries as CSV (through sqlite-utils) and return the query, count and journal root."""
    import sqlite_utils

    from app.journal.verify import verify_journal

    sql, params = population_query(kind, prefix, since, until)
    head = incident.journal.head()
    # A read-only connection of its own: the query an auditor re-runs against the file, run the same way.
    conn = sqlite3.connect(f"file:{incident.journal.path}?mode=ro", uri=True)
    try:
        db = sqlite_utils.Database(conn)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(POPULATION_COLUMNS)
        count = 0
        for row in db.query(sql, params):
            if row["seq"] > head.size:
                break
            writer.writerow([row[c] for c in POPULATION_COLUMNS])
            count += 1
    finally:
        conn.close()
    verdict = verify_journal(incident.journal.path, (), incident.journal.registry)
    return Population(
        sql=sql,
        params=params,
        count=count,
        tree_size=head.size,
        root=head.root_hex,
        verified=verdict.ok,
        verify_message=verdict.message,
    )

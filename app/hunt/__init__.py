"""Indicators of compromise as data, hunted through the preserved evidence, and "what did they take?".

Indicator files are TOML (docs/forensics.md): published addresses, ranges, user agents, connected apps,
usernames and SOQL patterns, each with its sources and a time window. The hunt reads only the evidence store
(offline; `--org` collects first, then hunts the same way), so every hit names a preserved file, a line and a
record and can be re-derived later. Indicators that also describe normal traffic (the abused app's name, a
COUNT() query) are `role = "context"`: they annotate hits but never make one alone, so the normal
integrations stay out of the findings.

Layout: `indicators` (the file format and compiled matchers), `hunting` (scan, hits, recording), `exfil`
(the exfiltration table), `index` (the per-incident analysis database the hunt queries, derived from the
evidence store), `candidates` (which indexed rows an indicator could match) and `calls` (the API calls the
preserved event logs record, for token use by address over time). Everything is importable from
`app.hunt`.
"""

from __future__ import annotations

from app.hunt.calls import CALL_LOG_TYPES, USAGE_LOG_TYPE, ApiCalls, api_calls
from app.hunt.exfil import (
    EXFIL_LOG_TYPES,
    EXFIL_SOURCES,
    SAME_REQUEST,
    ExfilRow,
    Taken,
    api_logs_preserved,
    exfiltration_rows,
    exfiltration_table,
    what_was_taken,
)
from app.hunt.hunting import (
    Hit,
    HuntResult,
    hunt,
    match_row,
    project_hit,
    record_hunt,
    recorded_indicator_sets,
    scan,
    window_of,
)
from app.hunt.index import IndexStatus, IndexUnavailable, refresh_index
from app.hunt.indicators import (
    DATA_DIR,
    DEFAULT_MATCH,
    FORMAT_VERSION,
    QUERY_CHARS,
    READ_OPERATIONS,
    ApiFamily,
    Compiled,
    Indicator,
    IndicatorError,
    IndicatorSet,
    Kind,
    MatchMode,
    Source,
    Window,
    find_indicator_file,
    load_indicators,
    shipped_indicator_files,
)

__all__ = [
    "CALL_LOG_TYPES",
    "DATA_DIR",
    "DEFAULT_MATCH",
    "EXFIL_LOG_TYPES",
    "EXFIL_SOURCES",
    "FORMAT_VERSION",
    "QUERY_CHARS",
    "READ_OPERATIONS",
    "SAME_REQUEST",
    "USAGE_LOG_TYPE",
    "ApiCalls",
    "ApiFamily",
    "Compiled",
    "ExfilRow",
    "Hit",
    "HuntResult",
    "IndexStatus",
    "IndexUnavailable",
    "Indicator",
    "IndicatorError",
    "IndicatorSet",
    "Kind",
    "MatchMode",
    "Source",
    "Taken",
    "Window",
    "api_calls",
    "api_logs_preserved",
    "exfiltration_rows",
    "exfiltration_table",
    "find_indicator_file",
    "hunt",
    "load_indicators",
    "match_row",
    "project_hit",
    "record_hunt",
    "recorded_indicator_sets",
    "refresh_index",
    "scan",
    "shipped_indicator_files",
    "what_was_taken",
    "window_of",
]

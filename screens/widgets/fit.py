"""Columns that fit the pane: fixed widths for marks and times, the rest to the one flexible text column.

DataTable sizes columns to their content and scrolls sideways; at 3 a.m. nobody scrolls sideways to find
the due time, so each pane rebuilds its columns to its own width whenever that width changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import DataTable

SCROLLBAR = 2
MIN_FLEX = 12


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    width: int | None = None  # None: takes what is left (exactly one column per table)
    min_total: int = 0  # hide this column when the pane is narrower than this


def fit_columns(table: DataTable, cols: list[Col], total: int) -> list[str]:
    """Clear `table` (rows and columns) and add `cols` sized to `total` cells; returns the keys shown."""
    pad = table.cell_padding * 2
    shown = [c for c in cols if total >= c.min_total]
    fixed = sum((c.width or 0) + pad for c in shown if c.width is not None)
    flex = max(MIN_FLEX, total - SCROLLBAR - fixed - pad)
    table.clear(columns=True)
    for c in shown:
        table.add_column(c.label, key=c.key, width=c.width if c.width is not None else flex)
    return [c.key for c in shown]

"""A table of one-line rows that repaints only the line that changed.

The checklist and the countdowns change one row at a time (a state set, a second ticking by) while the cursor moves
a row at a time. A general table that re-renders every visible cell on any change costs more than the rest of a
key press at 160 columns; this widget draws each row as one cached line (Textual's line API), keyed by the row
itself, its width and whether the cursor is on it, so an update or a cursor step repaints one or two lines.

Rows can be headings (a phase title): the cursor never rests on them. Columns have fixed widths except one that
takes the rest of the width, so the text that matters (a title, a clock's name) grows with the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

PAD = 1  # blank cells on each side of a column
MIN_FLEX = 12
CACHE_LIMIT = 2000


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    width: int | None = None  # None: takes what is left (exactly one column per table)
    min_total: int = 0  # hidden when the list is narrower than this


@dataclass(frozen=True, eq=True)
class Row:
    key: str
    cells: Mapping[str, Text | str] = field(default_factory=dict)
    heading: bool = False  # shown, never selected


def column_widths(cols: Sequence[Col], total: int) -> list[tuple[str, int]]:
    """(key, width) of the columns shown in `total` cells: the fixed ones as given, the flexible one the rest."""
    shown = [c for c in cols if total >= c.min_total]
    fixed = sum((c.width or 0) + 2 * PAD for c in shown if c.width is not None)
    flex = max(MIN_FLEX, total - fixed - 2 * PAD)
    return [(c.key, c.width if c.width is not None else flex) for c in shown]


class RowList(ScrollView, can_focus=True):
    """Rows under a fixed header line; up/down/page/home/end move the cursor, Enter selects."""

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select_cursor", "Select", show=False),
    ]
    COMPONENT_CLASSES = {"row-list--header", "row-list--cursor"}
    DEFAULT_CSS = """
    RowList {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        &:focus {
            background-tint: $foreground 5%;
            & > .row-list--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .row-list--header { text-style: bold; background: $panel; color: $foreground; }
        & > .row-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowMessage(Message):
        def __init__(self, row_list: RowList, key: str) -> None:
            super().__init__()
            self.row_list = row_list
            self.key = key

        @property
        def control(self) -> RowList:
            return self.row_list

    class Highlighted(RowMessage):
        """The cursor moved to the row `key`."""

    class Selected(RowMessage):
        """Enter (or a click on the cursor's row) on the row `key`."""

    def __init__(self, columns: Sequence[Col], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self.rows: list[Row] = []
        self._index: dict[str, int] = {}
        self.cursor = -1
        self._strips: dict[tuple[object, ...], tuple[Row, Strip]] = {}
        self._styles: tuple[Style, Style, Style] = (Style(), Style(), Style())
        self._widths: tuple[int, list[tuple[str, int]]] = (-1, [])

    # -- reading ----------------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.rows]

    @property
    def cursor_key(self) -> str | None:
        return self.rows[self.cursor].key if 0 <= self.cursor < len(self.rows) else None

    def row(self, key: str) -> Row | None:
        index = self._index.get(key)
        return None if index is None else self.rows[index]

    def cell(self, key: str, column: str) -> Text | str:
        row = self.row(key)
        return "" if row is None else row.cells.get(column, "")

    def shown_columns(self) -> list[str]:
        return [key for key, _ in self._column_widths()]

    # -- writing ----------------------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Row], keep: str | None = None, default: str | None = None) -> None:
        """Show `rows`; the cursor stays on `keep` (else its current row, else `default`, else the first)."""
        rows = list(rows)
        if keep is None and [r.key for r in rows] == [r.key for r in self.rows]:
            for index, (old, new) in enumerate(zip(self.rows, rows, strict=True)):
                if old != new:
                    self.rows[index] = new
                    self._refresh_row(index)
            return
        current = keep if keep is not None else self.cursor_key
        self.rows = rows
        self._index = {r.key: i for i, r in enumerate(rows)}
        self.virtual_size = Size(0, len(rows) + 1)
        target = next(
            (k for k in (current, default) if k is not None and k in self._index and not self.row_heading(k)), None
        )
        index = self._index[target] if target is not None else self._nearest(0, 1)
        self.cursor = -1
        self.refresh()
        self.move_to(index)

    def update_row(self, row: Row) -> None:
        """Replace one row by its key and repaint that line alone."""
        index = self._index.get(row.key)
        if index is None or self.rows[index] == row:
            return
        self.rows[index] = row
        self._refresh_row(index)

    def row_heading(self, key: str) -> bool:
        row = self.row(key)
        return row is not None and row.heading

    # -- the cursor --------------------------------------------------------------------------------------------

    def select(self, key: str) -> None:
        index = self._index.get(key)
        if index is not None and not self.rows[index].heading:
            self.move_to(index)

    def move_to(self, index: int) -> None:
        if not 0 <= index < len(self.rows) or self.rows[index].heading:
            return
        old, self.cursor = self.cursor, index
        if old != index:
            if old >= 0:
                self._refresh_row(old)
            self._refresh_row(index)
        self.scroll_to_cursor()
        self.post_message(self.Highlighted(self, self.rows[index].key))

    def scroll_to_cursor(self) -> None:
        if self.cursor < 0:
            return
        height = self.scrollable_content_region.height - 1  # rows under the header
        if height <= 0:
            self.call_after_refresh(self._scroll_when_sized)
            return
        top = round(self.scroll_y)
        first = self.cursor
        while first > 0 and self.rows[first - 1].heading:
            first -= 1  # bring the headings above the cursor's row into view with it
        if first < top:
            self.scroll_to(y=first, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _scroll_when_sized(self) -> None:
        if self.scrollable_content_region.height > 1:
            self.scroll_to_cursor()

    def _nearest(self, start: int, step: int) -> int:
        """The first selectable row from `start` going `step`, else the other way, else -1."""
        for direction in (step, -step):
            index = start
            while 0 <= index < len(self.rows):
                if not self.rows[index].heading:
                    return index
                index += direction
        return -1

    def _step(self, step: int) -> None:
        if not self.rows:
            return
        index = self.cursor + step
        while 0 <= index < len(self.rows) and self.rows[index].heading:
            index += 1 if step > 0 else -1
        if 0 <= index < len(self.rows):
            self.move_to(index)
        elif step < 0:
            self.scroll_to(y=0, animate=False, immediate=True)  # the heading above the first row, into view

    def action_cursor_down(self) -> None:
        self._step(1)

    def action_cursor_up(self) -> None:
        self._step(-1)

    def action_page_down(self) -> None:
        page = max(1, self.scrollable_content_region.height - 2)
        target = min(len(self.rows) - 1, max(self.cursor, 0) + page)
        self.move_to(self._nearest(target, 1))

    def action_page_up(self) -> None:
        page = max(1, self.scrollable_content_region.height - 2)
        target = max(0, self.cursor - page)
        self.move_to(self._nearest(target, -1))

    def action_first(self) -> None:
        self.move_to(self._nearest(0, 1))

    def action_last(self) -> None:
        self.move_to(self._nearest(len(self.rows) - 1, -1))

    def action_select_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = round(self.scroll_y) + event.y - 1
        if not 0 <= index < len(self.rows) or self.rows[index].heading:
            return
        if index == self.cursor:
            self.action_select_cursor()
        else:
            self.move_to(index)

    def on_focus(self) -> None:
        self._refresh_cursor_line()

    def on_blur(self) -> None:
        self._refresh_cursor_line()

    def _refresh_cursor_line(self) -> None:
        if self.cursor >= 0:
            self._refresh_row(self.cursor)

    # -- drawing ------------------------------------------------------------------------------------------------

    def _refresh_row(self, index: int) -> None:
        y = index + 1 - round(self.scroll_y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _column_widths(self) -> list[tuple[str, int]]:
        total = self.scrollable_content_region.width
        if self._widths[0] != total:
            self._widths = (total, column_widths(self.columns, total))
        return self._widths[1]

    def render_lines(self, crop: Region) -> list[Strip]:
        self._styles = (
            self.rich_style,
            self.get_component_rich_style("row-list--header"),
            self.get_component_rich_style("row-list--cursor"),
        )
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base, header_style, cursor_style = self._styles
        widths = self._column_widths()
        if y == 0:
            labels = {c.key: c.label for c in self.columns}
            return self._draw(Row("", labels), widths, width, header_style, None)
        index = round(self.scroll_y) + y - 1
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        on_cursor = index == self.cursor
        key = (row.key, width, on_cursor, base, cursor_style if on_cursor else None)
        cached = self._strips.get(key)
        if cached is not None and cached[0] is row:
            return cached[1]
        strip = self._draw(row, widths, width, base, cursor_style if on_cursor else None)
        if len(self._strips) >= CACHE_LIMIT:
            self._strips.clear()
        self._strips[key] = (row, strip)
        return strip

    def _draw(self, row: Row, widths: list[tuple[str, int]], width: int, base: Style, over: Style | None) -> Strip:
        line = Text(no_wrap=True, end="")
        for key, cells in widths:
            cell = row.cells.get(key, "")
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.truncate(cells, overflow="ellipsis")  # a cut shows as "…", never silently
            line.append(" " * PAD)
            line.append_text(text)  # the cell's own style stays on its text; the padding is plain
            line.append(" " * (cells - text.cell_len + PAD))
        segments = list(Segment.apply_style(line.render(self.app.console), base, over))
        return Strip(segments).adjust_cell_length(width, base + over if over else base)

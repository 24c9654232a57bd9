"""Where each key and value of a TOML document sits in its source, so validation errors can say FILE:LINE:COL.

tomllib reports positions only for syntax errors; a schema error ("unknown control id") needs the line of the
offending value. This scanner walks a document that tomllib has already accepted and records, for every
path in the parsed data (the same tuples pydantic uses as error `loc`, e.g. ("items", 3, "controls",
"soc2", 1)), where its key, its value and its table header start. It is not a parser: on input tomllib
rejected its answers mean nothing.
"""

from __future__ import annotations

import bisect
import json
import re
import tomllib
from dataclasses import dataclass

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_DECODE_POS = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S)


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    col: int


class TomlPositions:
    """Positions of keys, values and table headers of one TOML source text."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self._keys: dict[Path, int] = {}
        self._values: dict[Path, int] = {}
        self._tables: dict[Path, int] = {}
        self._aot_last: dict[Path, int] = {}
        self._i = 0
        self._scan()

    # -- lookups ---------------------------------------------------------------------------------------

    def pos(self, offset: int) -> Pos:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Pos(line + 1, offset - self._line_starts[line] + 1)

    def key(self, path: Path) -> Pos | None:
        off = self._keys.get(tuple(path))
        return None if off is None else self.pos(off)

    def value(self, path: Path) -> Pos | None:
        off = self._values.get(tuple(path))
        return None if off is None else self.pos(off)

    def table(self, path: Path) -> Pos | None:
        off = self._tables.get(tuple(path))
        return None if off is None else self.pos(off)

    def locate(self, path: Path, *, prefer_key: bool = False) -> Pos:
        """The best position for `path`: its value (or key), else the nearest enclosing key or table."""
        path = tuple(path)
        while path:
            found = (
                (self.key(path) or self.value(path)) if prefer_key else (self.value(path) or self.key(path))
            ) or self.table(path)
            if found:
                return found
            path = path[:-1]
            prefer_key = True
        return Pos(1, 1)

    def enclosing(self, path: Path) -> Pos:
        """Where the table (or inline table) holding `path` starts; for a missing key."""
        return self.locate(tuple(path)[:-1], prefer_key=True)

    # -- scanning --------------------------------------------------------------------------------------

    def _scan(self) -> None:
        s = self._text
        current: Path = ()
        while True:
            self._skip_blank(newlines=True)
            if self._i >= len(s):
                return
            start = self._i
            if s.startswith("[[", start):
                self._i += 2
                keys = self._key_path()
                self._skip_blank()
                self._i += 2  # ]]
                current = self._resolve(keys, start, new_array_table=True)
                self._tables[current] = start
            elif s[start] == "[":
                self._i += 1
                keys = self._key_path()
                self._skip_blank()
                self._i += 1  # ]
                current = self._resolve(keys, start)
                self._tables.setdefault(current, start)
            else:
                self._key_value(current)
            if self._i == start:  # defensive: never loop on input tomllib would have refused
                self._i += 1

    def _resolve(self, keys: list[str], start: int, *, new_array_table: bool = False) -> Path:
        path: Path = ()
        for n, key in enumerate(keys):
            path = (*path, key)
            if new_array_table and n == len(keys) - 1:
                index = self._aot_last.get(path, -1) + 1
                self._aot_last[path] = index
                self._tables.setdefault(path, start)
                path = (*path, index)
            elif path in self._aot_last:
                path = (*path, self._aot_last[path])
        return path

    def _key_value(self, base: Path) -> None:
        start = self._i
        keys = self._key_path()
        path = base
        for key in keys:
            path = (*path, key)
            self._keys.setdefault(path, start)
        self._skip_blank()
        if self._i < len(self._text) and self._text[self._i] == "=":
            self._i += 1
        self._skip_blank()
        self._value(path)

    def _key_path(self) -> list[str]:
        s = self._text
        keys: list[str] = []
        while True:
            self._skip_blank()
            if self._i >= len(s):
                return keys
            c = s[self._i]
            if c == '"':
                begin = self._i
                self._skip_basic_string()
                raw = s[begin : self._i]
                try:
                    keys.append(json.loads(raw))
                except ValueError:
                    keys.append(raw[1:-1])
            elif c == "'":
                end = s.find("'", self._i + 1)
                keys.append(s[self._i + 1 : end])
                self._i = end + 1
            else:
                m = _BARE_KEY.match(s, self._i)
                if not m:
                    return keys
                keys.append(m.group())
                self._i = m.end()
            self._skip_blank()
            if self._i < len(s) and s[self._i] == ".":
                self._i += 1
                continue
            return keys

    def _value(self, path: Path) -> None:
        s = self._text
        if self._i >= len(s):
            return
        self._values[path] = self._i
        c = s[self._i]
        if s.startswith('"""', self._i):
            self._i += 3
            while self._i < len(s):
                if s[self._i] == "\\":
                    self._i += 2
                elif s.startswith('"""', self._i):
                    self._i += 3
                    while self._i < len(s) and s[self._i] == '"':  # up to two quotes end the content
                        self._i += 1
                    return
                else:
                    self._i += 1
        elif s.startswith("'''", self._i):
            end = s.find("'''", self._i + 3)
            self._i = len(s) if end < 0 else end + 3
            while self._i < len(s) and s[self._i] == "'":
                self._i += 1
        elif c == '"':
            self._skip_basic_string()
        elif c == "'":
            end = s.find("'", self._i + 1)
            self._i = len(s) if end < 0 else end + 1
        elif c == "[":
            self._i += 1
            index = 0
            while True:
                self._skip_blank(newlines=True)
                if self._i >= len(s) or s[self._i] == "]":
                    self._i += 1
                    return
                before = self._i
                self._value((*path, index))
                index += 1
                self._skip_blank(newlines=True)
                if (self._i < len(s) and s[self._i] == ",") or self._i == before:
                    self._i += 1  # a separator, or (defensively) no progress
        elif c == "{":
            self._i += 1
            while True:
                self._skip_blank(newlines=True)
                if self._i >= len(s) or s[self._i] == "}":
                    self._i += 1
                    return
                before = self._i
                self._key_value(path)
                self._skip_blank(newlines=True)
                if (self._i < len(s) and s[self._i] == ",") or self._i == before:
                    self._i += 1  # a separator, or (defensively) no progress
        else:
            while self._i < len(s) and s[self._i] not in ",]}#\r\n":
                self._i += 1

    def _skip_basic_string(self) -> None:
        s = self._text
        self._i += 1
        while self._i < len(s):
            c = s[self._i]
            if c == "\\":
                self._i += 2
            elif c == '"':
                self._i += 1
                return
            else:
                self._i += 1

    def _skip_blank(self, *, newlines: bool = False) -> None:
        s = self._text
        while self._i < len(s):
            c = s[self._i]
            if c in " \t" or (newlines and c in "\r\n"):
                self._i += 1
            elif c == "#":
                end = s.find("\n", self._i)
                if end < 0 or not newlines:
                    self._i = len(s) if end < 0 else end
                    if not newlines:
                        return
                else:
                    self._i = end + 1
            else:
                return


def decode_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[Pos, str]:
    """Position and message of a TOML syntax error (tomllib puts both in the message text)."""
    lineno = getattr(exc, "lineno", None)
    colno = getattr(exc, "colno", None)
    message = getattr(exc, "msg", None) or str(exc)
    m = _DECODE_POS.match(str(exc))
    if m:
        message = m.group("msg")
        lineno, colno = int(m.group("line")), int(m.group("col"))
    if lineno is None or colno is None:
        message = message.replace(" (at end of document)", "")
        lines = text.split("\n")
        lineno, colno = len(lines), len(lines[-1]) + 1
    return Pos(int(lineno), int(colno)), f"TOML syntax: {message[:1].lower()}{message[1:]}"


def dotted(loc: Path) -> str:
    """A location as a reader writes it: ("items", 3, "controls") -> "items[3].controls" ("" for the document)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

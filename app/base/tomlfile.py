"""One TOML loader for every file format (checklists, rules, indicators, notices, scenarios, scripts, seeds).

Read, parse, validate against a pydantic model, and say where it went wrong in one format everywhere:

    FILE:LINE:COL: field: message

with "unknown key ... (did you mean 'x'?)" for a misspelt key. Each format raises its own error class (its
exit code and family) from the problems found here; app/base/tomlpos.py finds the positions.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.base import files, limits
from app.base.errors import UsageError, WarroomError
from app.base.tomlpos import Pos, TomlPositions, decode_error, dotted

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class TomlProblem:
    """One located problem: FILE:LINE:COL: field: message (the field is left out for the whole document)."""

    file: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class TomlFileError(Exception):
    """A file that could not be read or parsed; `problem` says where. Formats re-raise it as their own error."""

    def __init__(self, problem: TomlProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class TomlDocument:
    """A parsed TOML file: its text, data and (computed on first use) the positions of its keys and values."""

    def __init__(self, display: str, text: str, data: dict[str, Any], raw: bytes | None = None) -> None:
        self.display = display
        self.text = text
        self.data = data
        self._raw = raw if raw is not None else text.encode("utf-8")
        self._positions: TomlPositions | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self._raw).hexdigest()

    @property
    def positions(self) -> TomlPositions:
        if self._positions is None:
            self._positions = TomlPositions(self.text)
        return self._positions

    def problem(self, loc: Sequence[str | int], message: str, *, key: bool = False) -> TomlProblem:
        """A problem at `loc` (its value, or its key with `key`), else at the nearest enclosing table."""
        pos = self.positions.locate(tuple(loc), prefer_key=key)
        return TomlProblem(self.display, pos.line, pos.col, dotted(tuple(loc)), message)

    def validate(self, model: type[M], *, prefix: Loc = ()) -> M:
        """`model` from the data at `prefix` (the whole document by default); TomlInvalid lists every problem."""
        data: Any = self.data
        for part in prefix:
            data = data[part]
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise TomlInvalid(validation_problems(self, model, exc, prefix)) from None


class TomlInvalid(Exception):
    """A file that parsed but does not fit its model; `problems` holds one located message each."""

    def __init__(self, problems: list[TomlProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def parse_toml(text: str, display: str, raw: bytes | None = None) -> TomlDocument:
    """Parse `text`; a syntax error raises TomlFileError at its line and column."""
    try:
        data = limits.parse_toml(text, display)
    except tomllib.TOMLDecodeError as exc:
        pos, message = decode_error(exc, text)
        raise TomlFileError(TomlProblem(display, pos.line, pos.col, "", message)) from None
    except UsageError as exc:  # too large or nested too deeply: refused before anything reads it
        raise TomlFileError(TomlProblem(display, 1, 1, "", str(exc).removeprefix(f"{display}: "))) from None
    return TomlDocument(display, text, data, raw)


def read_toml(path: Path, display: str | None = None) -> TomlDocument:
    """Read and parse `path` (named `display` in problems): unreadable, not UTF-8 or bad TOML raise TomlFileError."""
    name = display or str(path)
    try:  # a regular file within the size bound: a FIFO, a device or a huge file is refused, never read
        raw = files.read_limited(path, limits.MAX_TOML_BYTES, "TOML file")
    except WarroomError as exc:
        raise TomlFileError(TomlProblem(name, 1, 1, "", f"cannot read: {str(exc).removeprefix(f'{path}: ')}")) from None
    except OSError as exc:
        raise TomlFileError(TomlProblem(name, 1, 1, "", f"cannot read ({exc.strerror or exc})")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise TomlFileError(TomlProblem(name, line, col, "", "not UTF-8 text")) from None
    return parse_toml(text, name, raw)


def load_model(path: Path, model: type[M], display: str | None = None) -> tuple[TomlDocument, M]:
    """Read, parse and validate `path` as `model`; TomlFileError or TomlInvalid say where it went wrong."""
    doc = read_toml(path, display)
    return doc, doc.validate(model)


def load_as(path: Path, model: type[M], error: type[Exception], display: str | None = None) -> tuple[TomlDocument, M]:
    """`load_model`, with every problem raised as the format's own `error` (one located problem per line)."""
    try:
        return load_model(path, model, display)
    except (TomlFileError, TomlInvalid) as exc:
        raise error(str(exc)) from None


# -- validation errors -------------------------------------------------------------------------------------------


def validation_problems(
    doc: TomlDocument, model: type[BaseModel], exc: ValidationError, prefix: Loc = ()
) -> list[TomlProblem]:
    """One problem per pydantic error, located in `doc`; unknown keys come with the closest known name."""
    problems: list[TomlProblem] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        full = (*prefix, *loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            hint = did_you_mean(str(loc[-1]), field_names(model, loc[:-1]))
            problems.append(doc.problem(full, f"unknown key{hint}", key=True))
        elif kind == "missing":
            problem = doc.problem(full[:-1], "missing required key", key=True)
            problems.append(TomlProblem(problem.file, problem.line, problem.col, dotted(full), "missing required key"))
        elif kind == "value_error" and "ctx" in err:
            problems.append(doc.problem(full, str(err["ctx"]["error"])))
        else:
            problems.append(doc.problem(full, err["msg"]))
    # A misspelt key is reported as unknown and its intended name as missing: the typo comes first.
    return sorted(problems, key=lambda p: not p.message.startswith("unknown key"))


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` with the closest of `known` to a misspelt name or key, else an empty string."""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def field_names(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the table at `loc` accepts (field names and aliases), following lists, dicts and optionals."""
    current: Any = model
    for part in loc:
        current = _inner(current, part)
        if current is None:
            return []
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    names: list[str] = []
    for name, info in current.model_fields.items():
        names.append(info.alias or name)
    return names


def _inner(tp: Any, part: str | int) -> Any:
    """The type found one step into `tp` at `part` (a field, a list index or a dict key)."""
    for candidate in _options(tp):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
            for name, info in candidate.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if origin in (list, tuple, Sequence, set, frozenset) and isinstance(part, int) and args:
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def _options(tp: Any) -> list[Any]:
    """`tp` itself, or the members of a union / Optional / Annotated."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _options(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out += _options(arg)
        return out
    return [tp]


__all__ = [
    "Pos",
    "TomlDocument",
    "TomlFileError",
    "TomlInvalid",
    "TomlProblem",
    "did_you_mean",
    "field_names",
    "load_as",
    "load_model",
    "parse_toml",
    "read_toml",
    "validation_problems",
]

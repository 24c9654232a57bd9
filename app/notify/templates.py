"""Notice templates (`app/data/notices/*.toml`): sections per legal element with `{{field}}` placeholders,
validated at FILE:LINE:COL, and the template that serves a rule."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.base.errors import NotFoundError, UsageError, WarroomError
from app.base.files import read_text_limited
from app.base.limits import MAX_TOML_BYTES, parse_toml
from app.base.tomlpos import TomlPositions, decode_error
from app.notify.fields import FIELDS

PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_.]*)\s*\}\}")


class NoticeError(WarroomError):
    """A notice template that cannot be used; the message names FILE:LINE:COL."""

    exit_code = 2


# -- templates ------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Section(_Strict):
    heading: str = Field(min_length=1)
    requirement: str = ""  # the element of the law this section answers, e.g. "Art. 33(3)(a)"
    text: str = Field(min_length=1)


class Template(_Strict):
    schema_version: int = Field(alias="schema")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    law: str = Field(min_length=1)
    recipient: str = Field(min_length=1)
    rules: list[str] = Field(min_length=1)
    description: str = ""
    preamble: str = ""
    sections: list[Section] = Field(min_length=1)
    closing: str = ""

    @field_validator("schema_version")
    @classmethod
    def _schema(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"schema {v} is not supported; notice templates are schema 1")
        return v

    def fields(self) -> list[str]:
        texts = [self.preamble, self.closing, *(s.text for s in self.sections), *(s.heading for s in self.sections)]
        out: list[str] = []
        for text in texts:
            for m in PLACEHOLDER.finditer(text):
                if m.group(1) not in out:
                    out.append(m.group(1))
        return out

    def specificity(self, rule_id: str) -> int | None:
        """How well this template fits `rule_id`: exact id beats a pattern, a longer pattern beats a shorter."""
        best: int | None = None
        for pattern in self.rules:
            if pattern == rule_id:
                return 10_000
            if fnmatch.fnmatchcase(rule_id, pattern):
                score = len(pattern.replace("*", "").replace("?", ""))
                best = score if best is None else max(best, score)
        return best


def notices_dir() -> Path:
    return Path(str(resources.files("app") / "data" / "notices"))


def load_template(path: Path) -> Template:
    """One template file; errors name FILE:LINE:COL and the field, and unknown placeholders are refused."""
    try:
        text = read_text_limited(path, MAX_TOML_BYTES, "template")
    except WarroomError as exc:
        raise NoticeError(str(exc)) from None
    try:
        data = parse_toml(text, str(path))
    except UsageError as exc:
        raise NoticeError(str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        pos, msg = decode_error(exc, text)
        raise NoticeError(f"{path}:{pos.line}:{pos.col}: {msg}") from None
    positions = TomlPositions(text)
    try:
        template = Template.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo, not its echo
        loc = tuple(err["loc"])
        pos = positions.locate(loc, prefer_key=err["type"] in ("extra_forbidden", "missing"))
        what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise NoticeError(f"{path}:{pos.line}:{pos.col}: {'.'.join(map(str, loc))}: {what}") from None
    for i, section in enumerate(template.sections):
        for m in PLACEHOLDER.finditer(section.text + section.heading):
            if m.group(1) not in FIELDS:
                pos = positions.locate(("sections", i, "text"))
                raise NoticeError(
                    f"{path}:{pos.line}:{pos.col}: sections[{i}]: unknown field {{{{{m.group(1)}}}}} "
                    f"(known: {', '.join(sorted(FIELDS))})"
                )
    for key in ("preamble", "closing"):
        for m in PLACEHOLDER.finditer(getattr(template, key)):
            if m.group(1) not in FIELDS:
                pos = positions.locate((key,))
                raise NoticeError(f"{path}:{pos.line}:{pos.col}: {key}: unknown field {{{{{m.group(1)}}}}}")
    return template


def load_templates(directory: Path | None = None) -> list[Template]:
    directory = directory or notices_dir()
    templates = [load_template(p) for p in sorted(directory.glob("*.toml"))]
    seen: dict[str, Path] = {}
    for t, p in zip(templates, sorted(directory.glob("*.toml")), strict=True):
        if t.id in seen:
            raise NoticeError(f"{p}: template id {t.id!r} is also used by {seen[t.id]}")
        seen[t.id] = p
    return templates


def template_for(rule_id: str, templates: Sequence[Template]) -> Template:
    """The most specific template whose `rules` match; the generic one (`*`) matches every rule."""
    scored = [(t.specificity(rule_id), t) for t in templates]
    fitting = [(s, t) for s, t in scored if s is not None]
    if not fitting:
        raise NotFoundError(f"no notice template covers rule {rule_id!r} (and no generic '*' template is installed)")
    return max(fitting, key=lambda st: (st[0], st[1].id))[1]

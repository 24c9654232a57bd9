"""Notice templates (`app/data/notices/*.toml`): sections per legal element with `{{field}}` placeholders,
validated at FILE:LINE:COL, and the template that serves a rule.

The texts are Jinja2 templates rendered by the project's one template engine (`app.base.templating`, the one
the report's layout uses), without HTML escaping since a notice is Markdown. Each field is a name a template can
print (`{{ controller.name }}`); printing it fills it from the incident or marks a gap.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.base.errors import NotFoundError, WarroomError
from app.base.tomlfile import load_as
from app.notify.fields import FIELDS

if TYPE_CHECKING:
    import jinja2

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


def notice_environment() -> jinja2.Environment:
    """The shared engine, for Markdown (no HTML escaping), strict about undefined names (imported when a
    template is first read or drafted, not when the console starts)."""
    from app.base.templating import environment

    return environment(html=False)


class _Slot:
    """One field as a template sees it: printing it calls `resolve(key)` (the value, or a gap marker)."""

    def __init__(self, key: str, resolve: Callable[[str], str]) -> None:
        self._key, self._resolve = key, resolve

    def __str__(self) -> str:
        return self._resolve(self._key)


class _Group:
    """A dotted prefix (`controller`): its fields are attributes, so `{{ controller.name }}` works."""

    def __init__(self) -> None:
        self._children: dict[str, _Slot | _Group] = {}

    def __getattr__(self, name: str) -> _Slot | _Group:
        try:
            return self._children[name]
        except KeyError:
            raise AttributeError(name) from None


def field_context(resolve: Callable[[str], str]) -> dict[str, _Slot | _Group]:
    """Every field of FIELDS as a template variable tree whose leaves print through `resolve`."""
    root: dict[str, _Slot | _Group] = {}
    for key in FIELDS:
        head, *rest = key.split(".")
        if not rest:
            root[head] = _Slot(key, resolve)
            continue
        group = root.setdefault(head, _Group())
        assert isinstance(group, _Group)
        for part in rest[:-1]:
            child = group._children.setdefault(part, _Group())
            assert isinstance(child, _Group)
            group = child
        group._children[rest[-1]] = _Slot(key, resolve)
    return root


def _syntax_problem(text: str) -> str | None:
    import jinja2

    try:
        notice_environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return f"template syntax, line {exc.lineno} of this text: {exc.message}"
    except RecursionError:  # brackets or parentheses nested thousands deep: Jinja2's parser recurses per level
        return "template syntax: expressions nested too deeply"
    return None


def notices_dir() -> Path:
    return Path(str(resources.files("app") / "data" / "notices"))


def load_template(path: Path) -> Template:
    """One template file; errors name FILE:LINE:COL and the field, and unknown placeholders are refused."""
    doc, template = load_as(path, Template, NoticeError)
    for i, section in enumerate(template.sections):
        for key in ("heading", "text"):
            problem_text = _syntax_problem(getattr(section, key))
            if problem_text:
                raise NoticeError(str(doc.problem(("sections", i, key), problem_text)))
            for m in PLACEHOLDER.finditer(getattr(section, key)):
                if m.group(1) not in FIELDS:
                    problem = doc.problem(
                        ("sections", i, key),
                        f"unknown field {{{{{m.group(1)}}}}} (known: {', '.join(sorted(FIELDS))})",
                    )
                    raise NoticeError(str(problem))
    for key in ("preamble", "closing"):
        problem_text = _syntax_problem(getattr(template, key))
        if problem_text:
            raise NoticeError(str(doc.problem((key,), problem_text)))
        for m in PLACEHOLDER.finditer(getattr(template, key)):
            if m.group(1) not in FIELDS:
                raise NoticeError(str(doc.problem((key,), f"unknown field {{{{{m.group(1)}}}}}")))
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

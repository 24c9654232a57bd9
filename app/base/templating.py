"""The one template engine for everything the project writes for people outside the war room: the report's layout
and the notice drafts. Jinja2 in its sandbox (a template an organisation supplies can read the values it is given
but cannot reach into Python), strict about undefined names (a misspelt field is an error naming the template and
line, never an empty gap), and autoescaping for HTML output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from app.base.errors import WarroomError


class TemplateError(WarroomError):
    """A template that cannot be read or rendered; the message names the template and the line."""

    exit_code = 2


def environment(
    *,
    html: bool,
    search: tuple[Path, ...] = (),
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> SandboxedEnvironment:
    """A sandboxed environment with StrictUndefined; `html` turns autoescaping on. Templates are looked up in
    `search` in order, so a replacement template can `{% extends %}` the shipped one and override its blocks."""
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(p) for p in search]) if search else None,
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(filters or {})
    return env


def _where(exc: jinja2.TemplateError, fallback: str) -> str:
    name = getattr(exc, "filename", None) or getattr(exc, "name", None) or fallback
    line = getattr(exc, "lineno", None)
    return f"{name}:{line}" if line else str(name)


def _template_line(exc: BaseException) -> str | None:
    """FILE:LINE of the template line that failed: Jinja2 rewrites the traceback so its frames carry the
    template's file name and line."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.endswith(".py") and not name.startswith("<frozen"):
            found = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render `name` from the environment's search path; errors become TemplateError naming FILE:LINE."""
    return _render(lambda: env.get_template(name), context, name)


def render_string(env: jinja2.Environment, source: str, context: Mapping[str, Any], *, where: str) -> str:
    """Render template text held in memory (a notice section), errors naming `where`."""
    return _render(lambda: env.from_string(source), context, where)


def _render(load: Callable[[], jinja2.Template], context: Mapping[str, Any], name: str) -> str:
    try:
        return load().render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{_where(exc, name)}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{_template_line(exc) or name}: {exc.message} (see the documented context)") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_template_line(exc) or name}: {exc}") from None

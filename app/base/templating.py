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
import jinja2.sandbox
from jinja2.sandbox import SandboxedEnvironment

from app.base.errors import WarroomError


class TemplateError(WarroomError):
    """A template that cannot be read or rendered; the message names the template and the line."""

    exit_code = 2


# What a template's arithmetic and output may build: a supplied template runs in the sandbox, which bounds
# `range` but not `**`, `*` or the size of what is written, so `{{ (10 ** 999) ** 999 ** 2 }}`, `{{ "x" * 10 ** 12 }}`
# or a loop printing a megabyte a hundred thousand times would hang or exhaust memory. (A loop that prints
# nothing is bounded only by the sandbox's range limit.)
MAX_POWER_BITS = 1_000_000
MAX_REPEATED_LENGTH = 1_000_000
MAX_OUTPUT_CHARS = 64 * 1024 * 1024


class _BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        big_power = isinstance(left, int) and isinstance(right, int) and right > 0
        if operator == "**" and big_power and max(abs(left).bit_length(), 1) * right > MAX_POWER_BITS:
            raise jinja2.sandbox.SecurityError(f"a power of more than {MAX_POWER_BITS} bits is refused")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_REPEATED_LENGTH
                ):
                    raise jinja2.sandbox.SecurityError(f"a repetition longer than {MAX_REPEATED_LENGTH} is refused")
        return super().call_binop(context, operator, left, right)


def environment(
    *,
    html: bool,
    search: tuple[Path, ...] = (),
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> SandboxedEnvironment:
    """A sandboxed environment with StrictUndefined; `html` turns autoescaping on. Templates are looked up in
    `search` in order, so a replacement template can `{% extends %}` the shipped one and override its blocks."""
    env = _BoundedSandbox(
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


def _bounded(template: jinja2.Template, context: Mapping[str, Any], name: str) -> str:
    parts: list[str] = []
    size = 0
    for chunk in template.generate(**context):
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise TemplateError(f"{name}: the template writes more than {MAX_OUTPUT_CHARS} characters; refused")
        parts.append(chunk)
    return "".join(parts)


def _render(load: Callable[[], jinja2.Template], context: Mapping[str, Any], name: str) -> str:
    try:
        return _bounded(load(), context, name)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{_where(exc, name)}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{_template_line(exc) or name}: {exc.message} (see the documented context)") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_template_line(exc) or name}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise TemplateError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as exc:
        # The template's own expression failed ({{ 1/0 }}, {{ "%d" % "x" }}): the template's fault, named as such.
        raise TemplateError(
            f"{_template_line(exc) or name}: the template failed: {type(exc).__name__}: {exc}"
        ) from None

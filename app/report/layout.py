"""The HTML report's layout as a replaceable template: the context every template gets, the filters, the shipped
template (`app/data/templates/report.html.j2`) and an organisation's own (`--template FILE`, which may extend the
shipped one and override its blocks). docs/report.md documents the context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from app.base.clock import humane_instant, read_instant
from app.base.templating import environment, render_template
from app.checklist import controls as catalogue
from app.report import svg
from app.report.model import Report
from app.report.recovery import recovery_tables
from app.report.series import Series
from app.report.summary import executive_summary

DEFAULT_TEMPLATE = "report.html.j2"
PAPERS = ("a4", "letter")
_SPACES = re.compile(r"(\s+)")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def templates_dir() -> Path:
    return Path(str(resources.files("app") / "data" / "templates"))


# -- filters --------------------------------------------------------------------------------------------------


def when(value: Any, missing: str = "not recorded") -> str:
    """An instant as people read it (`2025-08-20 09:14:07 UTC`); anything else unchanged."""
    if value is None or value == "":
        return missing
    text = str(value)
    at = read_instant(text) if _INSTANT.match(text) else None
    return humane_instant(at) if at else text


def utc(value: Any, missing: str = "not recorded") -> str:
    """An instant in a column headed "(UTC)": `2025-08-20 09:14:07`, the zone named once in the header."""
    text = when(value, missing)
    return text.removesuffix(" UTC") if value and _INSTANT.match(str(value)) else text


def words(value: Any) -> Markup:
    """Escaped text whose words never break inside: a word with a break opportunity of its own (a hyphen, a
    slash, an @) is kept whole, so lines wrap only at spaces and a table column is as wide as its longest word."""
    out: list[str] = []
    for part in _SPACES.split(str(value)):
        if not part or part.isspace() or part.isalnum():
            out.append(escape(part))
        else:
            out.append(f'<span class="nw">{escape(part)}</span>')
    return Markup("".join(out))


_CODE = re.compile(r"`([^`\n]+)`")


def prose(value: Any) -> Markup:
    """A sentence written for Markdown: escaped, with `code` spans set as code."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(str(value)))))


def cell(value: Any) -> Markup:
    """A table cell: instants humane, None empty, booleans yes/no, words kept whole."""
    if value is None:
        return Markup("")
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    return words(when(value, ""))


def prefix(value: Any, n: int = 16) -> str:
    """The first `n` characters of a digest (the full value is in the JSON report and the journal)."""
    text = "" if value is None else str(value)
    return text if len(text) <= n else text[:n] + "…"


def thousands(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def css_string(value: Any) -> Markup:
    """Text inside a CSS string in <style> (page headers and footers): quotes, backslashes, line breaks and
    angle brackets escaped the CSS way, so a value can neither end the string nor the style element."""
    out = []
    for ch in str(value):
        if ch in "\\\"'<>&" or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return Markup("".join(out))


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "cell": cell,
    "words": words,
    "prose": prose,
    "utc": utc,
    "prefix": prefix,
    "thousands": thousands,
    "css_string": css_string,
}


# -- context --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pictures:
    attack: Markup
    clocks: Markup
    rows: Markup
    containment: Markup
    checklist: Markup
    token_use: Markup


def pictures(s: Series) -> Pictures:
    return Pictures(
        attack=Markup(svg.attack_timeline_svg(s.attack)),
        clocks=Markup(svg.notice_clocks_svg(s.clocks)),
        rows=Markup(svg.rows_taken_svg(s.rows)),
        containment=Markup(svg.containment_svg(s.containment)),
        checklist=Markup(svg.checklist_progress_svg(s.checklist)),
        token_use=Markup(svg.token_use_svg(s.token_use)),
    )


def context(report: Report, series: Series, *, paper: str = "a4") -> dict[str, Any]:
    """What every report template gets (documented in docs/report.md)."""
    return {
        "report": report,
        "journal": report.journal,
        "series": series,
        "summary": executive_summary(report, series),
        "pictures": pictures(series),
        "paper": paper,
        "frameworks": dict(catalogue.FRAMEWORK_SHORT),
        "recovery": [
            {"title": title, "headers": headers, "rows": rows, "note": note}
            for title, headers, rows, note in recovery_tables(report)
        ],
    }


@dataclass(frozen=True)
class LayoutDefaults:
    template: Path | None
    paper: str


def workspace_layout(home: Path) -> LayoutDefaults:
    """The organisation's report layout from config.toml `[report]` (`template`, relative to the workspace,
    and `paper`), used when the command line names none."""
    from app.base.config import load_config
    from app.base.errors import UsageError

    table = (load_config(home).model_extra or {}).get("report")
    table = table if isinstance(table, dict) else {}
    template, paper = table.get("template"), table.get("paper", "a4")
    if template is not None and not isinstance(template, str):
        raise UsageError("config.toml [report] template must be a path (text)")
    if paper not in PAPERS:
        raise UsageError(f"config.toml [report] paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    return LayoutDefaults(template=(home / Path(template).expanduser()) if template else None, paper=str(paper))


def render_report_html(report: Report, series: Series, *, template: Path | None = None, paper: str = "a4") -> str:
    """The report through the shipped template, or through `template` (which may extend the shipped one)."""
    search = (template.parent, templates_dir()) if template else (templates_dir(),)
    env = environment(html=True, search=search, filters=FILTERS)
    return render_template(env, template.name if template else DEFAULT_TEMPLATE, context(report, series, paper=paper))

"""Notice templates go through the project's one template engine (Jinja2, sandboxed, strict): a syntax error
is refused at the template's FILE:LINE:COL, and a value a responder typed is printed as text, never evaluated."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app import notify


def test_a_template_syntax_error_is_refused_at_its_line(tmp_path: Path) -> None:
    good = (notify.notices_dir() / "generic.toml").read_text(encoding="utf-8")
    path = tmp_path / "generic.toml"
    path.write_text(good.replace("{{consequences}}", "{% if consequences %}{{consequences}}", 1), encoding="utf-8")
    with pytest.raises(
        notify.NoticeError, match=rf"{re.escape(str(path))}:\d+:\d+: sections\[\d\]\.text: template syntax"
    ):
        notify.load_template(path)


def test_values_are_printed_not_evaluated(cli: Any) -> None:
    cli.new("Drift token theft")
    assert cli("notify", "detail", "consequences", "{{ 7 * 7 }} {% raw %}").code == 0
    result = cli("notify", "draft", "eu-gdpr-art33-sa")
    assert result.code == 0, result.err
    assert "{{ 7 * 7 }} {% raw %}" in result.out


def test_fields_print_through_attribute_access() -> None:
    seen: list[str] = []

    def resolve(key: str) -> str:
        seen.append(key)
        return f"<{key}>"

    env = notify.notice_environment()
    ctx = notify.field_context(resolve)
    text = env.from_string("{{ controller.name }} / {{ consequences }} / {{ records.count }}").render(**ctx)
    assert text == "<controller.name> / <consequences> / <records.count>"
    assert seen == ["controller.name", "consequences", "records.count"]
    with pytest.raises(Exception, match="unsafe"):
        env.from_string("{{ controller._children }}").render(**ctx)

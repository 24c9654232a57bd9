"""One TOML loader for every file format: a misspelt key in any shipped file is reported the same way,
FILE:LINE:COL: field: unknown key (did you mean ...?), through each format's own loader and error."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app import checklist, deadlines, hunt, notify
from app.base.tomlfile import TomlInvalid, parse_toml
from app.exercise.scenario import load_scenario
from app.exercise.script import load_script
from app.simorg.seed import load_seed

DATA = Path(__file__).resolve().parent.parent / "app" / "data"
ROOT = Path(__file__).resolve().parent.parent

# (format, shipped file, loader, the key to misspell, the dotted table it sits in)
FORMATS: list[tuple[str, Path, Callable[[Path], Any], str, str]] = [
    ("checklist", ROOT / "checklist.toml", checklist.load_checklist, "title", ""),
    ("rules", DATA / "rules.toml", deadlines.load_rules, "jurisdiction", "rule[0]."),
    ("indicators", DATA / "indicators" / "chat-vendor-theft.toml", hunt.load_indicators, "title", ""),
    ("notices", DATA / "notices" / "generic.toml", notify.load_template, "law", ""),
    ("scenarios", DATA / "scenarios" / "chat-vendor-theft.toml", load_scenario, "title", ""),
    ("scripts", DATA / "scenarios" / "chat-vendor-theft.script.toml", load_script, "title", ""),
    ("seeds", DATA / "simorg" / "chat-vendor-theft.toml", load_seed, "edition", "organization."),
]


@pytest.mark.parametrize(("fmt", "shipped", "loader", "key", "table"), FORMATS, ids=[f[0] for f in FORMATS])
def test_a_misspelt_key_is_named_with_its_position_and_the_likely_key(
    tmp_path: Path, fmt: str, shipped: Path, loader: Callable[[Path], Any], key: str, table: str
) -> None:
    text = shipped.read_text(encoding="utf-8")
    at = text.index(f"\n{key} = ") + 1
    bad = text[:at] + key + "x" + text[at + len(key) :]
    path = tmp_path / shipped.name
    path.write_text(bad, encoding="utf-8")
    line = bad[:at].count("\n") + 1
    with pytest.raises(Exception) as info:  # each format raises its own error family
        loader(path)
    expected = f"{path}:{line}:1: {table}{key}x: unknown key (did you mean {key!r}?)"
    assert expected in str(info.value), str(info.value)


def test_syntax_errors_and_missing_keys_share_the_format() -> None:
    with pytest.raises(Exception, match=r"^f\.toml:2:\d+: TOML syntax: "):
        parse_toml('a = 1\nb = "open\n', "f.toml")
    from pydantic import BaseModel, ConfigDict

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str

    class Outer(BaseModel):
        model_config = ConfigDict(extra="forbid")
        items: list[Inner]

    doc = parse_toml('[[items]]\nname = "a"\n\n[[items]]\nnmae = "b"\n', "f.toml")
    with pytest.raises(TomlInvalid) as info:
        doc.validate(Outer)
    lines = str(info.value).splitlines()
    assert lines[0] == "f.toml:5:1: items[1].nmae: unknown key (did you mean 'name'?)"
    assert re.fullmatch(r"f\.toml:4:1: items\[1\]\.name: missing required key", lines[1])

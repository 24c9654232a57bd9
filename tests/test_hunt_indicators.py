"""Indicator files: the shipped sets load and cite their sources; a bad file is refused naming FILE:LINE."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app import hunt
from app.hunt import IndicatorError, load_indicators

GOOD_HEAD = """\
format = 1
name = "t"

[[source]]
id = "s1"
title = "a source"
url = "https://example.org/advisory"

"""


def write(tmp_path: Path, body: str, name: str = "iocs.toml") -> Path:
    path = tmp_path / name
    path.write_text(GOOD_HEAD + textwrap.dedent(body), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def test_shipped_sets_load_and_cite_sources() -> None:
    names = {p.stem for p in hunt.shipped_indicator_files()}
    assert {"chat-vendor-theft", "fake-data-loader"} <= names
    for path in hunt.shipped_indicator_files():
        s = load_indicators(path)
        assert s.compiled, path
        assert s.source and any(src.url and src.url.startswith("https://") for src in s.source)
        for ind in s.indicator:
            assert ind.sources, f"{path}: every shipped indicator names its source"


def test_chat_vendor_set_carries_the_published_indicators() -> None:
    s = load_indicators(hunt.find_indicator_file("chat-vendor-theft"))
    values = {v for i in s.indicator for v in i.values}
    assert {"208.68.36.90", "44.215.108.109", "Salesforce-Multi-Org-Fetcher/1.0", "python-requests/2.32.4"} <= values
    tor = [i for i in s.indicator if i.kind == "ip_list"]
    assert tor and (hunt.DATA_DIR / tor[0].file).read_text().count("185.220.101.") >= 8
    assert s.window and s.window.start and s.window.start.isoformat().startswith("2025-08-08")


@pytest.mark.parametrize(
    ("body", "needle", "message"),
    [
        ('[[indicator]]\nkind = "useragent"\nvalues = ["x"]\n', 'kind = "useragent"', "kind"),
        ('[[indicator]]\nkind = "ip"\nvalues = ["1.2.3.4"]\ncolour = "red"\n', "colour", "colour: unknown key"),
        (
            '[[indicator]]\nkind = "ip"\nvalues = [\n  "10.0.0.1",\n  "10.0.0.999",\n]\n',
            '"10.0.0.999"',
            "not an IP address",
        ),
        ('[[indicator]]\nkind = "soql"\nvalues = ["(unclosed"]\n', "(unclosed", "regular expression"),
        ('[[indicator]]\nkind = "ip"\nvalues = ["1.2.3.4"]\nsources = ["nope"]\n', 'sources = ["nope"]', "not defined"),
        (
            '[window]\nstart = 2025-08-08T00:00:00\n[[indicator]]\nkind = "ip"\nvalues = ["1.2.3.4"]\n',
            "start = 2025",
            "zone",
        ),
        (
            '[[indicator]]\nkind = "ip"\nvalues = ["1.2.3.4"]\n[[indicator]]\nkind = "user_agent"\nvalues = []\n',
            "values = []",
            "empty",
        ),
    ],
)
def test_bad_indicator_file_names_the_line(tmp_path: Path, body: str, needle: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(IndicatorError) as exc:
        load_indicators(path)
    text = str(exc.value)
    assert f"{path}:{line_of(path, needle)}:" in text, text
    assert message in text


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[indicator]\nkind = "ip"\n')
    with pytest.raises(IndicatorError) as exc:
        load_indicators(path)
    assert f"{path}:{line_of(path, '[[indicator]')}:" in str(exc.value)


def test_bad_address_list_names_the_list_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "exits.txt").write_text("# exits\n1.2.3.4\n10.0.0.0/8\nnot-an-ip\n", encoding="utf-8")
    path = write(tmp_path, '[[indicator]]\nkind = "ip_list"\nfile = "exits.txt"\n')
    with pytest.raises(IndicatorError) as exc:
        load_indicators(path)
    assert f"{tmp_path / 'exits.txt'}:4:" in str(exc.value)


def test_missing_address_list_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[[indicator]]\nkind = "ip_list"\nfile = "nowhere.txt"\n')
    with pytest.raises(IndicatorError) as exc:
        load_indicators(path)
    assert f"{path}:{line_of(path, 'nowhere.txt')}:" in str(exc.value)


def test_cli_rejects_a_bad_file_with_its_line(cli, tmp_path: Path) -> None:
    cli.new()
    path = write(tmp_path, '[[indicator]]\nkind = "ip"\nvalues = ["300.1.1.1"]\n')
    result = cli("hunt", str(path))
    assert result.code == 2
    assert f"{path}:{line_of(path, '300.1.1.1')}:" in result.err


def test_shipped_names_resolve_and_unknown_names_are_refused(cli) -> None:
    assert hunt.find_indicator_file("fake-data-loader").name == "fake-data-loader.toml"
    cli.new()
    result = cli("hunt", "no-such-campaign")
    assert result.code == 2 and "chat-vendor-theft" in result.err

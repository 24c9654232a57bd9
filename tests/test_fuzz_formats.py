"""Fuzzing the rest of what a responder can hand the tool: the workspace config.toml, indicator address lists and
regex values (matched against rows, so a guard that only compiles is not enough), evidence files as the hunt
reads them (event-log CSV, JSON records, debug logs), Data Loader CSV exports for `inventory import`, a journal
file given to `journal verify`, a JWT key file and a CA file, and, through the command line itself, time
arguments, ids, fact and setting values: every input ends in a value or a clear error, never a traceback or
exit 70.

The example count per format comes from WARROOM_FUZZ_EXAMPLES (small by default); `scripts/fuzz` runs 10,000.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.base.errors import WarroomError
from app.incident.settings import REQUIRE_DISTINCT_APPROVER
from tests.test_fuzz import FUZZ, NOISE, inputs, mutated, shipped_rules_once

ELF_CSV = (
    '"EVENT_TYPE","TIMESTAMP","REQUEST_ID","USER_ID","CLIENT_IP","URI","TIMESTAMP_DERIVED","QUERY"\n'
    '"API","20250812094110.123","4exLFFQZ","0055e000001AbCd","208.68.36.90","/services/data/v59.0/query",'
    '"2025-08-12T09:41:10.123Z","SELECT Id FROM Account"\n'
)
JSON_RECORDS = (
    '{"object": "ApiEvent", "soql": "SELECT Id FROM ApiEvent", "api_version": "59.0", "records": [\n'
    '{"Id": "0AYx1", "EventDate": "2025-08-12T09:41:10.000+0000", "SourceIp": "208.68.36.90", '
    '"Username": "drift-int@acme.example", "Query": "SELECT Id FROM Account", "RowsProcessed": 12}\n'
    ',{"Id": "0AYx2", "EventDate": "2025-08-12T09:42:10.000+0000", "LoginHistory": {"SourceIp": "1.2.3.4"}}\n'
    "]}\n"
)
APEX_LOG = (
    "59.0 APEX_CODE,FINEST;APEX_PROFILING,INFO\n"
    "09:41:10.0 (1)|EXECUTION_STARTED\n"
    "09:41:10.0 (2)|USER_DEBUG|[1]|DEBUG|payload 208.68.36.90 Salesforce-Multi-Org-Fetcher/1.0\n"
    "09:41:10.0 (3)|EXECUTION_FINISHED\n"
)
USER_CSV = (
    '"Id","Username","Name","UserType","IsActive","ProfileId","LastLoginDate"\n'
    '"0055e000001AbCd","drift-int@acme.example","Drift Integration","Standard","true","00e5e000000Prof",'
    '"2025-08-12T09:40:00.000Z"\n'
)
TOKEN_CSV = (
    '"Id","AppName","UserId","CreatedDate","LastUsedDate","UseCount","DeleteToken"\n'
    '"","Drift","0055e000001AbCd","2025-03-01T00:00:00.000Z","2025-08-18T00:00:00.000Z","4000","x"\n'
)
CONFIG = (
    "[orgs.prod]\n"
    'kind = "jwt"\n'
    'username = "responder@acme.example"\n'
    'consumer_key = "3MVG9.key"\n'
    'domain = "acme.my"\n'
    "[notice]\n"
    'controller = "Acme"\n'
)
ADDRESSES = "# exits\n185.220.101.33\n2001:db8::/32\n10.0.0.0/8  # range\n"
REGEXES = st.one_of(
    st.text(alphabet="()[]{}*+?|^$.\\wsdSDbB0123-:,a", max_size=40),
    st.sampled_from(["(\\w+\\s?)+$", "(a+)+b", "(a|aa)+$", "(?i)drift", "(?P<x>a)(?P=x)", "\\1", "[", "a{99999}"]),
)
TEXT_ROW = "payload " + "a" * 60 + "! drift-int@acme.example 208.68.36.90 Salesforce-Multi-Org-Fetcher/1.0"


def _tmpdir() -> Path:
    """A scratch directory, in memory where the machine has one (the CLI fuzz writes and fsyncs a journal)."""
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="warroom-fuzz-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    d = _tmpdir()
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


# -- files -----------------------------------------------------------------------------------------------------


@FUZZ
@given(inputs(CONFIG))
def test_fuzz_config_toml(text: str) -> None:
    from app.base.config import load_config

    with scratch() as home:
        _write(home / "config.toml", text)
        with contextlib.suppress(WarroomError):
            load_config(home)


@FUZZ
@given(inputs(ADDRESSES))
def test_fuzz_indicator_address_list(text: str) -> None:
    from app.hunt.indicators import load_indicators

    with scratch() as d:
        _write(d / "list.txt", text)
        ioc = _write(d / "iocs.toml", 'name = "t"\n[[indicator]]\nkind = "ip_list"\nfile = "list.txt"\n')
        with contextlib.suppress(WarroomError):
            load_indicators(ioc)


@FUZZ
@given(REGEXES, st.sampled_from(["user_agent", "username", "soql"]))
def test_fuzz_indicator_regex_values_compile_and_match(value: str, kind: str) -> None:
    """A regex value is refused at load or matches in bounded time: it is run over rows here."""
    import json

    from app.evidence.rows import Row
    from app.hunt.indicators import load_indicators

    with scratch() as d:
        doc = f'name = "t"\n[[indicator]]\nkind = "{kind}"\nmatch = "regex"\nvalues = [{json.dumps(value)}]\n'
        ioc = _write(d / "iocs.toml", doc)
        try:
            iset = load_indicators(ioc)
        except WarroomError:
            return
    rows = [
        Row("e1", "f", 1, "ApiEvent", {"Username": TEXT_ROW, "Query": TEXT_ROW, "UserAgent": TEXT_ROW}),
        Row("e2", "f", 2, "ApexLog", {}, text=TEXT_ROW),
    ]
    for compiled in iset.compiled:
        for row in rows:
            compiled.test(row)


def _read_rows(text: str, suffix: str, fmt: str | None) -> None:
    from app.evidence.rows import EvidenceFile, read_file

    with scratch() as d:
        path = _write(d / f"file{suffix}", text)
        ev = EvidenceFile("e1", "0" * 64, path.name, {"format": fmt} if fmt else {}, 1)
        incident: Any = SimpleNamespace(evidence=SimpleNamespace(path_for=lambda _sha: path))
        with contextlib.suppress(WarroomError):
            for row in read_file(incident, ev, include_directory=True):
                row.ips(), row.username(), row.user_agents()


@FUZZ
@given(inputs(ELF_CSV), st.sampled_from([None, "elf-csv"]))
def test_fuzz_evidence_event_log_csv(text: str, fmt: str | None) -> None:
    _read_rows(text, ".csv", fmt)


@FUZZ
@given(inputs(JSON_RECORDS), st.sampled_from([None, "json-records"]))
def test_fuzz_evidence_json_records(text: str, fmt: str | None) -> None:
    _read_rows(text, ".json", fmt)


@FUZZ
@given(inputs(APEX_LOG), st.sampled_from([None, "apexlog"]))
def test_fuzz_evidence_debug_log(text: str, fmt: str | None) -> None:
    _read_rows(text, ".log", fmt)


@FUZZ
@given(inputs(USER_CSV), inputs(TOKEN_CSV))
def test_fuzz_inventory_csv_export(users: str, tokens: str) -> None:
    from app.inventory.importing import import_path

    with scratch() as d:
        _write(d / "User.csv", users)
        _write(d / "OauthToken.csv", tokens)
        with contextlib.suppress(WarroomError):
            import_path(d)


@pytest.fixture(scope="module")
def journal_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bytes of a small genuine journal (a few entries and a checkpoint)."""
    from app.base.clock import FrozenClock
    from app.composition.workspace import Workspace
    from tests.conftest import MemoryKeyring

    home = tmp_path_factory.mktemp("journal-home")
    with Workspace(home, FrozenClock(datetime(2025, 8, 20, 10, tzinfo=UTC)), MemoryKeyring()).create(
        "fuzz", "tester"
    ) as inc:
        for n in range(3):
            inc.journal.append("note", {"text": f"note {n}"}, "tester")
        path = inc.journal.path
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Path(path)


@FUZZ
@given(st.data())
def test_fuzz_journal_file_given_to_verify(journal_file: Path, data: st.DataObject) -> None:
    """Cuts, flipped bytes and random runs in a journal: verify says intact, altered or unreadable."""
    from app.composition.verification import verify

    raw = bytearray(journal_file.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "run"]))
        if op == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[i:]
            if not raw:
                break
        else:
            raw[i : i + 8] = data.draw(st.binary(min_size=8, max_size=8))
    with scratch() as d:
        path = d / "journal.sqlite"
        path.write_bytes(bytes(raw))
        report = verify(path)
    assert report.exit_code in (0, 1, 3)


# -- the command line: time arguments, ids, fact and setting values -----------------------------------------


@contextlib.contextmanager
def _fast_cli() -> Iterator[None]:
    """The command line as a responder runs it, minus the per-call cost that is not under test: the parser is
    built once and the shipped rule table parsed once (the rule file has its own fuzz test)."""
    import functools

    from app import cli

    with pytest.MonkeyPatch.context() as mp, shipped_rules_once():
        mp.setattr(cli, "build_parser", functools.cache(cli.build_parser))
        yield


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One incident in an in-memory workspace, reused by every example (later values must not break it)."""
    from app.base.clock import FrozenClock
    from tests.conftest import CLI, MemoryKeyring, isolated

    home = _tmpdir()
    backend = MemoryKeyring()
    with isolated(home, backend), _fast_cli():
        cli = CLI(home, FrozenClock(datetime(2025, 8, 20, 10, tzinfo=UTC)), backend)
        cli.new()
        yield cli
    shutil.rmtree(home, ignore_errors=True)


def _no_crash(result: Any, *args: str) -> None:
    assert result.code != 70, (args, result.err)
    assert "Traceback" not in result.err, (args, result.err)


TIME_TEXT = st.one_of(
    st.text(max_size=40),
    NOISE,
    mutated("2025-08-12T10:00:00+05:30"),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0205-08-12T10:00:00Z"]),
)


@FUZZ
@given(
    st.sampled_from(
        [
            ("exfil", "--all", "--since"),
            ("exfil", "--all", "--until"),
            ("hunt", "chat-vendor-theft", "--since"),
            ("hunt", "chat-vendor-theft", "--until"),
            ("deadlines", "compute", "--rule", "GDPR-33", "--start"),
            ("deadlines", "pause", "--requested-by", "FBI", "--justification", "hold", "--at"),
        ]
    ),
    TIME_TEXT,
)
def test_fuzz_time_arguments(workspace: Any, command: tuple[str, ...], value: str) -> None:
    args = (*command, value)
    result = workspace(*args)
    _no_crash(result, *args)
    if result.code == 0 and command[1] == "pause":  # journaled: the clocks must still compute
        _no_crash(workspace("deadlines"), *args, "deadlines")


@FUZZ
@given(st.sampled_from(["--detected", "--aware"]), TIME_TEXT)
def test_fuzz_new_incident_times(option: str, value: str) -> None:
    """`new` with any time: refused with a message, or an incident whose clocks and report still work."""
    from app.base.clock import FrozenClock
    from tests.conftest import CLI, MemoryKeyring, isolated

    with scratch() as home, isolated(home, MemoryKeyring()) as backend, _fast_cli():
        cli = CLI(home, FrozenClock(datetime(2025, 8, 20, 10, tzinfo=UTC)), backend)
        made = cli("new", "T", option, value)
        _no_crash(made, option, value)
        if made.code == 0:
            for follow in (
                ("deadlines",),
                ("report", "--format", "md"),
                ("facts", "set", "detected", "2025-08-12T10:00:00Z"),
            ):
                _no_crash(cli(*follow), option, value, *follow)


ID_TEXT = st.one_of(st.text(max_size=30), NOISE, mutated("CA-000001"), mutated("2025-08-20-drift-token-theft"))


@FUZZ
@given(
    st.sampled_from(
        [
            ("note", "--incident", "{}", "text"),
            ("journal", "show", "--incident", "{}"),
            ("contain", "undo", "{}"),
            ("contain", "approve", "{}"),
            ("evidence", "custody", "{}", "verified"),
            ("checklist", "set", "{}", "done", "--note", "n"),
            ("notify", "draft", "{}"),
            ("deadlines", "include", "{}", "--justification", "j"),
        ]
    ),
    ID_TEXT,
)
def test_fuzz_cli_ids(workspace: Any, template: tuple[str, ...], value: str) -> None:
    args = tuple(value if a == "{}" else a for a in template)
    _no_crash(workspace(*args), *args)


FACT_KEYS = st.sampled_from(
    ["detected", "aware", "residents.US-TX", "residents.EU", "categories", "target.default", "target.GDPR-33", "x"]
)


@FUZZ
@given(FACT_KEYS, st.one_of(st.text(max_size=40), NOISE, mutated("P1DT12H"), mutated("2025-08-12T10:00:00Z")))
def test_fuzz_fact_values_through_the_cli(workspace: Any, key: str, value: str) -> None:
    """Whatever `facts set` accepts, `deadlines` and `report` still read (a later correction wins)."""
    args = ("facts", "set", key, value)
    result = workspace(*args)
    _no_crash(result, *args)
    if result.code == 0:
        for follow in (("deadlines",), ("report", "--format", "md")):
            _no_crash(workspace(*follow), *args, *follow)


@FUZZ
@given(
    st.sampled_from([REQUIRE_DISTINCT_APPROVER, "x", ""]),
    st.one_of(st.text(max_size=30), NOISE),
)
def test_fuzz_setting_values_through_the_cli(workspace: Any, key: str, value: str) -> None:
    """Whatever `settings set` accepts, `settings show` reads back."""
    args = ("settings", "set", key, value)
    result = workspace(*args)
    _no_crash(result, *args)
    if result.code == 0:
        _no_crash(workspace("settings", "show"), *args)


# -- credentials material: a JWT private key file and a CA file --------------------------------------------


def _key_pem() -> str:
    from tests.simorg_helpers import rsa_pair

    return rsa_pair()[0]


@FUZZ
@given(st.one_of(inputs(_key_pem()), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_fuzz_private_key_file(text: str) -> None:
    """`creds set --key-file`: read with a size limit, then loaded as a PEM key, or refused with a message."""
    from app.base.files import read_text_limited
    from app.salesforce.credentials import check_private_key

    with scratch() as d:
        path = _write(d / "key.pem", text)
        with contextlib.suppress(WarroomError):
            check_private_key(read_text_limited(path, 1024 * 1024, "key file"))


@pytest.fixture(scope="module")
def ca_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.simorg_helpers import start_sim

    sim = start_sim(tmp_path_factory.mktemp("ca-sim"))
    yield sim
    sim.stop()


@FUZZ
@given(st.data())
def test_fuzz_ca_file(ca_sim: Any, data: st.DataObject) -> None:
    """`--ca FILE`: a damaged certificate file ends in a TLS failure that names the CA file, or a login."""
    from app.salesforce.client import Org, OrgError
    from app.salesforce.simlogin import sim_credentials

    text = data.draw(inputs(ca_sim.ca_path.read_text()))
    with scratch() as d:
        ca = _write(d / "ca.pem", text)
        with contextlib.suppress(OrgError):
            Org.login(sim_credentials(ca_sim.url, ca), timeout=5.0, max_retries=0).close()


JINJA_NOISE = st.sampled_from(
    ["{{", "}}", "{%", "%}", "{#", "#}", "|", "**", "*", "/", "0", "9" * 12, "range(", ")", "(", "~", "%", "'", '"']
)
TEMPLATE = (
    "# Notice to {{ organisation }}\n{% for r in rows %}- {{ r.name | upper }}: {{ r.count * 2 }} ({{ '%d' % r.count }})\n"
    "{% endfor %}{% if total > 10 %}{{ total ** 2 }}{% else %}{{ total / 2 }}{% endif %}\n"
)


@FUZZ
@given(st.one_of(inputs(TEMPLATE), st.lists(st.one_of(JINJA_NOISE, st.text(max_size=8)), max_size=30).map("".join)))
def test_fuzz_supplied_template_text(text: str) -> None:
    """A notice text or report layout an organisation supplies renders, or fails as a TemplateError."""
    from app.base.templating import TemplateError, environment, render_string

    context = {"organisation": "Acme", "rows": [{"name": "cases", "count": 3}], "total": 12}
    for html in (True, False):
        with contextlib.suppress(TemplateError):
            render_string(environment(html=html), text, context, where="custom")


@FUZZ
@given(
    st.sampled_from(["legal", "fines", "other", "x", ""]),
    st.one_of(st.text(max_size=30), NOISE, mutated("12500.00"), st.sampled_from(["1e400", "NaN", "9" * 40])),
    st.one_of(st.text(max_size=5), st.sampled_from(["EUR", "usd", "XXX", "ZZZ", "€"])),
)
def test_fuzz_cost_values_through_the_cli(workspace: Any, category: str, amount: str, currency: str) -> None:
    """Whatever `costs add` and `costs budget` accept, `costs list` and the report still read."""
    for args in (("costs", "add", category, amount, currency), ("costs", "budget", amount, currency)):
        result = workspace(*args)
        _no_crash(result, *args)
        if result.code == 0:
            _no_crash(workspace("costs", "list"), *args, "list")

"""The checklist file and engine: the shipped runbook, every malformed variant located to its line, merging,
durations, dependency cycles, and progress/overdue computed against a fixed time."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import checklist as ck
from app.base.errors import NotFoundError, UsageError
from app.base.tomlpos import Pos, TomlPositions
from app.checklist import controls

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

MINI = """\
schema = 1
title = "Mini"
version = "1"

[roles]
ic = "Incident commander"

[[phases]]
id = "first"
title = "First"

[[phases]]
id = "second"
title = "Second"

[[items]]
id = "first.a"
phase = "first"
title = "A"
why = "Because."
owner = "ic"
due = "PT1H"
steps = ["Do A."]
evidence = ["journal: note"]
[items.controls]
soc2 = ["CC7.4"]
iso27001 = ["A.5.26"]
nist_csf = ["RS.MI-01"]

[[items]]
id = "first.b"
phase = "first"
title = "B"
why = "Because."
owner = "ic"
due = "PT2H"
depends_on = ["first.a"]
steps = ["Do B."]
evidence = ["file: screenshot"]
triggers = ["revoke_tokens"]
[items.controls]
soc2 = ["CC6.1"]
iso27001 = ["A.5.14"]
iso27001_2013 = ["A.13.2.1"]
nist_csf = ["PR.AA-05"]

[[items]]
id = "second.c"
phase = "second"
title = "C"
why = "Because."
owner = "ic"
due = "P1D"
depends_on = ["first.b"]
steps = ["Do C."]
evidence = ["attestation: signed statement"]
[items.controls]
soc2 = ["CC7.5"]
iso27001 = ["A.5.27"]
nist_csf = ["RC.RP-06"]
"""


def write(tmp_path: Path, text: str, name: str = "list.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def at(text: str, marker: str, nth: int = 1) -> tuple[int, int]:
    """1-based line and column of the nth occurrence of `marker`."""
    offset = -1
    for _ in range(nth):
        offset = text.index(marker, offset + 1)
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


# -- the shipped checklist ------------------------------------------------------------------------------


def test_shipped_checklist_validates() -> None:
    checklist = ck.load_checklist()
    assert checklist.path == ck.BUILTIN
    assert [p.id for p in checklist.phases] == [
        "detect",
        "contain",
        "escalate",
        "forensics",
        "scope",
        "remediate",
        "comply",
        "notify",
        "recover",
        "review",
    ]
    assert len(checklist.items) >= 50
    for phase, items in checklist.phase_items():
        assert items, f"phase {phase.id} has no items"


def test_shipped_checklist_covers_the_runbook() -> None:
    ids = {i.id for i in ck.load_checklist().items}
    required = {
        "detect.commander",
        "detect.severity",
        "detect.affected-orgs",
        "detect.awareness",
        "contain.revoke-tokens",
        "contain.end-sessions",
        "contain.quarantine-org",
        "contain.block-apps",
        "contain.disable-integrations",
        "escalate.legal",
        "escalate.compliance",
        "escalate.premier-support",
        "forensics.environment",
        "forensics.setup-audit-trail",
        "forensics.login-history",
        "forensics.event-logs",
        "forensics.debug-logs",
        "forensics.hash-custody",
        "scope.inventory",
        "scope.pattern-over-permissioned",
        "scope.pattern-hardcoded-credentials",
        "scope.pattern-debug-pii",
        "scope.pattern-unclassified-sync",
        "scope.pattern-appexchange",
        "scope.pattern-salesforce-connect",
        "scope.secrets-sweep",
        "scope.rotate-secrets",
        "remediate.jit-integration-users",
        "remediate.encryption-in-transit",
        "remediate.event-monitoring",
        "comply.control-mapping",
        "comply.classification-schema",
        "comply.posture-assessments",
        "notify.supervisory-authority",
        "notify.individuals",
        "recover.enhanced-monitoring",
        "recover.costs",
        "review.soc2-audit-trail",
        "review.management-review",
        "review.lessons-learned",
    }
    assert required <= ids, required - ids


def test_legal_and_compliance_are_due_within_the_first_hour() -> None:
    checklist = ck.load_checklist()
    for item_id in ("escalate.legal", "escalate.compliance", "contain.revoke-tokens", "contain.end-sessions"):
        assert checklist.item(item_id).due_offset <= timedelta(hours=1)
    assert checklist.item("recover.enhanced-monitoring").due_offset >= timedelta(weeks=2)


def test_shipped_control_ids_are_all_in_the_catalogue() -> None:
    raw = tomllib.loads((REPO / "checklist.toml").read_text(encoding="utf-8"))
    seen = 0
    for item in raw["items"]:
        for framework, ids in item["controls"].items():
            for control_id in ids:
                assert controls.is_known(framework, control_id), (item["id"], framework, control_id)
                seen += 1
        for old in item["controls"].get("iso27001_2013", []):
            assert controls.iso_2022_successor(old) in item["controls"]["iso27001"], (item["id"], old)
    assert seen > 200
    # the seed's named controls are mapped where the seed names them
    mapping = ck.load_checklist().item("comply.control-mapping").controls
    assert "CC6.1" in mapping.soc2 and "A.5.14" in mapping.iso27001 and "A.13.2.1" in mapping.iso27001_2013


def test_shipped_triggers_use_every_containment_action() -> None:
    used = {t for i in ck.load_checklist().items for t in i.triggers}
    assert used == set(ck.CONTAINMENT_ACTIONS)


def test_shipped_file_is_packaged_where_the_loader_looks() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    force = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["checklist.toml"] == "app/data/checklist.toml"
    assert ck.builtin_checklist_path().name == "checklist.toml"


def test_catalogue_sizes_match_the_standards() -> None:
    assert len([k for k in controls.ISO27001_2022 if k.startswith("A.")]) == 93
    assert len(controls.NIST_CSF_SUBCATEGORIES) == 106
    assert len(controls.NIST_CSF_CATEGORIES) == 22
    assert len([k for k in controls.SOC2 if k.startswith("CC")]) == 33
    assert all(v[1] in controls.ISO27001_2022 for v in controls.ISO27001_2013.values())
    assert controls.control_title("iso27001", "A.5.14") == "Information transfer"
    assert controls.control_title("nist_csf", "RS.MI") == "Incident Mitigation"
    assert controls.control_title("soc2", "CC10.1") is None


# -- malformed variants ---------------------------------------------------------------------------------

# (name, old text, new text, marker in the new text that the problem must point at, nth occurrence, message)
VARIANTS = [
    ("syntax", 'due = "PT2H"', 'due = "PT2H', 'due = "PT2H', 1, "TOML syntax"),
    ("unknown key", 'due = "PT2H"', 'due = "PT2H"\ncolour = "red"', "colour", 1, "items[1].colour: unknown key"),
    ("unknown top-level key", 'version = "1"', 'version = "1"\nauthor = "x"', "author", 1, "author: unknown key"),
    (
        "unknown controls key",
        'soc2 = ["CC7.5"]',
        'soc3 = ["CC7.5"]',
        "soc3",
        1,
        "controls.soc3: unknown key (did you mean 'soc2'?)",
    ),
    (
        "missing key",
        'owner = "ic"\ndue = "PT2H"',
        'due = "PT2H"',
        "[[items]]",
        2,
        "items[1].owner: missing required key",
    ),
    (
        "missing controls key",
        'nist_csf = ["RC.RP-06"]\n',
        "",
        "[items.controls]",
        3,
        "controls.nist_csf: missing required key",
    ),
    ("duplicate id", 'id = "second.c"', 'id = "first.a"', '"first.a"', 3, "duplicate item id 'first.a'"),
    (
        "unknown dependency",
        'depends_on = ["first.b"]',
        'depends_on = ["first.bb"]',
        '"first.bb"',
        1,
        "depends on unknown item 'first.bb'",
    ),
    (
        "cycle",
        'due = "PT1H"',
        'due = "PT1H"\ndepends_on = ["second.c"]',
        '"second.c"',
        1,
        "dependency cycle: first.a -> second.c -> first.b -> first.a",
    ),
    (
        "self dependency",
        'depends_on = ["first.a"]',
        'depends_on = ["first.b"]',
        '"first.b"',
        2,
        "dependency cycle: first.b -> first.b",
    ),
    ("bad duration", 'due = "PT2H"', 'due = "2 hours"', '"2 hours"', 1, "bad duration '2 hours'"),
    ("calendar duration", 'due = "P1D"', 'due = "P1M"', '"P1M"', 1, "years and months have no fixed length"),
    (
        "unknown soc2 id",
        'soc2 = ["CC6.1"]',
        'soc2 = ["CC6.1", "CC6.9"]',
        '"CC6.9"',
        1,
        "unknown SOC 2 control id 'CC6.9'",
    ),
    (
        "unknown iso id",
        'iso27001 = ["A.5.27"]',
        'iso27001 = ["A.5.38"]',
        '"A.5.38"',
        1,
        "unknown ISO 27001:2022 control id 'A.5.38'",
    ),
    ("2013 id under 2022", 'iso27001 = ["A.5.27"]', 'iso27001 = ["A.16.1.6"]', '"A.16.1.6"', 1, "a 2013 id"),
    (
        "unknown csf id",
        'nist_csf = ["RC.RP-06"]',
        'nist_csf = ["RC.RP-07"]',
        '"RC.RP-07"',
        1,
        "unknown NIST CSF 2.0 control id 'RC.RP-07'",
    ),
    ("csf 1.1 id", 'nist_csf = ["RC.RP-06"]', 'nist_csf = ["RC.RP-1"]', '"RC.RP-1"', 1, "CSF 1.1"),
    (
        "2013 id without its successor",
        'iso27001 = ["A.5.14"]',
        'iso27001 = ["A.5.15"]',
        '"A.13.2.1"',
        1,
        "A.13.2.1 is A.5.14 in the 2022 edition",
    ),
    ("unknown phase", 'phase = "second"', 'phase = "third"', '"third"', 1, "unknown phase 'third'"),
    (
        "unknown owner",
        'owner = "ic"\ndue = "P1D"',
        'owner = "cfo"\ndue = "P1D"',
        '"cfo"',
        1,
        "unknown owner role 'cfo'",
    ),
    (
        "unknown trigger",
        'triggers = ["revoke_tokens"]',
        'triggers = ["wipe_org"]',
        '"wipe_org"',
        1,
        "unknown containment action 'wipe_org'",
    ),
    (
        "bad evidence",
        'evidence = ["file: screenshot"]',
        'evidence = ["a screenshot"]',
        '"a screenshot"',
        1,
        "bad evidence",
    ),
    ("wrong type", 'steps = ["Do B."]', 'steps = "Do B."', '"Do B."', 1, "steps: Input should be a valid list"),
    ("bad id", 'id = "second.c"', 'id = "Second C"', '"Second C"', 1, "bad id 'Second C'"),
    ("schema", "schema = 1", "schema = 2", "2", 1, "schema 2 is not supported"),
]


@pytest.mark.parametrize(("name", "old", "new", "marker", "nth", "message"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_malformed_variant_is_rejected_with_its_position(
    cli, tmp_path: Path, name: str, old: str, new: str, marker: str, nth: int, message: str
) -> None:
    assert old in MINI
    text = MINI.replace(old, new, 1)
    path = write(tmp_path, text)
    result = cli("checklist", "validate", str(path))
    assert result.code == 1, result.out
    lines = result.err.strip().splitlines()
    line, col = at(text, marker, nth)
    if name == "syntax":  # tomllib reports where the string ran off the end of its line
        line, col = line, len(text.splitlines()[line - 1]) + 1
    expected = f"{path}:{line}:{col}: "
    assert any(entry.startswith(expected) and message in entry for entry in lines), (expected, message, lines)


def test_every_problem_gets_its_own_line(cli, tmp_path: Path) -> None:
    text = (
        MINI.replace('due = "PT2H"', 'due = "soon"', 1)
        .replace('depends_on = ["first.b"]', 'depends_on = ["nope"]', 1)
        .replace('soc2 = ["CC7.4"]', 'soc2 = ["CC0.1"]', 1)
    )
    path = write(tmp_path, text)
    result = cli("checklist", "validate", str(path))
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 3
    assert [int(entry.split(":")[1]) for entry in lines] == sorted(int(entry.split(":")[1]) for entry in lines)
    assert all(entry.startswith(f"{path}:") for entry in lines)


def test_valid_file_gives_exit_zero_and_one_line(cli, tmp_path: Path) -> None:
    path = write(tmp_path, MINI)
    result = cli("checklist", "validate", str(path))
    assert result.code == 0, result.err
    assert result.out.count("\n") == 1
    assert "2 phases, 3 items" in result.out


def test_shipped_checklist_validates_through_the_cli(cli) -> None:
    result = cli("checklist", "validate")
    assert result.code == 0, result.err
    assert ": ok: " in result.out and "10 phases" in result.out


def test_unreadable_and_non_utf8_files(cli, tmp_path: Path) -> None:
    result = cli("checklist", "validate", str(tmp_path / "absent.toml"))
    assert result.code == 1 and "absent.toml:1:1: cannot read" in result.err
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'schema = 1\ntitle = "Caf\xe9"\n')
    result = cli("checklist", "validate", str(path))
    assert result.code == 1 and f"{path}:2:13: not UTF-8 text" in result.err


def test_empty_file_names_the_missing_keys(tmp_path: Path) -> None:
    _, problems = ck.check_checklist(write(tmp_path, ""))
    missing = {p.field for p in problems if p.message == "missing required key"}
    assert {"schema", "title"} <= missing


# -- extending and overriding ---------------------------------------------------------------------------

ORG = """\
schema = 1
title = "Acme runbook"
version = "acme-3"
extends = "builtin"

[roles]
ciso = "Chief information security officer"

[[items]]
id = "contain.notify-soc-vendor"
phase = "contain"
title = "Tell the managed SOC to watch the integration users"
why = "Our MSSP holds the SIEM."
owner = "ciso"
due = "PT90M"
depends_on = ["contain.freeze-users"]
steps = ["Call the MSSP hotline."]
evidence = ["journal: note with the ticket number"]
[items.controls]
soc2 = ["CC7.2"]
iso27001 = ["A.8.16"]
nist_csf = ["DE.CM-03"]

[[overrides]]
id = "contain.block-apps"
owner = "integration_owner"
due = "PT3H"
"""


def test_org_checklist_extends_and_overrides_the_builtin(tmp_path: Path) -> None:
    base = ck.load_checklist()
    merged = ck.load_checklist(write(tmp_path, ORG, "acme.toml"))
    assert len(merged.items) == len(base.items) + 1
    assert merged.title == "Acme runbook" and merged.version == "acme-3"
    assert [s.path for s in merged.sources] == [ck.BUILTIN, str((tmp_path / "acme.toml").resolve())]
    blocked = merged.item("contain.block-apps")
    assert blocked.owner == "integration_owner" and blocked.due == "PT3H"
    assert blocked.steps == base.item("contain.block-apps").steps  # untouched keys stay
    assert merged.roles["ciso"] and merged.roles["incident_commander"]
    contain = dict((p.id, items) for p, items in merged.phase_items())["contain"]
    assert contain[-1].id == "contain.notify-soc-vendor"


def test_org_item_with_an_existing_id_replaces_it_in_place(tmp_path: Path) -> None:
    replacement = ORG.replace('id = "contain.notify-soc-vendor"', 'id = "contain.end-sessions"')
    merged = ck.load_checklist(write(tmp_path, replacement, "acme.toml"))
    base = ck.load_checklist()
    assert [i.id for i in merged.items] == [i.id for i in base.items]
    assert merged.item("contain.end-sessions").owner == "ciso"


def test_org_checklist_problems_name_the_org_file(tmp_path: Path, cli) -> None:
    text = ORG.replace('id = "contain.block-apps"', 'id = "contain.block-app"').replace(
        'depends_on = ["contain.freeze-users"]', 'depends_on = ["contain.freeze-user"]'
    )
    path = write(tmp_path, text, "acme.toml")
    result = cli("checklist", "validate", str(path))
    assert result.code == 1
    line, col = at(text, '"contain.block-app"')
    assert f"{path}:{line}:{col}: overrides[0].id: override of unknown item 'contain.block-app'" in result.err
    line, col = at(text, '"contain.freeze-user"')
    assert (
        f"{path}:{line}:{col}: items[0].depends_on[0]: item 'contain.notify-soc-vendor': depends on unknown item"
        in result.err
    )


def test_cycle_across_files_is_reported_in_the_file_that_closed_it(tmp_path: Path) -> None:
    text = ORG + '\n[[overrides]]\nid = "contain.freeze-users"\ndepends_on = ["contain.notify-soc-vendor"]\n'
    path = write(tmp_path, text, "acme.toml")
    _, problems = ck.check_checklist(path)
    cycles = [p for p in problems if "dependency cycle" in p.message]
    assert len(cycles) == 1
    assert cycles[0].file == str(path)
    assert (cycles[0].line, cycles[0].col) == at(text, '"contain.notify-soc-vendor"', 2)


def test_extends_a_relative_file_and_refuses_loops(tmp_path: Path) -> None:
    write(tmp_path, MINI, "base.toml")
    child = (
        'schema = 1\ntitle = "Child"\nversion = "1"\nextends = "base.toml"\n'
        '[[overrides]]\nid = "first.a"\ndue = "PT30M"\n'
    )
    merged = ck.load_checklist(write(tmp_path, child, "child.toml"))
    assert merged.item("first.a").due == "PT30M" and len(merged.items) == 3
    loop = 'schema = 1\ntitle = "Loop"\nversion = "1"\nextends = "loop.toml"\n'
    _, problems = ck.check_checklist(write(tmp_path, loop, "loop.toml"))
    assert problems and "loops back" in problems[0].message and problems[0].line == 4
    missing = 'schema = 1\ntitle = "M"\nversion = "1"\nextends = "gone.toml"\n'
    _, problems = ck.check_checklist(write(tmp_path, missing, "missing.toml"))
    assert "no such file" in problems[0].message


def test_overrides_need_extends(tmp_path: Path) -> None:
    text = MINI + '\n[[overrides]]\nid = "first.a"\ndue = "PT5M"\n'
    _, problems = ck.check_checklist(write(tmp_path, text))
    assert [p.message for p in problems] == ["overrides need `extends`: there is nothing to override"]


# -- durations, states, positions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT15M", timedelta(minutes=15)),
        ("PT1H", timedelta(hours=1)),
        ("PT90M", timedelta(minutes=90)),
        ("P2D", timedelta(days=2)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P4W", timedelta(weeks=4)),
        ("PT0S", timedelta(0)),
        ("PT1H30M15S", timedelta(hours=1, minutes=30, seconds=15)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert ck.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "P1M", "P1Y", "PT1.5H", "1H", "pt1h", "P1DT", "P1W2D", "PT1H ", ""])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        ck.parse_duration(text)


def test_format_duration() -> None:
    assert ck.format_duration(timedelta(minutes=45)) == "45m"
    assert ck.format_duration(timedelta(days=1, hours=4)) == "1d 4h"
    assert ck.format_duration(-timedelta(minutes=30)) == "-30m"
    assert ck.format_duration(timedelta(seconds=20)) == "0m"


def test_parse_state_accepts_spellings() -> None:
    assert ck.parse_state("in-progress") is ck.ItemState.IN_PROGRESS
    assert ck.parse_state("In Progress") is ck.ItemState.IN_PROGRESS
    assert ck.parse_state("n/a") is ck.ItemState.NOT_APPLICABLE
    assert ck.parse_state("not-applicable") is ck.ItemState.NOT_APPLICABLE
    with pytest.raises(UsageError, match="todo, in_progress, done, blocked, not_applicable"):
        ck.parse_state("finished")


def test_unknown_item_suggests_close_ids() -> None:
    with pytest.raises(NotFoundError, match=r"did you mean contain\.revoke-tokens"):
        ck.load_checklist().item("contain.revoke-token")


def test_positions_survive_tricky_toml() -> None:
    text = (
        'a = { b = "x", c = [1, { d = 2 }] }\n'
        '"quoted.key" = 3\n'
        'why = """\n[[items]]\n  ["not a table"]\n"""\n'
        "lit = '''\n[x]\n'''\n"
        "[[items]] # comment\n"
        'id = "one" # [not] a table\n'
        "steps = [\n  \"[a]\",  # [b]\n  'c',\n]\n"
        '[items.controls]\nsoc2 = ["CC1.1"]\n'
        "[[items]]\n"
        'id = "two"\n'
    )
    tomllib.loads(text)
    pos = TomlPositions(text)
    assert pos.value(("items", 0, "id")) == Pos(11, 6)
    assert pos.value(("items", 1, "id")) == Pos(19, 6)
    assert pos.value(("items", 0, "steps", 1)) == Pos(14, 3)
    assert pos.value(("items", 0, "controls", "soc2", 0)) == Pos(17, 9)
    assert pos.key(("a", "c", 1, "d")) == Pos(1, 26)
    assert pos.key(("quoted.key",)) == Pos(2, 1)
    assert pos.table(("items", 1)) == Pos(18, 1)


# -- progress, overdue, next due ------------------------------------------------------------------------


def test_status_progress_overdue_and_next_due(tmp_path: Path) -> None:
    checklist = ck.load_checklist(write(tmp_path, MINI))
    states = {
        "first.a": {"state": "done", "at": "2026-11-27T09:30:00Z", "by": "amy", "evidence": ["abc123abc123"]},
        "gone.item": {"state": "done"},
    }
    status = ck.build_status(checklist, states, T0, T0 + timedelta(hours=3))
    assert (status.done, status.total, status.percent) == (1, 3, 33)
    assert status.overdue == ["first.b"]  # due 11:00, open at 12:00; first.a is done, second.c due tomorrow
    assert status.next_due == "second.c"
    assert status.orphans == ["gone.item"]
    first = {p.id: p for p in status.phases}["first"]
    assert (first.done, first.total, first.open, first.overdue) == (1, 2, 1, 1)
    rows = {r.id: r for r in status.items}
    assert rows["first.b"].due_utc == "2026-11-27T11:00:00Z" and rows["first.b"].waiting_on == []
    assert rows["second.c"].waiting_on == ["first.b"]
    assert rows["first.a"].evidence == ["abc123abc123"] and rows["first.a"].updated_by == "amy"


def test_status_brought_up_to_date_equals_the_status_built_whole() -> None:
    """The console's path (only changed items, their dependants and time-flipped items recomputed) and the
    report's (everything built) agree after every state change and every step of time."""
    import random

    checklist = ck.load_checklist(ck.builtin_checklist_path())
    pick = random.Random(17)
    states: dict[str, dict[str, object]] = {}
    now = T0
    status = ck.update_status(None, checklist, states, T0, now)
    recomputed = 0
    for step in range(120):
        changed: set[str] = set()
        if step % 3:
            item = pick.choice(checklist.items)
            new = pick.choice([s.value for s in ck.ItemState])
            states = {**states, item.id: {"state": new, "by": "amy", "evidence": [f"ev{step}"]}}
            changed.add(item.id)
        else:
            now += timedelta(minutes=pick.randint(1, 240))
        before = status
        status = ck.update_status(before, checklist, states, T0, now, changed)
        recomputed += sum(1 for a, b in zip(before.items, status.items, strict=True) if a is not b)
        assert status == ck.build_status(checklist, states, T0, now), step
        assert ck.due_marks(checklist, states, T0, now) == (tuple(status.overdue), status.next_due)
    assert 0 < recomputed < 120 * len(checklist.items) // 4  # most items were carried over, not rebuilt


def test_not_applicable_items_leave_the_denominator_and_are_never_overdue(tmp_path: Path) -> None:
    checklist = ck.load_checklist(write(tmp_path, MINI))
    states = {"first.a": {"state": "done"}, "first.b": {"state": "not_applicable", "reason": "no tokens"}}
    status = ck.build_status(checklist, states, T0, T0 + timedelta(days=2))
    assert status.overdue == ["second.c"]
    assert (status.done, status.not_applicable, status.percent) == (1, 1, 50)
    assert {r.id: r for r in status.items}["second.c"].waiting_on == []
    assert status.next_due is None


def test_due_exactly_now_is_not_overdue(tmp_path: Path) -> None:
    checklist = ck.load_checklist(write(tmp_path, MINI))
    status = ck.build_status(checklist, {}, T0, T0 + timedelta(hours=1))
    assert status.overdue == [] and status.next_due == "first.a"

"""Every action of a script checked when it loads: the names it uses (checklist items, deadline rules, containment
actions, fact keys, forensic sources, injects, org aliases, monitoring alert types), its times, its `@label`
references and its indicator files, so a typo fails before T0 at FILE:LINE:COL instead of becoming a failed action
at T+3h. A monitoring run needs a monitoring window opened by an earlier `monitor.start`.

An org alias must be running at the action's time (an `add_org` inject starts one); an `@label` must name an action
played earlier; an inject acknowledged must have fired by then. Indicator files are read relative to the script.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from app.base.errors import WarroomError
from app.base.tomlfile import TomlDocument, did_you_mean
from app.checklist import format_duration

if TYPE_CHECKING:
    from app.exercise.scenario import LoadedScenario
    from app.exercise.scriptfile import LoadedScript

_EVIDENCE_FIELDS = ("evidence", "hold")
_TIME_FIELDS = ("since", "began", "ended", "sent_at")
_RULE_ACTIONS = (
    "deadlines.override",
    "deadlines.include",
    "deadlines.exclude",
    "deadlines.reset",
    "notify.draft",
    "notify.sent",
)


def check_actions(doc: TomlDocument, loaded: LoadedScript, scenario: LoadedScenario | None) -> None:
    """Raise ScenarioError at the first action that names something that does not exist (or not yet)."""
    from app import deadlines as dl
    from app.checklist import load_checklist, parse_state
    from app.containment.models import ACTIONS
    from app.exercise.scenario import PRIMARY_ORG, _instant_or_offset, located
    from app.forensics.catalog import SOURCES
    from app.monitoring import ALERT_TYPES

    actions = loaded.script.actions
    items = {item.id for item in load_checklist(None).items}
    rules = dl.load_rules()
    rule_ids = {r.id for r in rules}
    orgs: dict[str, timedelta] = {PRIMARY_ORG: timedelta(0)}
    injects: dict[str, timedelta] = {}
    if scenario is not None:
        for inject in scenario.scenario.injects:
            injects[inject.id] = inject.offset
            if inject.add_org is not None:
                orgs.setdefault(inject.add_org.alias, inject.offset)
    labels: dict[str, int] = {}
    window_from: timedelta | None = None  # when the first monitor.start opens a monitoring window
    order = sorted(range(len(actions)), key=lambda n: (actions[n].offset, n))
    for i in order:
        a: Any = actions[i]

        def bad(field: str | tuple[Any, ...], message: str, i: int = i) -> Exception:
            loc = field if isinstance(field, tuple) else (field,)
            return located(doc, ("actions", i, *loc), message)

        def known(field: str | tuple[Any, ...], value: str, names: set[str], what: str) -> None:
            if value not in names:
                raise bad(field, f"no {what} {value!r}{did_you_mean(value, names)}")

        for name in _TIME_FIELDS:
            value = getattr(a, name, None)
            if value:
                _parsed(partial(_instant_or_offset, value), bad, name)
        for name in _EVIDENCE_FIELDS:
            value = getattr(a, name, None)
            if isinstance(value, str):
                _label(value, labels, bad, name)
        if a.do == "checklist.set":
            known("item", a.item, items, "checklist item")
            _parsed(partial(parse_state, a.state), bad, "state")
            for j, ref in enumerate(a.evidence):
                _label(ref, labels, bad, ("evidence", j))
        elif a.do == "facts.set":
            _parsed(partial(_fact_value, a.key, a.value, rules), bad, "value")
        elif a.do in _RULE_ACTIONS:
            known("rule", a.rule, rule_ids, "deadline rule")
        elif a.do == "deadlines.pause":
            for j, rule in enumerate(a.rules):
                known(("rules", j), rule, rule_ids, "deadline rule")
        elif a.do == "contain":
            known("action", a.action, set(ACTIONS), "containment action")
        elif a.do == "collect":
            for j, source in enumerate(a.sources):
                known(("sources", j), source, set(SOURCES), "forensic source")
        elif a.do == "hunt":
            for j, name in enumerate(a.indicators):
                _parsed(partial(_indicators, loaded, name), bad, ("indicators", j))
        elif a.do == "monitor.start":
            window_from = a.offset if window_from is None else window_from
        elif a.do == "monitor.run":
            if window_from is None:
                raise bad("do", "no monitoring window is open yet: a monitor.start action must come before")
            for j, name in enumerate(a.expect_alerts):
                known(("expect_alerts", j), name, set(ALERT_TYPES), "monitoring alert type")
        elif a.do == "exercise.ack" and scenario is not None and a.inject != "all":
            known("inject", a.inject, set(injects), "inject")
            if injects[a.inject] > a.offset:
                raise bad(
                    "inject", f"inject {a.inject!r} fires at T+{format_duration(injects[a.inject])}, after this action"
                )
        org = getattr(a, "org", None)
        if org is not None and scenario is not None:
            known("org", org, set(orgs), "simulated org")
            if orgs[org] > a.offset:
                raise bad("org", f"simulated org {org!r} starts at T+{format_duration(orgs[org])}, after this action")
        if a.label:
            if a.label in labels:
                raise bad("label", f"label {a.label!r} is also used by action #{labels[a.label] + 1}")
            labels[a.label] = i


def _fact_value(key: str, value: str, rules: Any) -> None:
    """A fact action's value as `facts set` will read it; the probe itself parses an offset (T+PT1H), so it runs
    inside the check too (a bad offset is the script's error, not a crash)."""
    from app import deadlines as dl
    from app.exercise.scenario import _fact_probe

    dl.parse_fact(key, _fact_probe(key, value), rules)


def _parsed(parse: Callable[[], Any], bad: Callable[..., Exception], field: str | tuple[Any, ...]) -> None:
    try:
        parse()
    except (WarroomError, ValueError) as exc:
        raise bad(field, str(exc)) from None


def _label(value: str, labels: dict[str, int], bad: Callable[..., Exception], field: str | tuple[Any, ...]) -> None:
    if value.startswith("@") and value[1:] not in labels:
        raise bad(field, f"no earlier action is labelled {value[1:]!r}{did_you_mean(value[1:], labels)}")


def _indicators(loaded: LoadedScript, name: str) -> None:
    from app.hunt import load_indicators

    load_indicators(loaded.indicator_file(name))

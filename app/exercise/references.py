"""Every reference a scenario makes, checked when it loads, so a typo fails before T0 and not at T+1h.

An inject's `sim` fragment names seed keys (users, connected apps, profiles) of the org it goes to; its `truth`
names keys of that org's seed; its `prompts` name checklist items; its rows are dated no later than it fires.
The simulated org checks the same rows again when the inject fires, but by then the exercise is half played.
Here each fragment is checked against the keys its org will hold at that moment (the seed's, plus every earlier
inject's, in firing order), and each problem is reported as FILE:LINE:COL with the field path inside the scenario file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.clock import ensure_utc, format_instant
from app.base.tomlfile import TomlDocument, did_you_mean

if TYPE_CHECKING:
    from app.exercise.scenario import Scenario, TruthChange
    from app.simorg.schema import Schema
    from app.simorg.seed import Seed


@dataclass
class _OrgKeys:
    """What one simulated org holds as the injects fire: its seed keys (growing) and its schema."""

    seed: Seed
    known: dict[str, set[str]]
    schema: Schema


def check_references(doc: TomlDocument, scenario: Scenario, path: Path, primary: str) -> None:
    """Raise ScenarioError at the first reference that names nothing (seed keys, org aliases, checklist items)."""
    from app.checklist import load_checklist
    from app.exercise.scenario import located, seed_ref
    from app.simorg.checks import check_fragment, keys_of, org_schema
    from app.simorg.seed import load_seed

    def org_keys(seed_name: str) -> _OrgKeys:
        seed = load_seed(seed_ref(path, seed_name)).seed
        return _OrgKeys(seed, keys_of(seed, _never), org_schema(seed))

    orgs = {primary: org_keys(scenario.seed)}
    start = ensure_utc(scenario.start) if scenario.start else orgs[primary].seed.organization.now
    _check_truth(doc, ("truth",), scenario.truth, orgs[primary].known)
    items = {item.id for item in load_checklist(None).items}
    order = sorted(range(len(scenario.injects)), key=lambda n: (scenario.injects[n].offset, n))
    for i in order:
        inject = scenario.injects[i]
        for j, item in enumerate(inject.prompts):
            if item not in items:
                hint = did_you_mean(item, items)
                raise located(doc, ("injects", i, "prompts", j), f"no checklist item {item!r}{hint}")
        if inject.add_org is not None:
            orgs[inject.add_org.alias] = org_keys(inject.add_org.seed)
        alias = inject.add_org.alias if inject.add_org is not None else inject.org
        target = orgs.get(alias)
        if target is None:
            if inject.sim is None and inject.truth is None:
                continue
            raise located(
                doc,
                ("injects", i, "org"),
                f"no simulated org {alias!r} is running at T+{inject.at} (known: {', '.join(sorted(orgs))})"
                + did_you_mean(alias, orgs),
            )
        if inject.sim is not None:
            from app.simorg.seed import Fragment

            frag = Fragment.model_validate(inject.sim)  # the shape was validated by the caller
            prefix = ("injects", i, "sim")

            def fail(loc: Sequence[str | int], message: str, prefix: tuple[Any, ...] = prefix) -> Exception:
                return located(doc, (*prefix, *loc), message)

            target.known = keys_of(frag, fail, target.known)
            check_fragment(frag, target.known, fail, target.schema, target.seed.organization.event_monitoring)
            _check_row_times(frag, start + inject.offset, fail)
        if inject.truth is not None:
            _check_truth(doc, ("injects", i, "truth"), inject.truth, target.known)


def _check_truth(doc: TomlDocument, loc: tuple[Any, ...], truth: TruthChange, known: dict[str, set[str]]) -> None:
    from app.exercise.scenario import located
    from app.simorg.checks import unknown

    for j, key in enumerate(truth.compromised_apps):
        if key not in known.get("connected_apps", set()):
            raise located(
                doc,
                (*loc, "compromised_apps", j),
                unknown("connected app", key, known.get("connected_apps", set()))
                + " (an app not installed in the org goes in compromised_app_names)",
            )
    for j, key in enumerate(truth.compromised_users):
        if key not in known.get("users", set()):
            raise located(doc, (*loc, "compromised_users", j), unknown("user", key, known.get("users", set())))


_EVENT_TIMES = ("at", "created", "last_used")


def _check_row_times(frag: Any, fires: datetime, fail: Callable[[Sequence[str | int], str], Exception]) -> None:
    """Rows an inject adds record what already happened: none may be dated after the moment it fires."""
    for section in type(frag).model_fields:
        for n, row in enumerate(getattr(frag, section)):
            for name in _EVENT_TIMES:
                value = getattr(row, name, None)
                if isinstance(value, datetime) and value > fires:
                    raise fail(
                        (section, n, name),
                        f"{format_instant(value)} is after the inject fires ({format_instant(fires)}): "
                        "an injected row records something that already happened",
                    )


def _never(loc: Sequence[str | int], message: str) -> Exception:
    raise AssertionError(f"a loaded seed failed its own key check at {loc}: {message}")  # load_seed checked it

"""What a responder does to the notification clocks from the main screen, beyond facts and notices: include,
exclude or reset a rule (a documented decision), and pause the clocks for a law-enforcement hold or resume them.
Each collects input in a dialog and calls `app.deadlines.actions`, the same functions `warroom deadlines` uses.
These are quick and local, so the action runs when OK is pressed: what it refuses is shown in the dialog, which
stays open with everything typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.base.clock import parse_instant
from app.base.errors import UsageError
from app.deadlines import actions as dla
from screens.modals.form import FormField, FormModal
from screens.widgets.countdown_pane import CountdownPane

if TYPE_CHECKING:
    from datetime import datetime

    from screens.app import WarroomApp

OVERRIDE_CHOICES = (
    ("exclude: stop it from applying", "exclude"),
    ("include: apply it though the facts do not", "include"),
    ("reset: let the facts decide again", "reset"),
)


def at_or_now(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return parse_instant(text.strip())
    except ValueError as exc:
        raise UsageError(str(exc)) from None


class DeadlineActions:
    """Mixed into MainScreen next to ConsoleActions; `self` is the screen."""

    app: WarroomApp

    if TYPE_CHECKING:

        def fail(self, exc: BaseException | str) -> None: ...

    def _selected_rule(self) -> str:
        row = self.query_one(CountdownPane).selected()  # type: ignore[attr-defined]
        return row.rule if row is not None else ""

    # -- include / exclude / reset ------------------------------------------------------------------------------

    def action_deadline_override(self, decision: str = "exclude") -> None:
        self.app.push_screen(
            FormModal(
                "Include, exclude or reset a notification rule",
                [
                    FormField(
                        "rule", "Rule", value=self._selected_rule(), placeholder="us-ca-individuals", required=True
                    ),
                    FormField("action", "Decision", value=decision, choices=OVERRIDE_CHOICES, required=True),
                    FormField("justification", "Justification (journaled with your name)", required=True),
                ],
                ok_label="Record",
                check=self._record_override,
            )
        )

    def _record_override(self, values: dict[str, str]) -> None:
        action = values["action"]
        if action not in ("include", "exclude", "reset"):
            raise UsageError(f"{action!r} is not include, exclude or reset")
        done = dla.override_rule(
            self.app.incident,
            values["rule"].strip(),
            action,  # type: ignore[arg-type]
            values.get("justification", ""),
            self.app.ctx.actor,
            now=self.app.clock.now(),
            rules=self.app.rules,
        )
        state = done.timer.state.replace("_", " ") if done.timer else "not in play"
        self.app.notify(f"{done.rule}: {done.action} recorded; now {state}", timeout=4)

    # -- law-enforcement holds ----------------------------------------------------------------------------------

    def _open_holds(self) -> list[dict[str, Any]]:
        return [h for h in self.app.incident.journal.state(dla.HOLDS).values() if not h.get("end")]

    def action_deadline_hold(self) -> None:
        """Pause the clocks for a law-enforcement hold; with a hold open, end it instead."""
        if self._open_holds():
            self.action_deadline_resume()
        else:
            self.action_deadline_pause()

    def action_deadline_pause(self) -> None:
        self.app.push_screen(
            FormModal(
                "Law-enforcement hold: pause the clocks of rules that allow a delay",
                [
                    FormField("requested_by", "Requested by (agency and officer)", required=True),
                    FormField("justification", "Justification", required=True),
                    FormField("rules", "Only these rules (comma list; empty: every rule that allows a hold)"),
                    FormField("at", "Began at (ISO 8601; empty: now)"),
                ],
                ok_label="Pause",
                check=self._record_pause,
            )
        )

    def _record_pause(self, values: dict[str, str]) -> None:
        rule_ids = [r.strip() for r in values.get("rules", "").split(",") if r.strip()]
        hold = dla.pause_clocks(
            self.app.incident,
            values.get("requested_by", ""),
            values.get("justification", ""),
            self.app.ctx.actor,
            now=self.app.clock.now(),
            at=at_or_now(values.get("at", "")),
            rule_ids=rule_ids or None,
            rules=self.app.rules,
        )
        scope = ", ".join(hold.rules) if hold.rules else "every rule that allows a law-enforcement delay"
        self.app.notify(f"{hold.hold_id}: clocks paused from {hold.at} for {scope}", timeout=6)

    def action_deadline_resume(self) -> None:
        open_holds = self._open_holds()
        if not open_holds:
            self.fail("no law-enforcement hold is open: the clocks are running")
            return
        hold_id = open_holds[-1]["hold_id"]

        def record(values: dict[str, str]) -> None:
            hold = dla.resume_clocks(
                self.app.incident,
                hold_id,
                values.get("justification", ""),
                self.app.ctx.actor,
                now=self.app.clock.now(),
                at=at_or_now(values.get("at", "")),
            )
            self.app.notify(f"{hold.hold_id}: ended {hold.at}; clocks run again", timeout=6)

        self.app.push_screen(
            FormModal(
                f"End law-enforcement hold {hold_id}",
                [
                    FormField("justification", "Justification", required=True),
                    FormField("at", "Ended at (ISO 8601; empty: now)"),
                ],
                ok_label="Resume",
                check=record,
            )
        )

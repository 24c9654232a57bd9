"""Command palette (ctrl+p): every console action as "area: verb", the same actions the keys run."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (palette name, what it does, action on the main screen)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("checklist: tick item", "Mark the selected item done (or reopen it)", "tick_item"),
    ("checklist: set state", "Change the selected item's state, with a note and evidence", "set_state"),
    ("note: add", "Add a note to the journal", "add_note"),
    ("evidence: add", "Hash a file into the evidence store (in the background)", "add_evidence"),
    ("evidence: custody", "Record a custody event: sealed, transferred, accessed, verified (re-hashed)...", "custody"),
    ("facts: show", "Every incident fact with its current value", "show_facts"),
    ("facts: set", "Set an incident fact: awareness time, residents per jurisdiction...", "set_fact"),
    ("notify: draft notice", "Draft the selected clock's notice; preview it with its gaps highlighted", "notice_draft"),
    ("notify: mark sent", "Record the selected notice as sent, with its evidence", "mark_sent"),
    (
        "deadlines: include",
        "Apply a rule the facts do not select, with a justification",
        "deadline_override('include')",
    ),
    ("deadlines: exclude", "Stop a rule from applying, with a justification", "deadline_override('exclude')"),
    ("deadlines: reset", "Let the facts decide again whether a rule applies", "deadline_override('reset')"),
    ("deadlines: pause", "Law-enforcement hold: pause the clocks of rules that allow a delay", "deadline_pause"),
    ("deadlines: resume", "End the open law-enforcement hold; the clocks run again", "deadline_resume"),
    ("collect: logs", "Preserve the org's audit trail, logins, event logs (per-source progress, cancel)", "collect"),
    ("hunt: indicators", "Search the preserved evidence for a shipped or your own indicator file", "hunt"),
    ("exfil: what was taken", "Rows read per user (app) and object, from the preserved API logs", "exfil"),
    ("monitor: start", "Open the enhanced monitoring window (days, the org it watches)", "monitor_start"),
    (
        "monitor: run now",
        "Run the monitoring once now: pull, compare, re-hunt, raise alerts (in the background)",
        "monitor_run",
    ),
    ("monitor: status", "The monitoring window: day N of M, runs per day, every alert", "monitor_status"),
    (
        "monitor: acknowledge alert",
        "Acknowledge the oldest unacknowledged monitoring alert, with a note",
        "monitor_ack",
    ),
    ("grant: plan", "Plan just-in-time access: a permission set for a stated time, reason, approver", "grant_plan"),
    ("grant: approve", "Approve a planned grant as the approver it names", "grant_approve"),
    (
        "grant: apply",
        "Apply an approved grant: the assignment with its ExpirationDate (type the org alias)",
        "grant_apply",
    ),
    ("grant: list", "Every grant: permission set, user, until when, its state", "grant_list"),
    (
        "grant: check",
        "Query every applied grant's assignment: active, expired, removed, still assigned (journaled)",
        "grant_check",
    ),
    ("grant: revoke", "Remove a grant's assignment before it expires (type the org alias)", "grant_revoke"),
    (
        "harden: plan",
        "Plan a connected app's hardening: OAuth policies, Transaction Security, debug logs (journaled)",
        "harden_plan",
    ),
    ("harden: check", "Read a connected app's hardening back: each check met, not met or unknown", "harden_check"),
    (
        "reconnect: plan",
        "Check an integration's preconditions for coming back: what is met, what is missing",
        "reconnect_plan",
    ),
    (
        "reconnect: approve",
        "Approve bringing an integration back (not its planner; checked again)",
        "reconnect_approve",
    ),
    ("reconnect: status", "Every reconnect plan, its preconditions and who approved it", "reconnect_status"),
    ("costs: add", "Book a cost: category, amount, currency, vendor, evidence (journaled)", "costs_add"),
    ("costs: view", "Totals per category and currency against the budget; fine ranges with citations", "costs_view"),
    ("report: write", "Write the audit report (Markdown, HTML or JSON) to a file you choose", "report"),
    ("inventory: pull", "Pull the inventory from the org (in the background)", "pull_inventory"),
    ("inventory: import", "Import an inventory snapshot file or Data Loader CSV export", "import_inventory"),
    ("inventory: search", "Search the inventory", "search_inventory"),
    ("inventory: filter by kind", "Cycle all / apps / tokens / users / with findings", "cycle_kind"),
    ("inventory: show record", "Every field of the selected record", "detail"),
    (
        "contain: revoke tokens",
        "Plan revoking the selected app's OAuth tokens; confirm by typing the org alias",
        "contain('revoke_tokens')",
    ),
    ("contain: plan", "Plan containment for the selected record; confirm by typing the org alias", "contain"),
    ("contain: approve", "Approve a planned action as someone other than its executor", "contain_approve"),
    (
        "contain: apply",
        "Apply a plan prepared earlier (hardening, an approved or exported plan); type the org alias",
        "contain_apply",
    ),
    ("contain: status", "Every containment action with its counts and open manual tasks", "contain_status"),
    ("contain: undo", "Undo a containment action (preview, then type the org alias)", "contain_undo"),
    ("journal: timeline", "The journal, newest first", "timeline"),
    ("journal: verify", "Re-check the hash chain and derived state", "app.verify"),
    ("journal: anchor", "Show size and root to read aloud, and journal the anchor", "anchor"),
    ("team: sync", "Send this laptop's new entries to the team's git remote and take the others'", "team_sync"),
    (
        "team: conflicts",
        "Concurrent changes to one thing: which the merged view kept, which it set aside",
        "team_conflicts",
    ),
    (
        "view: pictures",
        "Attacker activity over time, the clocks on a time axis, rows taken, containment, token use by address",
        "pictures",
    ),
    ("view: checklist", "Show the checklist pane", "focus_pane('checklist')"),
    ("view: countdowns", "Show the countdowns pane", "focus_pane('countdowns')"),
    ("view: inventory", "Show the inventory pane", "focus_pane('inventory')"),
    ("help: keys and commands", "List every key and command", "app.help"),
)

# Only while a tabletop exercise runs in this console.
EXERCISE_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("exercise: show alerts", "Every inject received, its message, and whether it was acknowledged", "exercise_alerts"),
    (
        "exercise: acknowledge alert",
        "Acknowledge the oldest unacknowledged alert, with an optional note",
        "exercise_ack",
    ),
    ("exercise: pause or resume", "Hold the exercise clock, or let it run again", "exercise_pause"),
    ("exercise: speed up", "Run the exercise clock faster (up to x600)", "exercise_speed(1)"),
    ("exercise: slow down", "Run the exercise clock slower (down to x1)", "exercise_speed(-1)"),
    ("exercise: switch org", "Pull and contain in the next simulated org of the exercise", "exercise_org"),
    (
        "exercise: end",
        "End the exercise now: the score, and the after-action report stored as evidence",
        "exercise_end",
    ),
)


def palette_commands(exercise: bool = False) -> list[tuple[str, str]]:
    return [(name, text) for name, text, _ in _commands(exercise)]


def _commands(exercise: bool) -> tuple[tuple[str, str, str], ...]:
    return COMMANDS + EXERCISE_COMMANDS if exercise else COMMANDS


class WarroomCommands(Provider):
    def _run(self, action: str) -> None:
        app = self.app
        target = getattr(app, "main_screen", app)
        app.call_later(app.run_action, action, target)

    def _available(self) -> tuple[tuple[str, str, str], ...]:
        return _commands(getattr(self.app, "runner", None) is not None)

    async def discover(self) -> Hits:
        for name, text, action in self._available():
            yield DiscoveryHit(name, partial(self._run, action), help=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, text, action in self._available():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action), text=name, help=text)

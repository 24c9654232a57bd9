"""Every key the console answers to, each with an id so `[console.keymap]` in config.toml can remap it."""

from __future__ import annotations

from textual.binding import Binding

APP_BINDINGS: list[Binding] = [
    Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave the console (everything is already journaled)."),
    Binding("f1", "help", "Help", show=False, id="app.help-f1", tooltip="List every key and command (any screen)."),
]

MAIN_BINDINGS: list[Binding] = [
    # The footer shows only what fits 80 columns; `?` lists every key and the palette (ctrl+p) every command.
    # First, so the footer shows it even at 80 columns.
    Binding("question_mark", "app.help", "Help", id="app.help", tooltip="List every key and command."),
    Binding("1", "focus_pane('checklist')", "Checklist", show=False, id="pane.checklist"),
    Binding("2", "focus_pane('countdowns')", "Clocks", show=False, id="pane.countdowns"),
    Binding("3", "focus_pane('inventory')", "Inventory", show=False, id="pane.inventory"),
    Binding("tab", "next_pane", "Next pane", show=False, id="pane.next"),
    Binding(
        "x,space",
        "tick_item",
        "Tick",
        id="checklist.tick",
        tooltip="Mark the selected checklist item done (again: reopen it).",
    ),
    Binding(
        "s",
        "set_state",
        "State",
        id="checklist.set-state",
        tooltip="Change the selected item's state with a note and evidence.",
    ),
    Binding(
        "c",
        "contain",
        "Contain",
        id="contain.plan",
        tooltip="Plan containment for the selected record; confirm by typing the org alias.",
    ),
    Binding("n", "add_note", "Note", id="note.add", tooltip="Add a note to the journal (or to the selected item)."),
    Binding(
        "e", "add_evidence", "Evidence", show=False, id="evidence.add", tooltip="Hash a file into the evidence store."
    ),
    Binding("f", "set_fact", "Facts", id="facts.set", tooltip="Set an incident fact (awareness, residents...)."),
    Binding("m", "mark_sent", "Sent", show=False, id="notify.mark-sent", tooltip="Record the selected notice as sent."),
    Binding(
        "d",
        "deadline_override",
        "Include/exclude",
        show=False,
        id="deadlines.override",
        tooltip="Include, exclude or reset the selected rule, with a justification.",
    ),
    Binding(
        "h",
        "deadline_hold",
        "Hold",
        show=False,
        id="deadlines.hold",
        tooltip="Law-enforcement hold: pause the clocks that allow a delay (with a hold open: end it).",
    ),
    Binding("p", "pull_inventory", "Pull", id="inventory.pull", tooltip="Pull the inventory from the org."),
    Binding(
        "i",
        "import_inventory",
        "Import",
        show=False,
        id="inventory.import",
        tooltip="Import an inventory snapshot or Data Loader CSV export.",
    ),
    Binding("j", "move(1)", "Down", show=False, id="move.down", tooltip="Next row (vim-style; the arrows too)."),
    Binding("k", "move(-1)", "Up", show=False, id="move.up", tooltip="Previous row (vim-style; the arrows too)."),
    Binding(
        "slash",
        "filter",
        "Filter",
        show=False,
        id="pane.filter",
        tooltip="Filter the rows of the pane in view (the inventory: its search box); Esc clears.",
    ),
    Binding(
        "K",
        "cycle_kind",
        "Kind filter",
        show=False,
        id="inventory.filter",
        tooltip="Inventory: cycle all / apps / tokens / users / with findings.",
    ),
    Binding("enter", "detail", "Detail", show=False, id="inventory.detail"),
    Binding(
        "g",
        "pictures",
        "Pictures",
        show=False,
        id="view.pictures",
        tooltip="Pictures: attacker activity by hour, clocks on a time axis, rows taken, containment over time, token "
        "use by address.",
    ),
    Binding("t", "timeline", "Timeline", show=False, id="journal.timeline", tooltip="The journal, newest first."),
    Binding("v", "verify", "Verify", show=False, id="journal.verify", tooltip="Re-check the hash chain."),
    Binding(
        "a",
        "anchor",
        "Anchor",
        show=False,
        id="journal.anchor",
        tooltip="Show the size and root to read aloud, and journal that an anchor was taken.",
    ),
]

# Only while a tabletop exercise runs in this console (`warroom exercise run`); hidden otherwise.
EXERCISE_BINDINGS: list[Binding] = [
    Binding(
        "l",
        "exercise_alerts",
        "Alerts",
        id="exercise.alerts",
        tooltip="Exercise: every inject received, its message, and whether it was acknowledged.",
    ),
    Binding(
        "y",
        "exercise_ack",
        "Ack",
        show=False,
        id="exercise.ack",
        tooltip="Exercise: acknowledge the oldest unacknowledged alert (journaled, with an optional note).",
    ),
    Binding(
        "z",
        "exercise_pause",
        "Pause",
        id="exercise.pause",
        tooltip="Exercise: pause or resume the exercise clock (journaled).",
    ),
    Binding(
        "plus,equals_sign",
        "exercise_speed(1)",
        "Faster",
        show=False,
        id="exercise.faster",
        tooltip="Exercise: run the clock faster (x1 2 5 10 30 60 120 300 600; journaled).",
    ),
    Binding(
        "minus",
        "exercise_speed(-1)",
        "Slower",
        show=False,
        id="exercise.slower",
        tooltip="Exercise: run the clock slower (journaled).",
    ),
    Binding(
        "o",
        "exercise_org",
        "Org",
        show=False,
        id="exercise.org",
        tooltip="Exercise: work on the next simulated org (when an inject brings in a second one).",
    ),
    Binding(
        "ctrl+e",
        "exercise_end",
        "End exercise",
        show=False,
        id="exercise.end",
        tooltip="Exercise: end it now; shows the score and stores the after-action report.",
    ),
]

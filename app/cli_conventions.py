"""What every `warroom` command has in common, applied once to the assembled parser: `--json`, help text and a
metavar for the options every area repeats, and an "examples" epilog.

Command modules declare what is particular to them; `finish(parser)` fills in the rest, so a new command gets the
conventions without copying them. A leaf command that does not declare `--json` itself gets it here, and its
printed lines are then returned as a JSON object by app/cli.py (`json_wrapped`); commands that build their own
JSON declare `--json` themselves.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.incident.core import Incident

JSON_HELP = "print the result as JSON on stdout; a failure prints a JSON error object on stderr"

# Help and metavar for options and positionals that mean the same wherever they appear (by option string, or by
# dest for positionals). A command's own help or metavar always wins.
COMMON: dict[str, tuple[str, str | None]] = {
    "--incident": ("the incident: an id, or a unique prefix or suffix of one (default: the most recent)", "ID"),
    "--note": ("a note journaled with the action", "TEXT"),
    "--evidence": ("the id (or a SHA-256 prefix) of evidence added with `warroom evidence add`", "EVIDENCE_ID"),
    "--since": ("start of the window, ISO 8601 with a zone (e.g. 2026-11-20T00:00:00Z)", "ISO8601"),
    "--until": ("end of the window, ISO 8601 with a zone", "ISO8601"),
    "--justification": ("why, in words an auditor can read later (journaled)", "TEXT"),
    "--out": ("write to PATH", "PATH"),
    "title": ("the incident's title", "TITLE"),
    "text": ("the note's text", "TEXT"),
    "file": ("the file", "FILE"),
    "evidence_id": ("the evidence id (or a SHA-256 prefix) shown by `warroom evidence list`", "EVIDENCE_ID"),
    "rule": ("a notification rule id, as `warroom deadlines rules` lists them", "RULE_ID"),
    "alias": ("the org alias the credentials are stored under", "ALIAS"),
    "plan": ("a plan file written by `contain plan --out`, or a plan id", "PLAN_FILE_OR_ID"),
}

# Metavars for value options that declare none, so the same kind of value reads the same everywhere.
METAVARS: dict[str, str] = {
    "--detected": "ISO8601",
    "--aware": "ISO8601",
    "--at": "ISO8601",
    "--db": "FILE",
    "--instance-url": "URL",
    "--ca": "PEM_FILE",
    "--key-file": "PEM_FILE",
    "--cert-dir": "DIR",
    "--requested-by": "WHO",
    "--to": "PARTY",
    "--purpose": "TEXT",
    "--what": "SOURCES",
    "--consumer-key": "KEY",
}

# Per-command help where a name means something particular there: {(command path, option or dest): help}.
SPECIFIC: dict[tuple[str, str], str] = {
    ("open", "incident"): "the incident: an id, or a unique prefix or suffix of one",
    ("inventory import", "path"): "a snapshot file, or a directory of exported CSV/JSON files",
    ("contain undo", "action_id"): "the action id shown by `warroom contain status`",
    ("contain confirm", "task_id"): "the manual task id shown by `warroom contain status`",
    ("exercise ack", "inject"): "the inject id shown by `warroom exercise alerts`",
    ("journal verify", "--anchor"): "an anchor taken earlier (`journal head`): the journal must extend it; repeatable",
    ("journal export", "--out"): "the directory to write the copy, its evidence, VERIFY.json and ANCHOR.txt into",
    ("evidence add", "file"): "the file to hash into the evidence store (streamed; the original is left as it is)",
    ("evidence custody", "action"): "the custody event",
    ("evidence custody", "--to"): "the party the evidence went to (transferred, copied, returned)",
    ("evidence custody", "--purpose"): "why it was accessed, copied or transferred",
    ("checklist validate", "file"): "a checklist TOML file (default: the shipped checklist.toml)",
    ("checklist set", "item"): "the checklist item id, e.g. detect.commander (`warroom checklist status` lists them)",
    ("deadlines compute", "--rule"): "the rule id, as `warroom deadlines rules` lists them",
    ("deadlines compute", "--start"): "when the clock starts, ISO 8601 with a zone",
    ("deadlines resume", "hold_id"): "the hold id printed by `warroom deadlines pause`",
    ("facts set", "key"): "the fact, e.g. residents.US-CA, categories, aware (`warroom facts show` lists them)",
    ("facts set", "value"): "its value (a number, a comma-separated list or an ISO 8601 instant, by fact)",
    ("notify detail", "key"): "the detail to set (omit to list them)",
    ("creds set", "--kind"): "how to log in: password, jwt (key file), client_credentials or session",
    ("creds set", "--username"): "the Salesforce username (password and jwt)",
    ("exfil", "--since"): "only API use from this instant on (ISO 8601 with a zone)",
    ("exfil", "--until"): "only API use before this instant (ISO 8601 with a zone)",
    ("settings set", "value"): "the setting's new value",
    ("simorg check", "seed"): "seed file (.toml/.json) or shipped seed name",
    ("report", "--format"): "md (default), html or json",
    ("report", "--out"): "write the report to FILE (default: stdout)",
}

# Examples shown under every command's help (`warroom CMD --help`). Each runs as written against a workspace
# that has the ids it names.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "new": ('warroom new "Chat vendor token theft" --aware 2026-11-27T09:30:00Z', 'warroom new "Leak" --json'),
    "list": ("warroom list", "warroom list --json"),
    "note": ('warroom note "Vendor confirmed the token theft at 10:05"', 'warroom note "Called the DPO" --json'),
    "journal verify": ("warroom journal verify", "warroom journal verify --anchor 42:" + "9f2c" * 16 + " --json"),
    "journal head": ("warroom journal head", "warroom journal head --json"),
    "journal show": ("warroom journal show --kind 'checklist.*'", "warroom journal show --json"),
    "journal export": ("warroom journal export --out /media/usb/INC-export",),
    "journal checkpoint": ("warroom journal checkpoint", "warroom journal checkpoint --json"),
    "evidence add": ('warroom evidence add ~/EventLogFile-API.csv --note "pulled 11:02Z"',
                     "warroom evidence add export.csv --json"),
    "evidence list": ("warroom evidence list", "warroom evidence list --json"),
    "evidence custody": ("warroom evidence custody EV-1A2B3C sealed",
                         "warroom evidence custody EV-1A2B3C verified --json"),
    "evidence verify": ("warroom evidence verify", "warroom evidence verify --json"),
    "checklist validate": ("warroom checklist validate", "warroom checklist validate my-checklist.toml --json"),
    "checklist status": ("warroom checklist status", "warroom checklist status --json"),
    "checklist set": ("warroom checklist set detect.commander done",
                      'warroom checklist set detect.awareness blocked --note "waiting on vendor" --json'),
    "deadlines compute": ("warroom deadlines compute --rule eu-gdpr-art33-sa --start 2026-11-27T09:30:00Z",),
    "deadlines rules": ("warroom deadlines rules", "warroom deadlines rules --on 2026-11-27 --json"),
    "deadlines include": ('warroom deadlines include eu-gdpr-art33-sa --justification "EU residents affected"',),
    "deadlines exclude": ('warroom deadlines exclude eu-gdpr-art34-individuals --justification "data was encrypted"',),
    "deadlines reset": ('warroom deadlines reset eu-gdpr-art33-sa --justification "exclusion was a mistake"',),
    "deadlines pause": ('warroom deadlines pause --requested-by "FBI field office" --justification "LE hold letter"',),
    "deadlines resume": ('warroom deadlines resume HOLD-1 --justification "hold lifted by letter"',),
    "facts set": ("warroom facts set residents.US-CA 48200", "warroom facts set categories contact,credentials --json"),
    "facts show": ("warroom facts show", "warroom facts show --json"),
    "notify sent": ("warroom notify sent eu-gdpr-art33-sa --at 2026-11-28T08:00:00Z --evidence EV-1A2B3C",),
    "notify draft": ("warroom notify draft eu-gdpr-art33-sa", "warroom notify draft eu-gdpr-art33-sa --out notice.md"),
    "notify detail": ("warroom notify detail", "warroom notify detail --json"),
    "demo": ("warroom demo", "warroom demo --json   # without a terminal: create the demo and check it, no console"),
    "open": ("warroom open INC-20261127-1A2B", "warroom open 1A2B"),
    "creds set": ("warroom creds set prod --kind password --username ir@example.com",),
    "creds list": ("warroom creds list", "warroom creds list --json"),
    "creds delete": ("warroom creds delete prod",),
    "creds test": ("warroom creds test prod", "warroom creds test prod --json"),
    "collect": ("warroom collect --org prod --since 2026-11-20T00:00:00Z",),
    "hunt": ("warroom hunt iocs.toml", "warroom hunt iocs.toml --org prod --record --json"),
    "exfil": ("warroom exfil", "warroom exfil --since 2026-11-20T00:00:00Z --json"),
    "inventory pull": ("warroom inventory pull --org prod", "warroom inventory pull --org prod --json"),
    "inventory import": ("warroom inventory import ./snapshot/",),
    "inventory show": ("warroom inventory show", "warroom inventory show --json"),
    "inventory diff": ("warroom inventory diff", "warroom inventory diff --json"),
    "findings": ("warroom findings", "warroom findings --json"),
    "simorg serve": ("warroom simorg serve --seed fake-data-loader --port 8443",),
    "simorg check": ("warroom simorg check chat-vendor-theft", "warroom simorg check my-seed.toml --json"),
    "contain plan": ("warroom contain plan revoke_tokens --app 'Chat Vendor' --org prod --out plan.json",),
    "contain approve": ("warroom contain approve plan.json --confirm prod",),
    "contain apply": ("warroom contain apply plan.json --confirm prod", "warroom contain apply plan.json --json"),
    "contain status": ("warroom contain status", "warroom contain status --json"),
    "contain undo": ("warroom contain undo ACT-1 --confirm prod",),
    "contain confirm": ('warroom contain confirm TASK-1 --evidence EV-1A2B3C --note "app blocked in Setup"',),
    "settings show": ("warroom settings show", "warroom settings show --json"),
    "settings set": ("warroom settings set containment.require_distinct_approver true",),
    "exercise list": ("warroom exercise list", "warroom exercise list --json"),
    "exercise run": ("warroom exercise run fake-data-loader --speed 60",
                     "warroom exercise run fake-data-loader --script responses.toml --json"),
    "exercise score": ("warroom exercise score", "warroom exercise score --json"),
    "exercise alerts": ("warroom exercise alerts", "warroom exercise alerts --all --json"),
    "exercise ack": ('warroom exercise ack INJ-2 --note "handled by the IC"',),
    "report": ("warroom report --format html --out report.html", "warroom report --format json"),
    "export-population": ("warroom export-population --kind 'containment.*' --out population.csv",),
    "contain withdraw": ('warroom contain withdraw PLAN-1 --reason "superseded by a narrower plan"',),
    "costs add": ('warroom costs add forensic-services 12500 USD --vendor "DFIR Partners" --evidence EV-1A2B3C',
                  "warroom costs add legal 4800.00 EUR --json"),
    "costs budget": ("warroom costs budget 150000 USD --evidence EV-1A2B3C", "warroom costs budget 20000 EUR --json"),
    "costs list": ("warroom costs list", "warroom costs list --json"),
    "grant plan": ('warroom grant plan --org prod --user integration@example.com --permission-set Sync_Read '
                   '--hours 4 --reason "backfill after reconnection" --approver "J. Rivera"',),
    "grant approve": ("warroom grant approve ACT-7 --confirm prod",),
    "grant apply": ("warroom grant apply ACT-7 --confirm prod", "warroom grant apply ACT-7 --confirm prod --json"),
    "grant list": ("warroom grant list", "warroom grant list --org prod --json"),
    "monitor start": ("warroom monitor start --days 28 --org prod",),
    "monitor run": ("warroom monitor run", "warroom monitor run --json"),
    "monitor status": ("warroom monitor status", "warroom monitor status --json"),
    "reconnect plan": ("warroom reconnect plan --app 'Chat Vendor' --user chat-integration@example.com",),
    "reconnect approve": ('warroom reconnect approve RC-1 --note "preconditions checked with the vendor"',),
    "reconnect status": ("warroom reconnect status", "warroom reconnect status --json"),
    "sync": ("warroom sync /media/usb/war.git", "warroom sync --bundle-out /media/usb/alice.bundle",
             "warroom sync --bundle-in alice.bundle --json"),
    "team add": ("warroom team add alice --role commander", "warroom team add bob --role admin --key " + "9c41" * 16),
    "team join": (
        "warroom team join INC-20261127-1A2B --commander-key " + "3f9a" * 16 + " --remote /media/usb/war.git",
    ),
    "team key": ("warroom team key",),
    "team list": ("warroom team list", "warroom team list --json"),
    "team conflicts": ("warroom team conflicts", "warroom team conflicts --json"),
    "completion": ("warroom completion bash > ~/.local/share/bash-completion/completions/warroom",
                   "warroom completion zsh > ~/.zfunc/_warroom",
                   "warroom completion fish > ~/.config/fish/completions/warroom.fish"),
}  # fmt: skip


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command under `parser` as ("evidence add", its parser); subcommand groups are walked."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        if path:
            yield " ".join(path), parser
        return
    for name, sub in subs[0].choices.items():
        yield from leaves(sub, (*path, name))


def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """`parser` and every subcommand parser under it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


def _name(action: argparse.Action) -> str:
    longs = [s for s in action.option_strings if s.startswith("--")]
    return longs[0] if longs else (action.option_strings[0] if action.option_strings else action.dest)


def finish(parser: argparse.ArgumentParser, skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Apply the conventions to every leaf command but those whose first word is in `skip` (listed by name only)."""
    for path, leaf in leaves(parser):
        if path.split()[0] in skip:
            continue
        options = {s for a in leaf._actions for s in a.option_strings}
        if "--json" not in options:
            leaf.add_argument("--json", action="store_true", help=JSON_HELP)
            leaf.set_defaults(json_wrapped=True)
        leaf.set_defaults(command_path=path)
        for action in leaf._actions:
            name = _name(action)
            if action.help is None:
                if name == "--json":
                    action.help = JSON_HELP
                elif (path, name) in SPECIFIC:
                    action.help = SPECIFIC[(path, name)]
                elif name in COMMON:
                    action.help = COMMON[name][0]
            if action.metavar is None and action.choices is None and action.nargs != 0:
                action.metavar = METAVARS.get(name) or (COMMON[name][1] if name in COMMON else None)
        examples = EXAMPLES.get(path) or _fallback_example(path, leaf)
        text = "examples:\n" + "\n".join(f"  {line}" for line in examples)
        leaf.epilog = f"{leaf.epilog.rstrip()}\n\n{text}" if leaf.epilog else text
        if leaf.formatter_class is argparse.HelpFormatter:
            leaf.formatter_class = argparse.RawDescriptionHelpFormatter


def _fallback_example(path: str, leaf: argparse.ArgumentParser) -> tuple[str, ...]:
    """For a command not in EXAMPLES yet: its required words as placeholders, plain and with --json."""
    words = [f"warroom {path}"]
    for action in leaf._actions:
        if not action.option_strings and action.nargs not in ("?", "*", argparse.SUPPRESS):
            words.append(str(action.metavar or action.dest).upper())
        elif action.required and action.option_strings:
            words.append(f"{action.option_strings[0]} {action.metavar or action.dest.upper()}")
    plain = " ".join(words)
    return (plain, f"{plain} --json")


def made(incident: Incident, seq: int | None, /, **fields: Any) -> dict[str, Any]:
    """What a write command returns under --json: its own fields and the journal entry it made (`entry_made`)."""
    from app.composition.context import entry_made

    record = entry_made(incident, incident.journal.entry(seq) if seq is not None else None)
    return {"incident": record.pop("incident"), **fields, **record}

"""Notification deadlines: the jurisdiction rules, the clocks they start, and the timers a responder watches.

Rules are data (`app/data/rules.toml`, generated from the research table by `scripts/build-rules`). The engine
is plain functions over three inputs: the incident's facts, responder overrides, and the notices already sent.

Counting conventions (stated once, used everywhere):
- hours run continuously in UTC: a DST change or a weekend does not move a 72-hour deadline;
- "N calendar days" and "N business days" end at 23:59:59 on the Nth day after the start day, in the rule's
  time zone; the start day itself is day 0. A business day is Monday-Friday and not a public holiday of the
  rule's calendar (the `holidays` package), so a start on a weekend makes the next business day day 1;
- "one month" ends at 23:59:59 on the same date the next month (the last day when that date does not exist);
- calendars: each rule names one (US state rules their state, US federal rules the federal holidays, the SEC
  the federal holidays because Rule 0-3 and EDGAR close on federal holidays, not on NYSE-only days such as
  Good Friday; Brazil the national holidays; the EU Belgian holidays and Brussels time unless the incident
  names its lead member state; card brands the US federal calendar);
- a law-enforcement hold stops a rule's clock for its duration; on release the clock resumes with the time
  that was left.

Layout: `vocab` (sectors, categories, fact times, regions), `days` (durations, holiday calendars, counting),
`rules` (the rule file and its versions), `facts` (what the journal records: facts, overrides, holds,
notices), `starts` (when each clock starts, and so which version of a rule judges the incident) and `engine`
(applicability and timers). Everything is importable from `app.deadlines` itself.
"""

from __future__ import annotations

from app.base.errors import WarroomError
from app.deadlines.days import (
    Place,
    compute_due,
    due_with_basis,
    format_duration,
    holiday_name,
    is_business_day,
    parse_duration,
    rule_place,
    year_end_start,
)
from app.deadlines.engine import (
    DUE_4H,
    DUE_24H,
    STATE_ORDER,
    Timer,
    TimerState,
    applicable_rules,
    in_force_versions,
    incident_timers,
    timers,
)
from app.deadlines.facts import (
    FACT_KEYS,
    IncidentFacts,
    LawEnforcementHold,
    Notification,
    Override,
    facts_from_state,
    incident_facts,
    incident_notifications,
    incident_overrides,
    normalise_code,
    parse_fact,
    project_fact,
    project_notification,
    project_override,
    project_pause,
    project_resume,
    set_fact,
)
from app.deadlines.rules import (
    RULES_PATH,
    AppliesWhen,
    Rule,
    RuleFile,
    RuleFileError,
    RuleVersion,
    Threshold,
    find_rule,
    load_rules,
    parse_rules,
)
from app.deadlines.starts import VersionChoice, choose_versions, fact_start, version_day
from app.deadlines.vocab import (
    CATEGORIES,
    CODE_ALIASES,
    EU_MEMBER_STATES,
    FACT_TIMES,
    REGION_MEMBERS,
    SECTORS,
    START_EVENTS,
    US_STATE_LOOKALIKES,
)

__all__ = [
    "CATEGORIES",
    "CODE_ALIASES",
    "DUE_4H",
    "DUE_24H",
    "EU_MEMBER_STATES",
    "FACT_KEYS",
    "FACT_TIMES",
    "REGION_MEMBERS",
    "RULES_PATH",
    "SECTORS",
    "START_EVENTS",
    "STATE_ORDER",
    "US_STATE_LOOKALIKES",
    "AppliesWhen",
    "IncidentFacts",
    "LawEnforcementHold",
    "Notification",
    "Override",
    "Place",
    "Rule",
    "RuleFile",
    "RuleFileError",
    "RuleVersion",
    "Threshold",
    "Timer",
    "TimerState",
    "VersionChoice",
    "WarroomError",
    "applicable_rules",
    "choose_versions",
    "compute_due",
    "due_with_basis",
    "fact_start",
    "facts_from_state",
    "find_rule",
    "format_duration",
    "holiday_name",
    "in_force_versions",
    "incident_facts",
    "incident_notifications",
    "incident_overrides",
    "incident_timers",
    "is_business_day",
    "load_rules",
    "normalise_code",
    "parse_duration",
    "parse_fact",
    "parse_rules",
    "project_fact",
    "project_notification",
    "project_override",
    "project_pause",
    "project_resume",
    "rule_place",
    "set_fact",
    "timers",
    "version_day",
    "year_end_start",
]

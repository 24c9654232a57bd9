"""Collection results as data (what was preserved, skipped or missing per item and source) and their rendering
as the command line shows them; the console reads the same models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.base.errors import WarroomError
from app.base.progress import Progress
from app.evidence.rows import parse_time


class CollectError(WarroomError):
    """Collection stopped (the org refused, a limit was reached); what was preserved stays preserved.

    Its exit code (1, the family's default: a failure the responder can act on) is also what `warroom collect`
    returns for a run that is not `complete`: partial (an item failed or was refused), interrupted or cancelled.
    """


# ---------------------------------------------------------------------------------------------------------
# Results and progress
# ---------------------------------------------------------------------------------------------------------


class ItemResult(BaseModel):
    item: str
    source: str
    # unavailable: the org hides the object from this login or says the feature is not enabled (the detail says
    # which, and never claims an edition limit Salesforce did not state); denied: refused for lack of a
    # permission; failed: a fault (5xx, a broken answer, a record gone), retried by the next run.
    status: Literal["preserved", "unchanged", "skipped", "unavailable", "denied", "failed"]
    evidence_id: str | None = None
    sha256: str | None = None
    size: int | None = None
    rows: int | None = None
    soql: str | None = None
    detail: str = ""


class SourceStatus(BaseModel):
    """One line of the edition/expiry table: what the org can give and when it stops holding it."""

    source: str
    available: Literal["yes", "partial", "no", "unknown"]
    retention: str
    oldest: str | None = None
    oldest_expires: str | None = None
    preserved: int = 0
    note: str = ""
    cite: str = ""


class CollectResult(BaseModel):
    run_id: str
    org: str
    org_name: str | None = None
    edition: str | None = None
    api_version: str
    since: str | None
    what: list[str]
    # complete: every item was preserved or is documented as not available; partial: some item failed or was
    # refused; interrupted / cancelled: the run stopped before the end (`not_reached` lists the sources it
    # did not start).
    status: Literal["complete", "partial", "interrupted", "cancelled"]
    message: str = ""
    items: list[ItemResult] = Field(default_factory=list)
    not_reached: list[str] = Field(default_factory=list)
    sources: list[SourceStatus] = Field(default_factory=list)
    limits: list[str] = Field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    def problems(self) -> list[ItemResult]:
        """The items this run could not preserve for a reason other than a documented absence."""
        return [i for i in self.items if i.status in PROBLEMS]


STATUSES: tuple[str, ...] = ("preserved", "unchanged", "skipped", "unavailable", "denied", "failed")
PROBLEMS: tuple[str, ...] = ("failed", "denied")


def summary(result: CollectResult) -> list[str]:
    """What the run did not do, in words: the failed and refused items with why, and what an interruption left."""
    lines: list[str] = []
    problems = result.problems()
    if result.status == "partial":
        lines.append(f"partial: {len(problems)} of {len(result.items)} items failed; run collect again to retry them")
    elif result.status in ("interrupted", "cancelled"):
        kept = sum(1 for i in result.items if i.status in ("preserved", "unchanged", "skipped"))
        lines.append(f"{result.status}: {result.message}")
        lines.append(f"{kept} item(s) preserved before it stopped; they stay preserved")
        if result.not_reached:
            lines.append("not reached: " + ", ".join(result.not_reached))
    for item in problems:
        lines.append(f"  {item.status:<6} {item.item}: {item.detail}")
    return lines


@dataclass(frozen=True)
class ProgressEvent:
    source: str
    item: str
    status: str  # started | preserved | unchanged | skipped | unavailable | failed | bytes
    done: int = 0
    total: int = 0
    detail: str = ""


ProgressFn = Callable[[ProgressEvent], None]


def sources_progress(progress: Progress, chosen: Sequence[str]) -> ProgressFn:
    """Collection's events as sources done of `chosen` (sources run in order, so a new source means the one before
    is done), the current item as the label, and each item preserved, failed, denied or unavailable as a note."""
    seen: list[str] = []

    def report(event: ProgressEvent) -> None:
        if event.source not in seen:
            seen.append(event.source)
        if event.status in ("preserved", "failed", "denied", "unavailable"):
            progress.note(f"  {event.status:<11} {event.item}  {event.detail}")
        progress.progress(len(seen) - 1, len(chosen), f"collect: {event.source} {event.item}")

    return report


def _until(at: str | None, now: datetime | None) -> str:
    due = parse_time(at) if at else None
    if due is None or now is None:
        return ""
    left = due - now
    if left.total_seconds() <= 0:
        return " (passed)"
    days = left.days
    return f" (in {days} d)" if days >= 2 else f" (in {int(left.total_seconds() // 3600)} h)"


def render_collect(result: CollectResult, now: datetime | None = None) -> list[str]:
    head = (
        f"collect from {result.org_name or ''} {result.org} ({result.edition or 'edition unknown'}), "
        f"API v{result.api_version}: {result.status}"
    )
    lines = [head.replace("  ", " ")]
    counts = ", ".join(f"{result.count(s)} {s}" for s in STATUSES if result.count(s))
    lines.append(f"items: {counts or 'none'}")
    lines += summary(result)
    lines.append("")
    lines.append(
        f"{'SOURCE':<10} {'AVAILABLE':<9} {'RETENTION':<32} {'OLDEST IN ORG':<20}  {'LEAVES THE ORG':<31} "
        f"{'FILES':>5}  NOTE"
    )
    for s in result.sources:
        leaves = (s.oldest_expires or "-") + _until(s.oldest_expires, now)
        lines.append(
            f"{s.source:<10} {s.available:<9} {s.retention[:32]:<32} {s.oldest or '-':<20}  "
            f"{leaves:<31} {s.preserved:>5}  {s.note}"
        )
    for limit in result.limits:
        lines.append(f"limit: {limit}")
    lines.append("retention sources: " + "; ".join(sorted({s.cite for s in result.sources if s.cite})))
    return lines

"""Top bar: incident, T+ since declaration, UTC and local clocks, journal size/short root and its verification;
for a tabletop exercise, its clock speed and whether it is paused, out of time or ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from app.base.clock import parse_instant
from screens import fmt


@dataclass(frozen=True)
class VerifyState:
    """What the header says about the journal's integrity."""

    status: str = "unverified"  # unverified | verifying | ok | failed
    size: int = 0
    detail: str = ""


@dataclass(frozen=True)
class ExerciseMark:
    """What the header says about a running exercise (the default: a demo, or an exercise opened afterwards)."""

    speed: int | None = None
    paused: bool = False
    state: str = ""  # "" | "time up" | "ended 72/100"
    org: str = ""  # the org pull and containment go to, shown once the exercise runs more than one


class HeaderBar(Widget):
    DEFAULT_CSS = """
    HeaderBar { height: 2; background: $panel; color: $foreground; padding: 0 1; }
    """

    now: reactive[datetime | None] = reactive(None, layout=False)

    def __init__(self, *, zone: ZoneInfo | None, exercise: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.zone = zone
        self.exercise = exercise
        self.incident_id = ""
        self.incident_title = ""
        self.declared: datetime | None = None
        self.journal_size = 0
        self.short_root = ""
        self.verify = VerifyState()
        self.mark = ExerciseMark()

    def set_incident(self, incident_id: str, title: str, declared: str | None) -> None:
        self.incident_id, self.incident_title = incident_id, title
        self.declared = parse_instant(declared) if declared else None
        self.refresh()

    def set_journal(self, size: int, short_root: str) -> None:
        self.journal_size, self.short_root = size, short_root
        self.refresh()

    def set_exercise(self, mark: ExerciseMark) -> None:
        if mark != self.mark:
            self.mark = mark
            self.refresh()

    def set_verify(self, state: VerifyState) -> None:
        self.verify = state
        self.refresh()

    def verify_text(self) -> Text:
        v = self.verify
        if v.status == "ok":
            if v.size == self.journal_size:
                return Text("✓ verified", style="bold green")
            return Text(f"✓ verified to #{v.size}", style="green")
        if v.status == "failed":
            return Text(f"!! VERIFY FAILED {v.detail}", style="bold reverse red")
        if v.status == "verifying":
            return Text("… verifying", style="yellow")
        return Text("? unverified", style="yellow")

    def render(self) -> Text:
        now = self.now
        top = Text()
        title = self.incident_title or "(untitled incident)"
        if self.exercise:
            mark = self.mark
            label = " EXERCISE " + (f"x{mark.speed} " if mark.speed else "") + (f"org {mark.org} " if mark.org else "")
            top.append(label, style="bold reverse yellow")
            if mark.paused:
                top.append(" PAUSED ", style="bold reverse red")
            if mark.state:
                top.append(f" {mark.state.upper()} ", style="bold reverse magenta")
            top.append(" ")
            title = title.removeprefix("EXERCISE: ")  # the mark says it already
        room = self.size.width - top.cell_len - len(self.incident_id) - 2
        if self.size.width and len(title) > max(room, 12):  # one line each: a long title must not push line 2 away
            title = title[: max(room, 12) - 1] + "…"
        top.append(title, style="bold")
        top.append(f"  {self.incident_id}", style="dim")
        narrow = self.size.width < 110
        gap = "  " if narrow else "   "
        line2 = Text()
        if now is not None:
            if self.declared is not None:
                line2.append("T+" + fmt.duration(now - self.declared), style="bold")
                line2.append(gap)
            line2.append(fmt.utc(now)[11:] if narrow else "UTC " + fmt.utc(now))
            local = fmt.local(now, self.zone)
            line2.append(gap + "local " + (local[:5] if narrow else local), style="dim")
            line2.append(gap)
        line2.append(
            f"#{self.journal_size} {self.short_root} "
            if narrow
            else f"journal #{self.journal_size}  root {self.short_root}  "
        )
        line2.append_text(self.verify_text())
        return Text("\n").join([top, line2])

"""The header's integrity mark: the whole journal verified in a child process when the console opens and on
demand (v); after each burst of appends only the new entries, checked in a thread against the last verified head
(app/journal/verify_tail.py). Mixed into the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from app.composition.verification import verify_out_of_process
from app.journal.verify import VerifyReport
from app.journal.verify_tail import verify_tail
from screens.widgets.header_bar import VerifyState

if TYPE_CHECKING:
    from app.incident.core import Incident
    from screens.widgets.header_bar import HeaderBar


class VerificationStatus:
    incident: Incident
    last_verify: VerifyReport | None
    _busy: dict[str, bool]
    _again: set[str]
    screen_stack: Any

    if TYPE_CHECKING:

        def _header(self) -> HeaderBar | None: ...
        def call_from_thread(self, callback: Any, *args: Any, **kwargs: Any) -> Any: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...

    def action_verify(self) -> None:
        if self._busy.get("verify"):
            self._again.add("verify")
            return
        self._busy["verify"] = True
        header = self._header()
        if header is not None:
            header.set_verify(VerifyState("verifying", header.verify.size))
        self._verify_worker()

    @work(thread=True, group="verify", exit_on_error=False, description="verifying the journal")
    def _verify_worker(self) -> None:
        self.call_from_thread(self._verified, verify_out_of_process(self.incident.journal.path))

    def verify_appended(self) -> None:
        """After appends, check only the entries after the last verified head (app/journal/verify_tail.py); the
        full re-verification runs at open and on demand (v). Without a passing full run, run one."""
        if self.last_verify is None or not self.last_verify.ok:
            self.action_verify()
            return
        if self._busy.get("verify"):
            self._again.add("tail")
            return
        self._busy["verify"] = True
        self._tail_worker(self.last_verify)

    @work(thread=True, group="verify", exit_on_error=False, description="verifying new entries")
    def _tail_worker(self, verified: VerifyReport) -> None:
        path = self.incident.journal.path
        report = verify_tail(path, verified) or verify_out_of_process(path)
        self.call_from_thread(self._verified, report)

    def _verified(self, report: VerifyReport) -> None:
        self._busy["verify"] = False
        if "verify" in self._again:
            self._again.discard("verify")
            self._again.discard("tail")
            self.action_verify()
        elif "tail" in self._again:
            self._again.discard("tail")
            self._busy["verify"] = True
            self._tail_worker(report)
        self.last_verify = report
        header = self._header()
        if header is not None:
            state = VerifyState("ok" if report.ok else "failed", report.size, "" if report.ok else report.message[:60])
            header.set_verify(state)
        for screen in self.screen_stack:
            hook = getattr(screen, "on_verified", None)
            if hook is not None:
                hook(report)
        if not report.ok:
            self.notify(report.message, title="journal verification FAILED", severity="error", timeout=30)

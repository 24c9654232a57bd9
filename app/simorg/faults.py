"""Runtime fault injection: the failures a console must survive, switchable mid-exercise.

Faults apply to REST API calls (`/services/data/...`); `delay_ms` applies to every request, logins included;
`revoke_unsupported` applies to `/services/oauth2/revoke` only. `deny_access` names objects whose REST calls
(describe, query, record and blob reads naming them in the path or the SOQL) answer 403 INSUFFICIENT_ACCESS,
the documented error shape of a refused permission; when a real org refuses which read that way is not
documented, so the simulator refuses only when asked to. `error_500_on` names objects whose calls fail with
HTTP 500 every time (a server fault that outlasts the client's retries).
They are set from Python (`sim.faults.set(...)`) or over HTTP (`POST /__sim/faults`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    status: int
    code: str
    message: str


RATE_LIMITED = Verdict(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
SERVER_ERROR = Verdict(
    500,
    "UNKNOWN_EXCEPTION",
    "An unexpected error occurred. Please include this ErrorId if you contact support: 1337420042-93817 (-1139871)",
)


def _names(target: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", target) is not None


def _denied(name: str) -> Verdict:
    return Verdict(403, "INSUFFICIENT_ACCESS", f"insufficient access rights on {name}")


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.delay_ms = 0
        self.error_500 = 0  # the next N API calls fail with HTTP 500
        self.rate_limit_after: int | None = None  # N more API calls succeed, then REQUEST_LIMIT_EXCEEDED
        self.rate_limit_for: int | None = None  # how many calls stay limited; None = until cleared
        self._limited_served = 0
        # The next N revoke calls answer 400 unsupported_token_type (documented as a refusal; when Salesforce
        # gives it for a DeleteToken is not documented, so the simulator gives it only when asked to).
        self.revoke_unsupported = 0
        self.deny_access: frozenset[str] = frozenset()
        self.error_500_on: frozenset[str] = frozenset()

    def set(
        self,
        *,
        delay_ms: int | None = None,
        error_500: int | None = None,
        rate_limit_after: int | None = None,
        rate_limit_for: int | None = None,
        clear_rate_limit: bool = False,
        revoke_unsupported: int | None = None,
        deny_access: list[str] | None = None,
        error_500_on: list[str] | None = None,
    ) -> None:
        with self._lock:
            if error_500_on is not None:
                self.error_500_on = frozenset(str(n) for n in error_500_on)
            if deny_access is not None:
                self.deny_access = frozenset(str(n) for n in deny_access)
            if revoke_unsupported is not None:
                self.revoke_unsupported = max(0, int(revoke_unsupported))
            if delay_ms is not None:
                self.delay_ms = max(0, int(delay_ms))
            if error_500 is not None:
                self.error_500 = max(0, int(error_500))
            if clear_rate_limit:
                self.rate_limit_after = None
                self.rate_limit_for = None
            if rate_limit_after is not None:
                self.rate_limit_after = max(0, int(rate_limit_after))
                self.rate_limit_for = rate_limit_for
                self._limited_served = 0

    def reset(self) -> None:
        with self._lock:
            self.delay_ms = 0
            self.error_500 = 0
            self.rate_limit_after = None
            self.rate_limit_for = None
            self._limited_served = 0
            self.revoke_unsupported = 0
            self.deny_access = frozenset()
            self.error_500_on = frozenset()

    def on_api_call(self, target: str = "") -> Verdict | None:
        """Decide the fate of one API call (and consume the fault budget); `target` is the call's path and
        SOQL, matched against `deny_access`."""
        with self._lock:
            for name in self.deny_access:
                if _names(target, name):
                    return _denied(name)
            if any(_names(target, name) for name in self.error_500_on):
                return SERVER_ERROR
            if self.rate_limit_after is not None:
                if self.rate_limit_after > 0:
                    self.rate_limit_after -= 1
                else:
                    if self.rate_limit_for is None or self._limited_served < self.rate_limit_for:
                        self._limited_served += 1
                        return RATE_LIMITED
                    self.rate_limit_after = None
                    self.rate_limit_for = None
            if self.error_500 > 0:
                self.error_500 -= 1
                return SERVER_ERROR
            return None

    def on_revoke(self) -> bool:
        """True when this revoke call must be refused with unsupported_token_type (consumes the budget)."""
        with self._lock:
            if self.revoke_unsupported > 0:
                self.revoke_unsupported -= 1
                return True
            return False

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "delay_ms": self.delay_ms,
                "error_500": self.error_500,
                "rate_limit_after": self.rate_limit_after,
                "rate_limit_for": self.rate_limit_for,
                "revoke_unsupported": self.revoke_unsupported,
                "deny_access": sorted(self.deny_access),
                "error_500_on": sorted(self.error_500_on),
            }
